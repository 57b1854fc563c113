//! Property tests over generated topologies: random valid orgs validate, have
//! one `consumes` edge per consume entry, and mean the same in directory and
//! single-file form whatever the file order; random mutations of valid files
//! never make meshsynth panic.

use std::path::PathBuf;

use meshsynth::graph::{EdgeKind, OrgGraph};
use meshsynth::model::load::{from_sources, from_str};
use meshsynth::model::{Loc, Topology};
use meshsynth::validate::validate;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;
use serde_json::Value;

use crate::common;
use common::org::{build, org_strategy, single_file};

/// The model without source positions, which legitimately differ between forms.
fn without_locs(mut t: Topology) -> Topology {
    let blank = Loc {
        file: PathBuf::new(),
        line: 0,
        col: 0,
    };
    for team in t.teams.values_mut() {
        team.loc = blank.clone();
    }
    for c in &mut t.consumes {
        c.loc = blank.clone();
    }
    for r in &mut t.service_roles {
        r.loc = blank.clone();
    }
    for g in t.access_groups.values_mut() {
        g.loc = blank.clone();
    }
    for p in t.products.values_mut() {
        for g in &mut p.grants {
            g.loc = blank.clone();
        }
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_500, failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))), ..ProptestConfig::default() })]

    #[test]
    fn generated_orgs_validate_and_mean_the_same_in_every_form(spec in org_strategy(7), rotate in 0usize..7) {
        let (org, teams, n_consumes) = build(&spec);

        // Single file, teams in one order.
        let text = single_file(&org, &teams);
        let raw = from_str(&PathBuf::from("org.json"), &text).expect("loads");
        let (single, _warnings) = validate(raw).unwrap_or_else(|e| panic!("invalid: {e:?}\n{text}"));
        prop_assert_eq!(single.consumes.len(), n_consumes);

        // The graph has one consumes edge per consume entry.
        let graph = OrgGraph::build(&single);
        let edges = graph.edges().into_iter().filter(|e| matches!(e.2, EdgeKind::Consumes { .. })).count();
        prop_assert_eq!(edges, n_consumes);

        // Single file with the teams in another order.
        let mut rotated = teams.clone();
        rotated.rotate_left(rotate % teams.len());
        let raw = from_str(&PathBuf::from("org.json"), &single_file(&org, &rotated)).expect("loads");
        let (other_order, _) = validate(raw).expect("valid");

        // Directory form, with files handed over in reverse order.
        let org_text = serde_json::to_string_pretty(&org).expect("json");
        let team_texts: Vec<(PathBuf, String)> = teams
            .iter()
            .rev()
            .map(|t| (PathBuf::from(format!("teams/{}.yaml", t["name"].as_str().expect("name"))), serde_json::to_string(t).expect("json")))
            .collect();
        let raw = from_sources(
            Some((PathBuf::from("org.yaml"), &org_text)),
            team_texts.iter().map(|(p, t)| (p.clone(), t.as_str())).collect(),
        )
        .expect("loads");
        let (dir, _) = validate(raw).expect("valid");

        let single = without_locs(single);
        prop_assert_eq!(&single, &without_locs(other_order));
        prop_assert_eq!(&single, &without_locs(dir));
    }
}

/// YAML's special characters and values that parsers trip on.
const SPECIAL: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "&a",
    "*a",
    "!",
    "|",
    ">",
    "'",
    "\"",
    "\n",
    " ",
    "-",
    "#",
    "@",
    "%",
    "\t",
    "\u{0}",
    "é",
    "\u{feff}",
    "~",
    "null",
    "999999999999999999999",
    "-1",
    "0x10",
    "1e400",
    "<<: *a",
    "? ",
    "---\n",
    "...\n",
    "&a [*a]",
];

