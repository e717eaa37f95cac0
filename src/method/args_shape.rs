//! Which types can be a method's arguments: those read from a map. Serverpod's `args` is
//! always a map, so a `()` or a tuple would compile and then refuse every call; the
//! builder refuses it when the method is added instead.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use std::fmt;

/// Whether `A` reads itself from a map (a struct, a map, or a type that takes anything).
pub(super) fn reads_a_map<A: for<'de> Deserialize<'de>>() -> bool {
    !matches!(A::deserialize(Probe), Err(Shape::NotAMap))
}

/// What a type asked the probe for; carried as the probe's "error".
#[derive(Debug)]
enum Shape {
    /// A struct, a map, or anything at all.
    Fine,
    NotAMap,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for Shape {}

impl de::Error for Shape {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Shape::Fine
    }
}

/// A deserializer that answers nothing and notes what it was asked for.
struct Probe;

macro_rules! not_a_map {
    ($($method:ident),*) => {
        $(fn $method<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Shape> {
            Err(Shape::NotAMap)
        })*
    };
}

impl<'de> Deserializer<'de> for Probe {
    type Error = Shape;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Shape> {
        Err(Shape::Fine)
    }
    fn deserialize_map<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Shape> {
        Err(Shape::Fine)
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Shape> {
        Err(Shape::Fine)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: V,
    ) -> Result<V::Value, Shape> {
        // A newtype reads what it wraps: that is what counts, and the probe cannot see it.
        Err(Shape::Fine)
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: V,
    ) -> Result<V::Value, Shape> {
        Err(Shape::NotAMap)
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, Shape> {
        Err(Shape::NotAMap)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        _: V,
    ) -> Result<V::Value, Shape> {
        Err(Shape::NotAMap)
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Shape> {
        Err(Shape::NotAMap)
    }
    not_a_map!(
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_identifier,
        deserialize_ignored_any
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(serde::Deserialize)]
    struct Args {
        _count: i64,
    }

    #[test]
    fn structs_and_maps_are_arguments_and_units_and_tuples_are_not() {
        assert!(reads_a_map::<Args>());
        assert!(reads_a_map::<crate::NoArgs>());
        assert!(reads_a_map::<HashMap<String, i64>>());
        assert!(reads_a_map::<serde_json::Value>());
        assert!(!reads_a_map::<()>());
        assert!(!reads_a_map::<(i64, String)>());
        assert!(!reads_a_map::<i64>());
        assert!(!reads_a_map::<Vec<i64>>());
    }

    #[test]
    #[should_panic(expected = "the arguments of e.m must be a struct or a map")]
    fn a_method_whose_arguments_are_not_a_map_is_refused_when_added() {
        let _ =
            crate::Endpoint::new("e").future("m", [], |_, _: (i64, i64), ()| async { Ok(1i64) });
    }
}
