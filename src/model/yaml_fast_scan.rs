//! The scanner of `yaml_fast`: block-style lines (and one-line flow
//! collections) into a flat list of events, with the line and column of each
//! node. Refuses (`Bail`) anything outside the subset; it knows nothing of the
//! model the events become.

use std::borrow::Cow;

use super::{bail, Bail, Ev, R};

/// Deeper nesting than any topology has: refused, so that serde-saphyr's depth budget decides.
const MAX_DEPTH: usize = 32;

struct Parser<'a> {
    lines: Vec<&'a str>,
    first_line: u32,
    /// The current line.
    i: usize,
    evs: Vec<Ev<'a>>,
    depth: usize,
    max_events: usize,
}

pub(super) fn parse(text: &str, first_line: u32, max_events: usize) -> Option<Vec<Ev<'_>>> {
    // Printable ASCII and newlines only: columns are then byte offsets, and no character
    // YAML forbids (or reads specially, as a BOM) can slip through.
    if !text.bytes().all(|b| b == b'\n' || (0x20..0x7f).contains(&b)) {
        return None;
    }
    let mut p = Parser {
        lines: {
            // Sized from the start (as are the events): a copy of a grown vector touches fresh pages twice.
            let mut lines = Vec::with_capacity(text.len() / 24 + 1);
            lines.extend(text.split('\n'));
            lines
        },
        first_line,
        i: 0,
        evs: Vec::with_capacity(text.len() / 10),
        depth: 0,
        max_events,
    };
    let indent = p.next_content()?;
    p.block_node(indent).ok()?;
    if p.next_content().is_some() {
        return None;
    }
    Some(p.evs)
}

/// `- …` or a lone `-` at column `indent`.
fn is_item(line: &str, indent: usize) -> bool {
    let rest = &line.as_bytes()[indent..];
    rest == b"-" || rest.starts_with(b"- ")
}

/// Nothing but spaces, or spaces and then a comment (which must follow a space).
fn rest_is_blank(s: &str) -> bool {
    let t = s.trim_start_matches(' ');
    t.is_empty() || (t.starts_with('#') && t.len() < s.len())
}

/// The length of the plain key at the start of `s` when `s` is `key:` or `key: …`.
fn key_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if !b.first().is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') {
        return None;
    }
    let n = b
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')))
        .unwrap_or(b.len());
    (b.get(n) == Some(&b':') && matches!(b.get(n + 1), None | Some(b' '))).then_some(n)
}

impl<'a> Parser<'a> {
    /// Moves to the next line that is neither blank nor a comment; its indentation.
    fn next_content(&mut self) -> Option<usize> {
        while let Some(line) = self.lines.get(self.i) {
            let t = line.trim_start_matches(' ');
            if !(t.is_empty() || t.starts_with('#')) {
                return Some(line.len() - t.len());
            }
            self.i += 1;
        }
        None
    }

    fn line_no(&self, i: usize) -> u32 {
        self.first_line.saturating_add(u32::try_from(i).unwrap_or(u32::MAX))
    }

    fn push(&mut self, ev: Ev<'a>) -> R<()> {
        if self.evs.len() >= self.max_events {
            return Err(bail());
        }
        self.evs.push(ev);
        Ok(())
    }

