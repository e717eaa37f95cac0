//! A model's JSON as Serverpod writes it (`toJsonForProtocol`): every object of a model, the
//! nested ones too, starts with `"__className__"` and leaves out its null fields.
//!
//! MessagePack data does not say which nested map is which model, so the model's own type
//! writes its JSON: [`model_json`] serializes it with a serde serializer that builds a
//! `serde_json::Value` the way `serde_json::to_value` does, except that each struct names
//! itself (serde passes the struct's name to `serialize_struct`) and skips null fields.

use serde::ser::{self, Serialize};
use serde_json::{Map, Number, Value};

/// `value`'s JSON form as class `class`.
pub fn model_json<T: Serialize>(value: &T, class: &str) -> Result<Value, serde_json::Error> {
    let mut json = value.serialize(Named)?;
    if let Value::Object(fields) = &mut json {
        // The top level is named by its className, which `model!` may have set apart from
        // the Rust type's name; a struct already has the key first, so it keeps its place.
        if let Some(name) = fields.get_mut("__className__") {
            *name = Value::String(class.to_string());
        }
    }
    Ok(json)
}

/// The serializer: `serde_json::to_value`, with named structs.
struct Named;

type Error = serde_json::Error;

fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, Error> {
    value.serialize(Named)
}

impl ser::Serializer for Named {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = Seq;
    type SerializeTuple = Seq;
    type SerializeTupleStruct = Seq;
    type SerializeTupleVariant = Variant<Seq>;
    type SerializeMap = Object;
    type SerializeStruct = Object;
    type SerializeStructVariant = Variant<Object>;

    fn serialize_bool(self, v: bool) -> Result<Value, Error> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, Error> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, Error> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| ser::Error::custom("a double that is not finite has no JSON form"))
    }
    fn serialize_char(self, v: char) -> Result<Value, Error> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, Error> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, Error> {
        serde_json::to_value(v)
    }
    fn serialize_none(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, Error> {
        to_value(value)
    }
    fn serialize_unit(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Value, Error> {
        Ok(Value::String(variant.to_string()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        to_value(value)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        let mut object = Map::new();
        object.insert(variant.into(), to_value(value)?);
        Ok(Value::Object(object))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq, Error> {
        Ok(Seq(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Variant<Seq>, Error> {
        Ok(Variant(variant, Seq(Vec::with_capacity(len))))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Object, Error> {
        Ok(Object::plain())
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Object, Error> {
        let mut object = Object::plain();
        object.model = true;
        object
            .fields
            .insert("__className__".into(), Value::String(name.to_string()));
        Ok(object)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Variant<Object>, Error> {
        Ok(Variant(variant, Object::plain()))
    }
}

/// A list being built.
struct Seq(Vec<Value>);

impl ser::SerializeSeq for Seq {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.0.push(to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        Ok(Value::Array(self.0))
    }
}

impl ser::SerializeTuple for Seq {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Value, Error> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for Seq {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Value, Error> {
        ser::SerializeSeq::end(self)
    }
}

/// An object being built: a model's (named, null fields left out) or a plain map's.
struct Object {
    fields: Map<String, Value>,
    model: bool,
    key: Option<String>,
}

impl Object {
    fn plain() -> Self {
        Object {
            fields: Map::new(),
            model: false,
            key: None,
        }
    }
}

impl ser::SerializeMap for Object {
    type Ok = Value;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key = Some(match to_value(key)? {
            Value::String(key) => key,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err(ser::Error::custom("a map key that is not text")),
        });
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| <Error as ser::Error>::custom("a value without its key"))?;
        self.fields.insert(key, to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        Ok(Value::Object(self.fields))
    }
}

impl ser::SerializeStruct for Object {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let value = to_value(value)?;
        // `toJsonForProtocol` leaves a model's null fields out.
        if !(self.model && value.is_null()) {
            self.fields.insert(key.into(), value);
        }
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        Ok(Value::Object(self.fields))
    }
}

/// An enum variant with content: `{"variant": content}`, as serde_json writes it.
struct Variant<S>(&'static str, S);

impl ser::SerializeTupleVariant for Variant<Seq> {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(&mut self.1, value)
    }
    fn end(self) -> Result<Value, Error> {
        let mut object = Map::new();
        object.insert(self.0.into(), ser::SerializeSeq::end(self.1)?);
        Ok(Value::Object(object))
    }
}

impl ser::SerializeStructVariant for Variant<Object> {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(&mut self.1, key, value)
    }
    fn end(self) -> Result<Value, Error> {
        let mut object = Map::new();
        object.insert(self.0.into(), ser::SerializeStruct::end(self.1)?);
        Ok(Value::Object(object))
    }
}
