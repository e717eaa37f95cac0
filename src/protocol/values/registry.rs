//! The class registry: which `className`s a server (or a client) knows, and how to check
//! their `data`.
//!
//! Typed streams never consult it: their element type decodes the value. Dynamic streams
//! do, so that a value of an unknown class, or whose data does not match its class, fails
//! only the stream it arrived on. Each server and each client has its own [`Registry`]: a
//! class one server registers is unknown to another in the same process.
//!
//! **The one piece of ambient state.** A dynamic value nested in a typed one (a
//! `Vec<Dynamic>` field of a model) is checked deep inside `Wire::read_data`, a public
//! trait method that takes no context: a user's `model!` type implements it. So the check
//! reads the registry *current on this thread* ([`Registry::within`], its only writer), and
//! outside of any (the application's own code, decoding a value it received), every class
//! registered in the process: what a program knows. Everything else takes its registry
//! explicitly: the crate decodes a wrapped value for a server or client with
//! [`Registry::decode`], which runs the decode within that registry, and runs the
//! application's code (a method's polls, a bus listener, a legacy endpoint) within it, so
//! that what that code decodes sees the classes its server knows.

use crate::protocol::error::DecodeError;
use crate::protocol::msgpack::{Reader, MAX_DEPTH};
use crate::protocol::values::wire::{BigInt, ByteData, Wire};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

/// What the registry knows of one class: how to check its `data`, and how to write it back
/// the way its own type does (a model read from JSON, whose `3` is an `f64` field, comes out
/// as `3.0`, as Serverpod's would).
#[derive(Debug, Clone, Copy)]
struct Class {
    check: fn(&[u8]) -> Result<(), DecodeError>,
    normalize: fn(&[u8]) -> Result<Vec<u8>, DecodeError>,
    json: fn(&[u8]) -> Option<Result<serde_json::Value, DecodeError>>,
}

impl Class {
    fn of<T: Wire>() -> Self {
        Class {
            check: |data| T::read_data(data).map(drop),
            normalize: |data| {
                let value = T::read_data(data)?;
                crate::protocol::values::wire::encode_data(&value)
                    .map_err(|e| DecodeError::malformed(&T::type_name(), e))
            },
            json: |data| {
                let value = match T::read_data(data) {
                    Ok(value) => value,
                    Err(e) => return Some(Err(e)),
                };
                let json = value.model_json()?;
                Some(json.map_err(|e| DecodeError::malformed(&T::type_name(), e)))
            },
        }
    }
}

/// The classes one server or client knows.
#[derive(Debug)]
pub(crate) struct Registry {
    table: RwLock<HashMap<String, Class>>,
}

impl Registry {
    /// A registry that knows the built-in classes.
    pub(crate) fn new() -> Arc<Self> {
        let mut t: HashMap<String, Class> = HashMap::new();
        t.insert("int".into(), Class::of::<i64>());
        t.insert("double".into(), Class::of::<f64>());
        t.insert("String".into(), Class::of::<String>());
        t.insert("bool".into(), Class::of::<bool>());
        t.insert("DateTime".into(), Class::of::<crate::protocol::DateTime>());
        t.insert("Duration".into(), Class::of::<std::time::Duration>());
        t.insert("UuidValue".into(), Class::of::<uuid::Uuid>());
        t.insert("ByteData".into(), Class::of::<ByteData>());
        t.insert("BigInt".into(), Class::of::<BigInt>());
        Arc::new(Registry {
            table: RwLock::new(t),
        })
    }

    /// Makes `T`'s class known, here and to the process (for checks outside any scope).
    /// Registering a class twice is harmless.
    #[cfg(any(feature = "server", feature = "client"))]
    pub(crate) fn register<T: Wire>(&self) {
        self.add::<T>();
        process().add::<T>();
    }

    #[cfg(any(feature = "server", feature = "client"))]
    fn add<T: Wire>(&self) {
        let name = T::type_name();
        if crate::protocol::values::wire::is_dynamic::<T>() || self.lookup(name.as_ref()).is_some()
        {
            return;
        }
        // A panic cannot leave the table half-written: an insert is all that happens.
        let mut table = self.table.write().unwrap_or_else(PoisonError::into_inner);
        table.insert(name.into_owned(), Class::of::<T>());
    }

    fn lookup(&self, class: &str) -> Option<Class> {
        let table = self.table.read().unwrap_or_else(PoisonError::into_inner);
        table.get(class).copied()
    }
}

thread_local! {
    /// The registry of the server or client whose decoding runs on this thread now.
    static CURRENT: RefCell<Option<Arc<Registry>>> = const { RefCell::new(None) };
}

