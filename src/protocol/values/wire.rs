//! Wrapped values: the [`Wire`] trait that gives a Rust type its `className` and its `data`.
//!
//! Every value on a stream travels as `{"className": NAME, "data": DATA}`. A type that
//! implements [`Wire`] knows its name (`int`, `String`, `SimpleData`, `List<int>` …), how to
//! write its `data` as MessagePack and how to read it back. Built-in types are implemented
//! here; user models get an implementation from the [`model!`](crate::model) macro, through
//! serde. Containers of plain values (`Vec<T>`, `HashSet<T>`, `HashMap<String, T>`) build
//! their names from their element's, as Serverpod's typed containers do; containers of
//! [`Dynamic`](crate::protocol::Dynamic) elements are the untyped `List`, `Set` and `Map`, whose
//! elements are wrapped themselves.

use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::msgpack::{write, Kind, Reader};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;

/// A type that can cross the wire as a wrapped value.
///
/// Implement it with [`model!`](crate::model) for serde types; the built-in types and
/// containers implement it already.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot cross the wire: it is not a streampod value",
    label = "not a `streampod::Wire` type",
    note = "for your own serde type, derive `serde::Serialize` and `serde::Deserialize` and add `streampod::model!({Self});`"
)]
pub trait Wire: Sized + Send + 'static {
    /// The `className` of values of this type (for `Option<T>`, the name used inside typed
    /// containers, such as `int?`).
    fn type_name() -> Cow<'static, str>;

    /// The `className` this value is wrapped under. Differs from [`Wire::type_name`] only for
    /// `None` (`null`) and for [`Dynamic`](crate::protocol::Dynamic) values.
    fn class_name(&self) -> Cow<'static, str> {
        Self::type_name()
    }

    /// Appends this value's `data` as MessagePack.
    fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError>;

    /// Reads a value from its `data`.
    fn read_data(data: &[u8]) -> Result<Self, DecodeError>;

    /// Whether a wrapped value of class `class` can become this type.
    fn accepts(class: &str) -> bool {
        class == Self::type_name()
    }

    /// Reads a value from a wrapped pair, checking its class first. A model also takes an
    /// untagged object, a dynamic `Map` of its fields (see `untagged`).
    fn from_wrapped(class: &str, data: &[u8]) -> Result<Self, DecodeError> {
        if class == "Map" && Self::is_model() {
            let data = crate::protocol::values::untagged::plain_data(class, data)?;
            return Self::read_data(&data);
        }
        if !Self::accepts(class) {
            return Err(DecodeError::WrongClass {
                expected: Self::type_name().into_owned(),
                found: class.to_string(),
            });
        }
        Self::read_data(data)
    }

    /// Appends this value as an element of a container.
    fn write_element(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.write_data(out)
    }

    /// Reads one element of a container.
    fn read_element(data: &[u8]) -> Result<Self, DecodeError> {
        Self::read_data(data)
    }

    /// Whether this is a model (a serde type given its class by [`model!`](crate::model)),
    /// whose data is a map of its fields.
    #[doc(hidden)]
    fn is_model() -> bool {
        false
    }

    /// Adds the models this type holds to a TypeScript module's tracing (see
    /// `streampod::typescript`): a model itself, a container its element's.
    #[cfg(feature = "typescript")]
    #[doc(hidden)]
    fn trace_models(_sink: &mut dyn crate::protocol::values::reflection::ModelSink) {}

    /// This value's JSON data as its own type writes it, for types that know better than
    /// their MessagePack data's shape (models: `"__className__"` in nested models too).
    #[doc(hidden)]
    fn model_json(&self) -> Option<Result<serde_json::Value, EncodeError>> {
        None
    }
}

/// Whether `T` is [`Dynamic`](crate::protocol::Dynamic), whose elements inside containers
/// are wrapped. Decided by the type itself, not by anything an implementation of [`Wire`]
/// could claim; the comparison folds away once `T` is known.
pub(crate) fn is_dynamic<T: Wire>() -> bool {
    std::any::TypeId::of::<T>() == std::any::TypeId::of::<crate::protocol::Dynamic>()
}

