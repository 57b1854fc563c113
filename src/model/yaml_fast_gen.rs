//! The generator of `yaml_fast`'s tests: a document tree (a topology or a
//! team file, tame or wild) printed in many YAML styles, and small edits that
//! often leave the subset. Its decisions come from a seed or from proptest.

/// Where the generator's decisions come from.
pub(super) enum Source {
    /// A seeded xorshift, so that a failure of the sweep names its seed.
    Seed(u64),
    /// A list of decisions drawn by proptest, then 0 once it runs out: shrinking
    /// the list (shorter, smaller numbers) shrinks the document, so a failure is
    /// reported on a small one.
    Choices(std::vec::IntoIter<u64>),
}

/// The generator's decisions. Wild: values YAML may read otherwise, wrong
/// types; tame: only what the fast path reads.
pub(super) struct Rng(pub(super) Source, pub(super) bool);

impl Rng {
    pub(super) fn seeded(seed: u64) -> Rng {
        Rng(Source::Seed(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1), false)
    }
    fn next(&mut self) -> u64 {
        match &mut self.0 {
            Source::Seed(x) => {
                *x ^= *x << 13;
                *x ^= *x >> 7;
                *x ^= *x << 17;
                *x
            }
            Source::Choices(c) => c.next().unwrap_or(0),
        }
    }
    /// A wild choice, or the first (tame) one.
    fn odd<'s>(&mut self, items: &[&'s str]) -> &'s str {
        if self.1 {
            self.pick(items)
        } else {
            items[0]
        }
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'s>(&mut self, items: &[&'s str]) -> &'s str {
        items[self.below(items.len())]
    }
}

/// A document tree to print in many YAML styles.
#[derive(Clone)]
pub(super) enum N {
    Map(Vec<(String, N)>),
    Seq(Vec<N>),
    Str(String),
    /// Written plain, as is (numbers, booleans).
    Raw(String),
}

