//! Canonical JSON: what every generated file looks like on disk.
//!
//! Keys sorted (byte order) at every level, two-space indentation, `"key": value`,
//! empty arrays and objects as `[]` and `{}`, and a trailing newline — the same
//! text `serde_json::to_string_pretty` gives for sorted maps, written directly
//! (serde_json here keeps insertion order, so sorting is ours to do). Also the
//! lenient step before parsing: blueprints may leave a comma before `}` or `]`,
//! which makes loops over resources simple to write. No IO.

use serde_json::Value;

/// Removes commas that directly precede (whitespace aside) a closing `}` or `]`,
/// outside strings. Lines are kept, so parse errors still point at the blueprint's output line.
pub(crate) fn strip_trailing_commas(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut in_string = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if in_string {
            out.push(c);
            if c == b'\\' && i + 1 < b.len() {
                out.push(b[i + 1]);
                i += 2;
                continue;
            }
            if c == b'"' {
                in_string = false;
            }
        } else if c == b'"' {
            in_string = true;
            out.push(c);
        } else if c == b',' {
            let mut j = i + 1;
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            if !(j < b.len() && (b[j] == b'}' || b[j] == b']')) {
                out.push(c);
            }
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

/// Writes `v` canonically, with a trailing newline.
pub(crate) fn to_canonical<S: Stashed>(v: &S) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    v.write(&mut out, 0);
    out.push(b'\n');
    out
}

fn indent(out: &mut Vec<u8>, level: usize) {
    // A newline and 128 spaces: most of a template's bytes are indentation, copied in one go.
    const LINE: &[u8; 129] = b"\n                                                                                                                                ";
    match LINE.get(..1 + 2 * level) {
        Some(spaces) => out.extend_from_slice(spaces),
        None => {
            out.extend_from_slice(LINE);
            out.extend(std::iter::repeat_n(b' ', 2 * level - 128));
        }
    }
}

pub(super) fn write_string(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    if plain_run(b) == b.len() {
        // Nothing to escape (most strings): the bytes between quotes, as serde_json writes them.
        out.reserve(b.len() + 2);
        out.push(b'"');
        out.extend_from_slice(b);
        out.push(b'"');
    } else {
        // serde_json's escaping, so output matches `to_string_pretty`; writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// `[…]` with one item per line at `level + 1` (`item` writes each), or `[]`.
pub(super) fn write_array<T>(
    out: &mut Vec<u8>,
    items: impl IntoIterator<Item = T>,
    level: usize,
    mut item: impl FnMut(&mut Vec<u8>, T, usize),
) {
    out.push(b'[');
    let mut any = false;
    for x in items {
        if any {
            out.push(b',');
        }
        indent(out, level + 1);
        item(out, x, level + 1);
        any = true;
    }
    if any {
        indent(out, level);
    }
    out.push(b']');
}

/// `{…}` with one `key: value` per line at `level + 1`, in the order given, or `{}`.
pub(super) fn write_object<K, T>(
    out: &mut Vec<u8>,
    entries: impl IntoIterator<Item = (K, T)>,
    level: usize,
    key: impl Fn(&mut Vec<u8>, K),
    mut value: impl FnMut(&mut Vec<u8>, T, usize),
) {
    out.push(b'{');
    let mut any = false;
    for (k, v) in entries {
        if any {
            out.push(b',');
        }
        indent(out, level + 1);
        key(out, k);
        out.extend_from_slice(b": ");
        value(out, v, level + 1);
        any = true;
    }
    if any {
        indent(out, level);
    }
    out.push(b'}');
}

fn write_value(out: &mut Vec<u8>, v: &Value, level: usize) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_string(out, s),
        Value::Array(a) => write_array(out, a, level, write_value),
        // Maps built from BTreeMaps or sorted structs are in order already: no copy to sort.
        Value::Object(o) if o.keys().zip(o.keys().skip(1)).all(|(a, b)| a < b) => {
            write_object(
                out,
                o.iter().map(|(k, v)| (k.as_str(), v)),
                level,
                write_string,
                write_value,
            );
        }
        Value::Object(o) => {
            let mut entries: Vec<(&str, &Value)> = o.iter().map(|(k, v)| (k.as_str(), v)).collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            write_object(out, entries, level, write_string, write_value);
        }
    }
}

/// A value that stands where a stash marker is (see `stash`): written canonically as it is.
pub(crate) trait Stashed {
    /// Writes the value canonically at indentation `level` (no trailing newline).
    fn write(&self, out: &mut Vec<u8>, level: usize);
    /// The number of keys, when an object.
    fn object_len(&self) -> Option<usize>;
    /// The number of keys of the object at `key`, when an object that has one there.
    fn field_len(&self, key: &str) -> Option<usize>;
}

impl Stashed for Value {
    fn write(&self, out: &mut Vec<u8>, level: usize) {
        write_value(out, self, level);
    }
    fn object_len(&self) -> Option<usize> {
        self.as_object().map(serde_json::Map::len)
    }
    fn field_len(&self, key: &str) -> Option<usize> {
        self.get(key).and_then(Stashed::object_len)
    }
}

/// A parsed JSON value that borrows from the text it came from (the fast path of `canonicalize`).
enum Node<'a, S> {
    /// `null`, `true`, `false`, or a string that needs no re-escaping: written back as is.
    Raw(&'a [u8]),
    /// A number or a string whose escapes must be normalised: written through serde_json.
    Value(Value),
    Array(Vec<Node<'a, S>>),
    /// Keys are kept raw (with quotes) when they need no re-escaping.
    Object(Vec<(Key<'a>, Node<'a, S>)>),
    /// A context value the `json` helper stashed (see `stash`): written as it is, canonically.
    Stashed(&'a S),
}

enum Key<'a> {
    Raw(&'a [u8]),
    Owned(String),
}

impl Key<'_> {
    /// The key as it sorts: the string itself.
    fn text(&self) -> &[u8] {
        match self {
            Key::Raw(r) => &r[1..r.len() - 1],
            Key::Owned(s) => s.as_bytes(),
        }
    }
}

/// A recursive-descent parser over bytes that accepts JSON plus trailing commas. It gives up
/// (returns `None`) on anything unusual; the caller then falls back to serde_json, whose error
/// names the line.
struct Parser<'a, S> {
    b: &'a [u8],
    pos: usize,
    depth: usize,
    /// The values markers stand for, by number.
    stashed: &'a [&'a S],
}

