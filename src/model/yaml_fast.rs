//! A fast reader for the block-style YAML that topology files are written in.
//!
//! serde-saphyr parses about 20 MB/s per core; most of that goes into events
//! and position wrappers that a topology never needs in full generality. This
//! module reads the plain subset by hand, at several times that speed: block
//! mappings whose keys are plain identifiers, block sequences, single-line
//! plain, single- and double-quoted scalars, comments, and one-line flow
//! collections (`[a, "b"]`, `{k: v}`). It produces the very same raw model,
//! positions included (a block collection is where its first key or `-` is, a
//! flow collection where its bracket is, a scalar where its first character
//! or quote is).
//!
//! It is only a fast path. It refuses (returns `None`) anything outside the
//! subset or whose meaning it is not sure of: anchors, aliases, tags, block
//! scalars, multi-line scalars or flow collections, document markers and
//! directives, tabs, `\r`, bytes outside printable ASCII, quoted or unusual
//! keys, duplicate keys, empty values, plain scalars that YAML might read as a
//! null, a boolean or a number where text is wanted, and every error of the
//! model (unknown or missing keys, wrong types). The caller then parses the
//! same text with serde-saphyr, so the result or the error message never
//! depends on this module; `tests` checks that on generated and mutated input.
//! No IO.
//!
//! Two halves: `scan` turns lines into a flat list of events (`Ev`), refusing
//! what it is not sure of; this file's deserializer builds the raw model from
//! those events, refusing every error of the model.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use scan::parse;

/// Lines → events: the scanner of the subset, and its scalars.
#[path = "yaml_fast_scan.rs"]
mod scan;

/// Parses `text` (whose first line is line `first_line` of its file) as `T`, or
/// `None` when the text is outside the subset (or holds more than `max_events`
/// nodes, where serde-saphyr's budget would apply).
pub(super) fn from_str<T: DeserializeOwned>(text: &str, first_line: u32, max_events: usize) -> Option<T> {
    let events = parse(text, first_line, max_events)?;
    super::super::raw::with_fast_spans(|| {
        let mut de = De { evs: &events, pos: 0 };
        de.mark();
        let value = T::deserialize(&mut de).ok()?;
        (de.pos == events.len()).then_some(value)
    })
}

/// One node of the document, in document order; a collection's children follow
/// its start up to the matching `End`.
#[derive(Debug, PartialEq)]
enum Ev<'a> {
    Map {
        line: u32,
        col: u32,
    },
    Seq {
        line: u32,
        col: u32,
    },
    End,
    Scalar {
        text: Cow<'a, str>,
        plain: bool,
        line: u32,
        col: u32,
    },
}

/// Outside the subset (or not well-formed): the caller falls back to serde-saphyr.
#[derive(Debug)]
struct Bail;

#[cfg(test)]
thread_local! {
    /// The source line of the last refusal, for the tests' messages.
    static LAST_BAIL: std::cell::Cell<(&'static str, u32)> = const { std::cell::Cell::new(("", 0)) };
}

#[track_caller]
fn bail() -> Bail {
    #[cfg(test)]
    {
        let at = std::panic::Location::caller();
        LAST_BAIL.with(|l| l.set((at.file(), at.line())));
    }
    Bail
}

type R<T> = Result<T, Bail>;

/// Whether a plain scalar is certainly text: not something YAML 1.1 or 1.2 might read
/// as a null, a boolean or a number (those are left to serde-saphyr).
fn plain_is_text(s: &str) -> bool {
    let first = s.as_bytes()[0];
    if first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.' | b'~' | b'<' | b'=') {
        return false;
    }
    !matches!(
        s.to_ascii_lowercase().as_str(),
        "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
    )
}

/// A plain decimal integer without sign, leading zeros or separators.
fn plain_integer(s: &str) -> Option<i64> {
    let ok = s.bytes().all(|c| c.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    ok.then(|| s.parse().ok()).flatten()
}

impl fmt::Display for Bail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("outside the fast YAML subset")
    }
}

impl std::error::Error for Bail {}

impl de::Error for Bail {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Bail
    }
}

/// The serde deserializer over the events of one document.
struct De<'a, 'e> {
    evs: &'e [Ev<'a>],
    pos: usize,
}

