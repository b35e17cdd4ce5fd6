//! Lists Liquid sees that are put together at render time from the posts' summaries,
//! without copying them: jekyll-archives' `page.posts`, `paginator.posts`, `site.tags` and
//! `site.categories`, and a hash's pairs in a `for` loop. As copies, a 10k-post site with
//! three tags a post held every post's content four more times (600 MB of the 820 MB a
//! build of such a site took).

use std::collections::HashMap;
use std::fmt;

use liquid_core::model::{
    ArrayView, DisplayCow, KStringCow, ObjectView, State, Value as LValue, ValueView,
};
use serde_json::{Map, Value};

use super::json::{to_liquid, Json, ORDERED_HASH};
use crate::lists::Terms;

/// An object seen with entries put in: in the place of the object's own of the same name
/// (a paginator's `posts`), the others after its own.
pub struct WithEntries<'a, V> {
    pub base: &'a Map<String, Value>,
    pub entries: Vec<(&'static str, V)>,
}

/// One entry of a [`WithEntries`]: the object's own, or one put in.
enum Entry<'e, V> {
    Own(&'e str, &'e Value),
    Put(&'e str, &'e V),
}

impl<V: ValueView> WithEntries<'_, V> {
    fn put(&self, key: &str) -> Option<&V> {
        self.entries.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Every entry in order.
    fn all(&self) -> impl Iterator<Item = Entry<'_, V>> {
        let own = self.base.iter().map(|(k, v)| match self.put(k) {
            Some(put) => Entry::Put(k.as_str(), put),
            None => Entry::Own(k.as_str(), v),
        });
        let added = self
            .entries
            .iter()
            .filter(|(k, _)| !self.base.contains_key(*k))
            .map(|(k, v)| Entry::Put(k, v));
        own.chain(added)
    }
}

impl<V: ValueView> fmt::Debug for WithEntries<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for entry in self.all() {
            match entry {
                Entry::Own(k, v) => map.entry(&k, v),
                Entry::Put(k, v) => map.entry(&k, v.as_debug()),
            };
        }
        map.finish()
    }
}

impl<V: ValueView> WithEntries<'_, V> {
    fn to_liquid(&self) -> LValue {
        LValue::Object(
            self.all()
                .map(|entry| match entry {
                    Entry::Own(k, v) => (k.to_string().into(), to_liquid(v)),
                    Entry::Put(k, v) => (k.to_string().into(), v.to_value()),
                })
                .collect(),
        )
    }
}

/// The `ValueView` of a view that makes a Liquid copy of itself (`to_liquid`) when asked to:
/// printed through that copy (printing a whole list or object of the site is rare), empty
/// when its `$view` has no items, and seen as that `$view` (`as_array` or `as_object`).
macro_rules! copied_value_view {
    ([$($generics:tt)*] $t:ty, $name:expr, $as:ident, $view:ident) => {
        impl<$($generics)*> ValueView for $t {
            fn as_debug(&self) -> &dyn fmt::Debug {
                self
            }
            fn render(&self) -> DisplayCow<'_> {
                DisplayCow::Owned(Box::new(self.to_liquid().render().to_string()))
            }
            fn source(&self) -> DisplayCow<'_> {
                DisplayCow::Owned(Box::new(self.to_liquid().source().to_string()))
            }
            fn type_name(&self) -> &'static str {
                $name
            }
            fn query_state(&self, s: State) -> bool {
                match s {
                    State::Truthy => true,
                    _ => $view::size(self) == 0,
                }
            }
            fn to_kstr(&self) -> KStringCow<'_> {
                KStringCow::from_string(self.render().to_string())
            }
            fn to_value(&self) -> LValue {
                self.to_liquid()
            }
            fn $as(&self) -> Option<&dyn $view> {
                Some(self)
            }
        }
    };
}