impl<'a, S> Parser<'a, S> {
    fn ws(&mut self) {
        while self.pos < self.b.len() && matches!(self.b[self.pos], b' ' | b'\n' | b'\r' | b'\t') {
            self.pos += 1;
        }
    }

    fn literal(&mut self, word: &'static [u8]) -> Option<Node<'a, S>> {
        let end = self.pos + word.len();
        if self.b.get(self.pos..end) == Some(word) {
            self.pos = end;
            Some(Node::Raw(word))
        } else {
            None
        }
    }

    /// A string: its raw bytes (quotes included), and whether it can be written back as is.
    fn string(&mut self) -> Option<(&'a [u8], bool)> {
        let start = self.pos;
        self.pos += 1;
        let mut plain = true;
        loop {
            // Past the bytes that need no escaping: most of a template's strings.
            self.pos += plain_run(self.b.get(self.pos..)?);
            match *self.b.get(self.pos)? {
                b'"' => {
                    self.pos += 1;
                    return Some((&self.b[start..self.pos], plain));
                }
                b'\\' => {
                    plain = false;
                    self.pos += 2;
                }
                // A control character (`plain_run` stops at nothing else).
                _ => return None,
            }
        }
    }

    fn value(&mut self) -> Option<Node<'a, S>> {
        self.ws();
        self.depth += 1;
        if self.depth > 128 {
            return None;
        }
        let node = match *self.b.get(self.pos)? {
            b'{' => {
                self.pos += 1;
                let mut entries = Vec::new();
                loop {
                    self.ws();
                    match *self.b.get(self.pos)? {
                        b'}' => {
                            self.pos += 1;
                            break;
                        }
                        b'"' => {}
                        _ => return None,
                    }
                    let (raw, plain) = self.string()?;
                    let key = if plain {
                        Key::Raw(raw)
                    } else {
                        Key::Owned(serde_json::from_slice(raw).ok()?)
                    };
                    self.ws();
                    if self.b.get(self.pos) != Some(&b':') {
                        return None;
                    }
                    self.pos += 1;
                    entries.push((key, self.value()?));
                    self.ws();
                    match *self.b.get(self.pos)? {
                        b',' => self.pos += 1,
                        b'}' => {
                            self.pos += 1;
                            break;
                        }
                        _ => return None,
                    }
                }
                entries.sort_by(|a, b| a.0.text().cmp(b.0.text()));
                if entries.windows(2).any(|w| w[0].0.text() == w[1].0.text()) {
                    // Duplicate keys: serde_json keeps the last; let it decide.
                    return None;
                }
                Node::Object(entries)
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    if *self.b.get(self.pos)? == b']' {
                        self.pos += 1;
                        break;
                    }
                    items.push(self.value()?);
                    self.ws();
                    match *self.b.get(self.pos)? {
                        b',' => self.pos += 1,
                        b']' => {
                            self.pos += 1;
                            break;
                        }
                        _ => return None,
                    }
                }
                Node::Array(items)
            }
            b'"' => {
                let (raw, plain) = self.string()?;
                if plain {
                    Node::Raw(raw)
                } else {
                    Node::Value(Value::String(serde_json::from_slice(raw).ok()?))
                }
            }
            super::stash::MARK => {
                let start = self.pos + 1;
                let len = self.b.get(start..)?.iter().position(|&c| c == super::stash::MARK)?;
                let n: usize = std::str::from_utf8(&self.b[start..start + len]).ok()?.parse().ok()?;
                self.pos = start + len + 1;
                Node::Stashed(*self.stashed.get(n)?)
            }
            b't' => self.literal(b"true")?,
            b'f' => self.literal(b"false")?,
            b'n' => self.literal(b"null")?,
            b'-' | b'0'..=b'9' => {
                let start = self.pos;
                while self.pos < self.b.len()
                    && matches!(self.b[self.pos], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    self.pos += 1;
                }
                let n: serde_json::Number = serde_json::from_slice(&self.b[start..self.pos]).ok()?;
                Node::Value(Value::Number(n))
            }
            _ => return None,
        };
        self.depth -= 1;
        Some(node)
    }
}

