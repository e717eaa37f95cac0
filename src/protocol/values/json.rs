//! Wrapped values in Serverpod's JSON forms (docs/PROTOCOL.md §3.1 and §9): the first piece of
//! the JSON wire.
//!
//! A value's `data` is kept as MessagePack everywhere in the crate; these functions turn it
//! into the JSON that Serverpod's own server writes and back, directed by the `className`
//! the way the class registry walks it. Most built-in forms are the same in both encodings
//! (ints, strings, ISO dates, milliseconds); the differences are written out here:
//! `ByteData` is the text `decode('<base64>', 'base64')`, a model's object starts with
//! `"__className__"` and leaves out null fields, a map with keys that are not strings is a
//! list of `{"k":..,"v":..}`. Reading is as lenient as Serverpod's: a `double` may be any
//! number, a `bool` `0` or `1`, a `DateTime` epoch milliseconds, a model may lack its
//! `"__className__"`.
//!
//! A model's data does not say which nested map is which model, so where the registry knows
//! the class its own type writes the JSON (`json_model`), nested models named as Serverpod
//! ≥ 3.0 names them; a class it does not know is written from the data's shape.

use crate::protocol::error::DecodeError;
use crate::protocol::msgpack::{write, Kind, Reader, MAX_DEPTH};
use crate::protocol::values::registry::generic;
use crate::protocol::values::wrapped::split_wrapped;
use base64::Engine;
use serde_json::{Map, Number, Value};

/// The classes whose JSON form is not a model's object.
const BUILT_INS: [&str; 11] = [
    "null",
    "int",
    "double",
    "String",
    "bool",
    "DateTime",
    "Duration",
    "UuidValue",
    "Uri",
    "BigInt",
    "ByteData",
];

const BYTES_PREFIX: &str = "decode('";
const BYTES_SUFFIX: &str = "', 'base64')";

/// Any MessagePack value (`args`), by its own shape.
pub(crate) fn msgpack_to_any_json(data: &[u8]) -> Result<Value, DecodeError> {
    let mut r = Reader::new(data);
    let value = any_to_json(&mut r, 0)?;
    if !r.is_empty() {
        return Err(DecodeError::malformed("value", "trailing bytes"));
    }
    Ok(value)
}

/// Any JSON value (`args`), by its own shape, as MessagePack.
pub(crate) fn any_json_to_msgpack(json: &Value) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    any_from_json(json, &mut out, 0)?;
    Ok(out)
}

/// The `data` of a value in a frame: read as leniently as Serverpod does, then by the
/// class's own type where the registry knows it (what JSON left loose, such as a whole
/// number for a double field, comes out as the type writes it). Data with no MessagePack
/// form for its class becomes the one byte MessagePack never uses, which every reader
/// refuses: only the value's own stream fails.
pub(crate) fn frame_data(class: &str, json: &Value) -> Vec<u8> {
    value_data(class, json).unwrap_or_else(|_| vec![0xc1])
}

/// The `data` of a value given in its JSON form, read leniently and then, where the class
/// is not a built-in (whose conversion is already exact) and the registry knows it, written
/// back by its own type.
pub(crate) fn value_data(class: &str, json: &Value) -> Result<Vec<u8>, DecodeError> {
    let data = data_from_json(class, json)?;
    if is_exact(class) {
        Ok(data)
    } else {
        crate::protocol::values::registry::normalize(class, data)
    }
}

/// The `data` (MessagePack) of a value of class `class` given in its JSON form.
pub(crate) fn data_from_json(class: &str, json: &Value) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    from_json(class.trim(), json, &mut out, 0)?;
    Ok(out)
}

/// A wrapped value (`{"className", "data"}`, MessagePack) in its JSON form.
fn wrapped_to_json(raw: &[u8], depth: usize) -> Result<Value, DecodeError> {
    let (class, data) = split_wrapped(raw)?;
    parts_to_json(class, data, depth)
}

/// The JSON form of `data` (MessagePack) of a value of class `class`.
pub(crate) fn data_to_json(class: &str, data: &[u8]) -> Result<Value, DecodeError> {
    let mut r = Reader::new(data);
    let value = to_json(class.trim(), &mut r, 0)?;
    if !r.is_empty() {
        return Err(DecodeError::malformed(class, "trailing bytes"));
    }
    Ok(value)
}

