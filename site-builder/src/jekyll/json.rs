//! The site's data (`serde_json` values, built once per build) seen by Liquid in place: a
//! 10,000-post `site.posts` is read by every page without being copied into Liquid's own
//! value type.

use std::fmt;

use liquid_core::model::{
    ArrayView, DisplayCow, KStringCow, ObjectView, ScalarCow, State, Value as LValue, ValueView,
};
use ref_cast::RefCast;
use serde_json::{Map, Value};

/// A JSON value as Liquid sees it.
#[derive(RefCast)]
#[repr(transparent)]
pub struct Json(pub Value);

#[derive(RefCast)]
#[repr(transparent)]
struct JsonArray(Vec<Value>);

#[derive(RefCast)]
#[repr(transparent)]
struct JsonObject(Map<String, Value>);

impl Json {
    pub fn of(v: &Value) -> &Json {
        Json::ref_cast(v)
    }
}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
impl fmt::Debug for JsonArray {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
impl fmt::Debug for JsonObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How Liquid prints a value: nothing for nil, arrays joined without separators, objects as
/// Ruby's `inspect` would (rare in real templates, but it must not fail). It borrows, so an
/// array or object of the site's data prints without being copied.
enum Render<'a> {
    Value(&'a Value),
    Items(&'a [Value]),
    Map(&'a Map<String, Value>),
}

impl fmt::Display for Render<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items_of = |items: &[Value], f: &mut fmt::Formatter<'_>| {
            items.iter().try_for_each(|i| Render::Value(i).fmt(f))
        };
        match self {
            Render::Items(items) => items_of(items, f),
            Render::Map(m) => f.write_str(&crate::jekyll::filters::inspect_map(m)),
            Render::Value(Value::Array(items)) => items_of(items, f),
            Render::Value(Value::Object(m)) => f.write_str(&crate::jekyll::filters::inspect_map(m)),
            Render::Value(Value::Null) => Ok(()),
            Render::Value(Value::String(s)) => f.write_str(s),
            Render::Value(Value::Bool(b)) => write!(f, "{b}"),
            Render::Value(Value::Number(n)) => write!(f, "{n}"),
        }
    }
}

fn scalar(v: &Value) -> Option<ScalarCow<'_>> {
    match v {
        Value::String(s) => Some(ScalarCow::new(s.as_str())),
        Value::Bool(b) => Some(ScalarCow::new(*b)),
        Value::Number(n) => Some(match n.as_i64() {
            Some(i) => ScalarCow::new(i),
            None => ScalarCow::new(n.as_f64().unwrap_or(0.0)),
        }),
        _ => None,
    }
}

/// JSON into Liquid's own value (for filters that build new values).
pub fn to_liquid(v: &Value) -> LValue {
    match v {
        Value::Null => LValue::Nil,
        Value::Array(items) => JsonArray::ref_cast(items).to_liquid(),
        Value::Object(m) => JsonObject::ref_cast(m).to_liquid(),
        other => scalar(other).map_or(LValue::Nil, |s| LValue::Scalar(s.into_owned())),
    }
}

/// The type name of a hash read from the site's data, which keeps its keys in order. Liquid's
/// own hashes (made by filters and tags) are `HashMap`s whose order changes from run to run;
/// `from_liquid` sorts their keys so that output stays the same between builds.
pub const ORDERED_HASH: &str = "hash";

/// Any Liquid value as JSON (for filters written once over JSON).
pub fn from_liquid(v: &dyn ValueView) -> Value {
    if v.is_nil() {
        return Value::Null;
    }
    if let Some(a) = v.as_array() {
        return Value::Array(a.values().map(from_liquid).collect());
    }
    if let Some(o) = v.as_object() {
        let mut pairs: Vec<(String, Value)> = o
            .iter()
            .map(|(k, v)| (k.to_string(), from_liquid(v)))
            .collect();
        if v.type_name() != ORDERED_HASH {
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
        }
        return Value::Object(pairs.into_iter().collect());
    }
    match v.as_scalar() {
        Some(s) => {
            // Strings print quoted in Liquid's source form; numbers and booleans do not.
            let quoted = v.source().to_string().starts_with('"');
            match (quoted, s.to_bool(), s.to_integer(), s.to_float()) {
                (false, Some(b), _, _) => Value::Bool(b),
                (false, _, Some(i), _) => Value::from(i),
                (false, _, _, Some(f)) => {
                    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
                }
                _ => Value::String(s.to_kstr().to_string()),
            }
        }
        None => Value::Null,
    }
}

fn state(v: &Value, state: State) -> bool {
    let empty = match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    match state {
        State::Truthy => !matches!(v, Value::Null | Value::Bool(false)),
        State::DefaultValue => empty || matches!(v, Value::Bool(false)),
        State::Empty => empty && !v.is_null(),
        State::Blank => {
            empty
                || matches!(v, Value::Bool(false))
                || v.as_str().is_some_and(|s| s.trim().is_empty())
        }
    }
}