/// The length of the leading run of bytes a JSON string holds as they are (neither a quote,
/// a backslash nor a control character; serde_json writes DEL and non-ASCII as they are,
/// like any other character): eight at a time, then byte by byte.
fn plain_run(b: &[u8]) -> usize {
    let mut n = 0;
    while let Some(eight) = b.get(n..n + 8).and_then(|e| <[u8; 8]>::try_from(e).ok()) {
        if ends_plain_run(u64::from_le_bytes(eight)) {
            break;
        }
        n += 8;
    }
    b[n..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map_or(b.len(), |at| n + at)
}

/// Whether eight bytes (as a little-endian word) hold a quote, a backslash or a control
/// character (exact: a borrow in the subtraction can only misplace which byte, not whether).
const fn ends_plain_run(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte of `v` is below `n` (`n` <= 0x80): the classic test for a zero byte, shifted.
    const fn below(v: u64, n: u64) -> bool {
        v.wrapping_sub(ONES * n) & !v & HIGH != 0
    }
    below(x ^ (ONES * b'"' as u64), 1) || below(x ^ (ONES * b'\\' as u64), 1) || below(x, 0x20)
}

fn write_node<S: Stashed>(out: &mut Vec<u8>, n: &Node<'_, S>, level: usize) {
    match n {
        Node::Raw(r) => out.extend_from_slice(r),
        Node::Value(v) => write_value(out, v, level),
        Node::Stashed(v) => v.write(out, level),
        Node::Array(a) => write_array(out, a, level, write_node),
        Node::Object(o) => write_object(
            out,
            o.iter().map(|(k, v)| (k, v)),
            level,
            |out, k: &Key<'_>| match k {
                Key::Raw(r) => out.extend_from_slice(r),
                Key::Owned(s) => write_string(out, s),
            },
            write_node,
        ),
    }
}

