//! The fast path against serde-saphyr: whenever the fast path gives a result, it
//! is exactly serde-saphyr's (values and every position); on generated topologies
//! in the subset it does give one; on mutated ones it gives the same or refuses.

use super::super::super::raw::{RawTeam, RawTopology, S};
use super::*;

/// The fast path's result, after checking it against serde-saphyr's: `true` when it
/// handled the text.
fn agrees<T: DeserializeOwned + fmt::Debug>(text: &str) -> bool {
    let Some(fast) = from_str::<T>(text, 1, usize::MAX) else {
        return false;
    };
    let slow = serde_saphyr::from_str_with_options::<T>(text, super::super::options());
    match slow {
        Ok(slow) => assert_eq!(
            format!("{fast:#?}"),
            format!("{slow:#?}"),
            "the fast path and serde-saphyr differ on:\n{text}"
        ),
        Err(e) => panic!("the fast path read what serde-saphyr refuses ({e}):\n{text}"),
    }
    true
}

const TEAM: &str = r#"# a team
name: payments   # trailing comment
domain: "finance"
owners: ['@org/pay', "a@b.c"]
accounts:
- id: "111122223333"
  name: pay-prod
  environment: prod
-   {id: '444455556666', name: "pay \"dev\"", environment: dev}
products:
  - name: ledger
    account: "111122223333"
    classification: open
    description: It's a ledger, with commas (a,b) and a#hash
    slo: {freshness: daily, available_by: "06:00Z"}
    versions:
      -
        version: 2
        status: active
        tables:
          - name: entries

            columns: [{name: id, type: string}, {name: amount, type: "decimal(14,2)", sensitive: true}]
            partition_keys:
              - name: dt
                type: date
                projection: {type: integer, range: [0, 23]}
"#;

#[test]
fn reads_the_subset_exactly_as_serde_saphyr() {
    assert!(agrees::<S<RawTeam>>(TEAM));
    assert!(agrees::<RawTeam>(TEAM));
    // Escapes, and a team file whose first lines are comments and blank lines.
    let escaped = TEAM.replace("ledger", r#""le\u0064ger\x21 \\ \/ \"x\"""#);
    assert!(agrees::<S<RawTeam>>(&format!("\n# c\n\n{escaped}")));
    // A sequence as the document, indented (a chunk of a split file), starting at line 7.
    let items = format!("  - {}", TEAM.trim_start_matches("# a team\n").replace('\n', "\n    "));
    let fast = from_str::<Vec<S<RawTeam>>>(&items, 7, usize::MAX).expect("in the subset");
    let slow: Vec<S<RawTeam>> = super::super::super::raw::with_line_offset(6, || {
        serde_saphyr::from_str_with_options(&items, super::super::options()).expect("parses")
    });
    assert_eq!(format!("{fast:?}"), format!("{slow:?}"));
}

#[test]
fn refuses_what_it_does_not_handle() {
    for (from, to) in [
        ("domain: \"finance\"", "domain: &d finance"),
        ("domain: \"finance\"", "domain: !!str finance"),
        ("domain: \"finance\"", "domain: |\n  finance"),
        ("domain: \"finance\"", "domain: finance\n  continued"),
        ("domain: \"finance\"", "domain: \"fin\n  ance\""),
        ("domain: \"finance\"", "domain: 12"),
        ("domain: \"finance\"", "domain: true"),
        ("domain: \"finance\"", "domain: null"),
        ("domain: \"finance\"", "domain:"),
        ("domain: \"finance\"", "domain: café"),
        ("domain: \"finance\"", "domain: \"finance\"\ndomain: again"),
        ("domain: \"finance\"", "\"domain\": finance"),
        ("domain: \"finance\"", "domain: \"finance\"\r"),
        ("domain: \"finance\"", "domain:\tfinance"),
        ("domain: \"finance\"", "domain: \"finance\"\n---"),
        ("domain: \"finance\"", "domain: [a,\n  b]"),
        ("domain: \"finance\"", "domain: a: b"),
        ("domain: \"finance\"", "domain: x\nunknown: 1"),
        ("version: 2", "version: 02"),
        ("version: 2", "version: 0x2"),
    ] {
        let text = TEAM.replacen(from, to, 1);
        assert_ne!(text, TEAM, "{from}");
        assert!(!agrees::<S<RawTeam>>(&text), "handled: {to:?}");
    }
}

#[test]
fn every_yaml_fixture_agrees() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut handled = 0;
    let mut dirs = vec![root.join("tests/fixtures"), root.join("accounts")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixture folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                let text = std::fs::read_to_string(&path).expect("fixture");
                let ok = agrees::<RawTopology>(&text) | agrees::<S<RawTeam>>(&text);
                handled += usize::from(ok);
            }
        }
    }
    assert!(handled > 20, "the fast path read only {handled} fixtures");
}

/// A small deterministic generator (xorshift), so that a failure names its seed.
/// Wild: values YAML may read otherwise, wrong types; tame: only what the fast path reads.
struct Rng(u64, bool);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
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
enum N {
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

fn team(r: &mut Rng) -> N {
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

fn topology(r: &mut Rng) -> N {
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

fn document(r: &mut Rng, n: &N) -> String {
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
fn mutate(r: &mut Rng, text: &str) -> String {
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

/// One seed: a tame topology and team file (which the fast path must read), wild ones
/// and mutations of all of them (which it must read as serde-saphyr does, or refuse).
fn check_seed(seed: u64) {
    let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1, false);
    let (topo, team_doc) = (topology(&mut r), team(&mut r));
    let (whole, single) = (document(&mut r, &topo), document(&mut r, &team_doc));
    let refused = || format!("refused at yaml_fast.rs:{}", LAST_BAIL.with(std::cell::Cell::get));
    assert!(agrees::<RawTopology>(&whole), "{}:\n{whole}", refused());
    assert!(agrees::<S<RawTeam>>(&single), "{}:\n{single}", refused());
    r.1 = true;
    let (topo, team_doc) = (topology(&mut r), team(&mut r));
    let (wild, wild_single) = (document(&mut r, &topo), document(&mut r, &team_doc));
    agrees::<RawTopology>(&wild);
    agrees::<S<RawTeam>>(&wild_single);
    for text in [&whole, &wild] {
        for _ in 0..3 {
            agrees::<RawTopology>(&mutate(&mut r, text));
        }
    }
    for text in [&single, &wild_single] {
        for _ in 0..3 {
            agrees::<S<RawTeam>>(&mutate(&mut r, text));
        }
    }
}

#[test]
fn generated_and_mutated_topologies_agree() {
    for seed in 0..600 {
        check_seed(seed);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
    #[test]
    fn random_seeds_agree(seed in proptest::prelude::any::<u64>()) {
        check_seed(seed);
    }
}