/// The wrapped JSON form of a value given as its class and MessagePack data.
pub(crate) fn parts_to_json(class: &str, data: &[u8], depth: usize) -> Result<Value, DecodeError> {
    let mut r = Reader::new(data);
    let data = to_json(class.trim(), &mut r, depth + 1)?;
    if !r.is_empty() {
        return Err(DecodeError::malformed(class, "trailing bytes"));
    }
    let mut object = Map::new();
    object.insert("className".into(), Value::String(class.to_string()));
    object.insert("data".into(), data);
    Ok(Value::Object(object))
}

/// Appends a wrapped value given in its JSON form, as MessagePack.
fn wrapped_from_json(json: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), DecodeError> {
    let bad = |reason: &str| DecodeError::malformed("wrapped value", reason);
    let object = json.as_object().ok_or_else(|| bad("not an object"))?;
    let class = object
        .get("className")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("missing `className`"))?;
    crate::protocol::values::wrapped::write_wrapped(out, class, |out| {
        from_json(
            class.trim(),
            object.get("data").unwrap_or(&Value::Null),
            out,
            depth + 1,
        )
    })
}

/// Whether reading `class` from JSON already gives what its own type writes: true for the
/// built-ins, which are converted by class; a model's fields are converted by their shape.
pub(crate) fn is_exact(class: &str) -> bool {
    BUILT_INS.contains(&class.trim_end_matches('?'))
}

fn is_model(class: &str) -> bool {
    !BUILT_INS.contains(&class) && !matches!(class, "List" | "Set" | "Map") && !class.contains('<')
}

fn to_json(class: &str, r: &mut Reader<'_>, depth: usize) -> Result<Value, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::malformed(class, "nested too deeply"));
    }
    let bad = |e: crate::protocol::msgpack::ReadError| DecodeError::malformed(class, e);
    if r.try_nil().map_err(bad)? {
        return Ok(Value::Null);
    }
    if let Some(inner) = class.strip_suffix('?') {
        return to_json(inner, r, depth + 1);
    }
    match class {
        "List" | "Set" => {
            let len = r.read_array_len().map_err(bad)?;
            let mut items = Vec::new();
            for _ in 0..len {
                items.push(wrapped_to_json(r.read_raw().map_err(bad)?, depth + 1)?);
            }
            return Ok(Value::Array(items));
        }
        "Map" => {
            return map_to_json(r, depth, |r, depth| {
                let raw = r.read_raw().map_err(bad)?;
                wrapped_to_json(raw, depth)
            })
        }
        _ => {}
    }
    match generic(class)
        .as_ref()
        .map(|(name, args)| (*name, args.as_slice()))
    {
        Some(("List" | "Set", [element])) => {
            let len = r.read_array_len().map_err(bad)?;
            let mut items = Vec::new();
            for _ in 0..len {
                items.push(to_json(element, r, depth + 1)?);
            }
            Ok(Value::Array(items))
        }
        Some(("Map", [_, value])) => map_to_json(r, depth, |r, depth| to_json(value, r, depth)),
        Some(_) => Err(DecodeError::UnknownClass(class.to_string())),
        None if is_model(class) => {
            let raw = r.read_raw().map_err(bad)?;
            // The model's own type writes it, nested models named, where it is known.
            if let Some(json) = crate::protocol::values::registry::model_json(class, raw) {
                return json;
            }
            model_from_shape(class, &mut Reader::new(raw), depth)
        }
        None => any_to_json(r, depth + 1),
    }
}

/// A model's JSON from its data's shape alone: named at the top, null fields left out.
fn model_from_shape(class: &str, r: &mut Reader<'_>, depth: usize) -> Result<Value, DecodeError> {
    match any_to_json(r, depth + 1)? {
        Value::Object(fields) => {
            // `toJsonForProtocol`: the class first, null fields left out.
            let mut object = Map::new();
            object.insert("__className__".into(), Value::String(class.to_string()));
            object.extend(fields.into_iter().filter(|(_, v)| !v.is_null()));
            Ok(Value::Object(object))
        }
        other => Ok(other),
    }
}

