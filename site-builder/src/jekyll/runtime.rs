//! The variables one render sees (`site`, `page`, `layout`, `content`, `paginator`,
//! `jekyll`), borrowed rather than copied into each page, and Liquid's rule that an
//! undefined variable is nil (Jekyll's default) unless `liquid: strict_variables: true`.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use liquid_core::model::{
    try_find, KString, KStringCow, KStringRef, ScalarCow, Value as LValue, ValueCow, ValueView,
};
use liquid_core::runtime::{PartialStore, Registers, RuntimeBuilder};
use liquid_core::{Error, Result, Runtime};

use super::assign;
use super::engine::Tools;
use super::json::Json;
use super::lenient::{Arenas, Lenient};

/// What the Jekyll tags of one render need: the site's tools and the file being rendered
/// (for `include_relative` and messages). Kept in Liquid's registers, which custom tags
/// reach through the runtime.
#[derive(Default)]
pub struct Current {
    pub tools: Option<Arc<Tools>>,
    pub file: PathBuf,
    /// Hashes and lists `assign`ed in this render, kept in order (see `assign`).
    pub assigned: HashMap<String, Arc<serde_json::Value>>,
}

/// The runtime for one render: named roots over Liquid's own frames (which hold `assign`ed
/// variables and take precedence, as in Liquid).
pub struct Scope<'a, R> {
    inner: R,
    roots: Vec<(&'static str, &'a dyn ValueView)>,
    strict: bool,
    arenas: &'a Arenas<'a>,
}

/// Starts a render: `roots` are the globals, `tools` what Jekyll's tags need.
pub fn scope<'a>(
    roots: Vec<(&'static str, &'a dyn ValueView)>,
    tools: &Arc<Tools>,
    file: PathBuf,
    arenas: &'a Arenas<'a>,
) -> Scope<'a, impl Runtime + 'a> {
    let inner = RuntimeBuilder::new().build();
    {
        let mut current = inner.registers().get_mut::<Current>();
        current.tools = Some(tools.clone());
        current.file = file;
    }
    Scope {
        inner,
        roots,
        strict: tools.strict_variables,
        arenas,
    }
}

/// The tools of the render in progress, for a tag.
pub fn tools(runtime: &dyn Runtime) -> Result<Arc<Tools>> {
    runtime
        .registers()
        .get_mut::<Current>()
        .tools
        .clone()
        .ok_or_else(|| Error::with_msg("Jekyll tag used outside a Galley render"))
}

/// The file being rendered, for a tag.
pub fn file(runtime: &dyn Runtime) -> PathBuf {
    runtime.registers().get_mut::<Current>().file.clone()
}

impl<'a, R: Runtime> Runtime for Scope<'a, R> {
    fn partials(&self) -> &dyn PartialStore {
        self.inner.partials()
    }
    fn name(&self) -> Option<KStringRef<'_>> {
        self.inner.name()
    }
    fn roots(&self) -> BTreeSet<KStringCow<'_>> {
        let mut roots = self.inner.roots();
        roots.extend(self.roots.iter().map(|(k, _)| KStringCow::from_static(k)));
        roots
    }
    fn try_get(&self, path: &[ScalarCow<'_>]) -> Option<ValueCow<'_>> {
        let first = path.first()?.to_kstr();
        // A hash or list `assign`ed in this render: its ordered copy.
        let kept = self
            .inner
            .try_get(&path[..1])
            .and_then(|global| assign::kept(self, first.as_str(), global.as_view()));
        if let Some(json) = kept {
            let json: &'a serde_json::Value = self.arenas.kept.alloc(json);
            let view = Json::of(json);
            if self.strict {
                return try_find(view, &path[1..]);
            }
            let found = try_find(Lenient::of(view, self.arenas), &path[1..]);
            return Some(found.unwrap_or(ValueCow::Owned(LValue::Nil)));
        }
        if let Some(v) = self.inner.try_get(path) {
            if self.strict {
                return Some(v);
            }
            // Copied once into the render's arena, so that a lenient view can borrow it.
            let owned: &'a LValue = self.arenas.owned.alloc(v.into_owned());
            return Some(ValueCow::Borrowed(Lenient::of(owned, self.arenas)));
        }
        // An assigned variable whose path Liquid's own lookup could not follow (a missing
        // key, a hash's `first`): read the rest of the path leniently.
        if !self.strict && path.len() > 1 {
            if let Some(v) = self.inner.try_get(&path[..1]) {
                let owned: &'a LValue = self.arenas.owned.alloc(v.into_owned());
                let found = try_find(Lenient::of(owned, self.arenas), &path[1..]);
                return Some(found.unwrap_or(ValueCow::Owned(LValue::Nil)));
            }
        }
        // A root named `site.related_posts` stands in for that key of `site` on one page.
        let (root, rest) = match path.get(1).map(|second| {
            let second = second.to_kstr();
            self.roots
                .iter()
                .find(|(k, _)| k.split_once('.') == Some((first.as_str(), second.as_str())))
                .map(|(_, v)| *v)
        }) {
            Some(Some(v)) => (Some(v), &path[2..]),
            _ => (
                self.roots
                    .iter()
                    .find(|(k, _)| *k == first.as_str())
                    .map(|(_, v)| *v),
                &path[1..],
            ),
        };
        if self.strict {
            return root.and_then(|v| try_find(v, rest));
        }
        let found = root.and_then(|v| try_find(Lenient::of(v, self.arenas), rest));
        Some(found.unwrap_or(ValueCow::Owned(LValue::Nil)))
    }
    fn get(&self, path: &[ScalarCow<'_>]) -> Result<ValueCow<'_>> {
        self.try_get(path).ok_or_else(|| {
            let name = path
                .iter()
                .map(|p| p.to_kstr().to_string())
                .collect::<Vec<_>>()
                .join(".");
            Error::with_msg("undefined variable").context("requested variable", name)
        })
    }
    fn set_global(&self, name: KString, val: LValue) -> Option<LValue> {
        self.inner.set_global(name, val)
    }
    fn set_index(&self, name: KString, val: LValue) -> Option<LValue> {
        self.inner.set_index(name, val)
    }
    fn get_index<'s>(&'s self, name: &str) -> Option<ValueCow<'s>> {
        self.inner.get_index(name)
    }
    fn registers(&self) -> &Registers {
        self.inner.registers()
    }
}