/// Whether `T` is `()`: a method returning it sends no value, only its end.
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) fn is_void<T: Wire>() -> bool {
    std::any::TypeId::of::<T>() == std::any::TypeId::of::<()>()
}

/// Writes a serde value as a MessagePack map of its fields (the `data` of a model).
pub fn write_serde<T: serde::Serialize>(value: &T, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    Ok(rmp_serde::encode::write_named(out, value)?)
}

/// Reads a serde value from MessagePack, refusing nesting deeper than the protocol allows.
pub fn read_serde<T: serde::de::DeserializeOwned>(
    class: &str,
    data: &[u8],
) -> Result<T, DecodeError> {
    let mut de = rmp_serde::Deserializer::from_read_ref(data);
    de.set_max_depth(crate::protocol::msgpack::MAX_DEPTH);
    serde::Deserialize::deserialize(&mut de).map_err(|e| DecodeError::malformed(class, e))
}

/// Implements [`Wire`] for a serde model under its type name, or under an explicit
/// `className`.
///
/// ```
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct SimpleData { num: i64 }
/// streampod::model!(SimpleData);
/// ```
#[macro_export]
macro_rules! model {
    ($ty:ident) => {
        $crate::model!($ty, stringify!($ty));
    };
    ($ty:ty, $name:expr) => {
        impl $crate::Wire for $ty {
            fn type_name() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed($name)
            }
            fn write_data(&self, out: &mut Vec<u8>) -> Result<(), $crate::protocol::EncodeError> {
                $crate::protocol::write_serde(self, out)
            }
            fn read_data(data: &[u8]) -> Result<Self, $crate::protocol::DecodeError> {
                $crate::protocol::read_serde($name, data)
            }
            fn is_model() -> bool {
                true
            }
            $crate::__typescript_only! {
                fn trace_models(sink: &mut dyn $crate::protocol::reflection::ModelSink) {
                    sink.model(
                        <Self as $crate::Wire>::type_name(),
                        $crate::protocol::reflection::trace_once::<Self>,
                    )
                }
            }
            fn model_json(
                &self,
            ) -> Option<Result<$crate::protocol::internals::JsonValue, $crate::protocol::EncodeError>>
            {
                Some(
                    $crate::protocol::internals::model_json(self, $name)
                        .map_err($crate::protocol::EncodeError::from),
                )
            }
        }
    };
}

fn read_one<'a, T>(
    class: &str,
    data: &'a [u8],
    f: impl FnOnce(&mut Reader<'a>) -> Result<T, crate::protocol::msgpack::ReadError>,
) -> Result<T, DecodeError> {
    let mut r = Reader::new(data);
    let v = f(&mut r).map_err(|e| DecodeError::malformed(class, e))?;
    if !r.is_empty() {
        return Err(DecodeError::malformed(class, "trailing bytes"));
    }
    Ok(v)
}

macro_rules! wire_int {
    ($($t:ty),*) => {$(
        impl Wire for $t {
            fn type_name() -> Cow<'static, str> {
                Cow::Borrowed("int")
            }
            fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
                let v = i64::try_from(*self).map_err(|_| EncodeError::TooLarge(format!("{self}")))?;
                write::int(out, v);
                Ok(())
            }
            fn read_data(data: &[u8]) -> Result<Self, DecodeError> {
                let v = read_one("int", data, Reader::read_int)?;
                <$t>::try_from(v).map_err(|_| DecodeError::malformed("int", format!("{v} out of range")))
            }
        }
    )*};
}
wire_int!(i8, i16, i32, i64, u8, u16, u32, u64, isize, usize);

impl Wire for f64 {
    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed("double")
    }
    fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        write::f64(out, *self);
        Ok(())
    }
    fn read_data(data: &[u8]) -> Result<Self, DecodeError> {
        read_one("double", data, Reader::read_number)
    }
}

