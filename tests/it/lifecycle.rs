//! Team lifecycle, end to end on the example org (`accounts/`): split, merge,
//! rename and ownership moves re-synthesise without touching data; retiring
//! versions; and `new-team`.
//!
//! Each stability test synthesises the example org, changes its YAML the way
//! a team would in a pull request, synthesises again and reads
//! `diff --format json`: nothing stateful may be replaced, removed or moved,
//! and the only changed values are tags, Glue parameters and Identity Center
//! assignments.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{example_workspace, meshsynth};
use serde_json::Value;

// ---------------------------------------------------------------------------
// A minimal editor for the team files of the example org: top-level keys,
// and list sections whose items are told apart by their account.

const SECTIONS: [&str; 4] = ["accounts", "products", "consumes", "service_roles"];

/// A team file: the lines before the sections, then each section's items
/// (an item keeps the comment lines written just above it).
struct TeamFile {
    header: Vec<String>,
    sections: Vec<(String, Vec<String>)>,
}

impl TeamFile {
    fn read(path: &Path) -> TeamFile {
        let text = std::fs::read_to_string(path).expect("read a team file");
        let mut header = Vec::new();
        let mut sections: Vec<(String, Vec<String>)> = Vec::new();
        let mut pending = String::new();
        for line in text.lines() {
            let top_key = (!line.starts_with(' ') && !line.starts_with('#'))
                .then(|| line.split(':').next().unwrap_or(""))
                .filter(|k| !k.is_empty());
            if let Some(key) = top_key {
                if SECTIONS.contains(&key) {
                    sections.push((key.to_owned(), Vec::new()));
                    pending.clear();
                    continue;
                }
                assert!(
                    sections.is_empty(),
                    "unexpected key `{key}` after the sections of {}",
                    path.display()
                );
                header.push(line.to_owned());
                continue;
            }
            let Some((_, items)) = sections.last_mut() else {
                header.push(line.to_owned());
                continue;
            };
            if line.starts_with("  - ") {
                items.push(format!("{pending}{line}\n"));
                pending.clear();
            } else if line.trim_start().starts_with('#') || line.trim().is_empty() {
                pending.push_str(line);
                pending.push('\n');
            } else {
                let last = items.last_mut().expect("an item line follows its first line");
                last.push_str(line);
                last.push('\n');
            }
        }
        TeamFile { header, sections }
    }

    fn write(&self, path: &Path) {
        let mut s = self.header.join("\n");
        s.push('\n');
        for (key, items) in &self.sections {
            if items.is_empty() {
                s.push_str(&format!("{key}: []\n"));
            } else {
                s.push_str(&format!("{key}:\n"));
                for i in items {
                    s.push_str(i);
                }
            }
        }
        std::fs::write(path, s).expect("write a team file");
    }

    fn set(&mut self, key: &str, value: &str) {
        for line in &mut self.header {
            if line.starts_with(&format!("{key}:")) {
                *line = format!("{key}: {value}");
            }
        }
    }

    /// Takes out every item (of every section) that belongs to one of `accounts`.
    fn take(&mut self, accounts: &BTreeSet<&str>) -> Vec<(String, Vec<String>)> {
        let mut taken = Vec::new();
        for (key, items) in &mut self.sections {
            let (moved, kept): (Vec<String>, Vec<String>) = items
                .drain(..)
                .partition(|i| item_account(i).is_some_and(|a| accounts.contains(a.as_str())));
            *items = kept;
            taken.push((key.clone(), moved));
        }
        taken
    }

    /// Adds items to their sections (creating those that are missing).
    fn put(&mut self, items: Vec<(String, Vec<String>)>) {
        for (key, moved) in items {
            match self.sections.iter_mut().find(|(k, _)| *k == key) {
                Some((_, existing)) => existing.extend(moved),
                None => self.sections.push((key, moved)),
            }
        }
    }
}

/// The account an item is about: `id:` of an account, `account:` of anything else.
fn item_account(item: &str) -> Option<String> {
    item.lines().find_map(|l| {
        let l = l.trim_start().trim_start_matches("- ");
        let rest = l.strip_prefix("id: ").or_else(|| l.strip_prefix("account: "))?;
        Some(rest.trim().trim_matches('"').to_owned())
    })
}