fn m(entries: Vec<(&str, N)>) -> N {
    N::Map(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// Text values, some of them awkward for YAML.
fn text(r: &mut Rng) -> N {
    let v = if !r.1 || r.chance(80) {
        format!(
            "{}-{}",
            r.odd(&["ledger", "prod", "finance", "a b", "x.y", "@org/t", "a@b.c"]),
            r.below(100)
        )
    } else {
        r.pick(&[
            "123",
            "true",
            "null",
            "~",
            "yes",
            "2024-01-01",
            "-x",
            "a: b",
            "a #b",
            "a#b",
            "#x",
            "x'y",
            "x\"y",
            "é",
            "decimal(14,2)",
            "[x]",
            "{y}",
            "a,b",
            "",
            " lead",
            "trail ",
            "%p",
            "*a",
            "&a",
            "!t",
            "|",
            ">",
            "back\\slash",
            "06:00Z",
            ".5",
            "+1",
            "<<",
            "=",
            "x:",
            "?",
        ])
        .to_owned()
    };
    N::Str(v)
}

pub(super) fn team(r: &mut Rng) -> N {
    let mut entries = vec![("name", text(r)), ("domain", text(r))];
    if r.chance(50) {
        entries.push(("owners", N::Seq((0..r.below(3)).map(|_| text(r)).collect())));
    }
    let accounts = (0..r.below(3))
        .map(|_| m(vec![("id", text(r)), ("name", text(r)), ("environment", text(r))]))
        .collect();
    entries.push(("accounts", N::Seq(accounts)));
    let products = (0..r.below(3))
        .map(|_| {
            let column = |r: &mut Rng| {
                let mut c = vec![("name", text(r)), ("type", text(r))];
                if r.chance(20) {
                    c.push(("sensitive", N::Raw(r.odd(&["true", "false", "yes", "True"]).to_owned())));
                }
                if r.chance(20) {
                    c.push((
                        "projection",
                        m(vec![
                            ("type", text(r)),
                            (
                                "range",
                                N::Seq(vec![N::Raw("0".into()), N::Raw(r.odd(&["23", "-1", "1_0"]).into())]),
                            ),
                        ]),
                    ));
                }
                m(c)
            };
            let tables = (0..r.below(3))
                .map(|_| {
                    m(vec![
                        ("name", text(r)),
                        ("columns", N::Seq((0..r.below(4)).map(|_| column(r)).collect())),
                        ("partition_keys", N::Seq((0..r.below(2)).map(|_| column(r)).collect())),
                    ])
                })
                .collect();
            let version = m(vec![
                (
                    "version",
                    N::Raw(r.odd(&["1", "2", "10", "0", "007", "1.0"]).to_owned()),
                ),
                ("status", text(r)),
                ("tables", N::Seq(tables)),
            ]);
            let mut p = vec![
                ("name", text(r)),
                ("account", text(r)),
                ("classification", text(r)),
                ("versions", N::Seq(vec![version])),
            ];
            if r.chance(50) {
                p.insert(3, ("description", text(r)));
            }
            if r.chance(30) {
                p.push(("slo", m(vec![("freshness", text(r)), ("available_by", text(r))])));
            }
            m(p)
        })
        .collect();
    entries.push(("products", N::Seq(products)));
    if r.chance(50) {
        let consumes = (0..r.below(3))
            .map(|_| m(vec![("product", text(r)), ("account", text(r))]))
            .collect();
        entries.push(("consumes", N::Seq(consumes)));
    }
    m(entries)
}

pub(super) fn topology(r: &mut Rng) -> N {
    let mut org = vec![
        ("name", text(r)),
        ("organization_id", text(r)),
        ("management_account", text(r)),
        ("central_account", text(r)),
        ("region", text(r)),
    ];
    if r.chance(50) {
        let tags = (0..r.below(3))
            .map(|i| {
                (
                    format!("{}{i}", r.pick(&["cost-center", "team", "a.b", "x_y"])),
                    text(r),
                )
            })
            .collect();
        org.push(("tags", N::Map(tags)));
    }
    if r.chance(30) {
        org.push(("access_logs", N::Raw(r.odd(&["true", "false", "on"]).to_owned())));
    }
    m(vec![
        ("version", N::Raw("2".into())),
        ("org", m(org)),
        (
            "domains",
            N::Seq((0..r.below(3)).map(|_| m(vec![("name", text(r))])).collect()),
        ),
        ("teams", N::Seq((0..r.below(4)).map(|_| team(r)).collect())),
    ])
}

fn quoted(r: &mut Rng, s: &str) -> String {
    if r.chance(50) && !s.contains('\\') {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                'a' if r.chance(10) => out.push_str("\\x61"),
                'e' if r.chance(10) => out.push_str("\\u0065"),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }
}

fn scalar(r: &mut Rng, n: &N, flow: bool) -> String {
    match n {
        N::Raw(s) => s.clone(),
        N::Str(s) => {
            let risky = s.is_empty() || (flow && s.contains([',', '[', ']', '{', '}', ':', '#']));
            if r.chance(if risky { 5 } else { 40 }) {
                s.clone()
            } else {
                quoted(r, s)
            }
        }
        N::Map(_) | N::Seq(_) => flow_node(r, n),
    }
}

fn flow_node(r: &mut Rng, n: &N) -> String {
    let sep = |r: &mut Rng| r.pick(&[", ", ",", " , ", ",  "]).to_owned();
    match n {
        N::Map(entries) => {
            let mut out = String::from(r.pick(&["{", "{ "]));
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out += &sep(r);
                }
                out += &format!("{k}:{}{}", r.pick(&[" ", "  "]), scalar(r, v, true));
            }
            out + r.pick(&["}", " }"])
        }
        N::Seq(items) => {
            let mut out = String::from(r.pick(&["[", "[ "]));
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out += &sep(r);
                }
                out += &scalar(r, v, true);
            }
            out + r.pick(&["]", " ]"])
        }
        _ => scalar(r, n, true),
    }
}

fn is_empty_collection(n: &N) -> bool {
    matches!(n, N::Map(e) if e.is_empty()) || matches!(n, N::Seq(i) if i.is_empty())
}

fn is_small(n: &N) -> bool {
    match n {
        N::Map(e) => e.iter().all(|(_, v)| matches!(v, N::Str(_) | N::Raw(_)) || is_small(v)) && e.len() < 4,
        N::Seq(i) => i.iter().all(|v| matches!(v, N::Str(_) | N::Raw(_)) || is_small(v)) && i.len() < 4,
        _ => true,
    }
}

fn comment(r: &mut Rng) -> &'static str {
    if r.chance(10) {
        r.pick(&[" # c", "   #c", " #: x"])
    } else {
        ""
    }
}

fn filler(r: &mut Rng, out: &mut String, col: usize) {
    if r.chance(5) {
        out.push('\n');
    }
    if r.chance(5) {
        out.push_str(&" ".repeat(r.below(col + 3)));
        out.push_str("# a comment line\n");
    }
}

