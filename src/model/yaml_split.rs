//! Finding the top-level `teams:` items of a single-file YAML topology, so that
//! they can be parsed on every core.
//!
//! YAML cannot be parsed from the middle, but a block sequence item at the top
//! level can be cut out line by line: its lines, taken verbatim, are a YAML
//! document of its own (a block sequence, indented as it was). Each chunk of
//! consecutive items is parsed alone with every recorded line shifted by the
//! number of lines before it, so positions (line *and* column) are exactly
//! those of a whole-file parse. The rest of the file (`version`, `org`, …) is
//! parsed with `teams: []` in place of the items and blank lines keeping the
//! lines after them where they were.
//!
//! This is only a fast path. Anything unusual (anchors or aliases, which may
//! cross a cut; documents markers; directives; `\r`; flow-style `teams`; an
//! indentation this scanner does not follow) gives `None`, and the caller
//! parses the whole file as before. Any parse error in a chunk does the same,
//! so an error message never depends on this module. No IO.

/// A single-file YAML topology cut into its head and its team chunks.
#[derive(Debug)]
pub(super) struct Split<'a> {
    /// The file with `teams: []` in place of the items.
    pub(super) head: String,
    /// Chunks of consecutive team items: (lines before the chunk, its text).
    pub(super) chunks: Vec<(u32, &'a str)>,
    /// Line (1-based) and column of the first item's `-`: where a whole-file
    /// parse places the `teams` sequence.
    pub(super) teams_line: u32,
    pub(super) teams_col: u32,
}

/// Files smaller than this are parsed whole: splitting would not pay.
pub(super) const MIN_SPLIT_BYTES: usize = 1 << 20;

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim_start_matches(' ');
    t.is_empty() || t.starts_with('#')
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// `- …` or a lone `-` at column `indent`.
fn is_item_at(line: &str, indent: usize) -> bool {
    indent_of(line) == indent && {
        let rest = &line[indent..];
        rest == "-" || rest.starts_with("- ")
    }
}

/// Whether `line` is the top-level key `teams:` with nothing but spaces or a
/// comment after it; returns the byte offset just after the colon.
fn teams_key(line: &str) -> Option<usize> {
    let rest = line.strip_prefix("teams:")?;
    let after = rest.trim_start_matches(' ');
    (after.is_empty() || (after.starts_with('#') && after.len() < rest.len())).then_some("teams:".len())
}