/// The canonical form of a rendered text and the number of keys of its top-level `Resources`
/// object, or `None` when the text is not JSON (trailing commas allowed). One pass, no
/// `serde_json::Value` tree: the output of a whole org is hundreds of megabytes.
pub(crate) fn canonicalize(text: &str) -> Option<(Vec<u8>, usize)> {
    canonicalize_with::<Value>(text, &[])
}

/// `canonicalize` of a text with stash markers: marker `n` stands for `stashed[n]`.
pub(crate) fn canonicalize_with<S: Stashed>(text: &str, stashed: &[&S]) -> Option<(Vec<u8>, usize)> {
    canonicalize_bytes(text.as_bytes(), stashed)
}

/// `canonicalize_with` of bytes (the fast renderer's buffer).
pub(crate) fn canonicalize_bytes<S: Stashed>(text: &[u8], stashed: &[&S]) -> Option<(Vec<u8>, usize)> {
    let mut p = Parser {
        b: text,
        pos: 0,
        depth: 0,
        stashed,
    };
    let root = p.value()?;
    p.ws();
    if p.pos != p.b.len() {
        return None;
    }
    let resources = match &root {
        Node::Object(o) => o
            .iter()
            .find(|(k, _)| k.text() == b"Resources")
            .map_or(0, |(_, v)| match v {
                Node::Object(r) => r.len(),
                Node::Stashed(s) => s.object_len().unwrap_or(0),
                _ => 0,
            }),
        Node::Stashed(s) => s.field_len("Resources").unwrap_or(0),
        _ => 0,
    };
    let mut out = Vec::with_capacity(text.len() * 2);
    write_node(&mut out, &root, 0);
    out.push(b'\n');
    Some((out, resources))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_is_indented_like_serde_pretty() {
        // Past the 64 levels the indentation buffer holds, in both writers.
        let mut v = serde_json::json!("leaf");
        for i in 0..100 {
            v = if i % 2 == 0 {
                serde_json::json!([v])
            } else {
                serde_json::json!({"k": v})
            };
        }
        let pretty = serde_json::to_string_pretty(&v).expect("serialises") + "\n";
        assert_eq!(String::from_utf8_lossy(&to_canonical(&v)), pretty);
        let (bytes, _) = canonicalize(&serde_json::to_string(&v).expect("serialises")).expect("parses");
        assert_eq!(String::from_utf8_lossy(&bytes), pretty);
    }

    #[test]
    fn matches_serde_pretty_with_sorted_keys() {
        let v: Value = serde_json::from_str(r#"{"b": [1, {"z": null, "a": "x\"y"}], "a": {}, "c": [], "d": true}"#)
            .expect("valid json");
        let text = String::from_utf8(to_canonical(&v)).expect("utf-8");
        let sorted: std::collections::BTreeMap<String, Value> = serde_json::from_value(v.clone()).expect("an object");
        // Nested objects sort too; serde's pretty printer of a re-parsed sorted copy agrees.
        let expected = "{\n  \"a\": {},\n  \"b\": [\n    1,\n    {\n      \"a\": \"x\\\"y\",\n      \"z\": null\n    }\n  ],\n  \"c\": [],\n  \"d\": true\n}\n";
        assert_eq!(text, expected);
        assert_eq!(sorted.len(), 4);
    }

    #[test]
    fn the_eight_byte_test_agrees_with_bytes() {
        let special = |b: u8| b == b'"' || b == b'\\' || b < 0x20;
        // Every byte value in every position, among plain and borderline neighbours.
        for fill in [b'a', b' ', b'!', b'#', 0x7f, 0x80, 0xff, b'[', b']'] {
            for pos in 0..8 {
                for b in 0..=255u8 {
                    let mut w = [fill; 8];
                    w[pos] = b;
                    let want = w.iter().any(|&c| special(c));
                    assert_eq!(ends_plain_run(u64::from_le_bytes(w)), want, "{w:?}");
                }
            }
        }
    }

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        for s in [
            "",
            "a",
            "plain text of some length",
            "é and ünïcode",
            "q\"uote",
            "back\\slash",
            "nl\n",
            "\u{1}\u{1f}\u{7f}",
            "0123456\t",
            "01234567\"",
            "tab\there and more text after it",
        ] {
            let mut out = Vec::new();
            write_string(&mut out, s);
            assert_eq!(
                String::from_utf8(out).expect("utf-8"),
                serde_json::to_string(s).expect("serialises"),
                "{s:?}"
            );
        }
    }

    #[test]
    fn trailing_commas_go_but_strings_stay() {
        let text = "{\"a\": [1, 2, ],\n \"b\": \"x, }\", \"c\": {\"d\": 1,\n},\n}";
        let out = String::from_utf8(strip_trailing_commas(text)).expect("utf-8");
        assert_eq!(out, "{\"a\": [1, 2 ],\n \"b\": \"x, }\", \"c\": {\"d\": 1\n}\n}");
    }

    #[test]
    fn the_fast_path_agrees_with_serde() {
        let texts = [
            r#"{"b": [1, {"z": null, "a": "x\"y"}], "a": {}, "c": [], "d": true, "e": -1.5e3, "f": "\u00e9t\u00e9", "g\n": "é",}"#,
            r#"{"Resources": {"B": {"x": [1, 2,]}, "A": {},}, "Z": false}"#,
            "[]",
        ];
        for text in texts {
            let (fast, _) = canonicalize(text).expect("valid");
            let slow: Value = serde_json::from_slice(&strip_trailing_commas(text)).expect("valid");
            assert_eq!(
                String::from_utf8(fast).expect("utf-8"),
                String::from_utf8(to_canonical(&slow)).expect("utf-8")
            );
        }
        assert_eq!(canonicalize(texts[1]).map(|(_, n)| n), Some(2));
        for bad in [
            r#"{"a" 1}"#,
            r#"{"a": 1} x"#,
            r#"{"a": tru}"#,
            "{\"a\": \"\n\"}",
            r#"{"a": 1, "a": 2}"#,
        ] {
            assert!(canonicalize(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn stashed_values_write_like_their_text() {
        let v: Value = serde_json::from_str(
            r#"{"z": [1, {"b": "x\"y", "a": -1.5e3, "c": null}], "a": {"\u00e9": [], "k": {}, "e\n": true}}"#,
        )
        .expect("valid json");
        let compact = serde_json::to_string(&v).expect("serialises");
        let text = format!("{{\"Resources\": {compact}, \"x\": [{compact}, 2],}}");
        let marked = "{\"Resources\": \u{1}0\u{1}, \"x\": [\u{1}1\u{1}, 2],}";
        let by_text = canonicalize(&text).expect("valid");
        assert_eq!(canonicalize_with(marked, &[&v, &v]), Some(by_text.clone()));
        assert_eq!(by_text.1, 2);
        // A whole document that is one value (the Glue policy blueprint).
        assert_eq!(canonicalize_with("\u{1}0\u{1}\n", &[&v]), canonicalize(&compact));
        // Markers that stand for nothing, or sit inside strings, are not JSON.
        for bad in ["[\u{1}1\u{1}]", "[\u{1}x\u{1}]", "[\u{1}0]", "[\"\u{1}0\u{1}\"]"] {
            assert!(canonicalize_with(bad, &[&v]).is_none(), "{bad:?}");
        }
    }
}