    fn enter(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(bail());
        }
        Ok(())
    }

    /// A block node whose first line is the current line, at `indent`.
    fn block_node(&mut self, indent: usize) -> R<()> {
        if is_item(self.lines[self.i], indent) {
            self.block_seq(indent, false)
        } else {
            self.block_map(self.i, indent)
        }
    }

    /// A block mapping whose first key is at line `i`, column `col` (perhaps after a `- `);
    /// its other keys start lines at that indentation.
    fn block_map(&mut self, mut i: usize, col: usize) -> R<()> {
        self.enter()?;
        let line_no = self.line_no(i);
        self.push(Ev::Map {
            line: line_no,
            col: col as u32 + 1,
        })?;
        let mut keys: Vec<&'a str> = Vec::new();
        loop {
            let line = self.lines[i];
            let rest = &line[col..];
            let n = key_len(rest).ok_or(Bail)?;
            let key = &rest[..n];
            if keys.contains(&key) {
                return Err(bail());
            }
            keys.push(key);
            self.push(Ev::Scalar {
                text: Cow::Borrowed(key),
                plain: true,
                line: self.line_no(i),
                col: col as u32 + 1,
            })?;
            let after = &rest[n + 1..];
            if rest_is_blank(after) {
                // The value is on the lines below: deeper, or a sequence at this indentation.
                self.i = i + 1;
                match self.next_content() {
                    Some(k) if k > col => self.block_node(k)?,
                    Some(k) if k == col && is_item(self.lines[self.i], k) => self.block_seq(k, true)?,
                    _ => return Err(bail()),
                }
            } else {
                let v = after.trim_start_matches(' ');
                self.inline_value(i, col + n + 1 + (after.len() - v.len()))?;
                self.i = i + 1;
            }
            match self.next_content() {
                Some(k) if k == col => i = self.i,
                Some(k) if k < col => break,
                None => break,
                // Deeper after a complete value: a continuation line or a mistake.
                Some(_) => return Err(bail()),
            }
        }
        self.depth -= 1;
        self.push(Ev::End)
    }

    /// A block sequence whose first `-` starts the current line at `indent`. serde-saphyr
    /// places an `indentless` one (at the indentation of the key it is the value of) where
    /// its first item is.
    fn block_seq(&mut self, indent: usize, indentless: bool) -> R<()> {
        self.enter()?;
        let mut i = self.i;
        let start = self.evs.len();
        self.push(Ev::Seq {
            line: self.line_no(i),
            col: indent as u32 + 1,
        })?;
        loop {
            let line = self.lines[i];
            let rest = &line[indent + 1..];
            if rest_is_blank(rest) {
                if indentless && self.evs.len() == start + 1 {
                    return Err(bail());
                }
                self.i = i + 1;
                match self.next_content() {
                    Some(k) if k > indent => self.block_node(k)?,
                    _ => return Err(bail()),
                }
            } else {
                let v = rest.trim_start_matches(' ');
                let col = indent + 1 + (rest.len() - v.len());
                if v == "-" || v.starts_with("- ") {
                    return Err(bail());
                }
                if key_len(v).is_some() {
                    self.block_map(i, col)?;
                } else {
                    self.inline_value(i, col)?;
                    self.i = i + 1;
                }
            }
            match self.next_content() {
                Some(k) if k == indent && is_item(self.lines[self.i], k) => i = self.i,
                // A key of the mapping this sequence is the value of, or the end.
                Some(k) if k <= indent => break,
                None => break,
                Some(_) => return Err(bail()),
            }
        }
        if indentless {
            let at = match &self.evs[start + 1] {
                Ev::Map { line, col } | Ev::Seq { line, col } | Ev::Scalar { line, col, .. } => (*line, *col),
                Ev::End => return Err(bail()),
            };
            self.evs[start] = Ev::Seq { line: at.0, col: at.1 };
        }
        self.depth -= 1;
        self.push(Ev::End)
    }

    /// A scalar or flow collection that starts at line `i`, column `col` and ends on that
    /// line (only a comment may follow).
    fn inline_value(&mut self, i: usize, col: usize) -> R<()> {
        let line = self.lines[i];
        let v = &line[col..];
        let line_no = self.line_no(i);
        let end = match v.as_bytes()[0] {
            b'"' | b'\'' | b'[' | b'{' => self.flow_node(line, col, line_no)?,
            c if is_indicator(c) => return Err(bail()),
            _ => {
                // A plain scalar: up to a comment or the end of the line.
                let len = v.find(" #").unwrap_or(v.len());
                let text = v[..len].trim_end_matches(' ');
                if text.contains(": ") || text.ends_with(':') {
                    return Err(bail());
                }
                self.push(Ev::Scalar {
                    text: Cow::Borrowed(text),
                    plain: true,
                    line: line_no,
                    col: col as u32 + 1,
                })?;
                col + len
            }
        };
        if rest_is_blank(&line[end..]) {
            Ok(())
        } else {
            Err(bail())
        }
    }

    /// A quoted scalar or a flow collection starting at byte `at` of `line`, or (inside a
    /// flow collection) a plain scalar; the byte just after it.
    fn flow_node(&mut self, line: &'a str, at: usize, line_no: u32) -> R<usize> {
        let b = line.as_bytes();
        let col = at as u32 + 1;
        match b.get(at) {
            Some(b'"') => {
                let (text, end) = double_quoted(line, at)?;
                self.push(Ev::Scalar {
                    text,
                    plain: false,
                    line: line_no,
                    col,
                })?;
                Ok(end)
            }
            Some(b'\'') => {
                let (text, end) = single_quoted(line, at)?;
                self.push(Ev::Scalar {
                    text,
                    plain: false,
                    line: line_no,
                    col,
                })?;
                Ok(end)
            }
            Some(b'[') => {
                self.enter()?;
                self.push(Ev::Seq { line: line_no, col })?;
                let mut p = skip_spaces(b, at + 1);
                if b.get(p) != Some(&b']') {
                    loop {
                        p = skip_spaces(b, self.flow_node(line, p, line_no)?);
                        match next_flow_item(b, p, b']')? {
                            Some(next) => p = next,
                            None => break,
                        }
                    }
                }
                self.depth -= 1;
                self.push(Ev::End)?;
                Ok(p + 1)
            }
            Some(b'{') => {
                self.enter()?;
                self.push(Ev::Map { line: line_no, col })?;
                let mut keys: Vec<&'a str> = Vec::new();
                let mut p = skip_spaces(b, at + 1);
                if b.get(p) != Some(&b'}') {
                    loop {
                        let n = key_len(&line[p..]).ok_or(Bail)?;
                        let key = &line[p..p + n];
                        if keys.contains(&key) {
                            return Err(bail());
                        }
                        keys.push(key);
                        self.push(Ev::Scalar {
                            text: Cow::Borrowed(key),
                            plain: true,
                            line: line_no,
                            col: p as u32 + 1,
                        })?;
                        let v = skip_spaces(b, p + n + 1);
                        if matches!(b.get(v), None | Some(b',' | b'}' | b'#')) {
                            return Err(bail());
                        }
                        p = skip_spaces(b, self.flow_node(line, v, line_no)?);
                        match next_flow_item(b, p, b'}')? {
                            Some(next) => p = next,
                            None => break,
                        }
                    }
                }
                self.depth -= 1;
                self.push(Ev::End)?;
                Ok(p + 1)
            }
            Some(&c) if !is_indicator(c) => {
                // A plain scalar inside a flow collection: up to `,`, `]` or `}`.
                let rest = &line[at..];
                let len = rest.find([',', ']', '}', '[', '{']).unwrap_or(rest.len());
                let text = rest[..len].trim_end_matches(' ');
                if text.is_empty() || text.contains([':', '#']) {
                    return Err(bail());
                }
                self.push(Ev::Scalar {
                    text: Cow::Borrowed(text),
                    plain: true,
                    line: line_no,
                    col,
                })?;
                Ok(at + text.len())
            }
            _ => Err(bail()),
        }
    }
}

