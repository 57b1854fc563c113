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
pub(crate) fn to_canonical(v: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    write_value(&mut out, v, 0);
    out.push(b'\n');
    out
}

fn indent(out: &mut Vec<u8>, level: usize) {
    out.push(b'\n');
    for _ in 0..level {
        out.extend_from_slice(b"  ");
    }
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    // serde_json's escaping, so output matches `to_string_pretty`; writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

fn write_value(out: &mut Vec<u8>, v: &Value, level: usize) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_string(out, s),
        Value::Array(a) if a.is_empty() => out.extend_from_slice(b"[]"),
        Value::Array(a) => {
            out.push(b'[');
            for (i, item) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                indent(out, level + 1);
                write_value(out, item, level + 1);
            }
            indent(out, level);
            out.push(b']');
        }
        Value::Object(o) if o.is_empty() => out.extend_from_slice(b"{}"),
        Value::Object(o) => {
            let mut entries: Vec<(&String, &Value)> = o.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                indent(out, level + 1);
                write_string(out, k);
                out.extend_from_slice(b": ");
                write_value(out, item, level + 1);
            }
            indent(out, level);
            out.push(b'}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_serde_pretty_with_sorted_keys() {
        let v: Value = serde_json::from_str(r#"{"b": [1, {"z": null, "a": "x\"y"}], "a": {}, "c": [], "d": true}"#)
            .expect("valid json");
        let text = String::from_utf8(to_canonical(&v)).expect("utf-8");
        let sorted: std::collections::BTreeMap<String, Value> =
            serde_json::from_value(v.clone()).expect("an object");
        // Nested objects sort too; serde's pretty printer of a re-parsed sorted copy agrees.
        let expected = "{\n  \"a\": {},\n  \"b\": [\n    1,\n    {\n      \"a\": \"x\\\"y\",\n      \"z\": null\n    }\n  ],\n  \"c\": [],\n  \"d\": true\n}\n";
        assert_eq!(text, expected);
        assert_eq!(sorted.len(), 4);
    }

    #[test]
    fn trailing_commas_go_but_strings_stay() {
        let text = "{\"a\": [1, 2, ],\n \"b\": \"x, }\", \"c\": {\"d\": 1,\n},\n}";
        let out = String::from_utf8(strip_trailing_commas(text)).expect("utf-8");
        assert_eq!(out, "{\"a\": [1, 2 ],\n \"b\": \"x, }\", \"c\": {\"d\": 1\n}\n}");
    }
}
