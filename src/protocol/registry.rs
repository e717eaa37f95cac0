//! The class registry: which `className`s this process knows, and how to check their `data`.
//!
//! Typed streams never consult it: their element type decodes the value. Dynamic streams do,
//! so that a value of an unknown class, or whose data does not match its class, fails only
//! the stream it arrived on. The registry is process-wide because both the server and the
//! client decode dynamic values, deep inside generic code; registering the same class twice
//! is harmless.

use super::error::DecodeError;
use super::msgpack::{Reader, MAX_DEPTH};
use super::value::{BigInt, ByteData, Wire};
use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

type Checker = fn(&[u8]) -> Result<(), DecodeError>;

fn checker<T: Wire>(data: &[u8]) -> Result<(), DecodeError> {
    T::read_data(data).map(drop)
}

fn table() -> &'static RwLock<HashMap<String, Checker>> {
    static TABLE: OnceLock<RwLock<HashMap<String, Checker>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t: HashMap<String, Checker> = HashMap::new();
        t.insert("int".into(), checker::<i64>);
        t.insert("double".into(), checker::<f64>);
        t.insert("String".into(), checker::<String>);
        t.insert("bool".into(), checker::<bool>);
        t.insert("DateTime".into(), checker::<super::DateTime>);
        t.insert("Duration".into(), checker::<std::time::Duration>);
        t.insert("UuidValue".into(), checker::<uuid::Uuid>);
        t.insert("ByteData".into(), checker::<ByteData>);
        t.insert("BigInt".into(), checker::<BigInt>);
        RwLock::new(t)
    })
}

/// Makes `T`'s class known to dynamic streams in this process.
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) fn register<T: Wire>() {
    let name = T::type_name();
    if T::DYNAMIC
        || table()
            .read()
            .map(|t| t.contains_key(name.as_ref()))
            .unwrap_or(false)
    {
        return;
    }
    if let Ok(mut t) = table().write() {
        t.insert(name.into_owned(), checker::<T>);
    }
}

fn lookup(class: &str) -> Option<Checker> {
    table().read().ok()?.get(class).copied()
}

/// Checks that `data` is a valid value of `class`.
pub(crate) fn check(class: &str, data: &[u8]) -> Result<(), DecodeError> {
    check_at(class, data, 0)
}

fn check_at(class: &str, data: &[u8], depth: usize) -> Result<(), DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::malformed(class, "nested too deeply"));
    }
    let bad = |e: super::msgpack::ReadError| DecodeError::malformed(class, e);
    let is_nil = data == [0xc0];
    if class == "null" {
        return if is_nil {
            Ok(())
        } else {
            Err(DecodeError::malformed("null", "data is not nil"))
        };
    }
    if let Some(check) = lookup(class) {
        return check(data);
    }
    if let Some(inner) = class.strip_suffix('?') {
        return if is_nil {
            Ok(())
        } else {
            check_at(inner, data, depth + 1)
        };
    }
    // Untyped containers hold wrapped elements.
    if matches!(class, "List" | "Set" | "Map") {
        let mut r = Reader::new(data);
        if class == "Map" {
            let len = r.read_map_len().map_err(bad)?;
            for _ in 0..len {
                r.read_raw().map_err(bad)?;
                check_wrapped(r.read_raw().map_err(bad)?, depth + 1)?;
            }
        } else {
            let len = r.read_array_len().map_err(bad)?;
            for _ in 0..len {
                check_wrapped(r.read_raw().map_err(bad)?, depth + 1)?;
            }
        }
        return Ok(());
    }
    let parts = generic(class);
    match parts.as_ref().map(|(name, args)| (*name, args.as_slice())) {
        Some(("List" | "Set", [elem])) => {
            let mut r = Reader::new(data);
            let len = r.read_array_len().map_err(bad)?;
            for _ in 0..len {
                check_at(elem, r.read_raw().map_err(bad)?, depth + 1)?;
            }
            Ok(())
        }
        Some(("Map", [_key, value])) => {
            let mut r = Reader::new(data);
            let len = r.read_map_len().map_err(bad)?;
            for _ in 0..len {
                r.read_raw().map_err(bad)?;
                check_at(value, r.read_raw().map_err(bad)?, depth + 1)?;
            }
            Ok(())
        }
        _ => Err(DecodeError::UnknownClass(class.to_string())),
    }
}

fn check_wrapped(raw: &[u8], depth: usize) -> Result<(), DecodeError> {
    let (class, data) = super::wrapped::split_wrapped(raw)?;
    check_at(class, data, depth)
}

/// Splits `List<Set<int>>` into `("List", ["Set<int>"])`, `Map<String,int>` into
/// `("Map", ["String", "int"])`.
fn generic(class: &str) -> Option<(&str, Vec<&str>)> {
    let open = class.find('<')?;
    let body = class.strip_suffix('>')?.get(open + 1..)?;
    let mut args = Vec::new();
    let (mut level, mut start) = (0usize, 0usize);
    for (i, c) in body.char_indices() {
        match c {
            '<' => level += 1,
            '>' => level = level.checked_sub(1)?,
            ',' if level == 0 => {
                args.push(body[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    args.push(body[start..].trim());
    Some((&class[..open], args)).filter(|(_, a)| a.iter().all(|s| !s.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::value::encode_data;

    #[test]
    fn data_must_match_its_class() {
        let list = encode_data(&vec![1i64, 2]).unwrap();
        assert!(check("List<int>", &list).is_ok());
        assert!(check("List<String>", &list).is_err());
        assert!(check("int", &list).is_err());
        assert!(matches!(
            check("Nope", &list),
            Err(DecodeError::UnknownClass(_))
        ));
    }
}