/// Characters that may not start a plain scalar in this subset (YAML's indicators, and
/// the ones that start a collection or quoted scalar, which are handled elsewhere).
fn is_indicator(c: u8) -> bool {
    matches!(
        c,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
            | b' '
    )
}

/// After an item of a flow collection that `close` ends: where the next item starts, or `None`
/// at `close`. A trailing `,` before `close`, or anything else, is refused.
#[track_caller]
fn next_flow_item(b: &[u8], p: usize, close: u8) -> R<Option<usize>> {
    match b.get(p) {
        Some(b',') => {
            let next = skip_spaces(b, p + 1);
            if b.get(next) == Some(&close) {
                return Err(bail());
            }
            Ok(Some(next))
        }
        Some(&c) if c == close => Ok(None),
        _ => Err(bail()),
    }
}

fn skip_spaces(b: &[u8], mut p: usize) -> usize {
    while b.get(p) == Some(&b' ') {
        p += 1;
    }
    p
}

/// A `"…"` scalar starting at `at`, closed on the same line: its text and the byte after it.
fn double_quoted(line: &str, at: usize) -> R<(Cow<'_, str>, usize)> {
    let b = line.as_bytes();
    let start = at + 1;
    let mut p = start;
    while p < b.len() && b[p] != b'"' && b[p] != b'\\' {
        p += 1;
    }
    if b.get(p) == Some(&b'"') {
        return Ok((Cow::Borrowed(&line[start..p]), p + 1));
    }
    let mut out = String::from(&line[start..p]);
    loop {
        match b.get(p) {
            None => return Err(bail()),
            Some(b'"') => return Ok((Cow::Owned(out), p + 1)),
            Some(b'\\') => {
                let (c, len) = match b.get(p + 1).ok_or(Bail)? {
                    b'\\' => ('\\', 2),
                    b'"' => ('"', 2),
                    b'/' => ('/', 2),
                    b'n' => ('\n', 2),
                    b't' => ('\t', 2),
                    b'r' => ('\r', 2),
                    b'0' => ('\0', 2),
                    b'x' => (hex_char(line, p + 2, 2)?, 4),
                    b'u' => (hex_char(line, p + 2, 4)?, 6),
                    _ => return Err(bail()),
                };
                out.push(c);
                p += len;
            }
            Some(_) => {
                let s = p;
                while p < b.len() && b[p] != b'"' && b[p] != b'\\' {
                    p += 1;
                }
                out.push_str(&line[s..p]);
            }
        }
    }
}

fn hex_char(line: &str, at: usize, digits: usize) -> R<char> {
    let hex = line.get(at..at + digits).ok_or(Bail)?;
    if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(bail());
    }
    u32::from_str_radix(hex, 16).ok().and_then(char::from_u32).ok_or(Bail)
}

/// A `'…'` scalar starting at `at`, closed on the same line (`''` is a quote).
fn single_quoted(line: &str, at: usize) -> R<(Cow<'_, str>, usize)> {
    let rest = &line[at + 1..];
    let mut out: Option<String> = None;
    let mut p = 0;
    loop {
        let q = rest[p..].find('\'').ok_or(Bail)? + p;
        if rest.as_bytes().get(q + 1) == Some(&b'\'') {
            out.get_or_insert_with(String::new).push_str(&rest[p..=q]);
            p = q + 2;
        } else {
            let text = match out {
                None => Cow::Borrowed(&rest[..q]),
                Some(mut s) => {
                    s.push_str(&rest[p..q]);
                    Cow::Owned(s)
                }
            };
            return Ok((text, at + 1 + q + 1));
        }
    }
}