/// A map: an object when every key is a string, else a list of `{"k":..,"v":..}`.
fn map_to_json(
    r: &mut Reader<'_>,
    depth: usize,
    mut value: impl FnMut(&mut Reader<'_>, usize) -> Result<Value, DecodeError>,
) -> Result<Value, DecodeError> {
    let bad = |e: crate::protocol::msgpack::ReadError| DecodeError::malformed("Map", e);
    let len = r.read_map_len().map_err(bad)?;
    let mut entries = Vec::new();
    for _ in 0..len {
        let key = any_to_json(r, depth + 1)?;
        entries.push((key, value(r, depth + 1)?));
    }
    if entries.iter().all(|(k, _)| k.is_string()) {
        let object = entries
            .into_iter()
            .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), v))
            .collect();
        return Ok(Value::Object(object));
    }
    let pairs = entries.into_iter().map(|(k, v)| {
        let mut pair = Map::new();
        pair.insert("k".into(), k);
        pair.insert("v".into(), v);
        Value::Object(pair)
    });
    Ok(Value::Array(pairs.collect()))
}

/// Any MessagePack value, by its own shape.
fn any_to_json(r: &mut Reader<'_>, depth: usize) -> Result<Value, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::malformed("value", "nested too deeply"));
    }
    let bad = |e: crate::protocol::msgpack::ReadError| DecodeError::malformed("value", e);
    Ok(match r.peek_kind().map_err(bad)? {
        Kind::Nil => {
            r.try_nil().map_err(bad)?;
            Value::Null
        }
        Kind::Bool => Value::Bool(r.read_bool().map_err(bad)?),
        Kind::Int => Value::Number(r.read_int().map_err(bad)?.into()),
        Kind::Float => {
            let x = r.read_number().map_err(bad)?;
            Value::Number(
                Number::from_f64(x)
                    .ok_or_else(|| DecodeError::malformed("double", "not a finite number"))?,
            )
        }
        Kind::Str => Value::String(r.read_str().map_err(bad)?.to_string()),
        Kind::Bin => {
            let bytes =
                base64::engine::general_purpose::STANDARD.encode(r.read_bin().map_err(bad)?);
            Value::String(format!("{BYTES_PREFIX}{bytes}{BYTES_SUFFIX}"))
        }
        Kind::Array => {
            let len = r.read_array_len().map_err(bad)?;
            let mut items = Vec::new();
            for _ in 0..len {
                items.push(any_to_json(r, depth + 1)?);
            }
            Value::Array(items)
        }
        Kind::Map => map_to_json(r, depth, any_to_json)?,
        Kind::Ext => return Err(DecodeError::malformed("value", "MessagePack extension")),
    })
}

