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

/// What the scan of a stretch of the item region found.
#[derive(Default)]
struct Stretch {
    /// Lines in the stretch.
    lines: u32,
    /// Item lines before the first `stop`: (line within the stretch, byte offset in the file).
    items: Vec<(u32, usize)>,
    /// The first line that ends the sequence (column 0, content) or makes the file unusual
    /// (content shallower than the items): (line within the stretch, byte offset, is it an end).
    stop: Option<(u32, usize, bool)>,
    /// A document marker, or a second top-level `teams:`, anywhere in the stretch.
    unusual: bool,
}

/// Scans `text[from..to]` (whole lines) for items at `indent` and what ends them.
fn scan_stretch(text: &str, from: usize, to: usize, indent: usize) -> Stretch {
    let mut st = Stretch::default();
    let mut offset = from;
    for (n, line) in text[from..to].split_inclusive('\n').enumerate() {
        let at = offset;
        offset += line.len();
        let l = line.strip_suffix('\n').unwrap_or(line);
        st.lines += 1;
        if l.starts_with("---") || l.starts_with("...") || teams_key(l).is_some() {
            st.unusual = true;
        }
        if st.stop.is_some() || is_blank_or_comment(l) {
            continue;
        }
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        if is_item_at(l, indent) {
            st.items.push((n, at));
            continue;
        }
        match indent_of(l) {
            ind if ind > indent => {}
            0 => st.stop = Some((n, at, true)),
            _ => st.stop = Some((n, at, false)),
        }
    }
    st
}

/// Cuts `text` at line starts into about `parts` stretches of similar size, from `from` on.
fn stretches(text: &str, from: usize, parts: usize) -> Vec<(usize, usize)> {
    let step = (text.len() - from).div_ceil(parts.max(1)).max(1);
    let mut cuts = vec![from];
    let mut at = from;
    while at + step < text.len() {
        match text.as_bytes()[at + step..].iter().position(|&b| b == b'\n') {
            Some(nl) if at + step + nl + 1 < text.len() => {
                at += step + nl + 1;
                cuts.push(at);
            }
            _ => break,
        }
    }
    cuts.push(text.len());
    cuts.windows(2).map(|w| (w[0], w[1])).collect()
}

/// Cuts `text` into at most `pieces` chunks of team items (by size), or `None`
/// when the file is small or anything about it is unusual.
///
/// The lines up to the first item are walked here; the rest of the file, the bulk of it, in
/// stretches on every core, whose findings are then joined in order.
pub(super) fn split(text: &str, pieces: usize) -> Option<Split<'_>> {
    use rayon::prelude::*;
    if text.len() < MIN_SPLIT_BYTES || pieces < 2 {
        return None;
    }
    let bytes = text.as_bytes();
    // Anchors and aliases may cross a cut (and their budget is per file); tabs, `\r`, directives
    // and several documents are legal but rare: none of them is worth a second code path.
    // (A fold rather than `any`: it compiles to a vector loop.)
    let odd = |c: &[u8]| {
        c.iter()
            .fold(false, |odd, &b| odd | matches!(b, b'&' | b'*' | b'\r' | b'\t'))
    };
    if bytes.par_chunks(1 << 20).any(odd) || bytes.first() == Some(&b'%') {
        return None;
    }
    // The head: up to `teams:` and its first item. The top level must be a block mapping (its
    // first content line starts with a key), with `teams:` at column 0.
    let mut offset = 0;
    let mut head_lines = text.split_inclusive('\n').enumerate().map(|(n, line)| {
        let at = offset;
        offset += line.len();
        (n, at, line.strip_suffix('\n').unwrap_or(line))
    });
    let mut seen_content = false;
    let mut key = None;
    let (first_item, first_at, indent) = loop {
        let (n, at, l) = head_lines.next()?;
        if l.starts_with("---") || l.starts_with("...") {
            return None;
        }
        if is_blank_or_comment(l) {
            continue;
        }
        match key {
            None if !seen_content && l.starts_with(['{', '[', '-', '"', '\'', ' ', '?']) => return None,
            None => {
                seen_content = true;
                key = teams_key(l).map(|colon| at + colon);
            }
            Some(_) => {
                let indent = indent_of(l);
                if !is_item_at(l, indent) {
                    return None;
                }
                break (n, at, indent);
            }
        }
    };
    let colon = key?;
    // The rest, on every core: items, what ends them, and anything unusual.
    let parts = stretches(text, first_at, pieces);
    let found: Vec<Stretch> = parts
        .par_iter()
        .map(|&(from, to)| scan_stretch(text, from, to, indent))
        .collect();
    let mut items: Vec<(usize, usize)> = Vec::new();
    let mut end = None;
    let mut base = first_item;
    for st in &found {
        if st.unusual {
            return None;
        }
        if end.is_none() {
            items.extend(st.items.iter().map(|&(n, at)| (base + n as usize, at)));
            match st.stop {
                Some((n, at, true)) => end = Some((base + n as usize, at)),
                Some((_, _, false)) => return None,
                None => {}
            }
        }
        base += st.lines as usize;
    }
    let (end, end_at) = end.unwrap_or((base, text.len()));
    if items.len() < 2 {
        return None;
    }
    debug_assert_eq!(items[0], (first_item, first_at));
    let region_bytes = end_at - first_at;
    let target = region_bytes.div_ceil(pieces).max(1);
    let mut chunks = Vec::with_capacity(pieces);
    let mut chunk_start = items[0];
    for (k, &item) in items.iter().enumerate().skip(1) {
        if item.1 - chunk_start.1 >= target {
            chunks.push((chunk_start, item.1));
            chunk_start = item;
        }
        if k + 1 == items.len() {
            chunks.push((chunk_start, end_at));
        }
    }
    let chunks = chunks
        .into_iter()
        .map(|((line, from), to)| Some((u32::try_from(line).ok()?, &text[from..to])))
        .collect::<Option<Vec<_>>>()?;

    let tail = &text[end_at..];
    let mut head = String::with_capacity(first_at + (end - first_item) + tail.len() + 3);
    head.push_str(&text[..colon]);
    head.push_str(" []");
    head.push_str(&text[colon..first_at]);
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
    fn items_after_the_end_of_the_sequence_are_not_teams() {
        // The sequence ends early; later stretches (scanned on other cores) hold lines that look
        // like items at the same indentation, under another key.
        let teams = big("version: 1\n", 100, "  ", "");
        let tail: String = (0..2000)
            .map(|i| format!("  - name: d{i}\n    description: {}\n", "y".repeat(500)))
            .collect();
        let text = format!("{teams}domains:\n{tail}");
        let s = split(&text, 8).expect("splits");
        let joined: String = s.chunks.iter().map(|(_, c)| *c).collect();
        assert_eq!(joined, &teams["version: 1\nteams: # every team\n".len()..]);
        assert_eq!(s.head.lines().count(), text.lines().count());
        assert!(s.head.ends_with(&format!("domains:\n{tail}")));
        // A line shallower than the items after the end is the tail's business, not an error.
        let shallow = format!("{teams}domains:\n {tail}");
        assert!(split(&shallow, 8).is_some());
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