/// Cuts `text` into at most `pieces` chunks of team items (by size), or `None`
/// when the file is small or anything about it is unusual.
pub(super) fn split(text: &str, pieces: usize) -> Option<Split<'_>> {
    if text.len() < MIN_SPLIT_BYTES || pieces < 2 {
        return None;
    }
    let bytes = text.as_bytes();
    // Anchors and aliases may cross a cut (and their budget is per file); tabs, `\r`, directives
    // and several documents are legal but rare: none of them is worth a second code path.
    if bytes.iter().any(|&b| matches!(b, b'&' | b'*' | b'\r' | b'\t')) || bytes.first() == Some(&b'%') {
        return None;
    }
    // (byte offset, line) of every line start.
    // Sized from a count first: a large file has millions of lines, and growing by doubling
    // copies (and faults in) the list several times.
    let mut lines: Vec<(usize, &str)> = Vec::with_capacity(bytes.iter().filter(|&&b| b == b'\n').count() + 1);
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        lines.push((start, line.strip_suffix('\n').unwrap_or(line)));
        start += line.len();
    }
    if lines.iter().any(|(_, l)| l.starts_with("---") || l.starts_with("...")) {
        return None;
    }
    // The top level must be a block mapping: its first content line starts with a key.
    let first = lines.iter().find(|(_, l)| !is_blank_or_comment(l))?;
    if first.1.starts_with(['{', '[', '-', '"', '\'', ' ', '?']) {
        return None;
    }
    let key_line = lines.iter().position(|(_, l)| teams_key(l).is_some())?;
    // Only one `teams:` at column 0 (a second would be a duplicate key: let the parser say so).
    if lines[key_line + 1..].iter().any(|(_, l)| teams_key(l).is_some()) {
        return None;
    }
    let first_item = key_line
        + 1
        + lines[key_line + 1..]
            .iter()
            .position(|(_, l)| !is_blank_or_comment(l))?;
    let indent = indent_of(lines[first_item].1);
    if !is_item_at(lines[first_item].1, indent) {
        return None;
    }
    // Walk the items: an item starts at `indent` with `-`; deeper lines, blank lines and comments
    // continue it; a line at column 0 that is none of these ends the sequence.
    let mut items: Vec<usize> = vec![first_item];
    let mut end = lines.len();
    for (i, (_, l)) in lines.iter().enumerate().skip(first_item + 1) {
        if is_blank_or_comment(l) {
            continue;
        }
        if is_item_at(l, indent) {
            items.push(i);
            continue;
        }
        let ind = indent_of(l);
        if ind > indent {
            continue;
        }
        if ind == 0 {
            end = i;
            break;
        }
        return None;
    }
    if items.len() < 2 {
        return None;
    }
    let byte_at = |line: usize| lines.get(line).map_or(text.len(), |(b, _)| *b);
    let region_bytes = byte_at(end) - byte_at(first_item);
    let target = region_bytes.div_ceil(pieces).max(1);
    let mut chunks = Vec::with_capacity(pieces);
    let mut chunk_start = first_item;
    for (k, &item) in items.iter().enumerate().skip(1) {
        if byte_at(item) - byte_at(chunk_start) >= target {
            chunks.push((chunk_start, item));
            chunk_start = item;
        }
        if k + 1 == items.len() {
            chunks.push((chunk_start, end));
        }
    }
    let chunks = chunks
        .into_iter()
        .map(|(a, b)| Some((u32::try_from(a).ok()?, &text[byte_at(a)..byte_at(b)])))
        .collect::<Option<Vec<_>>>()?;

    let colon = byte_at(key_line) + teams_key(lines[key_line].1)?;
    let tail = &text[byte_at(end)..];
    let mut head = String::with_capacity(byte_at(first_item) + (end - first_item) + tail.len() + 3);
    head.push_str(&text[..colon]);
    head.push_str(" []");
    head.push_str(&text[colon..byte_at(first_item)]);
    if !tail.trim().is_empty() {
        // Keep the lines after the sequence where they were.
        head.extend(std::iter::repeat_n('\n', end - first_item));
        head.push_str(tail);
    }
    Some(Split {
        head,
        chunks,
        teams_line: u32::try_from(first_item + 1).ok()?,
        teams_col: u32::try_from(indent + 1).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big(body: &str, teams: usize, indent: &str, tail: &str) -> String {
        let mut s = String::from(body);
        s.push_str("teams: # every team\n");
        for i in 0..teams {
            s.push_str(&format!(
                "{indent}- name: team-{i}\n{indent}  # a comment\n\n{indent}  accounts:\n{indent}  - {{ id: \"{i:012}\" }}\n{indent}  description: {}\n",
                "x".repeat(2000)
            ));
        }
        s.push_str(tail);
        s
    }

    #[test]
    fn cuts_at_items_and_keeps_line_numbers() {
        let text = big("version: 1\norg:\n  name: a\n", 1000, "  ", "domains:\n  - name: d\n");
        let s = split(&text, 4).expect("splits");
        assert_eq!(s.chunks.len(), 4);
        assert_eq!((s.teams_line, s.teams_col), (5, 3));
        // Chunks are whole items, consecutive, and cover the sequence.
        let joined: String = s.chunks.iter().map(|(_, c)| *c).collect();
        assert!(text.contains(&joined));
        for (before, chunk) in &s.chunks {
            assert!(chunk.starts_with("  - name: team-"), "{chunk:.40}");
            assert_eq!(text.lines().nth(*before as usize), chunk.lines().next());
        }
        // The head keeps `domains` on its line.
        assert!(s
            .head
            .starts_with("version: 1\norg:\n  name: a\nteams: [] # every team\n"));
        assert_eq!(s.head.lines().count(), text.lines().count());
        assert_eq!(s.head.lines().last(), Some("  - name: d"));
    }

    #[test]
    fn items_at_column_zero() {
        let text = big("version: 1\n", 600, "", "");
        let s = split(&text, 2).expect("splits");
        assert_eq!(s.chunks.len(), 2);
        assert_eq!((s.teams_line, s.teams_col), (3, 1));
        assert_eq!(s.head, "version: 1\nteams: [] # every team\n");
    }

    #[test]
    fn unusual_files_are_parsed_whole() {
        let plain = big("version: 1\n", 600, "  ", "");
        assert!(split(&plain, 2).is_some());
        assert!(split(&plain, 1).is_none());
        assert!(
            split("version: 1\nteams:\n  - name: a\n  - name: b\n", 2).is_none(),
            "small"
        );
        for bad in [
            plain.replacen("version: 1", "version: &v 1", 1),
            plain.replacen("version: 1\n", "version: 1\r\n", 1),
            plain.replacen("version: 1\n", "%YAML 1.2\n---\nversion: 1\n", 1),
            plain.replacen("teams: # every team", "teams: [", 1),
            plain.replacen("teams: # every team", "\"teams\":", 1),
            format!("{plain}teams:\n"),
            plain.replacen("    # a comment\n", " oops: 1\n", 1),
        ] {
            assert!(split(&bad, 2).is_none(), "{:.60}", bad.replace('\n', "|"));
        }
    }
}