impl ValueView for Json {
    fn as_debug(&self) -> &dyn fmt::Debug {
        self
    }
    fn render(&self) -> DisplayCow<'_> {
        DisplayCow::Owned(Box::new(Render::Value(&self.0)))
    }
    fn source(&self) -> DisplayCow<'_> {
        DisplayCow::Owned(Box::new(self.0.to_string()))
    }
    fn type_name(&self) -> &'static str {
        match &self.0 {
            Value::Null => "nil",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => ORDERED_HASH,
        }
    }
    fn query_state(&self, s: State) -> bool {
        state(&self.0, s)
    }
    fn to_kstr(&self) -> KStringCow<'_> {
        match &self.0 {
            Value::String(s) => KStringCow::from_ref(s),
            other => KStringCow::from_string(Render::Value(other).to_string()),
        }
    }
    fn to_value(&self) -> LValue {
        to_liquid(&self.0)
    }
    fn as_scalar(&self) -> Option<ScalarCow<'_>> {
        scalar(&self.0)
    }
    fn as_array(&self) -> Option<&dyn ArrayView> {
        match &self.0 {
            Value::Array(a) => Some(JsonArray::ref_cast(a)),
            _ => None,
        }
    }
    fn as_object(&self) -> Option<&dyn ObjectView> {
        match &self.0 {
            Value::Object(o) => Some(JsonObject::ref_cast(o)),
            _ => None,
        }
    }
    fn is_nil(&self) -> bool {
        self.0.is_null()
    }
}

macro_rules! container_value_view {
    ($t:ty, $shape:ident, $name:literal, $as:ident, $dyn:ty) => {
        impl ValueView for $t {
            fn as_debug(&self) -> &dyn fmt::Debug {
                self
            }
            fn render(&self) -> DisplayCow<'_> {
                DisplayCow::Owned(Box::new(Render::$shape(&self.0)))
            }
            fn source(&self) -> DisplayCow<'_> {
                DisplayCow::Owned(Box::new(serde_json::to_string(&self.0).unwrap_or_default()))
            }
            fn type_name(&self) -> &'static str {
                $name
            }
            fn query_state(&self, s: State) -> bool {
                match s {
                    State::Truthy => true,
                    _ => self.0.is_empty(),
                }
            }
            fn to_kstr(&self) -> KStringCow<'_> {
                KStringCow::from_string(Render::$shape(&self.0).to_string())
            }
            fn to_value(&self) -> LValue {
                self.to_liquid()
            }
            fn $as(&self) -> Option<&$dyn> {
                Some(self)
            }
        }
    };
}

impl JsonArray {
    fn to_liquid(&self) -> LValue {
        LValue::Array(self.0.iter().map(to_liquid).collect())
    }
}

impl JsonObject {
    fn to_liquid(&self) -> LValue {
        LValue::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.clone().into(), to_liquid(v)))
                .collect(),
        )
    }
}

container_value_view!(JsonArray, Items, "array", as_array, dyn ArrayView);
// "hash" is ORDERED_HASH (the macro takes a literal).
container_value_view!(JsonObject, Map, "hash", as_object, dyn ObjectView);

impl ArrayView for JsonArray {
    fn as_value(&self) -> &dyn ValueView {
        self
    }
    fn size(&self) -> i64 {
        self.0.len() as i64
    }
    fn values<'k>(&'k self) -> Box<dyn Iterator<Item = &'k dyn ValueView> + 'k> {
        Box::new(self.0.iter().map(|v| Json::of(v) as &dyn ValueView))
    }
    fn contains_key(&self, index: i64) -> bool {
        self.get(index).is_some()
    }
    fn get(&self, index: i64) -> Option<&dyn ValueView> {
        let i = if index < 0 {
            self.0.len().checked_sub(index.unsigned_abs() as usize)?
        } else {
            index as usize
        };
        self.0.get(i).map(|v| Json::of(v) as &dyn ValueView)
    }
}

impl ObjectView for JsonObject {
    fn as_value(&self) -> &dyn ValueView {
        self
    }
    fn size(&self) -> i64 {
        self.0.len() as i64
    }
    fn keys<'k>(&'k self) -> Box<dyn Iterator<Item = KStringCow<'k>> + 'k> {
        Box::new(self.0.keys().map(|k| KStringCow::from_ref(k)))
    }
    fn values<'k>(&'k self) -> Box<dyn Iterator<Item = &'k dyn ValueView> + 'k> {
        Box::new(self.0.values().map(|v| Json::of(v) as &dyn ValueView))
    }
    fn iter<'k>(&'k self) -> Box<dyn Iterator<Item = (KStringCow<'k>, &'k dyn ValueView)> + 'k> {
        Box::new(
            self.0
                .iter()
                .map(|(k, v)| (KStringCow::from_ref(k), Json::of(v) as &dyn ValueView)),
        )
    }
    fn contains_key(&self, index: &str) -> bool {
        self.0.contains_key(index)
    }
    fn get<'s>(&'s self, index: &str) -> Option<&'s dyn ValueView> {
        self.0.get(index).map(|v| Json::of(v) as &dyn ValueView)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_prints_as_liquid() {
        let v = serde_json::json!({"a": [1, "x", null], "b": {"c": true}, "n": 2.5});
        assert_eq!(from_liquid(&to_liquid(&v)), v);
        assert_eq!(from_liquid(Json::of(&v)), v);
        let arr = Json::of(&v["a"]);
        assert_eq!(arr.render().to_string(), "1x");
        assert_eq!(
            arr.as_array().and_then(|a| a.get(-1)).map(|x| x.is_nil()),
            Some(true)
        );
        assert!(!Json::of(&Value::Null).query_state(State::Truthy));
        assert!(Json::of(&Value::from("  ")).query_state(State::Blank));
    }
}
