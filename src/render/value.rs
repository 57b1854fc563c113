//! The context of a blueprint as the fast path reads it: a JSON tree built straight from the
//! typed context by serde, lighter than `serde_json::Value`.
//!
//! The typed contexts of a large org serialise to millions of small objects. `serde_json::Value`
//! gives each key its own `String` and each object a hash index; here the keys of structs
//! are the `&'static str` field names serde hands over, and an object is a list of entries
//! sorted by key once, when it is built: lookups search it, and the canonical writer, which
//! writes keys in byte order anyway, walks it as it is. Keys that repeat keep the last value,
//! as `serde_json::to_value` does. A context's documents (`synth::doc::Doc`: policies, event
//! patterns) are shared, not copied. Strings, numbers and the meaning of every value are
//! `serde_json::Value`'s; `Serialize` writes the same JSON. No IO.

use std::borrow::Cow;
use std::sync::Arc;

use serde::ser::{self, Serialize};
use serde_json::Number;

use super::canonical::Stashed;
use crate::synth::doc::Doc;

/// An object's key: a struct's field name as serde gives it, or a map's key.
pub(crate) type Key = Cow<'static, str>;

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum V {
    Null,
    Bool(bool),
    Num(Number),
    Str(String),
    Arr(Vec<V>),
    /// Sorted by key (byte order), each key once.
    Obj(Vec<(Key, V)>),
    /// A context's document (`synth::doc::Doc`), shared rather than copied: the stash writes
    /// it; a path into it is the fast path's fallback.
    Doc(Arc<serde_json::Value>),
}

impl V {
    /// The value of `key` in an object.
    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        match self {
            // Most objects of a context have a few fields: a scan that compares lengths first
            // touches fewer bytes than a binary search.
            V::Obj(entries) if entries.len() <= 16 => entries.iter().find(|(k, _)| k.as_ref() == key).map(|(_, v)| v),
            V::Obj(entries) => entries
                .binary_search_by(|(k, _)| k.as_ref().cmp(key))
                .ok()
                .map(|i| &entries[i].1),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            V::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The object of sorted entries with `entries`' keys; a repeated key keeps its last value.
    fn object(mut entries: Vec<(Key, V)>) -> V {
        if entries.windows(2).all(|w| w[0].0 < w[1].0) {
            return V::Obj(entries);
        }
        // Stable: of equal keys, the one written last comes last and wins.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut unique: Vec<(Key, V)> = Vec::with_capacity(entries.len());
        for entry in entries {
            match unique.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => unique.push(entry),
            }
        }
        V::Obj(unique)
    }
}

/// The tree of any serialisable value, as `serde_json::to_value` would see it; an error where
/// it would fail (a map key that is not a string, a number or a boolean; an integer beyond 64 bits).
pub(crate) fn to_v<T: Serialize + ?Sized>(value: &T) -> Result<V, Unsupported> {
    value.serialize(Ser)
}

/// The canonical JSON of any serialisable value (see `canonical`), with its trailing newline:
/// the bytes `canonical::to_canonical` of `serde_json::to_value` would give.
pub(crate) fn to_canonical<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Unsupported> {
    to_v(value).map(|v| super::canonical::to_canonical(&v))
}

/// A value JSON cannot hold.
#[derive(Debug)]
pub(crate) struct Unsupported(String);

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: std::fmt::Display>(msg: T) -> Unsupported {
        Unsupported(msg.to_string())
    }
}

struct Ser;

type Done = Result<V, Unsupported>;

/// A sequence being serialised.
struct Seq(Vec<V>);

/// A map or struct being serialised.
struct Entries {
    entries: Vec<(Key, V)>,
    key: Option<Key>,
}

/// An enum variant with data: `{"Variant": data}`.
struct Variant<T> {
    name: &'static str,
    data: T,
}

fn variant(name: &'static str, data: V) -> V {
    V::Obj(vec![(Cow::Borrowed(name), data)])
}

impl ser::Serializer for Ser {
    type Ok = V;
    type Error = Unsupported;
    type SerializeSeq = Seq;
    type SerializeTuple = Seq;
    type SerializeTupleStruct = Seq;
    type SerializeTupleVariant = Variant<Seq>;
    type SerializeMap = Entries;
    type SerializeStruct = Entries;
    type SerializeStructVariant = Variant<Entries>;