#[cfg(any(feature = "server", feature = "client"))]
impl Registry {
    /// Runs `f` with these classes current on this thread (nesting restores the outer ones,
    /// a panic in `f` too): application code, whose own decoding of dynamic values should
    /// see the classes of the server or client running it.
    pub(crate) fn within<R>(self: &Arc<Self>, f: impl FnOnce() -> R) -> R {
        // Already current (a value decoded inside a frame handled within): nothing to set,
        // and no reference count touched per value.
        let current = CURRENT.with(|c| c.borrow().as_ref().is_some_and(|r| Arc::ptr_eq(r, self)));
        if current {
            return f();
        }
        struct Restore(Option<Arc<Registry>>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let outer = self.0.take();
                CURRENT.with(|c| *c.borrow_mut() = outer);
            }
        }
        let _restore = Restore(CURRENT.with(|c| c.replace(Some(self.clone()))));
        f()
    }

    /// A wrapped value (`className` and `data`) as `T`, against these classes: its class
    /// checked, dynamic values inside it too.
    pub(crate) fn decode<T: Wire>(
        self: &Arc<Self>,
        class: &str,
        data: &[u8],
    ) -> Result<T, DecodeError> {
        self.within(|| T::from_wrapped(class, data))
    }
}

/// A stream polled with its registry current: a running method, whose code may decode
/// dynamic values at any poll.
#[cfg(feature = "server")]
pub(crate) struct Within<S> {
    pub(crate) inner: S,
    pub(crate) registry: Arc<Registry>,
}

#[cfg(feature = "server")]
impl<S: futures::Stream + Unpin> futures::Stream for Within<S> {
    type Item = S::Item;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<S::Item>> {
        let this = &mut *self;
        this.registry
            .within(|| std::pin::Pin::new(&mut this.inner).poll_next(cx))
    }
}

/// The registry current on this thread, or the process's: the one reader of the ambient
/// state (see the module's docs).
fn current<R>(f: impl FnOnce(&Registry) -> R) -> R {
    match CURRENT.with(|c| c.borrow().clone()) {
        Some(registry) => f(&registry),
        None => f(process()),
    }
}

/// `data` of `class` as the class's own type writes it, when the current registry (or the
/// process) knows the class by that exact name; unchanged otherwise.
pub(crate) fn normalize(class: &str, data: Vec<u8>) -> Result<Vec<u8>, DecodeError> {
    match current(|registry| registry.lookup(class)) {
        Some(known) => (known.normalize)(&data),
        None => Ok(data),
    }
}

/// `data` of `class` in JSON as the class's own type writes it, when it knows better than
/// the data's shape (a model) and the current registry (or the process) knows the class.
pub(crate) fn model_json(
    class: &str,
    data: &[u8],
) -> Option<Result<serde_json::Value, DecodeError>> {
    let known = current(|registry| registry.lookup(class))?;
    (known.json)(data)
}

/// Every class registered in the process, by any server or client.
fn process() -> &'static Registry {
    static PROCESS: OnceLock<Arc<Registry>> = OnceLock::new();
    PROCESS.get_or_init(Registry::new)
}

/// Checks that `data` is a valid value of `class`, against the current registry (outside
/// of any, against every class the process has registered).
pub(crate) fn check(class: &str, data: &[u8]) -> Result<(), DecodeError> {
    current(|registry| check_at(registry, class, data, 0))
}

fn check_at(
    registry: &Registry,
    class: &str,
    data: &[u8],
    depth: usize,
) -> Result<(), DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::malformed(class, "nested too deeply"));
    }
    let bad = |e: crate::protocol::msgpack::ReadError| DecodeError::malformed(class, e);
    let is_nil = data == [0xc0];
    if class == "null" {
        return if is_nil {
            Ok(())
        } else {
            Err(DecodeError::malformed("null", "data is not nil"))
        };
    }
    if let Some(known) = registry.lookup(class) {
        return (known.check)(data);
    }
    if let Some(inner) = class.strip_suffix('?') {
        return if is_nil {
            Ok(())
        } else {
            check_at(registry, inner, data, depth + 1)
        };
    }
    // Untyped containers hold wrapped elements.
    if matches!(class, "List" | "Set" | "Map") {
        let mut r = Reader::new(data);
        if class == "Map" {
            let len = r.read_map_len().map_err(bad)?;
            for _ in 0..len {
                r.read_raw().map_err(bad)?;
                check_wrapped(registry, r.read_raw().map_err(bad)?, depth + 1)?;
            }
        } else {
            let len = r.read_array_len().map_err(bad)?;
            for _ in 0..len {
                check_wrapped(registry, r.read_raw().map_err(bad)?, depth + 1)?;
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
                check_at(registry, elem, r.read_raw().map_err(bad)?, depth + 1)?;
            }
            Ok(())
        }
        Some(("Map", [_key, value])) => {
            let mut r = Reader::new(data);
            let len = r.read_map_len().map_err(bad)?;
            for _ in 0..len {
                r.read_raw().map_err(bad)?;
                check_at(registry, value, r.read_raw().map_err(bad)?, depth + 1)?;
            }
            Ok(())
        }
        _ => Err(DecodeError::UnknownClass(class.to_string())),
    }
}

fn check_wrapped(registry: &Registry, raw: &[u8], depth: usize) -> Result<(), DecodeError> {
    let (class, data) = crate::protocol::values::wrapped::split_wrapped(raw)?;
    check_at(registry, class, data, depth)
}

/// Splits `List<Set<int>>` into `("List", ["Set<int>"])`, `Map<String,int>` into
/// `("Map", ["String", "int"])`.
pub(super) fn generic(class: &str) -> Option<(&str, Vec<&str>)> {
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
    use crate::protocol::values::wire::encode_data;

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
