//! Jekyll's paginator for the home page: `paginate` posts per page, page 1 at the home URL,
//! page N at `paginate_path` (`/page:num/`).

use serde_json::{Map, Value};

use crate::document::Document;
use crate::lists::Summaries;

/// The posts a paginator lists: all but those marked `hidden: true` (jekyll-paginate v1).
pub fn listed(posts: &[Document]) -> Vec<usize> {
    (0..posts.len()).filter(|&i| !posts[i].hidden).collect()
}

/// The `paginator` of page `page` (1-based) over the `listed` entries of `posts`
/// (summaries, newest first).
pub fn paginator(
    page: usize,
    per_page: usize,
    posts: &Summaries,
    listed: &[usize],
    home_url: &str,
    paginate_path: &str,
) -> Value {
    let listing = slice_of(page, per_page, listed);
    frame(
        page,
        per_page,
        listing.iter().filter_map(|&i| posts.get(i)).collect(),
        listed.len(),
        home_url,
        paginate_path,
    )
}

/// The posts page `page` lists: indices into the summaries.
pub fn slice_of(page: usize, per_page: usize, listed: &[usize]) -> &[usize] {
    let start = (page.saturating_sub(1) * per_page).min(listed.len());
    &listed[start..(start + per_page).min(listed.len())]
}

/// A `paginator` with `posts` as its posts (Liquid puts views of the summaries in their
/// place instead of copies, see `render`).
pub fn frame(
    page: usize,
    per_page: usize,
    posts: Vec<Value>,
    total_posts: usize,
    home_url: &str,
    paginate_path: &str,
) -> Value {
    let total_pages = total_pages(total_posts, per_page);
    let mut m = Map::new();
    m.insert("page".into(), page.into());
    m.insert("per_page".into(), per_page.into());
    m.insert("posts".into(), Value::Array(posts));
    m.insert("total_posts".into(), total_posts.into());
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
        let p = paginator(
            2,
            2,
            &Summaries::Made(&posts),
            &[0, 1, 2, 3, 4],
            "/",
            "/page:num/",
        );
        assert_eq!(p["posts"], serde_json::json!([2, 3]));
        assert_eq!(p["total_pages"], 3);
        assert_eq!(p["previous_page_path"], "/");
        assert_eq!(p["next_page_path"], "/page3/");
    }

    #[test]
    fn hidden_posts_are_not_paginated() {
        let posts = vec![
            serde_json::json!({"t": 0}),
            serde_json::json!({"t": 1, "hidden": true}),
            serde_json::json!({"t": 2}),
        ];
        let docs: Vec<Document> = posts
            .iter()
            .map(|p| Document {
                hidden: p.get("hidden").is_some(),
                ..Document::generated("post", "Post", "/post/", "post", std::path::Path::new(""))
            })
            .collect();
        let posts = Summaries::Made(&posts);
        let listed = listed(&docs);
        assert_eq!(listed, vec![0, 2]);
        let p = paginator(1, 5, &posts, &listed, "/", "/page:num/");
        assert_eq!(p["posts"], serde_json::json!([{"t": 0}, {"t": 2}]));
        assert_eq!(p["total_posts"], 2);
    }
}