    fn serialize_bool(self, v: bool) -> Done {
        Ok(V::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Done {
        Ok(V::Num(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Done {
        Ok(V::Num(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Done {
        Ok(V::Num(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Done {
        Ok(V::Num(v.into()))
    }
    fn serialize_i128(self, v: i128) -> Done {
        i64::try_from(v)
            .map(|v| V::Num(v.into()))
            .map_err(|_| Unsupported(format!("integer {v} is beyond 64 bits")))
    }
    fn serialize_u8(self, v: u8) -> Done {
        Ok(V::Num(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Done {
        Ok(V::Num(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Done {
        Ok(V::Num(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Done {
        Ok(V::Num(v.into()))
    }
    fn serialize_u128(self, v: u128) -> Done {
        u64::try_from(v)
            .map(|v| V::Num(v.into()))
            .map_err(|_| Unsupported(format!("integer {v} is beyond 64 bits")))
    }
    fn serialize_f32(self, v: f32) -> Done {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Done {
        // Not finite: `null`, as serde_json writes it.
        Ok(Number::from_f64(v).map_or(V::Null, V::Num))
    }
    fn serialize_char(self, v: char) -> Done {
        Ok(V::Str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Done {
        Ok(V::Str(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Done {
        Ok(V::Arr(v.iter().map(|&b| V::Num(b.into())).collect()))
    }
    fn serialize_none(self) -> Done {
        Ok(V::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Done {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Done {
        Ok(V::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Done {
        Ok(V::Null)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, name: &'static str) -> Done {
        Ok(V::Str(name.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, value: &T) -> Done {
        if name == Doc::TOKEN {
            if let Some(doc) = Doc::take() {
                return Ok(V::Doc(doc));
            }
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        name: &'static str,
        value: &T,
    ) -> Done {
        Ok(variant(name, value.serialize(Ser)?))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq, Unsupported> {
        Ok(Seq(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        name: &'static str,
        len: usize,
    ) -> Result<Variant<Seq>, Unsupported> {
        Ok(Variant {
            name,
            data: Seq(Vec::with_capacity(len)),
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Entries, Unsupported> {
        Ok(Entries {
            entries: Vec::with_capacity(len.unwrap_or(0)),
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Entries, Unsupported> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        name: &'static str,
        len: usize,
    ) -> Result<Variant<Entries>, Unsupported> {
        Ok(Variant {
            name,
            data: self.serialize_map(Some(len))?,
        })
    }
}

impl ser::SerializeSeq for Seq {
    type Ok = V;
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.0.push(value.serialize(Ser)?);
        Ok(())
    }
    fn end(self) -> Done {
        Ok(V::Arr(self.0))
    }
}

impl ser::SerializeTuple for Seq {
    type Ok = V;
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Done {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for Seq {
    type Ok = V;
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Done {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleVariant for Variant<Seq> {
    type Ok = V;
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        ser::SerializeSeq::serialize_element(&mut self.data, value)
    }
    fn end(self) -> Done {
        Ok(variant(self.name, V::Arr(self.data.0)))
    }
}

impl ser::SerializeMap for Entries {
    type Ok = V;
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Unsupported> {
        // The keys serde_json accepts: strings, numbers and booleans (as their text).
        let key = match key.serialize(Ser)? {
            V::Str(s) => s,
            V::Num(n) => n.to_string(),
            V::Bool(b) => b.to_string(),
            _ => return Err(Unsupported("a map key that is not a string".to_owned())),
        };
        self.key = Some(Cow::Owned(key));
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Unsupported("a map value without its key".to_owned()))?;
        self.entries.push((key, value.serialize(Ser)?));
        Ok(())
    }
    fn end(self) -> Done {
        Ok(V::object(self.entries))
    }
}

impl ser::SerializeStruct for Entries {
    type Ok = V;
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Unsupported> {
        self.entries.push((Cow::Borrowed(key), value.serialize(Ser)?));
        Ok(())
    }
    fn end(self) -> Done {
        Ok(V::object(self.entries))
    }
}

impl ser::SerializeStructVariant for Variant<Entries> {
    type Ok = V;
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Unsupported> {
        ser::SerializeStruct::serialize_field(&mut self.data, key, value)
    }
    fn end(self) -> Done {
        Ok(variant(self.name, V::object(self.data.entries)))
    }
}

impl Stashed for V {
    fn write(&self, out: &mut Vec<u8>, level: usize) {
        use super::canonical::{write_array, write_object, write_string};
        match self {
            V::Null => out.extend_from_slice(b"null"),
            V::Bool(true) => out.extend_from_slice(b"true"),
            V::Bool(false) => out.extend_from_slice(b"false"),
            V::Num(n) => out.extend_from_slice(n.to_string().as_bytes()),
            V::Str(s) => write_string(out, s),
            V::Arr(a) => write_array(out, a, level, |out, v, level| v.write(out, level)),
            // Sorted already.
            V::Obj(o) => write_object(
                out,
                o.iter().map(|(k, v)| (k.as_ref(), v)),
                level,
                write_string,
                |out, v: &V, level| v.write(out, level),
            ),
            V::Doc(doc) => doc.write(out, level),
        }
    }
    fn object_len(&self) -> Option<usize> {
        match self {
            V::Obj(o) => Some(o.len()),
            V::Doc(doc) => doc.object_len(),
            _ => None,
        }
    }
    fn field_len(&self, key: &str) -> Option<usize> {
        match self {
            V::Doc(doc) => doc.field_len(key),
            _ => self.get(key).and_then(Self::object_len),
        }
    }
}

impl Serialize for V {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            V::Null => s.serialize_unit(),
            V::Bool(b) => s.serialize_bool(*b),
            V::Num(n) => n.serialize(s),
            V::Str(v) => s.serialize_str(v),
            V::Arr(items) => s.collect_seq(items),
            V::Obj(entries) => s.collect_map(entries.iter().map(|(k, v)| (k.as_ref(), v))),
            V::Doc(doc) => doc.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(serde::Serialize)]
    enum E {
        Unit,
        New(u8),
        Tuple(u8, bool),
        Fields { b: i64, a: Option<f64> },
    }

    #[derive(serde::Serialize)]
    struct S {
        zeta: &'static str,
        alpha: Vec<E>,
        #[serde(flatten)]
        more: BTreeMap<String, u32>,
        map: BTreeMap<u32, char>,
        nan: f64,
        unit: (),
    }

    /// The tree writes the JSON `serde_json::to_value` gives (keys sorted), and finds what it finds.
    #[test]
    fn agrees_with_serde_json() {
        let s = S {
            zeta: "z\"\n",
            alpha: vec![
                E::Unit,
                E::New(7),
                E::Tuple(1, false),
                E::Fields { b: -3, a: Some(1.5) },
            ],
            more: BTreeMap::from([("zeta".to_owned(), 9), ("m".to_owned(), 2)]),
            map: BTreeMap::from([(10, 'x'), (2, 'y')]),
            nan: f64::NAN,
            unit: (),
        };
        let v = to_v(&s).expect("serialises");
        let value = serde_json::to_value(&s).expect("serialises");
        let sorted = |v: &serde_json::Value| -> serde_json::Value {
            serde_json::from_str(&serde_json::to_string(v).expect("writes")).expect("reads")
        };
        assert_eq!(sorted(&serde_json::to_value(&v).expect("writes")), sorted(&value));
        // `flatten` repeats `zeta`: the last one written wins, as in serde_json.
        assert_eq!(v.get("zeta"), Some(&V::Num(9.into())));
        assert_eq!(value["zeta"], serde_json::json!(9));
        assert_eq!(v.get("map").and_then(|m| m.get("10")), Some(&V::Str("x".to_owned())));
        assert_eq!(v.get("nan"), Some(&V::Null));
        assert_eq!(v.get("missing"), None);
        let V::Obj(entries) = &v else { panic!("an object") };
        assert!(entries.windows(2).all(|w| w[0].0 < w[1].0), "sorted, each key once");
        assert!(to_v(&BTreeMap::from([((1, 2), 3)])).is_err(), "a tuple key is not JSON");
        assert!(to_v(&u128::MAX).is_err());
        assert_eq!(
            to_canonical(&s).expect("serialises"),
            super::super::canonical::to_canonical(&value)
        );
    }
}
