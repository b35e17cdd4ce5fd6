//! JSON with sorted keys and no whitespace: the same value always gives the same bytes, so
//! config and manifest digests are reproducible even though oci-spec keeps labels in a
//! HashMap (whose order changes from run to run).

use serde::Serialize;
use serde_json::{Map, Value};

pub fn to_vec<T: Serialize>(value: &T) -> serde_json::Result<Vec<u8>> {
    let value = sorted(serde_json::to_value(value)?);
    serde_json::to_vec(&value)
}

/// Re-inserts every object's keys in sorted order, recursively.
pub fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted(v)))
                    .collect::<Map<String, Value>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    #[test]
    fn hashmap_order_does_not_change_the_bytes() {
        let a: HashMap<String, u32> = (0..50).map(|i| (format!("k{i}"), i)).collect();
        let mut b: HashMap<String, u32> = HashMap::with_capacity(200);
        for (k, v) in a.iter().collect::<Vec<_>>().into_iter().rev() {
            b.insert(k.clone(), *v);
        }
        assert_eq!(super::to_vec(&a).unwrap(), super::to_vec(&b).unwrap());
        let text = String::from_utf8(
            super::to_vec(&serde_json::json!({"b": 1, "a": {"d": 2, "c": 3}})).unwrap(),
        )
        .unwrap();
        assert_eq!(text, r#"{"a":{"c":3,"d":2},"b":1}"#);
    }
}