impl<'a> De<'a, '_> {
    fn next(&mut self) -> R<&Ev<'a>> {
        let ev = self.evs.get(self.pos).ok_or(Bail)?;
        self.pos += 1;
        Ok(ev)
    }

    /// Publishes where the next value is, for `S<T>`.
    fn mark(&self) {
        let (line, col) = match self.evs.get(self.pos) {
            Some(Ev::Map { line, col } | Ev::Seq { line, col } | Ev::Scalar { line, col, .. }) => (*line, *col),
            _ => (0, 0),
        };
        super::super::raw::set_fast_position(line, col);
    }

    fn text(&mut self) -> R<&Cow<'a, str>> {
        match self.next()? {
            Ev::Scalar { text, plain, .. } if !*plain || plain_is_text(text) => Ok(text),
            _ => Err(bail()),
        }
    }

    fn integer(&mut self) -> R<i64> {
        match self.next()? {
            Ev::Scalar { text, plain: true, .. } => plain_integer(text).ok_or(Bail),
            _ => Err(bail()),
        }
    }
}

macro_rules! integers {
    ($($method:ident $visit:ident $ty:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
            let n = <$ty>::try_from(self.integer()?).map_err(|_| Bail)?;
            visitor.$visit(n)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for &mut De<'_, '_> {
    type Error = Bail;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.evs.get(self.pos) {
            Some(Ev::Map { .. }) => self.deserialize_map(visitor),
            Some(Ev::Seq { .. }) => self.deserialize_seq(visitor),
            // A scalar's type would depend on YAML's resolution rules: not handled here.
            _ => Err(bail()),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.next()? {
            Ev::Scalar { text, plain: true, .. } if text == "true" => visitor.visit_bool(true),
            Ev::Scalar { text, plain: true, .. } if text == "false" => visitor.visit_bool(false),
            _ => Err(bail()),
        }
    }

    integers!(
        deserialize_i8 visit_i8 i8, deserialize_i16 visit_i16 i16, deserialize_i32 visit_i32 i32,
        deserialize_i64 visit_i64 i64, deserialize_u8 visit_u8 u8, deserialize_u16 visit_u16 u16,
        deserialize_u32 visit_u32 u32, deserialize_u64 visit_u64 u64
    );

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.text()? {
            Cow::Borrowed(s) => visitor.visit_str(s),
            Cow::Owned(s) => visitor.visit_str(s),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.evs.get(self.pos) {
            // A null is left to serde-saphyr (it has several spellings).
            Some(Ev::Scalar { plain: true, text, .. }) if text == "~" || text.eq_ignore_ascii_case("null") => {
                Err(bail())
            }
            Some(_) => visitor.visit_some(self),
            None => Err(bail()),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> R<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.next()? {
            Ev::Seq { .. } => visitor.visit_seq(Items { de: self }),
            _ => Err(bail()),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.next()? {
            Ev::Map { .. } => visitor.visit_map(Items { de: self }),
            _ => Err(bail()),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> R<V::Value> {
        self.deserialize_map(visitor)
    }

    serde::forward_to_deserialize_any! {
        i128 u128 f32 f64 char bytes byte_buf unit unit_struct tuple tuple_struct enum ignored_any
    }
}

/// The entries of a sequence or mapping, up to its `End`.
struct Items<'d, 'a, 'e> {
    de: &'d mut De<'a, 'e>,
}

impl Items<'_, '_, '_> {
    fn at_end(&mut self) -> bool {
        let end = matches!(self.de.evs.get(self.de.pos), Some(Ev::End));
        if end {
            self.de.pos += 1;
        }
        end
    }
}

impl<'de> SeqAccess<'de> for Items<'_, '_, '_> {
    type Error = Bail;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> R<Option<T::Value>> {
        if self.at_end() {
            return Ok(None);
        }
        self.de.mark();
        seed.deserialize(&mut *self.de).map(Some)
    }
}

impl<'de> MapAccess<'de> for Items<'_, '_, '_> {
    type Error = Bail;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> R<Option<K::Value>> {
        if self.at_end() {
            return Ok(None);
        }
        self.de.mark();
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> R<V::Value> {
        self.de.mark();
        seed.deserialize(&mut *self.de)
    }
}

#[cfg(test)]
#[path = "yaml_fast_tests.rs"]
mod tests;