copied_value_view!([V: ValueView] WithEntries<'_, V>, ORDERED_HASH, as_object, ObjectView);

impl<V: ValueView> ObjectView for WithEntries<'_, V> {
    fn as_value(&self) -> &dyn ValueView {
        self
    }
    fn size(&self) -> i64 {
        self.all().count() as i64
    }
    fn keys<'k>(&'k self) -> Box<dyn Iterator<Item = KStringCow<'k>> + 'k> {
        Box::new(self.iter().map(|(k, _)| k))
    }
    fn values<'k>(&'k self) -> Box<dyn Iterator<Item = &'k dyn ValueView> + 'k> {
        Box::new(self.iter().map(|(_, v)| v))
    }
    fn iter<'k>(&'k self) -> Box<dyn Iterator<Item = (KStringCow<'k>, &'k dyn ValueView)> + 'k> {
        Box::new(self.all().map(|entry| match entry {
            Entry::Own(k, v) => (KStringCow::from_ref(k), Json::of(v) as &dyn ValueView),
            Entry::Put(k, v) => (KStringCow::from_ref(k), v as &dyn ValueView),
        }))
    }
    fn contains_key(&self, index: &str) -> bool {
        self.put(index).is_some() || self.base.contains_key(index)
    }
    fn get<'s>(&'s self, index: &str) -> Option<&'s dyn ValueView> {
        match self.put(index) {
            Some(v) => Some(v as &dyn ValueView),
            None => self.base.get(index).map(|v| Json::of(v) as &dyn ValueView),
        }
    }
}

/// Views of the summaries of posts `indices` (a term's, a pager page's, an archive's).
pub fn listed<'a>(summaries: &'a [Value], indices: &[usize]) -> Vec<&'a Json> {
    indices
        .iter()
        .filter_map(|&i| summaries.get(i))
        .map(Json::of)
        .collect()
}

/// `site.tags` or `site.categories`: each term's name and its posts' summaries, newest
/// first, in the order the terms were first seen.
pub struct TermLists<'a> {
    names: Vec<&'a str>,
    lists: Vec<Vec<&'a Json>>,
    by_name: HashMap<&'a str, usize>,
}

impl<'a> TermLists<'a> {
    pub fn new(terms: &'a [crate::taxonomy::Term], summaries: &'a [Value]) -> TermLists<'a> {
        TermLists {
            names: terms.iter().map(|t| t.name.as_str()).collect(),
            lists: terms.iter().map(|t| listed(summaries, &t.posts)).collect(),
            by_name: terms
                .iter()
                .enumerate()
                .map(|(i, t)| (t.name.as_str(), i))
                .collect(),
        }
    }
}

impl fmt::Debug for TermLists<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.names.iter().zip(&self.lists))
            .finish()
    }
}

impl TermLists<'_> {
    fn to_liquid(&self) -> LValue {
        LValue::Object(
            self.names
                .iter()
                .zip(&self.lists)
                .map(|(k, v)| ((*k).to_string().into(), v.to_value()))
                .collect(),
        )
    }
}

copied_value_view!([] TermLists<'_>, ORDERED_HASH, as_object, ObjectView);

impl ObjectView for TermLists<'_> {
    fn as_value(&self) -> &dyn ValueView {
        self
    }
    fn size(&self) -> i64 {
        self.names.len() as i64
    }
    fn keys<'k>(&'k self) -> Box<dyn Iterator<Item = KStringCow<'k>> + 'k> {
        Box::new(self.names.iter().map(|k| KStringCow::from_ref(k)))
    }
    fn values<'k>(&'k self) -> Box<dyn Iterator<Item = &'k dyn ValueView> + 'k> {
        Box::new(self.lists.iter().map(|v| v as &dyn ValueView))
    }
    fn iter<'k>(&'k self) -> Box<dyn Iterator<Item = (KStringCow<'k>, &'k dyn ValueView)> + 'k> {
        Box::new(
            self.names
                .iter()
                .zip(&self.lists)
                .map(|(k, v)| (KStringCow::from_ref(k), v as &dyn ValueView)),
        )
    }
    fn contains_key(&self, index: &str) -> bool {
        self.by_name.contains_key(index)
    }
    fn get<'s>(&'s self, index: &str) -> Option<&'s dyn ValueView> {
        let i = *self.by_name.get(index)?;
        <[_]>::get(&self.lists, i).map(|v| v as &dyn ValueView)
    }
}

