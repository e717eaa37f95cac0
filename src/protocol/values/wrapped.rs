//! The envelope of a wrapped value, `{"className": …, "data": …}`, read without knowing the
//! class: what both the dynamic values and the class registry build on.

use crate::protocol::error::DecodeError;
use crate::protocol::msgpack::{write, Reader};
use std::fmt;

/// Appends a wrapped value, `{"className": class, "data": …}`, its data written by `data`.
pub(crate) fn write_wrapped<E>(
    out: &mut Vec<u8>,
    class: &str,
    data: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<(), E> {
    write::map_len(out, 2);
    write::str(out, "className");
    write::str(out, class);
    write::str(out, "data");
    data(out)
}

/// Appends a value's class name and data as two MessagePack values, not in a map: the tail
/// of a keyed value frame (docs/PROTOCOL.md §12).
pub(crate) fn write_parts<E>(
    out: &mut Vec<u8>,
    class: &str,
    data: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<(), E> {
    write::str(out, class);
    data(out)
}

/// Splits a wrapped value into its `className` and raw `data`.
pub(crate) fn split_wrapped(raw: &[u8]) -> Result<(&str, &[u8]), DecodeError> {
    read_wrapped_parts(&mut Reader::new(raw))
}

/// Reads a wrapped value at the reader's position into its `className` and raw `data`,
/// both borrowed: the value is walked once.
pub(crate) fn read_wrapped_parts<'a>(
    r: &mut Reader<'a>,
) -> Result<(&'a str, &'a [u8]), DecodeError> {
    let bad = |e: &dyn fmt::Display| DecodeError::malformed("wrapped value", e);
    let len = r.read_map_len().map_err(|e| bad(&e))?;
    let (mut class, mut data) = (None, None);
    for _ in 0..len {
        match r.read_str_bytes().map_err(|e| bad(&e))? {
            b"className" => class = Some(r.read_str().map_err(|e| bad(&e))?),
            b"data" => data = Some(r.read_raw().map_err(|e| bad(&e))?),
            _ => {
                r.read_raw().map_err(|e| bad(&e))?;
            }
        }
    }
    let class = class.ok_or_else(|| bad(&"missing `className`"))?;
    // `data` may be omitted for `null`.
    Ok((class, data.unwrap_or(&[0xc0])))
}
