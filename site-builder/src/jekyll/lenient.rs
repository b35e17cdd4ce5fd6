//! Liquid's rule (and Jekyll's default) that a missing key is nil: `post.image` on a post
//! without an image prints nothing and is false in `if`. The `liquid` crate errors instead,
//! so every value a render reads is seen through `Lenient`, whose objects answer nil for a
//! key they lack and whose children are lenient too. A view is two pointers, made in the
//! render's arena as a value is read, so wrapping a 10,000-post `site.posts` copies nothing.

use std::fmt;

use liquid_core::model::{
    ArrayView, DisplayCow, KStringCow, ObjectView, ScalarCow, State, Value as LValue, ValueView,
};
use typed_arena::Arena;

/// Where a render keeps the lenient views it lends out, and the values it had to make
/// (`assign`ed copies, a hash's `first` pair) that they view; freed when the render ends.
#[derive(Default)]
pub struct Arenas<'a> {
    pub views: Arena<Lenient<'a>>,
    pub owned: Arena<LValue>,
    /// Ordered copies of `assign`ed hashes and lists, shared with the render's registers.
    pub kept: Arena<std::sync::Arc<serde_json::Value>>,
}

/// A value seen leniently; its children are made in `arenas`, which live as long as the
/// render.
pub struct Lenient<'a> {
    value: &'a dyn ValueView,
    arenas: &'a Arenas<'a>,
}

static NIL: LValue = LValue::Nil;

impl<'a> Lenient<'a> {
    pub fn of(value: &'a dyn ValueView, arenas: &'a Arenas<'a>) -> &'a Lenient<'a> {
        arenas.views.alloc(Lenient { value, arenas })
    }

    fn child(&self, value: &'a dyn ValueView) -> &'a dyn ValueView {
        Lenient::of(value, self.arenas)
    }

    fn nil(&self) -> &'a dyn ValueView {
        Lenient::of(&NIL, self.arenas)
    }

    /// Ruby's `Hash#first` as Liquid calls it: the first `[key, value]` pair.
    fn first_pair(&self) -> Option<&'a dyn ValueView> {
        let v: &'a dyn ValueView = self.value;
        let (key, value) = v.as_object()?.iter().next()?;
        let pair = LValue::Array(vec![LValue::scalar(key.into_owned()), value.to_value()]);
        Some(self.child(self.arenas.owned.alloc(pair)))
    }
}

impl fmt::Debug for Lenient<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<'a> ValueView for Lenient<'a> {
    fn as_debug(&self) -> &dyn fmt::Debug {
        self
    }
    fn render(&self) -> DisplayCow<'_> {
        self.value.render()
    }
    fn source(&self) -> DisplayCow<'_> {
        self.value.source()
    }
    fn type_name(&self) -> &'static str {
        self.value.type_name()
    }
    fn query_state(&self, state: State) -> bool {
        self.value.query_state(state)
    }
    fn to_kstr(&self) -> KStringCow<'_> {
        self.value.to_kstr()
    }
    fn to_value(&self) -> LValue {
        self.value.to_value()
    }
    fn as_scalar(&self) -> Option<ScalarCow<'_>> {
        self.value.as_scalar()
    }
    fn as_array(&self) -> Option<&dyn ArrayView> {
        {
            let v: &'a dyn ValueView = self.value;
            v
        }
        .as_array()
        .map(|_| self as &dyn ArrayView)
    }
    fn as_object(&self) -> Option<&dyn ObjectView> {
        // Nil answers nil for any key too, so `page.a.b` is nil when `a` is missing.
        (self.value.is_object() || self.value.is_nil()).then_some(self as &dyn ObjectView)
    }
    fn as_state(&self) -> Option<State> {
        self.value.as_state()
    }
    fn is_nil(&self) -> bool {
        self.value.is_nil()
    }
}

impl<'a> ArrayView for Lenient<'a> {
    fn as_value(&self) -> &dyn ValueView {
        self
    }
    fn size(&self) -> i64 {
        {
            let v: &'a dyn ValueView = self.value;
            v
        }
        .as_array()
        .map_or(0, |a| a.size())
    }
    fn values<'k>(&'k self) -> Box<dyn Iterator<Item = &'k dyn ValueView> + 'k> {
        match {
            let v: &'a dyn ValueView = self.value;
            v
        }
        .as_array()
        {
            Some(a) => Box::new(a.values().map(|v| self.child(v))),
            None => Box::new(std::iter::empty()),
        }
    }
    fn contains_key(&self, index: i64) -> bool {
        {
            let v: &'a dyn ValueView = self.value;
            v
        }
        .as_array()
        .is_some_and(|a| a.contains_key(index))
    }
    fn get(&self, index: i64) -> Option<&dyn ValueView> {
        let found = {
            let v: &'a dyn ValueView = self.value;
            v
        }
        .as_array()
        .and_then(|a| a.get(index));
        Some(found.map_or_else(|| self.nil(), |v| self.child(v)))
    }
}

impl<'a> ObjectView for Lenient<'a> {
    fn as_value(&self) -> &dyn ValueView {
        self
    }
    fn size(&self) -> i64 {
        {
            let v: &'a dyn ValueView = self.value;
            v
        }
        .as_object()
        .map_or(0, |o| o.size())
    }
    fn keys<'k>(&'k self) -> Box<dyn Iterator<Item = KStringCow<'k>> + 'k> {
        match {
            let v: &'a dyn ValueView = self.value;
            v
        }
        .as_object()
        {
            Some(o) => o.keys(),
            None => Box::new(std::iter::empty()),
        }
    }
    fn values<'k>(&'k self) -> Box<dyn Iterator<Item = &'k dyn ValueView> + 'k> {
        match {
            let v: &'a dyn ValueView = self.value;
            v
        }
        .as_object()
        {
            Some(o) => Box::new(o.values().map(|v| self.child(v))),
            None => Box::new(std::iter::empty()),
        }
    }
    fn iter<'k>(&'k self) -> Box<dyn Iterator<Item = (KStringCow<'k>, &'k dyn ValueView)> + 'k> {
        match {
            let v: &'a dyn ValueView = self.value;
            v
        }
        .as_object()
        {
            Some(o) => Box::new(o.iter().map(|(k, v)| (k, self.child(v)))),
            None => Box::new(std::iter::empty()),
        }
    }
    fn contains_key(&self, index: &str) -> bool {
        {
            let v: &'a dyn ValueView = self.value;
            v
        }
        .as_object()
        .is_some_and(|o| o.contains_key(index))
    }
    fn get<'s>(&'s self, index: &str) -> Option<&'s dyn ValueView> {
        match {
            let v: &'a dyn ValueView = self.value;
            v
        }
        .as_object()
        .and_then(|o| o.get(index))
        {
            Some(v) => Some(self.child(v)),
            // `size` falls through to Liquid's own answer (the number of keys).
            None if index == "size" && self.value.is_object() => None,
            // A hash's `first` is its first pair (themes test `site.categories.first[0]`).
            None if index == "first" && self.value.is_object() => {
                Some(self.first_pair().unwrap_or_else(|| self.nil()))
            }
            None => Some(self.nil()),
        }
    }
}