fn from_json(
    class: &str,
    json: &Value,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::malformed(class, "nested too deeply"));
    }
    let bad = |reason: &str| DecodeError::malformed(class, reason);
    if json.is_null() {
        write::nil(out);
        return Ok(());
    }
    if let Some(inner) = class.strip_suffix('?') {
        return from_json(inner, json, out, depth + 1);
    }
    match class {
        "List" | "Set" => {
            let items = json.as_array().ok_or_else(|| bad("not a list"))?;
            write::array_len(out, len(items.len())?);
            for item in items {
                wrapped_from_json(item, out, depth + 1)?;
            }
            return Ok(());
        }
        "Map" => return map_from_json(json, out, depth, any_from_json, wrapped_from_json),
        "double" => {
            let x = json.as_f64().ok_or_else(|| bad("not a number"))?;
            write::f64(out, x);
            return Ok(());
        }
        "int" | "Duration" => {
            let n = json.as_i64().ok_or_else(|| bad("not an integer"))?;
            write::int(out, n);
            return Ok(());
        }
        "bool" => {
            let b = match json {
                Value::Bool(b) => *b,
                Value::Number(n) if n.as_i64() == Some(0) => false,
                Value::Number(n) if n.as_i64() == Some(1) => true,
                _ => return Err(bad("not a bool")),
            };
            write::bool(out, b);
            return Ok(());
        }
        "DateTime" => {
            let at = match json {
                Value::String(text) => crate::protocol::DateTime::parse(text),
                Value::Number(n) => n.as_i64().map(crate::protocol::DateTime::from_millis),
                _ => None,
            }
            .ok_or_else(|| bad("not an ISO-8601 date-time or epoch milliseconds"))?;
            write::str(out, &at.to_string());
            return Ok(());
        }
        "ByteData" => {
            let text = json.as_str().ok_or_else(|| bad("not a string"))?;
            write::bin(
                out,
                &bytes_from_text(text).ok_or_else(|| bad("not `decode('<base64>', 'base64')`"))?,
            );
            return Ok(());
        }
        _ => {}
    }
    match generic(class)
        .as_ref()
        .map(|(name, args)| (*name, args.as_slice()))
    {
        Some(("List" | "Set", [element])) => {
            let items = json.as_array().ok_or_else(|| bad("not a list"))?;
            write::array_len(out, len(items.len())?);
            for item in items {
                from_json(element, item, out, depth + 1)?;
            }
            Ok(())
        }
        Some(("Map", [key, value])) => map_from_json(
            json,
            out,
            depth,
            |k, out, depth| from_json(key, k, out, depth),
            |v, out, depth| from_json(value, v, out, depth),
        ),
        Some(_) => Err(DecodeError::UnknownClass(class.to_string())),
        None if is_model(class) => match json {
            Value::Object(fields) => {
                // 2.x clients leave `__className__` out; either way it is not a field.
                let fields = fields.iter().filter(|(k, _)| k.as_str() != "__className__");
                write::map_len(out, len(fields.clone().count())?);
                for (name, value) in fields {
                    write::str(out, name);
                    any_from_json(value, out, depth + 1)?;
                }
                Ok(())
            }
            other => any_from_json(other, out, depth + 1),
        },
        None => any_from_json(json, out, depth + 1),
    }
}

/// A map from an object, or from a list of `{"k":..,"v":..}`.
fn map_from_json(
    json: &Value,
    out: &mut Vec<u8>,
    depth: usize,
    mut key: impl FnMut(&Value, &mut Vec<u8>, usize) -> Result<(), DecodeError>,
    mut value: impl FnMut(&Value, &mut Vec<u8>, usize) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let bad = |reason: &str| DecodeError::malformed("Map", reason);
    match json {
        Value::Object(entries) => {
            write::map_len(out, len(entries.len())?);
            for (k, v) in entries {
                key(&Value::String(k.clone()), out, depth + 1)?;
                value(v, out, depth + 1)?;
            }
        }
        Value::Array(pairs) => {
            write::map_len(out, len(pairs.len())?);
            for pair in pairs {
                let pair = pair
                    .as_object()
                    .ok_or_else(|| bad("entry is not an object"))?;
                key(pair.get("k").unwrap_or(&Value::Null), out, depth + 1)?;
                value(pair.get("v").unwrap_or(&Value::Null), out, depth + 1)?;
            }
        }
        _ => return Err(bad("not an object or a list of entries")),
    }
    Ok(())
}