/// A hash as a `for` loop walks it: its `[key, value]` pairs, each value a view of the
/// hash's own (the `liquid` crate makes each pair with a copy of the value).
pub struct Pairs<'a> {
    pairs: Vec<Pair<'a>>,
}

/// One `[key, value]` pair of [`Pairs`].
pub struct Pair<'a> {
    key: LValue,
    value: &'a dyn ValueView,
}

impl<'a> Pairs<'a> {
    pub fn of(object: &'a dyn ObjectView) -> Pairs<'a> {
        Pairs {
            pairs: object
                .iter()
                .map(|(key, value)| Pair {
                    key: LValue::scalar(key.into_owned()),
                    value,
                })
                .collect(),
        }
    }
}

impl Pair<'_> {
    fn items(&self) -> [&dyn ValueView; 2] {
        [&self.key, self.value]
    }
}

impl fmt::Debug for Pairs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.pairs).finish()
    }
}

impl fmt::Debug for Pair<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entry(&self.key)
            .entry(self.value.as_debug())
            .finish()
    }
}

impl Pairs<'_> {
    fn to_liquid(&self) -> LValue {
        array_copy(self)
    }
}

impl Pair<'_> {
    fn to_liquid(&self) -> LValue {
        array_copy(self)
    }
}

/// A Liquid copy of an array view, item by item.
fn array_copy(array: &dyn ArrayView) -> LValue {
    LValue::Array(array.values().map(|v| v.to_value()).collect())
}

copied_value_view!([] Pairs<'_>, "array", as_array, ArrayView);
copied_value_view!([] Pair<'_>, "array", as_array, ArrayView);

/// Item `index` of `len` items, counting from the end when negative, as Liquid indexes.
fn position(index: i64, len: usize) -> Option<usize> {
    if index < 0 {
        len.checked_sub(index.unsigned_abs() as usize)
    } else {
        usize::try_from(index).ok().filter(|&i| i < len)
    }
}

impl ArrayView for Pairs<'_> {
    fn as_value(&self) -> &dyn ValueView {
        self
    }
    fn size(&self) -> i64 {
        self.pairs.len() as i64
    }
    fn values<'k>(&'k self) -> Box<dyn Iterator<Item = &'k dyn ValueView> + 'k> {
        Box::new(self.pairs.iter().map(|p| p as &dyn ValueView))
    }
    fn contains_key(&self, index: i64) -> bool {
        position(index, self.pairs.len()).is_some()
    }
    fn get(&self, index: i64) -> Option<&dyn ValueView> {
        let i = position(index, self.pairs.len())?;
        <[_]>::get(&self.pairs, i).map(|p| p as &dyn ValueView)
    }
}

impl ArrayView for Pair<'_> {
    fn as_value(&self) -> &dyn ValueView {
        self
    }
    fn size(&self) -> i64 {
        2
    }
    fn values<'k>(&'k self) -> Box<dyn Iterator<Item = &'k dyn ValueView> + 'k> {
        Box::new(self.items().into_iter())
    }
    fn contains_key(&self, index: i64) -> bool {
        position(index, 2).is_some()
    }
    fn get(&self, index: i64) -> Option<&dyn ValueView> {
        self.items().get(position(index, 2)?).copied()
    }
}