fn team_path(topology: &Path, team: &str) -> PathBuf {
    topology.join("teams").join(format!("{team}.yaml"))
}

/// Moves the accounts (and everything of the team that goes through them) to a new team file.
fn split(topology: &Path, team: &str, new_team: &str, accounts: &[&str]) {
    let mut from = TeamFile::read(&team_path(topology, team));
    let moved = from.take(&accounts.iter().copied().collect());
    let moved_accounts = moved.iter().find(|(k, _)| k == "accounts").map_or(0, |(_, i)| i.len());
    assert_eq!(moved_accounts, accounts.len(), "every account to move is in `{team}`");
    let mut to = TeamFile {
        header: from
            .header
            .iter()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .cloned()
            .collect(),
        sections: Vec::new(),
    };
    to.set("name", new_team);
    to.set("contact", &format!("\"#team-{new_team}\""));
    to.put(moved);
    from.write(&team_path(topology, team));
    to.write(&team_path(topology, new_team));
}

/// Moves accounts (with their products, consumes and service roles) from one team to another.
fn move_accounts(topology: &Path, from_team: &str, to_team: &str, accounts: &[&str]) {
    let mut from = TeamFile::read(&team_path(topology, from_team));
    let mut to = TeamFile::read(&team_path(topology, to_team));
    let moved = from.take(&accounts.iter().copied().collect());
    let products = moved.iter().find(|(k, _)| k == "products").map_or(0, |(_, i)| i.len());
    assert!(products > 0, "the moved accounts hold products");
    to.put(moved);
    from.write(&team_path(topology, from_team));
    to.write(&team_path(topology, to_team));
}

/// Merges team `from` into team `into` and deletes its file.
fn merge(topology: &Path, into: &str, from: &str) {
    let mut a = TeamFile::read(&team_path(topology, into));
    let b = TeamFile::read(&team_path(topology, from));
    a.put(b.sections);
    a.write(&team_path(topology, into));
    std::fs::remove_file(team_path(topology, from)).expect("remove the merged team's file");
}

fn rename(topology: &Path, team: &str, new_name: &str) {
    let mut t = TeamFile::read(&team_path(topology, team));
    t.set("name", new_name);
    t.write(&team_path(topology, new_name));
    std::fs::remove_file(team_path(topology, team)).expect("remove the old file");
}

// ---------------------------------------------------------------------------

/// Synthesises the workspace's `accounts/` into `out`.
fn synth(dir: &Path, out: &str) {
    meshsynth(dir).args(["-q", "synth", "--out", out]).assert().success();
}