/// One edit of a text. Positions are `Index`es, scaled to the text's length
/// when applied, so an edit means something for any text and shrinks towards
/// the start of it (and towards shorter spans and earlier specials).
#[derive(Debug, Clone)]
enum Edit {
    /// Deletes up to `len` characters at `at`.
    Delete { at: Index, len: usize },
    /// Inserts a special at `at`.
    Insert { at: Index, special: &'static str },
    /// Copies up to `len` characters at `at` to `to`.
    Duplicate { at: Index, len: usize, to: Index },
    /// Cuts the text at `at`.
    Truncate { at: Index },
    /// Replaces the character at `at` with a printable ASCII one.
    Replace { at: Index, with: char },
    /// Replaces the value after the colon of the line `at` falls in.
    Value { at: Index, special: &'static str },
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    let special = || prop::sample::select(SPECIAL);
    prop_oneof![
        (any::<Index>(), 0usize..40).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<Index>(), special()).prop_map(|(at, special)| Edit::Insert { at, special }),
        (any::<Index>(), 0usize..80, any::<Index>()).prop_map(|(at, len, to)| Edit::Duplicate { at, len, to }),
        any::<Index>().prop_map(|at| Edit::Truncate { at }),
        (any::<Index>(), prop::char::range(' ', '~')).prop_map(|(at, with)| Edit::Replace { at, with }),
        (any::<Index>(), special()).prop_map(|(at, special)| Edit::Value { at, special }),
    ]
}

/// Applies `edits` in turn.
fn mutate(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for e in edits {
        // `len + 1` places: before every character, and at the end.
        let place = |i: &Index, chars: &Vec<char>| i.index(chars.len() + 1);
        match e {
            Edit::Delete { at, len } => {
                let at = place(at, &chars);
                let end = (at + len).min(chars.len());
                chars.drain(at..end);
            }
            Edit::Insert { at, special } => {
                let at = place(at, &chars);
                chars.splice(at..at, special.chars());
            }
            Edit::Duplicate { at, len, to } => {
                let at = place(at, &chars);
                let end = (at + len).min(chars.len());
                let copy: Vec<char> = chars[at..end].to_vec();
                let to = place(to, &chars);
                chars.splice(to..to, copy);
            }
            Edit::Truncate { at } => {
                let at = place(at, &chars);
                chars.truncate(at);
            }
            Edit::Replace { at, with } => {
                let at = place(at, &chars);
                if at < chars.len() {
                    chars[at] = *with;
                }
            }
            Edit::Value { at, special } => {
                let at = place(at, &chars);
                let line_start = chars[..at].iter().rposition(|c| *c == '\n').map_or(0, |i| i + 1);
                let line_end = chars[at..]
                    .iter()
                    .position(|c| *c == '\n')
                    .map_or(chars.len(), |i| at + i);
                if let Some(colon) = chars[line_start..line_end].iter().position(|c| *c == ':') {
                    chars.splice(line_start + colon + 1..line_end, format!(" {special}").chars());
                }
            }
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))), ..ProptestConfig::default() })]

    #[test]
    fn mutated_topologies_never_panic(
        which in 0usize..3,
        spec in org_strategy(3),
        edits in prop::collection::vec(edit_strategy(), 1..5),
    ) {
        let base = match which {
            0 => include_str!("../fixtures/valid/minimal.yaml").to_owned(),
            1 => include_str!("../../accounts/teams/shows.yaml").to_owned(),
            _ => {
                let (org, teams, _) = build(&spec);
                single_file(&org, &teams)
            }
        };
        let text = mutate(&base, &edits);
        let path = PathBuf::from("mutated.yaml");
        // Whatever the outcome, it is a value, not a panic; errors carry the file.
        match from_str(&path, &text) {
            Ok(raw) => {
                if let Err(errors) = validate(raw) {
                    prop_assert!(!errors.is_empty());
                    prop_assert!(errors.iter().all(|d| d.loc.file == path && d.loc.line >= 1));
                }
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        // The same bytes as a team file of a directory.
        let org = "version: 2\norg: {name: a, organization_id: o-a1b2c3d4e5, management_account: \"111111111111\", central_account: \"222222222222\", region: eu-west-1}\ndomains: [{name: podcasts}]\n";
        if let Ok(raw) = from_sources(Some((PathBuf::from("org.yaml"), org)), vec![(PathBuf::from("teams/x.yaml"), text.as_str())]) {
            let _ = validate(raw);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))), ..ProptestConfig::default() })]

    /// Every valid org synthesises: no panic, no error, and every file is JSON
    /// (templates with resources, the manifest listing each of them).
    #[test]
    fn generated_orgs_synthesise(spec in org_strategy(7)) {
        let (org, teams, _) = build(&spec);
        let raw = from_str(&PathBuf::from("org.json"), &single_file(&org, &teams)).expect("loads");
        let (topology, _) = validate(raw).expect("valid");
        let mut synthesis = meshsynth::synth::plan(&topology).expect("plans");
        let blueprints = meshsynth::render::Blueprints::new(None).expect("built-in blueprints");
        let files = meshsynth::render::render(&blueprints, &mut synthesis).expect("renders");
        let manifest = files.iter().find(|f| f.path == "manifest.json").expect("a manifest");
        let manifest: Value = serde_json::from_slice(&manifest.bytes).expect("manifest is JSON");
        let listed = manifest["stacks"].as_array().expect("stacks").len();
        let templates: Vec<&meshsynth::render::File> = files.iter().filter(|f| f.path.ends_with(".template.json")).collect();
        prop_assert_eq!(listed, templates.len());
        for f in templates {
            let t: Value = serde_json::from_slice(&f.bytes).expect("template is JSON");
            prop_assert!(t["Resources"].as_object().is_some_and(|r| !r.is_empty()), "{} has no resources", f.path);
        }
    }
}
