//! [`Dynamic`]: a wrapped value of any registered class, kept as its `className` and its raw
//! MessagePack `data`, for dynamic streams that carry mixed types.

use crate::protocol::buffers::{encode_exact, encode_shared};
use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::msgpack::{Kind, Reader, MAX_DEPTH};
use crate::protocol::values::wire::Wire;
use crate::protocol::values::wrapped::{self, split_wrapped};
use bytes::Bytes;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// A value of any registered class: what a dynamic stream carries, and how serializable
/// exceptions cross the wire.
///
/// ```
/// use streampod::Dynamic;
/// let v = Dynamic::new(&42i64).unwrap();
/// assert_eq!(v.class_name(), "int");
/// assert!(v.is::<i64>());
/// assert_eq!(v.decode::<i64>().unwrap(), 42);
/// assert!(v.decode::<String>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Dynamic {
    class: ClassName,
    data: Bytes,
}

/// A `className`: a Rust type's own name (nothing to allocate), or one read off the wire.
#[derive(Clone)]
enum ClassName {
    Static(&'static str),
    Shared(Arc<str>),
}

impl ClassName {
    fn as_str(&self) -> &str {
        match self {
            ClassName::Static(name) => name,
            ClassName::Shared(name) => name,
        }
    }
}

impl PartialEq for ClassName {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ClassName {}

impl From<Cow<'static, str>> for ClassName {
    fn from(name: Cow<'static, str>) -> Self {
        match name {
            Cow::Borrowed(name) => ClassName::Static(name),
            Cow::Owned(name) => ClassName::Shared(name.into()),
        }
    }
}

impl Dynamic {
    /// Wraps a value under its class name.
    pub fn new<T: Wire>(value: &T) -> Result<Self, EncodeError> {
        Self::wrap(value, false)
    }

    /// [`Dynamic::new`] for a value on its way into a frame, dropped once the frame is
    /// encoded: its data shares a buffer with others (`protocol::buffers`) instead of an
    /// allocation of its own.
    #[cfg(any(feature = "server", feature = "client"))]
    pub(crate) fn in_flight<T: Wire>(value: &T) -> Result<Self, EncodeError> {
        Self::wrap(value, true)
    }

    fn wrap<T: Wire>(value: &T, in_flight: bool) -> Result<Self, EncodeError> {
        // A dynamic value is wrapped already (a dynamic echo yields what it received).
        if let Some(dynamic) = (value as &dyn std::any::Any).downcast_ref::<Dynamic>() {
            return Ok(dynamic.clone());
        }
        let write = |buf: &mut Vec<u8>| value.write_data(buf);
        let data = if in_flight {
            encode_shared(write)?
        } else {
            encode_exact(write)?
        };
        Ok(Dynamic {
            class: value.class_name().into(),
            data,
        })
    }

    /// A `Dynamic` from a `className` and raw `data`, checked against the registry: the class
    /// must be known and the data must decode as that class.
    pub fn checked(class: &str, data: &[u8]) -> Result<Self, DecodeError> {
        crate::protocol::values::registry::check(class, data)?;
        Ok(Self::unchecked(class, data))
    }

    /// A `Dynamic` from parts, without checking them.
    pub(crate) fn unchecked(class: &str, data: &[u8]) -> Self {
        Self::from_parts(Arc::from(class), data)
    }

    /// A `Dynamic` under a class name already shared, without checking it.
    pub(crate) fn from_parts(class: Arc<str>, data: &[u8]) -> Self {
        Self::from_shared(class, Bytes::copy_from_slice(data))
    }

    /// A `Dynamic` whose data is a part of a buffer it shares (a received frame), without
    /// checking it: no copy.
    pub(crate) fn from_shared(class: Arc<str>, data: Bytes) -> Self {
        Dynamic {
            class: ClassName::Shared(class),
            data,
        }
    }

    /// The `className`.
    pub fn class_name(&self) -> &str {
        self.class.as_str()
    }

    /// The raw MessagePack `data`.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// True when the value can be decoded as `T`.
    pub fn is<T: Wire>(&self) -> bool {
        T::accepts(self.class_name()) && T::read_data(&self.data).is_ok()
    }

    /// Decodes the value as `T`.
    pub fn decode<T: Wire>(&self) -> Result<T, DecodeError> {
        T::from_wrapped(self.class_name(), &self.data)
    }

    /// Writes `{"className": …, "data": …}`.
    pub fn write_wrapped(&self, out: &mut Vec<u8>) {
        let Ok(()) = wrapped::write_wrapped(out, self.class_name(), |out| self.write_raw(out));
    }

    /// Appends the value's class name and data as two MessagePack values: the tail of a
    /// keyed value frame (docs/PROTOCOL.md §12).
    pub(crate) fn write_parts(&self, out: &mut Vec<u8>) {
        let Ok(()) = wrapped::write_parts(out, self.class_name(), |out| self.write_raw(out));
    }

    fn write_raw(&self, out: &mut Vec<u8>) -> Result<(), std::convert::Infallible> {
        out.extend_from_slice(&self.data);
        Ok(())
    }

    /// This value in Serverpod's JSON form, `{"className": …, "data": …}`, as Serverpod's
    /// server writes it (docs/PROTOCOL.md §9): a model's data starts with `"__className__"` and
    /// leaves out null fields, `ByteData` is `decode('<base64>', 'base64')`, and so on.
    pub fn to_json(&self) -> Result<serde_json::Value, DecodeError> {
        crate::protocol::values::json::parts_to_json(self.class_name(), &self.data, 0)
    }