impl Wire for f32 {
    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed("double")
    }
    fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        write::f64(out, f64::from(*self));
        Ok(())
    }
    fn read_data(data: &[u8]) -> Result<Self, DecodeError> {
        f64::read_data(data).map(|v| v as f32)
    }
}

impl Wire for String {
    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed("String")
    }
    fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        write::str(out, self);
        Ok(())
    }
    fn read_data(data: &[u8]) -> Result<Self, DecodeError> {
        read_one("String", data, |r| r.read_str().map(str::to_owned))
    }
}

impl Wire for bool {
    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed("bool")
    }
    fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        write::bool(out, *self);
        Ok(())
    }
    fn read_data(data: &[u8]) -> Result<Self, DecodeError> {
        // Serverpod also accepts 0 and 1.
        read_one("bool", data, |r| match r.peek_kind()? {
            Kind::Int => r.read_int().map(|v| v != 0),
            _ => r.read_bool(),
        })
    }
}

/// `()` is a void result: a method returning it sends no value. On a stream it is `null`.
impl Wire for () {
    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed("null")
    }
    fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        write::nil(out);
        Ok(())
    }
    fn read_data(data: &[u8]) -> Result<Self, DecodeError> {
        read_one("null", data, |r| r.try_nil()).and_then(|nil| {
            nil.then_some(())
                .ok_or_else(|| DecodeError::malformed("null", "data is not nil"))
        })
    }
}

impl<T: Wire> Wire for Option<T> {
    fn type_name() -> Cow<'static, str> {
        Cow::Owned(format!("{}?", T::type_name()))
    }
    #[cfg(feature = "typescript")]
    fn trace_models(sink: &mut dyn crate::protocol::values::reflection::ModelSink) {
        T::trace_models(sink)
    }
    fn class_name(&self) -> Cow<'static, str> {
        match self {
            None => Cow::Borrowed("null"),
            Some(v) => v.class_name(),
        }
    }
    fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            None => {
                write::nil(out);
                Ok(())
            }
            Some(v) => v.write_data(out),
        }
    }
    fn read_data(data: &[u8]) -> Result<Self, DecodeError> {
        if data == [0xc0] {
            return Ok(None);
        }
        T::read_data(data).map(Some)
    }
    fn accepts(class: &str) -> bool {
        class == "null" || T::accepts(class)
    }
    fn from_wrapped(class: &str, data: &[u8]) -> Result<Self, DecodeError> {
        if class == "null" {
            return Ok(None);
        }
        T::from_wrapped(class, data).map(Some)
    }
    fn write_element(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            None => {
                write::nil(out);
                Ok(())
            }
            Some(v) => v.write_element(out),
        }
    }
    fn read_element(data: &[u8]) -> Result<Self, DecodeError> {
        if data == [0xc0] {
            return Ok(None);
        }
        T::read_element(data).map(Some)
    }
}

fn container_name<T: Wire>(kind: &str) -> Cow<'static, str> {
    if is_dynamic::<T>() {
        Cow::Owned(kind.to_string())
    } else {
        Cow::Owned(format!("{kind}<{}>", T::type_name()))
    }
}

fn write_seq<'a, T: Wire + 'a>(
    out: &mut Vec<u8>,
    len: usize,
    items: impl Iterator<Item = &'a T>,
) -> Result<(), EncodeError> {
    let len =
        u32::try_from(len).map_err(|_| EncodeError::TooLarge("a container's length".into()))?;
    write::array_len(out, len);
    items
        .into_iter()
        .try_for_each(|item| item.write_element(out))
}

fn read_seq<T: Wire, C: FromIterator<T>>(class: &str, data: &[u8]) -> Result<C, DecodeError> {
    let mut r = Reader::new(data);
    let len = r
        .read_array_len()
        .map_err(|e| DecodeError::malformed(class, e))?;
    let items = (0..len)
        .map(|_| {
            let raw = r.read_raw().map_err(|e| DecodeError::malformed(class, e))?;
            T::read_element(raw)
        })
        .collect::<Result<C, _>>()?;
    if !r.is_empty() {
        return Err(DecodeError::malformed(class, "trailing bytes"));
    }
    Ok(items)
}

