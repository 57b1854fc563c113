//! A rough size of a blueprint context value as a template will hold it, measured
//! straight from the typed value (a `serde` serializer that only counts).
//!
//! The rule (what `split` plans with, so it must not drift or stacks would split
//! differently): every scalar, `null` and container costs 24, a string its length
//! more, an object key its length plus 8. Only an estimate: render checks the
//! real bytes. Pure: no IO.

use serde::ser::{self, Serialize};

/// The estimate of `value`.
pub(crate) fn approx_bytes<T: Serialize + ?Sized>(value: &T) -> usize {
    value.serialize(Counter).unwrap_or(0)
}

const SCALAR: usize = 24;
const KEY: usize = 8;

#[derive(Debug)]
pub(crate) struct Never;

impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("unsupported value")
    }
}

impl std::error::Error for Never {}

impl ser::Error for Never {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Never
    }
}

struct Counter;

/// A container being counted: its total so far, and (objects) the length of the pending key.
struct Compound {
    total: usize,
    /// A variant wraps its container in a one-key object: that object's share.
    wrap: usize,
}

impl Compound {
    fn new(wrap: Option<&str>) -> Compound {
        Compound {
            total: SCALAR,
            wrap: wrap.map_or(0, |v| SCALAR + v.len() + KEY),
        }
    }

    fn add<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Never> {
        self.total += value.serialize(Counter)?;
        Ok(())
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Never> {
        self.total += key.len() + KEY;
        self.add(value)
    }

    fn done(self) -> Result<usize, Never> {
        Ok(self.total + self.wrap)
    }
}

macro_rules! scalars {
    ($($f:ident: $t:ty),*) => {
        $(fn $f(self, _: $t) -> Result<usize, Never> { Ok(SCALAR) })*
    };
}

impl ser::Serializer for Counter {
    type Ok = usize;
    type Error = Never;
    type SerializeSeq = Compound;
    type SerializeTuple = Compound;
    type SerializeTupleStruct = Compound;
    type SerializeTupleVariant = Compound;
    type SerializeMap = Compound;
    type SerializeStruct = Compound;
    type SerializeStructVariant = Compound;

    scalars!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64, serialize_f32: f32,
        serialize_f64: f64);

    fn serialize_char(self, c: char) -> Result<usize, Never> {
        Ok(SCALAR + c.len_utf8())
    }
    fn serialize_str(self, s: &str) -> Result<usize, Never> {
        Ok(SCALAR + s.len())
    }
    fn serialize_bytes(self, b: &[u8]) -> Result<usize, Never> {
        Ok(SCALAR + SCALAR * b.len())
    }
    fn serialize_none(self) -> Result<usize, Never> {
        Ok(SCALAR)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<usize, Never> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<usize, Never> {
        Ok(SCALAR)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<usize, Never> {
        Ok(SCALAR)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<usize, Never> {
        Ok(SCALAR + variant.len())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Result<usize, Never> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<usize, Never> {
        Ok(SCALAR + variant.len() + KEY + v.serialize(self)?)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound, Never> {
        Ok(Compound::new(None))
    }
    fn serialize_tuple(self, _: usize) -> Result<Compound, Never> {
        Ok(Compound::new(None))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound, Never> {
        Ok(Compound::new(None))
    }
    fn serialize_tuple_variant(self, _: &'static str, _: u32, v: &'static str, _: usize) -> Result<Compound, Never> {
        Ok(Compound::new(Some(v)))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound, Never> {
        Ok(Compound::new(None))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound, Never> {
        Ok(Compound::new(None))
    }
    fn serialize_struct_variant(self, _: &'static str, _: u32, v: &'static str, _: usize) -> Result<Compound, Never> {
        Ok(Compound::new(Some(v)))
    }
}

impl ser::SerializeSeq for Compound {
    type Ok = usize;
    type Error = Never;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
        self.add(v)
    }
    fn end(self) -> Result<usize, Never> {
        self.done()
    }
}

impl ser::SerializeTuple for Compound {
    type Ok = usize;
    type Error = Never;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
        self.add(v)
    }
    fn end(self) -> Result<usize, Never> {
        self.done()
    }
}

impl ser::SerializeTupleStruct for Compound {
    type Ok = usize;
    type Error = Never;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
        self.add(v)
    }
    fn end(self) -> Result<usize, Never> {
        self.done()
    }
}

impl ser::SerializeTupleVariant for Compound {
    type Ok = usize;
    type Error = Never;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
        self.add(v)
    }
    fn end(self) -> Result<usize, Never> {
        self.done()
    }
}

impl ser::SerializeMap for Compound {
    type Ok = usize;
    type Error = Never;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), Never> {
        // A key is a string in JSON: its length, and the key's share.
        self.total += k.serialize(Counter)? - SCALAR + KEY;
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
        self.add(v)
    }
    fn end(self) -> Result<usize, Never> {
        self.done()
    }
}

impl ser::SerializeStruct for Compound {
    type Ok = usize;
    type Error = Never;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), Never> {
        self.field(key, v)
    }
    fn end(self) -> Result<usize, Never> {
        self.done()
    }
}

impl ser::SerializeStructVariant for Compound {
    type Ok = usize;
    type Error = Never;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), Never> {
        self.field(key, v)
    }
    fn end(self) -> Result<usize, Never> {
        self.done()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    /// The rule, written over `serde_json::Value`: the counter must agree with it.
    fn by_value(v: &Value) -> usize {
        match v {
            Value::Null | Value::Bool(_) | Value::Number(_) => 24,
            Value::String(s) => s.len() + 24,
            Value::Array(a) => 24 + a.iter().map(by_value).sum::<usize>(),
            Value::Object(o) => 24 + o.iter().map(|(k, v)| k.len() + 8 + by_value(v)).sum::<usize>(),
        }
    }

    #[derive(serde::Serialize)]
    struct Inner {
        id: String,
        n: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        gone: Option<String>,
        maybe: Option<Vec<String>>,
    }

    #[derive(serde::Serialize)]
    struct Outer {
        #[serde(flatten)]
        inner: Inner,
        tags: std::collections::BTreeMap<String, String>,
        doc: Value,
        list: Vec<Inner>,
    }

    #[test]
    fn typed_values_count_as_their_json() {
        let inner = || Inner {
            id: "ReaderRoleAbc".into(),
            n: 3,
            gone: None,
            maybe: Some(vec!["x".into(), "yz".into()]),
        };
        let v = Outer {
            inner: inner(),
            tags: [("a".to_owned(), "bb".to_owned())].into(),
            doc: json!({"Statement": [{"Effect": "Allow", "Resource": ["a", "b"]}], "Version": "2012-10-17", "n": null}),
            list: vec![inner(), Inner { maybe: None, ..inner() }],
        };
        let as_value = serde_json::to_value(&v).expect("serialises");
        assert_eq!(super::approx_bytes(&v), by_value(&as_value));
        assert_eq!(super::approx_bytes(&as_value), by_value(&as_value));
    }
}