    /// A value from its JSON form, `{"className": …, "data": …}`, read as leniently as
    /// Serverpod does, and checked like [`Dynamic::checked`].
    pub fn from_json(json: &serde_json::Value) -> Result<Self, DecodeError> {
        let class = json
            .get("className")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| DecodeError::malformed("wrapped value", "missing `className`"))?;
        let class = class.trim();
        let data = json.get("data").unwrap_or(&serde_json::Value::Null);
        // Read by its own type where the class is known: what JSON left loose (a whole
        // number for a double field) comes out as the type writes it.
        Dynamic::checked(
            class,
            &crate::protocol::values::json::value_data(class, data)?,
        )
    }

    /// A value from its JSON form as a frame carries it, unchecked: `None` without a
    /// `className`. Data with no MessagePack form for its class becomes data no type reads
    /// (the one byte MessagePack never uses), so that only the value's own stream fails.
    pub(crate) fn from_json_frame(json: &serde_json::Value) -> Option<Self> {
        let class = json.get("className")?.as_str()?;
        let data = json.get("data").unwrap_or(&serde_json::Value::Null);
        Some(Self::from_json_parts(class, data))
    }

    /// [`Dynamic::from_json_frame`] of a value already split into its class and data.
    pub(crate) fn from_json_parts(class: &str, data: &serde_json::Value) -> Self {
        let class = class.trim();
        Dynamic {
            class: ClassName::Shared(Arc::from(class)),
            data: Bytes::from(crate::protocol::values::json::frame_data(class, data)),
        }
    }

    /// Reads `{"className": …, "data": …}` without checking the class.
    pub fn read_wrapped(raw: &[u8]) -> Result<Self, DecodeError> {
        let (class, data) = split_wrapped(raw)?;
        Ok(Self::unchecked(class, data))
    }
}

impl Wire for Dynamic {
    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed("dynamic")
    }
    fn class_name(&self) -> Cow<'static, str> {
        match &self.class {
            ClassName::Static(name) => Cow::Borrowed(name),
            ClassName::Shared(name) => Cow::Owned(name.to_string()),
        }
    }
    fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.data);
        Ok(())
    }
    fn read_data(_data: &[u8]) -> Result<Self, DecodeError> {
        Err(DecodeError::malformed(
            "dynamic",
            "a dynamic value needs its className",
        ))
    }
    fn accepts(_class: &str) -> bool {
        true
    }
    fn from_wrapped(class: &str, data: &[u8]) -> Result<Self, DecodeError> {
        Dynamic::checked(class, data)
    }
    fn write_element(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.write_wrapped(out);
        Ok(())
    }
    fn read_element(data: &[u8]) -> Result<Self, DecodeError> {
        let (class, data) = split_wrapped(data)?;
        Dynamic::checked(class, data)
    }
}

impl fmt::Debug for Dynamic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.class_name())?;
        render(&mut Reader::new(&self.data), f, 0)?;
        write!(f, ")")
    }
}

impl fmt::Display for Dynamic {
    /// Shows the data; a top-level string without quotes, anything else JSON-like.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut r = Reader::new(&self.data);
        if let Ok(s) = r.clone().read_str() {
            return f.write_str(s);
        }
        render(&mut r, f, 0)
    }
}

fn render(r: &mut Reader<'_>, f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
    let kind = match r.peek_kind() {
        Ok(k) if depth < MAX_DEPTH => k,
        _ => return f.write_str("…"),
    };
    let res = match kind {
        Kind::Nil => r.try_nil().map(|_| write!(f, "null")),
        Kind::Bool => r.read_bool().map(|b| write!(f, "{b}")),
        Kind::Int => r.read_int().map(|i| write!(f, "{i}")),
        Kind::Float => r.read_number().map(|x| write!(f, "{x}")),
        Kind::Str => r.read_str().map(|s| write!(f, "{s:?}")),
        Kind::Bin => r.read_bin().map(|b| write!(f, "<{} bytes>", b.len())),
        Kind::Ext => r.read_raw().map(|_| write!(f, "<ext>")),
        Kind::Array => r.read_array_len().map(|n| {
            write!(f, "[")?;
            for i in 0..n {
                if i > 0 {
                    write!(f, ", ")?;
                }
                render(r, f, depth + 1)?;
            }
            write!(f, "]")
        }),
        Kind::Map => r.read_map_len().map(|n| {
            write!(f, "{{")?;
            for i in 0..n {
                if i > 0 {
                    write!(f, ", ")?;
                }
                render(r, f, depth + 1)?;
                write!(f, ": ")?;
                render(r, f, depth + 1)?;
            }
            write!(f, "}}")
        }),
    };
    res.unwrap_or_else(|_| f.write_str("…"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_a_dynamic_keeps_it_as_it_is() {
        let inner = Dynamic::checked("int", &[0x2a]).unwrap();
        let wrapped = Dynamic::new(&inner).unwrap();
        assert_eq!(wrapped, inner);
        assert_eq!(wrapped.class_name(), "int");
        // A list of dynamics is a `List` whose elements are wrapped themselves.
        let list = Dynamic::new(&vec![inner.clone()]).unwrap();
        assert_eq!(list.class_name(), "List");
        assert_eq!(Vec::<Dynamic>::read_data(list.data()).unwrap(), vec![inner]);
    }
}