/// `site` as Liquid sees it. A site value made for Liquid (see `Site::value`) holds the
/// posts' summaries in `posts` but no `tags` or `categories`: they are put in here as
/// views of those summaries. A value that has them already is seen as it is.
pub fn site<'a>(site: &'a Value, terms: &'a Terms) -> WithEntries<'a, TermLists<'a>> {
    static NONE: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    let base = site
        .as_object()
        .unwrap_or_else(|| NONE.get_or_init(Map::new));
    let posts = match base.get("posts") {
        Some(Value::Array(posts)) if !base.contains_key("tags") => posts.as_slice(),
        _ => {
            return WithEntries {
                base,
                entries: Vec::new(),
            }
        }
    };
    WithEntries {
        base,
        entries: vec![
            ("tags", TermLists::new(&terms.tags, posts)),
            ("categories", TermLists::new(&terms.categories, posts)),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jekyll::json::from_liquid;
    use crate::taxonomy::Term;

    #[test]
    fn entries_put_in_show_beside_the_objects_own_and_replace_those_of_their_name() {
        let page = serde_json::json!({"title": "T", "posts": "stale"});
        let posts = serde_json::json!([{"title": "a"}]);
        let view = WithEntries {
            base: page.as_object().expect("object"),
            entries: vec![("posts", Json::of(&posts))],
        };
        assert_eq!(view.size(), 2);
        assert_eq!(
            from_liquid(&view),
            serde_json::json!({"title": "T", "posts": [{"title": "a"}]})
        );
        assert_eq!(
            view.get("posts")
                .and_then(|p| p.as_array())
                .map(|a| a.size()),
            Some(1)
        );
        assert_eq!(
            view.get("title").map(|t| t.to_kstr().to_string()),
            Some("T".into())
        );
        // In the place of the object's own entry; new ones after the object's.
        let paginator = serde_json::json!({"page": 2, "posts": [], "total_pages": 3});
        let view = WithEntries {
            base: paginator.as_object().expect("object"),
            entries: vec![("posts", Json::of(&posts)), ("extra", Json::of(&posts))],
        };
        let keys: Vec<String> = view.keys().map(|k| k.to_string()).collect();
        assert_eq!(keys, ["page", "posts", "total_pages", "extra"]);
        assert_eq!(view.size(), 4);
    }

    #[test]
    fn site_tags_and_categories_list_the_posts_summaries_by_term() {
        let value = serde_json::json!({"title": "S", "posts": [{"t": 0}, {"t": 1}, {"t": 2}]});
        let term = |name: &str, posts: Vec<usize>| Term {
            name: name.into(),
            slug: name.to_lowercase(),
            posts,
        };
        let terms = Terms {
            tags: vec![term("Rust", vec![0, 2]), term("web", vec![1])],
            categories: vec![term("news", vec![2])],
        };
        let view = site(&value, &terms);
        assert_eq!(
            from_liquid(&view),
            serde_json::json!({
                "title": "S",
                "posts": [{"t": 0}, {"t": 1}, {"t": 2}],
                "tags": {"Rust": [{"t": 0}, {"t": 2}], "web": [{"t": 1}]},
                "categories": {"news": [{"t": 2}]},
            })
        );
        let tags = view.get("tags").and_then(|t| t.as_object()).expect("tags");
        assert_eq!(tags.keys().collect::<Vec<_>>(), ["Rust", "web"]);
        assert!(tags.get("missing").is_none());
        // A value made with its own maps (for Tera) is seen as it is.
        let made = serde_json::json!({"posts": [], "tags": {"x": []}});
        assert!(site(&made, &terms).entries.is_empty());
    }

    #[test]
    fn a_hash_walks_as_key_value_pairs_that_view_its_values() {
        let hash = serde_json::json!({"a": [1, 2], "b": "x"});
        let object = Json::of(&hash).as_object().expect("object");
        let pairs = Pairs::of(object);
        assert_eq!(pairs.size(), 2);
        assert_eq!(
            from_liquid(&pairs),
            serde_json::json!([["a", [1, 2]], ["b", "x"]])
        );
        let last = ArrayView::get(&pairs, -1)
            .and_then(|p| p.as_array())
            .expect("pair");
        assert_eq!(
            last.get(0).map(|k| k.to_kstr().to_string()),
            Some("b".into())
        );
        assert_eq!(
            last.get(-1).map(|v| v.to_kstr().to_string()),
            Some("x".into())
        );
        assert!(last.get(2).is_none());
        let first = ArrayView::get(&pairs, 0)
            .and_then(|p| p.as_array())
            .expect("pair");
        assert_eq!(
            first.get(1).and_then(|v| v.as_array()).map(|a| a.size()),
            Some(2)
        );
    }
}