/// Writes the value of a key or item (`:` or `-` already written) and its newline.
fn value(r: &mut Rng, n: &N, parent: usize, step: usize, out: &mut String) {
    let flow = is_empty_collection(n) || (is_small(n) && r.chance(30));
    match n {
        N::Str(_) | N::Raw(_) => {
            out.push_str(r.pick(&[" ", " ", "  "]));
            out.push_str(&scalar(r, n, false));
            out.push_str(comment(r));
            out.push('\n');
        }
        _ if flow => {
            out.push(' ');
            out.push_str(&flow_node(r, n));
            out.push_str(comment(r));
            out.push('\n');
        }
        N::Map(entries) => {
            out.push_str(comment(r));
            out.push('\n');
            map_body(r, entries, parent + step, false, step, out);
        }
        N::Seq(items) => {
            out.push_str(comment(r));
            out.push('\n');
            let indentless = r.chance(30);
            let col = if indentless { parent } else { parent + step };
            seq_body(r, items, col, step, indentless, out);
        }
    }
}

fn map_body(r: &mut Rng, entries: &[(String, N)], col: usize, inline_first: bool, step: usize, out: &mut String) {
    for (i, (k, v)) in entries.iter().enumerate() {
        if !(i == 0 && inline_first) {
            filler(r, out, col);
            out.push_str(&" ".repeat(col));
        }
        out.push_str(k);
        out.push(':');
        value(r, v, col, step, out);
    }
}

/// An `indentless` sequence (at its key's indentation) whose first item starts on a later
/// line is left to serde-saphyr: tame documents do not have one.
fn seq_body(r: &mut Rng, items: &[N], col: usize, step: usize, indentless: bool, out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        filler(r, out, col);
        out.push_str(&" ".repeat(col));
        out.push('-');
        let compact = r.chance(80) || (i == 0 && indentless && !r.1);
        match item {
            N::Map(e) if !e.is_empty() && compact => {
                let gap = if r.chance(85) { 1 } else { 1 + r.below(3) };
                out.push_str(&" ".repeat(gap));
                map_body(r, e, col + 1 + gap, true, step, out);
            }
            _ => value(r, item, col, step, out),
        }
    }
}

pub(super) fn document(r: &mut Rng, n: &N) -> String {
    let step = 1 + r.below(4);
    let mut out = String::new();
    if r.chance(30) {
        out.push_str("# generated\n\n");
    }
    if let N::Map(entries) = n {
        map_body(r, entries, 0, false, step, &mut out);
    }
    out
}

fn next_boundary(t: &str, at: usize) -> usize {
    (at + 1..=t.len()).find(|&i| t.is_char_boundary(i)).unwrap_or(t.len())
}

/// Small edits that often leave the subset or break the document.
pub(super) fn mutate(r: &mut Rng, text: &str) -> String {
    let mut t = text.to_owned();
    for _ in 0..=r.below(3) {
        let ascii: Vec<usize> = (0..t.len()).filter(|&i| t.is_char_boundary(i)).collect();
        let at = ascii[r.below(ascii.len())];
        match r.below(6) {
            0 => t.insert_str(
                at,
                r.pick(&[
                    ":", " ", "-", "#", "\"", "'", "[", "]", "{", "}", ",", "&a ", "*a", "!!str ", "|", ">", "\t",
                    "\r", "é", "\n", "\n  ", "? ", "~", "\\", "%", "@", "---\n", "\u{feff}", "\u{85}", "\x07",
                ]),
            ),
            1 => {
                let end = next_boundary(&t, at);
                t.replace_range(at..end, "");
            }
            2 => {
                // Duplicate a line.
                let start = t[..at].rfind('\n').map_or(0, |i| i + 1);
                let end = t[at..].find('\n').map_or(t.len(), |i| at + i + 1);
                let line = t[start..end].to_owned();
                t.insert_str(end, &line);
            }
            3 => {
                // Indent or dedent a line.
                let start = t[..at].rfind('\n').map_or(0, |i| i + 1);
                if r.chance(50) {
                    t.insert(start, ' ');
                } else if t[start..].starts_with(' ') {
                    t.remove(start);
                }
            }
            4 => t.insert_str(
                at,
                r.pick(&["\nx: 1\n", "\n- a\n", "\nname: dup\n", "\n  owners: []\n"]),
            ),
            _ => {
                let end = next_boundary(&t, at);
                let c = r.pick(&["a", "0", " ", "\"", "'", "n", ":", "-"]);
                t.replace_range(at..end, c);
            }
        }
    }
    t
}