impl<T: Wire> Wire for Vec<T> {
    fn type_name() -> Cow<'static, str> {
        container_name::<T>("List")
    }
    #[cfg(feature = "typescript")]
    fn trace_models(sink: &mut dyn crate::protocol::values::reflection::ModelSink) {
        T::trace_models(sink)
    }
    fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        write_seq(out, self.len(), self.iter())
    }
    fn read_data(data: &[u8]) -> Result<Self, DecodeError> {
        read_seq(&Self::type_name(), data)
    }
}

impl<T: Wire + Eq + Hash> Wire for HashSet<T> {
    fn type_name() -> Cow<'static, str> {
        container_name::<T>("Set")
    }
    #[cfg(feature = "typescript")]
    fn trace_models(sink: &mut dyn crate::protocol::values::reflection::ModelSink) {
        T::trace_models(sink)
    }
    fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        write_seq(out, self.len(), self.iter())
    }
    fn read_data(data: &[u8]) -> Result<Self, DecodeError> {
        read_seq(&Self::type_name(), data)
    }
}

impl<T: Wire> Wire for HashMap<String, T> {
    fn type_name() -> Cow<'static, str> {
        if is_dynamic::<T>() {
            Cow::Borrowed("Map")
        } else {
            Cow::Owned(format!("Map<String,{}>", T::type_name()))
        }
    }
    #[cfg(feature = "typescript")]
    fn trace_models(sink: &mut dyn crate::protocol::values::reflection::ModelSink) {
        T::trace_models(sink)
    }
    fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let len = u32::try_from(self.len())
            .map_err(|_| EncodeError::TooLarge("a map's length".into()))?;
        write::map_len(out, len);
        for (k, v) in self {
            write::str(out, k);
            v.write_element(out)?;
        }
        Ok(())
    }
    fn read_data(data: &[u8]) -> Result<Self, DecodeError> {
        let class = Self::type_name();
        let bad = |e| DecodeError::malformed(&class, e);
        let mut r = Reader::new(data);
        let len = r.read_map_len().map_err(bad)?;
        let mut map = HashMap::with_capacity(len);
        for _ in 0..len {
            let k = r.read_str().map_err(bad)?.to_string();
            let v = T::read_element(r.read_raw().map_err(bad)?)?;
            map.insert(k, v);
        }
        Ok(map)
    }
}

/// `std::time::Duration` travels as `Duration`, in whole milliseconds.
impl Wire for std::time::Duration {
    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed("Duration")
    }
    fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let ms = i64::try_from(self.as_millis())
            .map_err(|_| EncodeError::TooLarge("a duration".into()))?;
        write::int(out, ms);
        Ok(())
    }
    fn read_data(data: &[u8]) -> Result<Self, DecodeError> {
        let ms = read_one("Duration", data, Reader::read_int)?;
        let ms = u64::try_from(ms)
            .map_err(|_| DecodeError::malformed("Duration", "negative duration"))?;
        Ok(std::time::Duration::from_millis(ms))
    }
}

impl Wire for crate::protocol::DateTime {
    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed("DateTime")
    }
    fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        write::str(out, &self.to_string());
        Ok(())
    }
    fn read_data(data: &[u8]) -> Result<Self, DecodeError> {
        read_one("DateTime", data, |r| match r.peek_kind()? {
            Kind::Int => r
                .read_int()
                .map(|ms| Some(crate::protocol::DateTime::from_millis(ms))),
            _ => r.read_str().map(crate::protocol::DateTime::parse),
        })?
        .ok_or_else(|| DecodeError::malformed("DateTime", "not an ISO-8601 date-time"))
    }
}

