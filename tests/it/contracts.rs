//! Versions as contracts, end to end: a topology (`tests/fixtures/synth/iam.yaml`)
//! and a copy with one change to the live version `podcasts.episodes@2`
//! (consumed by team payouts), each synthesised; then `diff` of the two
//! syntheses and `validate --against` of the two topologies. One case per
//! kind of breaking change, and one change that is not breaking.

use crate::common;

use std::path::Path;

use common::{meshsynth, repo};

const BASE: &str = "tests/fixtures/synth/iam.yaml";

/// The lines of `episodes@2` that the cases edit.
const DURATION: &str = "                  - { name: duration_s, type: int, comment: Length in seconds }\n";
const TAGS: &str = "                  - { name: tags, type: \"array<struct<key:string,value:string>>\" }\n                partition_keys:\n                  - { name: dt, type: date }\n";

fn base() -> String {
    let text = std::fs::read_to_string(repo().join(BASE)).expect("read the base topology");
    assert_eq!(
        text.matches(DURATION).count(),
        1,
        "the fixture has one duration_s column"
    );
    assert_eq!(
        text.matches(TAGS).count(),
        1,
        "the fixture has one tags column before dt"
    );
    text
}

/// (case, the edit, the breaking change it is, or `None`)
fn cases() -> Vec<(&'static str, String, Option<&'static str>)> {
    let b = base();
    vec![
        (
            "column_removed",
            b.replace(DURATION, ""),
            Some("column `duration_s` removed from table `episodes`"),
        ),
        (
            "column_renamed",
            b.replace(DURATION, &DURATION.replace("duration_s", "duration_secs")),
            Some("column `duration_s` of table `episodes` renamed to `duration_secs`"),
        ),
        (
            "column_retyped",
            b.replace(DURATION, &DURATION.replace("type: int", "type: bigint")),
            Some("column `duration_s` of table `episodes` changes type from int to bigint"),
        ),
        (
            "partition_keys_changed",
            b.replace(
                TAGS,
                &format!("{TAGS}                  - {{ name: hour, type: tinyint, projection: {{ type: integer, range: [0, 23] }} }}\n"),
            ),
            Some("partition keys of table `episodes` change from (dt date) to (dt date, hour tinyint)"),
        ),
        (
            "table_removed",
            {
                // The only table of v2 is `episodes` (after `status: active`): rename it.
                let at = b.find("status: active").expect("v2");
                let (head, tail) = b.split_at(at);
                format!("{head}{}", tail.replacen("- name: episodes", "- name: episode_rows", 1))
            },
            Some("table `episodes` removed"),
        ),
        (
            "column_added",
            b.replace(
                DURATION,
                &format!("{DURATION}                  - {{ name: language, type: string }}\n"),
            ),
            None,
        ),
    ]
}

fn synth(dir: &Path, topology: &str, out: &str) {
    let o = meshsynth(dir)
        .args(["--topology", topology, "synth", "--out", out])
        .output()
        .expect("run synth");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn diff_flags_each_breaking_kind_first_and_fails_with_exit_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("old.yaml"), base()).expect("write");
    synth(dir.path(), "old.yaml", "old");
    for (name, text, want) in cases() {
        std::fs::write(dir.path().join("new.yaml"), text).expect("write");
        synth(dir.path(), "new.yaml", "new");
        let o = meshsynth(dir.path())
            .args(["diff", "old", "new", "--exit-code"])
            .output()
            .expect("run diff");
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        // Every case changes a template, so --exit-code fails either way.
        assert_eq!(o.status.code(), Some(1), "{name}: {out}");
        match want {
            Some(change) => {
                let expected = format!(
                    "Breaking changes to live versions (1):\n  podcasts.episodes@2 (active):\n    ! {change}\n    notify: team payouts (account 444444444444, #team-payouts)\n    instead: publish the change as podcasts.episodes@4 (a new version) and deprecate @2, so consumers move when they are ready\n\n"
                );
                assert!(out.starts_with(&expected), "{name}: {out}");
            }
            None => assert!(!out.contains("Breaking"), "{name}: {out}"),
        }
        let o = meshsynth(dir.path())
            .args(["diff", "old", "new", "--format", "json"])
            .output()
            .expect("run diff");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        assert_eq!(v["summary"]["breaking"], u64::from(want.is_some()), "{name}");
        assert_eq!(
            v["breaking"].as_array().map(Vec::len),
            Some(usize::from(want.is_some())),
            "{name}"
        );
    }
}

#[test]
fn validate_against_gives_the_same_verdict_from_two_topologies() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("old.yaml"), base()).expect("write");
    for (name, text, want) in cases() {
        std::fs::write(dir.path().join("new.yaml"), text).expect("write");
        let o = meshsynth(dir.path())
            .args(["--topology", "new.yaml", "validate", "--against", "old.yaml"])
            .output()
            .expect("run validate");
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        match want {
            Some(change) => {
                assert_eq!(o.status.code(), Some(1), "{name}: {err}");
                assert!(out.contains(&format!("    ! {change}\n")), "{name}: {out}");
                assert!(
                    err.ends_with("error: 1 breaking change to live versions since `old.yaml`\n"),
                    "{name}: {err}"
                );
            }
            None => {
                assert_eq!(o.status.code(), Some(0), "{name}: {err}");
                assert_eq!(out, "", "{name}");
                assert!(
                    err.contains("no breaking change to the 3 live versions of `old.yaml`"),
                    "{name}: {err}"
                );
            }
        }
    }
}

#[test]
fn validate_against_an_unreadable_topology_is_a_usage_error() {
    let o = meshsynth(&repo())
        .args(["--topology", BASE, "validate", "--against", "does/not/exist.yaml"])
        .output()
        .expect("run validate");
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
}
