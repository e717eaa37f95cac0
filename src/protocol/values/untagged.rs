//! An untagged object read as the model a method declares.
//!
//! A client that has no class names at hand (a TypeScript page sending `{pollId, option}`
//! on an `InputStream<Vote>`) sends a plain object as a dynamic `Map`, whose values are
//! wrapped themselves (`{"className": "int", "data": 7}`), where the model's `data` is a map
//! of plain fields. Since the method names the class it expects, the server does not need
//! the client to: [`plain_data`] unwraps every wrapped value inside a dynamic container, so
//! that the model reads the result as it reads its own data (docs/PROTOCOL.md §3.1).

use crate::protocol::error::DecodeError;
use crate::protocol::msgpack::{write, Kind, Reader, MAX_DEPTH};
use crate::protocol::values::wrapped::read_wrapped_parts;

/// The data of a value of class `class` with the wrapping of its dynamic containers
/// (`List`, `Set`, `Map`) taken off, at every depth; other classes' data as it is.
pub(crate) fn plain_data(class: &str, data: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(data.len());
    unwrap_into(class, data, &mut out, 0)?;
    Ok(out)
}

fn unwrap_into(
    class: &str,
    data: &[u8],
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::malformed(class, "nested too deeply"));
    }
    let bad = |e: crate::protocol::msgpack::ReadError| DecodeError::malformed(class, e);
    let mut r = Reader::new(data);
    match class {
        "List" | "Set" => {
            let len = r.read_array_len().map_err(bad)?;
            write::array_len(out, len as u32);
            for _ in 0..len {
                unwrap_element(&mut r, out, depth)?;
            }
        }
        // Keys that are strings: a map. Other keys: `[{"k": key, "v": value}, …]`, both
        // wrapped, which a model's map field reads as a map too.
        "Map" if matches!(r.peek_kind(), Ok(Kind::Map)) => {
            let len = r.read_map_len().map_err(bad)?;
            write::map_len(out, len as u32);
            for _ in 0..len {
                out.extend_from_slice(r.read_raw().map_err(bad)?);
                unwrap_element(&mut r, out, depth)?;
            }
        }
        "Map" => {
            let len = r.read_array_len().map_err(bad)?;
            write::map_len(out, len as u32);
            for _ in 0..len {
                let mut entry = [None, None];
                for _ in 0..r.read_map_len().map_err(bad)? {
                    let slot = match r.read_str_bytes().map_err(bad)? {
                        b"k" => 0,
                        b"v" => 1,
                        _ => return Err(DecodeError::malformed(class, "an entry other than k, v")),
                    };
                    entry[slot] = Some(r.read_raw().map_err(bad)?);
                }
                for part in entry {
                    let part = part
                        .ok_or_else(|| DecodeError::malformed(class, "an entry without k or v"))?;
                    unwrap_element(&mut Reader::new(part), out, depth)?;
                }
            }
        }
        _ => {
            out.extend_from_slice(data);
            return Ok(());
        }
    }
    if !r.is_empty() {
        return Err(DecodeError::malformed(class, "trailing bytes"));
    }
    Ok(())
}

/// One wrapped element of a dynamic container, unwrapped.
fn unwrap_element(r: &mut Reader<'_>, out: &mut Vec<u8>, depth: usize) -> Result<(), DecodeError> {
    let (class, data) = read_wrapped_parts(r)?;
    unwrap_into(class, data, out, depth + 1)
}

#[cfg(test)]
mod tests {
    use super::plain_data;
    use crate::protocol::values::json::data_from_json;
    use crate::protocol::values::json::msgpack_to_any_json;
    use serde_json::json;

    fn unwrapped(class: &str, json: serde_json::Value) -> serde_json::Value {
        let data = data_from_json(class, &json).unwrap();
        msgpack_to_any_json(&plain_data(class, &data).unwrap()).unwrap()
    }

    #[test]
    fn wrapped_values_inside_dynamic_containers_lose_their_wrapping() {
        let map = json!({
            "pollId": {"className": "int", "data": 7},
            "tags": {"className": "List", "data": [{"className": "String", "data": "a"}]},
            "inner": {"className": "Map", "data": {"n": {"className": "double", "data": 1.5}}},
            "model": {"className": "SimpleData", "data": {"num": 3}},
        });
        assert_eq!(
            unwrapped("Map", map),
            json!({"pollId": 7, "tags": ["a"], "inner": {"n": 1.5}, "model": {"num": 3}})
        );
        assert_eq!(unwrapped("int", json!(5)), json!(5));
    }

    #[test]
    fn hostile_nesting_is_refused_not_recursed() {
        let mut value = json!({"className": "int", "data": 1});
        for _ in 0..70 {
            value = json!({"className": "List", "data": [value]});
        }
        let data = data_from_json("List", &value["data"]);
        // Either the JSON reader or the unwrapping refuses it; neither overflows the stack.
        if let Ok(data) = data {
            assert!(plain_data("List", &data).is_err());
        }
    }
}