/// Any JSON value, by its own shape.
fn any_from_json(json: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::malformed("value", "nested too deeply"));
    }
    match json {
        Value::Null => write::nil(out),
        Value::Bool(b) => write::bool(out, *b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => write::int(out, i),
            None => write::f64(out, n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => write::str(out, s),
        Value::Array(items) => {
            write::array_len(out, len(items.len())?);
            for item in items {
                any_from_json(item, out, depth + 1)?;
            }
        }
        Value::Object(_) => map_from_json(json, out, depth, any_from_json, any_from_json)?,
    }
    Ok(())
}

fn bytes_from_text(text: &str) -> Option<Vec<u8>> {
    let b64 = text
        .strip_prefix(BYTES_PREFIX)?
        .strip_suffix(BYTES_SUFFIX)?;
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

fn len(n: usize) -> Result<u32, DecodeError> {
    u32::try_from(n).map_err(|_| DecodeError::malformed("value", "too many elements"))
}

#[cfg(all(test, any(feature = "server", feature = "client")))]
mod tests {
    use crate::protocol::{BigInt, ByteData, DateTime, Dynamic, Wire};
    use serde_json::Value;
    use std::collections::{HashMap, HashSet};

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct SimpleData {
        num: i64,
    }
    crate::model!(SimpleData);

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct WithOptional {
        name: String,
        nickname: Option<String>,
        score: f64,
    }
    crate::model!(WithOptional);

    fn registered() {
        let registry = crate::protocol::values::registry::Registry::new();
        registry.register::<SimpleData>();
        registry.register::<WithOptional>();
    }

    /// The compact JSON text of `value`'s wrapped form.
    fn text<T: Wire>(value: T) -> String {
        let json = Dynamic::new(&value).unwrap().to_json().unwrap();
        serde_json::to_string(&json).unwrap()
    }

    /// Reads `json` and writes it back.
    fn round_trip(json: &str) -> String {
        registered();
        let value: Value = serde_json::from_str(json).unwrap();
        let dynamic = Dynamic::from_json(&value).unwrap();
        serde_json::to_string(&dynamic.to_json().unwrap()).unwrap()
    }

    #[test]
    fn built_ins_take_serverpods_forms() {
        assert_eq!(text(42i64), r#"{"className":"int","data":42}"#);
        assert_eq!(text(1.2f64), r#"{"className":"double","data":1.2}"#);
        assert_eq!(text(3.0f64), r#"{"className":"double","data":3.0}"#);
        assert_eq!(
            text("two".to_string()),
            r#"{"className":"String","data":"two"}"#
        );
        assert_eq!(text(None::<i64>), r#"{"className":"null","data":null}"#);
        assert_eq!(text(true), r#"{"className":"bool","data":true}"#);
        assert_eq!(
            text(DateTime::from_utc(1976, 9, 10, 2, 10, 0)),
            r#"{"className":"DateTime","data":"1976-09-10T02:10:00.000Z"}"#
        );
        assert_eq!(
            text(std::time::Duration::from_secs(1)),
            r#"{"className":"Duration","data":1000}"#
        );
        assert_eq!(
            text(ByteData(vec![1, 2, 3])),
            r#"{"className":"ByteData","data":"decode('AQID', 'base64')"}"#
        );
        assert_eq!(
            text(BigInt::parse("-12345678901234567890").unwrap()),
            r#"{"className":"BigInt","data":"-12345678901234567890"}"#
        );
        let uuid = uuid::Uuid::parse_str("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11").unwrap();
        assert_eq!(
            text(uuid),
            r#"{"className":"UuidValue","data":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}"#
        );
    }

    #[test]
    fn models_start_with_their_class_and_leave_out_nulls() {
        assert_eq!(
            text(SimpleData { num: 1 }),
            r#"{"className":"SimpleData","data":{"__className__":"SimpleData","num":1}}"#
        );
        let unnamed = WithOptional {
            name: "ä".into(),
            nickname: None,
            score: 2.0,
        };
        assert_eq!(
            text(unnamed),
            r#"{"className":"WithOptional","data":{"__className__":"WithOptional","name":"ä","score":2.0}}"#
        );
    }

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Outer {
        inner: SimpleData,
        maybe: Option<SimpleData>,
        list: Vec<SimpleData>,
    }
    crate::model!(Outer);

    #[test]
    fn nested_models_are_named_too_as_serverpod_writes_them() {
        let registry = crate::protocol::values::registry::Registry::new();
        registry.register::<Outer>();
        let outer = Outer {
            inner: SimpleData { num: 1 },
            maybe: None,
            list: vec![SimpleData { num: 2 }],
        };
        let expected = r#"{"className":"Outer","data":{"__className__":"Outer","inner":{"__className__":"SimpleData","num":1},"list":[{"__className__":"SimpleData","num":2}]}}"#;
        let written = registry.within(|| text(outer.clone()));
        assert_eq!(written, expected);
        // And read back (nested names are not fields), byte for byte.
        let back = registry.within(|| {
            let value: Value = serde_json::from_str(expected).unwrap();
            let dynamic = Dynamic::from_json(&value).unwrap();
            assert_eq!(dynamic.decode::<Outer>().unwrap(), outer);
            serde_json::to_string(&dynamic.to_json().unwrap()).unwrap()
        });
        assert_eq!(back, expected);
    }

    #[test]
    fn typed_containers_hold_plain_elements() {
        assert_eq!(
            text(vec![1i64, 2]),
            r#"{"className":"List<int>","data":[1,2]}"#
        );
        assert_eq!(
            text(vec![Some(SimpleData { num: 1 }), None]),
            r#"{"className":"List<SimpleData?>","data":[{"__className__":"SimpleData","num":1},null]}"#
        );
        assert_eq!(
            text(HashSet::from([5i64])),
            r#"{"className":"Set<int>","data":[5]}"#
        );
        assert_eq!(
            text(HashMap::from([("a".to_string(), 1i64)])),
            r#"{"className":"Map<String,int>","data":{"a":1}}"#
        );
    }

    #[test]
    fn untyped_containers_hold_wrapped_elements() {
        let list = vec![
            Dynamic::new(&1i64).unwrap(),
            Dynamic::new(&"two".to_string()).unwrap(),
        ];
        assert_eq!(
            text(list),
            r#"{"className":"List","data":[{"className":"int","data":1},{"className":"String","data":"two"}]}"#
        );
    }

    #[test]
    fn what_serverpod_writes_reads_back_byte_for_byte() {
        for json in [
            r#"{"className":"int","data":42}"#,
            r#"{"className":"double","data":1.5}"#,
            r#"{"className":"SimpleData","data":{"__className__":"SimpleData","num":1}}"#,
            r#"{"className":"List<SimpleData?>","data":[{"__className__":"SimpleData","num":1},null]}"#,
            r#"{"className":"Map<int,String>","data":[{"k":1,"v":"one"}]}"#,
            r#"{"className":"Map","data":{"a":{"className":"int","data":1}}}"#,
            r#"{"className":"ByteData","data":"decode('AQID', 'base64')"}"#,
            r#"{"className":"DateTime","data":"1976-09-10T02:10:00.123Z"}"#,
        ] {
            assert_eq!(round_trip(json), json);
        }
    }

    #[test]
    fn reading_is_as_lenient_as_serverpods() {
        // A whole double from Flutter web, a bool as 1, a date as epoch milliseconds, a
        // model from a 2.x client without `__className__`.
        assert_eq!(
            round_trip(r#"{"className":"double","data":3}"#),
            r#"{"className":"double","data":3.0}"#
        );
        assert_eq!(
            round_trip(r#"{"className":"bool","data":1}"#),
            r#"{"className":"bool","data":true}"#
        );
        assert_eq!(
            round_trip(r#"{"className":"DateTime","data":1000}"#),
            r#"{"className":"DateTime","data":"1970-01-01T00:00:01.000Z"}"#
        );
        assert_eq!(
            round_trip(r#"{"className":"SimpleData","data":{"num":7}}"#),
            r#"{"className":"SimpleData","data":{"__className__":"SimpleData","num":7}}"#
        );
        assert_eq!(
            round_trip(r#"{"className":"WithOptional","data":{"name":"n","score":3}}"#),
            r#"{"className":"WithOptional","data":{"__className__":"WithOptional","name":"n","score":3.0}}"#
        );
    }

    #[test]
    fn values_of_the_wrong_shape_are_errors() {
        registered();
        for json in [
            r#"{"className":"int","data":"4"}"#,
            r#"{"className":"int","data":1.5}"#,
            r#"{"className":"bool","data":2}"#,
            r#"{"className":"DateTime","data":"yesterday"}"#,
            r#"{"className":"ByteData","data":"AQID"}"#,
            r#"{"className":"List<int>","data":{"a":1}}"#,
            r#"{"className":"SimpleData","data":{"num":"one"}}"#,
            r#"{"className":"Nope","data":{}}"#,
            r#"{"data":1}"#,
        ] {
            let value: Value = serde_json::from_str(json).unwrap();
            assert!(Dynamic::from_json(&value).is_err(), "{json}");
        }
    }

    #[test]
    fn nesting_is_bounded_both_ways() {
        let mut class = "int".to_string();
        let mut json = "1".to_string();
        for _ in 0..100 {
            class = format!("List<{class}>");
            json = format!("[{json}]");
        }
        let value: Value =
            serde_json::from_str(&format!(r#"{{"className":"{class}","data":{json}}}"#)).unwrap();
        assert!(Dynamic::from_json(&value).is_err());
    }
}
