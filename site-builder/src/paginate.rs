//! Jekyll's paginator for the home page: `paginate` posts per page, page 1 at the home URL,
//! page N at `paginate_path` (`/page:num/`).

use serde_json::{Map, Value};

/// The `paginator` of page `page` (1-based) over `posts` (summaries, newest first).
pub fn paginator(
    page: usize,
    per_page: usize,
    posts: &[Value],
    home_url: &str,
    paginate_path: &str,
) -> Value {
    let total_pages = total_pages(posts.len(), per_page);
    let start = (page - 1) * per_page;
    let slice = posts
        .get(start..(start + per_page).min(posts.len()))
        .unwrap_or(&[]);
    let mut m = Map::new();
    m.insert("page".into(), page.into());
    m.insert("per_page".into(), per_page.into());
    m.insert("posts".into(), Value::Array(slice.to_vec()));
    m.insert("total_posts".into(), posts.len().into());
    m.insert("total_pages".into(), total_pages.into());
    let prev = (page > 1).then(|| page - 1);
    let next = (page < total_pages).then(|| page + 1);
    m.insert(
        "previous_page".into(),
        prev.map_or(Value::Null, Value::from),
    );
    m.insert("next_page".into(), next.map_or(Value::Null, Value::from));
    m.insert(
        "previous_page_path".into(),
        prev.map_or(Value::Null, |p| page_url(p, home_url, paginate_path).into()),
    );
    m.insert(
        "next_page_path".into(),
        next.map_or(Value::Null, |p| page_url(p, home_url, paginate_path).into()),
    );
    Value::Object(m)
}

pub fn total_pages(posts: usize, per_page: usize) -> usize {
    posts.div_ceil(per_page.max(1)).max(1)
}

/// Page 1 is the home page itself; later pages follow `paginate_path`.
pub fn page_url(page: usize, home_url: &str, paginate_path: &str) -> String {
    if page == 1 {
        return home_url.to_string();
    }
    let expanded = paginate_path.replace(":num", &page.to_string());
    crate::permalink::canonical_url(&format!("/{}", expanded.trim_start_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_paths() {
        let posts: Vec<Value> = (0..5).map(Value::from).collect();
        let p = paginator(2, 2, &posts, "/", "/page:num/");
        assert_eq!(p["posts"], serde_json::json!([2, 3]));
        assert_eq!(p["total_pages"], 3);
        assert_eq!(p["previous_page_path"], "/");
        assert_eq!(p["next_page_path"], "/page3/");
    }
}