/// `validate` passes; then synth to `out`.
fn validate_and_synth(dir: &Path, out: &str) {
    let o = meshsynth(dir).args(["-q", "validate"]).output().expect("run validate");
    assert!(
        o.status.success(),
        "the edited topology must validate:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    synth(dir, out);
}

fn diff_json(dir: &Path, old: &str, new: &str) -> Value {
    let o = meshsynth(dir)
        .args(["diff", old, new, "--format", "json"])
        .output()
        .expect("run diff");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("diff --format json is JSON")
}

/// Nothing stateful replaced, removed or moved; no stack added or removed;
/// every changed value is a tag, a Glue parameter or an Identity Center assignment.
fn assert_stable(review: &Value) {
    let pretty = serde_json::to_string_pretty(review).expect("json");
    assert_eq!(
        review["destructive"],
        Value::Array(vec![]),
        "destructive changes:\n{pretty}"
    );
    let mut offending = Vec::new();
    for stack in review["stacks"].as_array().expect("stacks") {
        let where_ = format!("{}/{}", stack["account"], stack["name"]);
        assert_eq!(stack["status"], "modified", "{where_} was added or removed:\n{pretty}");
        for c in stack["changes"].as_array().expect("changes") {
            let ty = c["type"].as_str().unwrap_or("");
            if ty == "AWS::SSO::Assignment" {
                continue;
            }
            if c["action"] != "Modify" || c["replacement"] != "False" {
                offending.push(format!(
                    "{where_} {} {} {}",
                    c["logical_id"], c["action"], c["replacement"]
                ));
                continue;
            }
            for p in c["properties"].as_array().expect("properties") {
                let path = p["path"].as_str().unwrap_or("");
                if !(path.contains(".Tags[") || path.contains(".Parameters.")) {
                    offending.push(format!("{where_} {} {path}", c["logical_id"]));
                }
            }
        }
    }
    assert!(offending.is_empty(), "unexpected changes: {offending:#?}\n{pretty}");
    assert_eq!(review["access"], Value::Array(vec![]), "access changed:\n{pretty}");
    assert_eq!(
        review["policies"],
        Value::Array(vec![]),
        "a Glue policy changed:\n{pretty}"
    );
}

/// The edit was not a no-op (so `assert_stable` means something): some team tag or
/// parameter now names `team`.
fn assert_changed(review: &Value, team: &str) {
    let retagged = review["stacks"].as_array().expect("stacks").iter().any(|s| {
        s["changes"].as_array().expect("changes").iter().any(|c| {
            c["properties"]
                .as_array()
                .expect("properties")
                .iter()
                .any(|p| p["path"].as_str().is_some_and(|p| p.contains("meshsynth:team")) && p["new"] == team)
        })
    });
    assert!(retagged, "nothing is tagged with team `{team}` now:\n{review:#}");
}

const SHOWS_PROD: &str = "578575860272";
const FEEDS_PROD: &str = "492564225704";

#[test]
fn splitting_a_team_moves_no_data() {
    let ws = example_workspace();
    let dir = ws.path();
    synth(dir, "out-a");
    // The producing account and both products go to a new team; staging and dev stay.
    split(&dir.join("accounts"), "shows", "catalogue", &[SHOWS_PROD]);
    validate_and_synth(dir, "out-b");
    let review = diff_json(dir, "out-a", "out-b");
    assert_changed(&review, "catalogue");
    assert_stable(&review);
}

#[test]
fn merging_two_teams_moves_no_data() {
    let ws = example_workspace();
    let dir = ws.path();
    synth(dir, "out-a");
    merge(&dir.join("accounts"), "shows", "feeds");
    validate_and_synth(dir, "out-b");
    let review = diff_json(dir, "out-a", "out-b");
    assert_changed(&review, "shows");
    assert_stable(&review);
}

#[test]
fn renaming_a_team_moves_no_data() {
    let ws = example_workspace();
    let dir = ws.path();
    synth(dir, "out-a");
    rename(&dir.join("accounts"), "shows", "catalogue");
    validate_and_synth(dir, "out-b");
    let review = diff_json(dir, "out-a", "out-b");
    assert_changed(&review, "catalogue");
    assert_stable(&review);
}

#[test]
fn moving_a_products_ownership_moves_no_data() {
    let ws = example_workspace();
    let dir = ws.path();
    synth(dir, "out-a");
    // feeds' producing account, with its products, now belongs to shows (same domain).
    move_accounts(&dir.join("accounts"), "feeds", "shows", &[FEEDS_PROD]);
    validate_and_synth(dir, "out-b");
    let review = diff_json(dir, "out-a", "out-b");
    assert_changed(&review, "shows");
    assert_stable(&review);
}

/// Marks `podcasts.episodes` v1 (in shows.yaml) with another status.
fn set_episodes_v1_status(topology: &Path, status: &str) {
    let path = team_path(topology, "shows");
    let text = std::fs::read_to_string(&path).expect("read shows.yaml");
    let old = "      - version: 1\n        status: deprecated";
    assert!(text.contains(old), "shows.yaml no longer has a deprecated episodes v1");
    std::fs::write(
        &path,
        text.replacen(old, &format!("      - version: 1\n        status: {status}"), 1),
    )
    .expect("write shows.yaml");
}

/// Deletes `podcasts.episodes` v1 from shows.yaml (its version entry, up to v2's comment).
fn delete_episodes_v1(topology: &Path) {
    let path = team_path(topology, "shows");
    let text = std::fs::read_to_string(&path).expect("read shows.yaml");
    let start = text.find("      # v1 is deprecated").expect("episodes v1 comment");
    let end = text.find("      # v2: durations").expect("episodes v2 comment");
    std::fs::write(&path, format!("{}{}", &text[..start], &text[end..])).expect("write shows.yaml");
}

/// The last consumer of `podcasts.episodes@1` (ads-delivery) moves to v2.
fn move_last_consumer_to_v2(topology: &Path) {
    let path = team_path(topology, "ads-delivery");
    let text = std::fs::read_to_string(&path).expect("read ads-delivery.yaml");
    assert_eq!(text.matches("podcasts.episodes@1").count(), 1);
    std::fs::write(&path, text.replace("podcasts.episodes@1", "podcasts.episodes@2")).expect("write");
}

#[test]
fn retiring_a_version_with_consumers_is_refused_naming_them() {
    let ws = example_workspace();
    let dir = ws.path();
    set_episodes_v1_status(&dir.join("accounts"), "retired");
    let o = meshsynth(dir).args(["validate"]).output().expect("run validate");
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    // The consumer is named by its file and line (accounts/teams/ads-delivery.yaml:L:C).
    let line = stderr
        .lines()
        .find(|l| l.contains("`podcasts.episodes@1` is retired and can no longer be consumed"))
        .unwrap_or_else(|| panic!("no retired-consume error in:\n{stderr}"));
    assert!(line.starts_with("error: accounts/teams/ads-delivery.yaml:"), "{line}");
    assert!(
        line.contains("team `ads-delivery` (account `493764701522`) still consumes it"),
        "{line}"
    );
}

/// The destructive entries of a review, as (account, stack, logical id, type, action).
fn destructive(review: &Value) -> BTreeSet<(String, String, String, String, String)> {
    review["destructive"]
        .as_array()
        .expect("destructive")
        .iter()
        .map(|d| {
            (
                d["account"].as_str().unwrap_or("").to_owned(),
                d["stack"].as_str().unwrap_or("").to_owned(),
                d["logical_id"].as_str().unwrap_or("").to_owned(),
                d["type"].as_str().unwrap_or("").to_owned(),
                d["action"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn retiring_and_removing_an_unconsumed_version_removes_only_its_glue_resources() {
    let ws = example_workspace();
    let dir = ws.path();
    let topology = dir.join("accounts");
    move_last_consumer_to_v2(&topology);
    validate_and_synth(dir, "out-a");

    // Retired (still in the YAML): nobody may read it any more, and exactly its Glue
    // database and table go, flagged destructive; its data stays.
    set_episodes_v1_status(&topology, "retired");
    validate_and_synth(dir, "out-b");
    let expected: BTreeSet<_> = [
        ("GlueDbPodcastsEpisodesV1", "AWS::Glue::Database"),
        ("GlueTablePodcastsEpisodesV1Episodes", "AWS::Glue::Table"),
    ]
    .into_iter()
    .map(|(id, ty)| {
        (
            SHOWS_PROD.to_owned(),
            "mesh-products".to_owned(),
            id.to_owned(),
            ty.to_owned(),
            "Remove".to_owned(),
        )
    })
    .collect();
    let retired = diff_json(dir, "out-a", "out-b");
    let texts: Vec<&str> = retired["access"]
        .as_array()
        .expect("access")
        .iter()
        .filter_map(|a| a["text"].as_str())
        .collect();
    assert_eq!(
        texts,
        vec!["podcasts.episodes v1 is no longer readable org-wide"],
        "{retired:#}"
    );

    // Then removed from the topology: nothing more changes.
    delete_episodes_v1(&topology);
    validate_and_synth(dir, "out-c");
    let removed = diff_json(dir, "out-b", "out-c");
    assert_eq!(removed["destructive"], Value::Array(vec![]), "{removed:#}");
    assert_eq!(removed["stacks"], Value::Array(vec![]), "{removed:#}");

    for (old, new, review) in [
        ("out-a", "out-b", retired),
        ("out-a", "out-c", diff_json(dir, "out-a", "out-c")),
    ] {
        assert_eq!(destructive(&review), expected, "from {old} to {new}: {review:#}");
        // Nothing else is removed or replaced.
        for stack in review["stacks"].as_array().expect("stacks") {
            for c in stack["changes"].as_array().expect("changes") {
                let id = c["logical_id"].as_str().unwrap_or("");
                if c["action"] == "Remove" {
                    assert!(
                        id.contains("PodcastsEpisodesV1"),
                        "{id} removed, from {old} to {new}: {review:#}"
                    );
                }
                assert_ne!(c["replacement"], "True", "{id} replaced, from {old} to {new}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// new-team

fn new_team(dir: &Path, args: &[&str]) -> std::process::Output {
    meshsynth(dir)
        .arg("new-team")
        .args(args)
        .output()
        .expect("run new-team")
}

#[test]
fn new_team_writes_a_valid_scaffold_that_synthesises() {
    let ws = example_workspace();
    let dir = ws.path();
    let o = new_team(
        dir,
        &[
            "recommendations",
            "--domain",
            "podcasts",
            "--account",
            "123456789012",
            "--contact",
            "#team-recs",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "wrote `accounts/teams/recommendations.yaml`\nnext:\n  meshsynth synth\n  \
         meshsynth plan --account 123456789012\n  meshsynth deploy --account 123456789012\n"
    );
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
    let text = std::fs::read_to_string(dir.join("accounts/teams/recommendations.yaml")).expect("written");
    assert!(text.contains("name: recommendations\ndomain: podcasts\n"), "{text}");
    assert!(
        text.contains("  - id: \"123456789012\"\n    name: \"recommendations-prod\"\n"),
        "{text}"
    );
    // No temp file left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.join("accounts/teams"))
        .expect("read teams")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty());
    meshsynth(dir).args(["-q", "validate"]).assert().success();
    meshsynth(dir).args(["-q", "synth", "--out", "out"]).assert().success();
    assert!(dir.join("out/123456789012/mesh-baseline.template.json").is_file());
}

#[test]
fn new_team_refuses_an_existing_file() {
    let ws = example_workspace();
    let o = new_team(
        ws.path(),
        &["shows", "--domain", "podcasts", "--account", "123456789012"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: `accounts/teams/shows.yaml` already exists (new-team never overwrites a file)\n"
    );
}

#[test]
fn new_team_refuses_an_account_another_team_owns() {
    let ws = example_workspace();
    let before = std::fs::read_dir(ws.path().join("accounts/teams"))
        .expect("teams")
        .count();
    let o = new_team(
        ws.path(),
        &["recommendations", "--domain", "podcasts", "--account", SHOWS_PROD],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: account `578575860272` already belongs to team `shows` (`accounts/teams/shows.yaml`): \
         one account belongs to one team\n"
    );
    assert_eq!(
        std::fs::read_dir(ws.path().join("accounts/teams"))
            .expect("teams")
            .count(),
        before
    );
}

#[test]
fn new_team_refuses_an_undeclared_domain() {
    let ws = example_workspace();
    let o = new_team(
        ws.path(),
        &["recommendations", "--domain", "music", "--account", "123456789012"],
    );
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.starts_with("error: domain `music` is not declared in `accounts/org.yaml` (declared: `advertising`, "),
        "{stderr}"
    );
}

#[test]
fn new_team_refuses_a_team_name_in_use_in_another_file() {
    let ws = example_workspace();
    let dir = ws.path();
    std::fs::rename(
        dir.join("accounts/teams/shows.yaml"),
        dir.join("accounts/teams/catalogue.yaml"),
    )
    .expect("mv");
    let o = new_team(dir, &["shows", "--domain", "podcasts", "--account", "123456789012"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: team `shows` already exists in `accounts/teams/catalogue.yaml`\n"
    );
}

#[test]
fn new_team_usage_errors_exit_2() {
    let ws = example_workspace();
    let dir = ws.path();
    let single = dir.join("org.yaml");
    std::fs::write(&single, "version: 2\n").expect("write");
    let o = meshsynth(dir)
        .args([
            "-t",
            "org.yaml",
            "new-team",
            "recs",
            "--domain",
            "podcasts",
            "--account",
            "123456789012",
        ])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: `org.yaml` is a single-file topology; `new-team` needs the directory form (`org.yaml` and \
         `teams/*.yaml`): add the team under `teams:` by hand, or split the file\n"
    );
    let o = new_team(
        dir,
        &[
            "recs",
            "--domain",
            "podcasts",
            "--account",
            "123456789012",
            "--account-name",
            "a",
            "--account-name",
            "b",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn new_team_refuses_an_invalid_topology_without_writing() {
    let ws = example_workspace();
    let dir = ws.path();
    std::fs::write(
        dir.join("accounts/teams/broken.yaml"),
        "name: broken\ndomain: nowhere\n",
    )
    .expect("write");
    let o = new_team(dir, &["recs", "--domain", "podcasts", "--account", "123456789012"]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("accounts/teams/broken.yaml:2:9: team `broken` names domain `nowhere`"),
        "{stderr}"
    );
    assert!(!dir.join("accounts/teams/recs.yaml").exists());
}
