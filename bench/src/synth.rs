//! A deterministic synthetic blog: N posts with front matter, headings, a list, a table and a
//! code block, spread over categories and tags. The same posts are written for each peer.

use std::fmt::Write as _;

/// A tiny deterministic generator (no dependency, same output on every machine).
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Lcg(seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407))
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[(self.next() as usize) % items.len()]
    }
}

const WORDS: &[&str] = &[
    "static", "site", "render", "template", "layout", "markdown", "deploy", "server", "cache",
    "image", "layer", "digest", "health", "balancer", "instance", "region", "build", "parallel",
    "atomic", "feed", "quick", "careful", "simple", "robust", "small", "steady", "clear", "exact",
    "honest", "light",
];
pub const CATEGORIES: &[&str] = &["engineering", "writing", "operations", "design", "notes"];
pub const TAGS: &[&str] = &[
    "rust",
    "web",
    "aws",
    "docker",
    "markdown",
    "tera",
    "performance",
    "testing",
    "ci",
    "security",
    "http",
    "cache",
    "css",
    "feeds",
    "images",
    "linux",
    "networking",
    "tools",
    "release",
    "tips",
];

/// One post: file stem (`YYYY-MM-DD-slug`), title, date, category, tags and markdown body.
pub struct Post {
    pub stem: String,
    pub slug: String,
    pub title: String,
    pub date: String,
    pub category: &'static str,
    pub tags: Vec<&'static str>,
    pub body: String,
}

/// `n` posts, all dated in the past: one a day from 1990 up to 10,000 posts (so the 1k and
/// 10k corpora stay what earlier runs measured), several a day beyond, hours apart.
pub fn posts(n: usize) -> Vec<Post> {
    let per_day = n.div_ceil(10_000).max(1);
    (0..n).map(|i| post(i, per_day)).collect()
}

fn sentence(rng: &mut Lcg, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(rng.pick(WORDS));
    }
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect::<String>() + ".",
        None => s,
    }
}

fn paragraph(rng: &mut Lcg) -> String {
    (0..5)
        .map(|_| sentence(rng, 12))
        .collect::<Vec<_>>()
        .join(" ")
}

fn post(i: usize, per_day: usize) -> Post {
    let mut rng = Lcg::new(i as u64 + 1);
    let day = (i / per_day) as i64;
    let (y, m, d) = civil(7305 + day); // 1990-01-01 + i days: all in the past
    let slug = format!("post-{i:05}-{}-{}", rng.pick(WORDS), rng.pick(WORDS));
    let title = format!("Post {i}: {}", sentence(&mut rng, 5).trim_end_matches('.'));
    let category = CATEGORIES[i % CATEGORIES.len()];
    let mut tags: Vec<&'static str> = Vec::new();
    while tags.len() < 3 {
        let t = TAGS[(rng.next() as usize) % TAGS.len()];
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    let mut body = String::new();
    let _ = writeln!(body, "{}\n", paragraph(&mut rng));
    for h in 0..3 {
        let _ = writeln!(
            body,
            "## Section {h}: {}\n",
            sentence(&mut rng, 3).trim_end_matches('.')
        );
        let _ = writeln!(body, "{}\n", paragraph(&mut rng));
    }
    let _ = writeln!(
        body,
        "- {}\n- {}\n- {}\n",
        sentence(&mut rng, 4),
        sentence(&mut rng, 4),
        sentence(&mut rng, 4)
    );
    let _ = writeln!(body, "| name | value | note |\n|---|---|---|");
    for r in 0..4 {
        let _ = writeln!(
            body,
            "| {} | {} | {} |",
            rng.pick(WORDS),
            r * 7 + i % 13,
            rng.pick(WORDS)
        );
    }
    let _ = writeln!(
        body,
        "\n```rust\nfn {}(x: u64) -> u64 {{\n    let y = x * {} + {};\n    if y > 100 {{ y / 2 }} else {{ y }}\n}}\n```\n",
        rng.pick(WORDS),
        i % 17 + 1,
        i % 5
    );
    let _ = writeln!(body, "{}", paragraph(&mut rng));
    Post {
        stem: format!("{y:04}-{m:02}-{d:02}-{slug}"),
        slug,
        title,
        date: if per_day == 1 {
            format!("{y:04}-{m:02}-{d:02}")
        } else {
            let minutes = (i % per_day) * (24 * 60 / per_day);
            format!(
                "{y:04}-{m:02}-{d:02} {:02}:{:02}:00",
                minutes / 60,
                minutes % 60
            )
        },
        category,
        tags,
        body,
    }
}

/// Days since 1970-01-01 to (year, month, day) — Howard Hinnant's algorithm.
fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_determinism() {
        assert_eq!(civil(7305), (1990, 1, 1));
        let a = posts(3);
        let b = posts(3);
        assert_eq!(a[2].body, b[2].body);
        assert_eq!(a[1].date, "1990-01-02");
        let many = posts(100_000);
        assert_eq!(many[1].date, "1990-01-01 02:24:00");
        assert!(many.last().is_some_and(|p| p.date.as_str() < "2018"));
    }
}