/// `uuid::Uuid` travels as `UuidValue`, lowercase hyphenated text.
impl Wire for uuid::Uuid {
    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed("UuidValue")
    }
    fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        write::str(
            out,
            self.as_hyphenated()
                .encode_lower(&mut uuid::Uuid::encode_buffer()),
        );
        Ok(())
    }
    fn read_data(data: &[u8]) -> Result<Self, DecodeError> {
        let text = read_one("UuidValue", data, |r| r.read_str().map(str::to_owned))?;
        uuid::Uuid::parse_str(&text).map_err(|e| DecodeError::malformed("UuidValue", e))
    }
}

/// Raw bytes, the `ByteData` class; travels as MessagePack binary.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ByteData(pub Vec<u8>);

impl Wire for ByteData {
    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed("ByteData")
    }
    fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        write::bin(out, &self.0);
        Ok(())
    }
    fn read_data(data: &[u8]) -> Result<Self, DecodeError> {
        read_one("ByteData", data, |r| {
            r.read_bin().map(|b| ByteData(b.to_vec()))
        })
    }
}

/// An integer of any size, the `BigInt` class; travels as decimal text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BigInt(String);

impl BigInt {
    /// Parses decimal text with an optional leading `-`.
    pub fn parse(text: &str) -> Option<Self> {
        let digits = text.strip_prefix('-').unwrap_or(text);
        (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| BigInt(text.to_string()))
    }

    /// The decimal text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<i64> for BigInt {
    fn from(v: i64) -> Self {
        BigInt(v.to_string())
    }
}

impl Wire for BigInt {
    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed("BigInt")
    }
    fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        write::str(out, &self.0);
        Ok(())
    }
    fn read_data(data: &[u8]) -> Result<Self, DecodeError> {
        let text = read_one("BigInt", data, |r| r.read_str().map(str::to_owned))?;
        BigInt::parse(&text)
            .ok_or_else(|| DecodeError::malformed("BigInt", "not a decimal integer"))
    }
}

/// Encodes a value's `data` into a fresh buffer.
pub fn encode_data<T: Wire>(value: &T) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    value.write_data(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Wire + PartialEq + std::fmt::Debug>(value: T) {
        let data = encode_data(&value).unwrap();
        let class = value.class_name();
        assert_eq!(T::from_wrapped(&class, &data).unwrap(), value);
    }

    #[test]
    fn builtins_round_trip() {
        round_trip(42i64);
        round_trip(1.5f64);
        round_trip("two".to_string());
        round_trip(true);
        round_trip(Some(3i64));
        round_trip(None::<i64>);
        round_trip(std::time::Duration::from_secs(1));
        round_trip(crate::protocol::DateTime::from_utc(1976, 9, 10, 2, 10, 0));
        round_trip(uuid::Uuid::parse_str("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").unwrap());
        round_trip(ByteData(vec![1, 2, 3]));
        round_trip(BigInt::parse("-12345678901234567890").unwrap());
        round_trip(vec![vec![1i64, 2], vec![3]]);
        round_trip(vec![Some(1i64), None]);
    }

    #[test]
    fn container_names_follow_serverpod() {
        assert_eq!(Vec::<i64>::type_name(), "List<int>");
        assert_eq!(Vec::<Option<i64>>::type_name(), "List<int?>");
        assert_eq!(Option::<Vec<i64>>::type_name(), "List<int>?");
        assert_eq!(Vec::<HashSet<i64>>::type_name(), "List<Set<int>>");
        assert_eq!(HashMap::<String, bool>::type_name(), "Map<String,bool>");
    }

    #[test]
    fn wrong_class_is_an_error_not_a_panic() {
        let data = encode_data(&"x".to_string()).unwrap();
        assert!(matches!(
            i64::from_wrapped("String", &data),
            Err(DecodeError::WrongClass { .. })
        ));
        assert!(matches!(
            i64::from_wrapped("int", &data),
            Err(DecodeError::Malformed { .. })
        ));
    }
}
