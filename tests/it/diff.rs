//! `meshsynth diff OLD_DIR NEW_DIR` on hand-written syntheses
//! (`tests/fixtures/lifecycle/diff/{old,new}`): a tag change, access gained
//! and lost, a database renamed (replaced) with its table replaced in turn,
//! a database moved to another stack, and stacks added and removed. Output
//! in every format is pinned by snapshot; each exit code has a test.

use crate::common;

use std::path::Path;

use common::{meshsynth, repo};

const FIXTURE: &str = "tests/fixtures/lifecycle/diff";

fn diff(args: &[&str]) -> std::process::Output {
    meshsynth(&repo()).arg("diff").args(args).output().expect("run diff")
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

fn fixture(side: &str) -> String {
    format!("{FIXTURE}/{side}")
}

#[test]
fn text_review() {
    let o = diff(&[&fixture("old"), &fixture("new")]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    insta::assert_snapshot!(stdout(&o));
}

#[test]
fn markdown_review() {
    let o = diff(&[&fixture("old"), &fixture("new"), "--format", "markdown"]);
    assert_eq!(o.status.code(), Some(0));
    insta::assert_snapshot!(stdout(&o));
}

#[test]
fn json_review() {
    let o = diff(&[&fixture("old"), &fixture("new"), "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["summary"]["destructive"], 3);
    insta::assert_snapshot!(stdout(&o));
}

#[test]
fn the_reverse_diff_flags_what_the_forward_one_adds() {
    let o = diff(&[&fixture("new"), &fixture("old"), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let moved: Vec<_> = v["destructive"]
        .as_array()
        .expect("destructive")
        .iter()
        .filter_map(|d| {
            d["moved_to"]
                .as_str()
                .map(|to| format!("{}/{} -> {to}", d["stack"], d["logical_id"]))
        })
        .collect();
    assert_eq!(
        moved,
        vec!["\"mesh-products-2\"/\"GlueDbPodcastsEpisodesV1\" -> 333333333333/mesh-products"]
    );
}

#[test]
fn output_is_deterministic() {
    let a = diff(&[&fixture("old"), &fixture("new"), "--format", "json"]);
    let b = diff(&[&fixture("old"), &fixture("new"), "--format", "json"]);
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn no_changes_exit_0_even_with_exit_code() {
    for format in ["text", "markdown", "json"] {
        let o = diff(&[&fixture("old"), &fixture("old"), "--exit-code", "--format", format]);
        assert_eq!(o.status.code(), Some(0), "{format}");
        match format {
            "text" => assert_eq!(stdout(&o), "no changes\n"),
            "markdown" => assert_eq!(stdout(&o), "## meshsynth diff\n\nNo changes.\n"),
            _ => {
                let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
                assert_eq!(v["stacks"], serde_json::json!([]));
            }
        }
    }
}

#[test]
fn changes_exit_1_with_exit_code() {
    let o = diff(&[&fixture("old"), &fixture("new"), "--exit-code"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&o.stderr), "", "a finding, not an error");
    assert!(stdout(&o).starts_with("Destructive changes (3):\n"));
}

#[test]
fn an_unreadable_folder_exits_2() {
    let o = diff(&[&fixture("old"), &format!("{FIXTURE}/missing")]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: cannot read `tests/fixtures/lifecycle/diff/missing/manifest.json`: no such file or directory \
         (is it the output folder of `meshsynth synth`?)\n"
    );
    assert_eq!(stdout(&o), "");
}

#[test]
fn a_broken_template_exits_2_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    common::copy_dir(&repo().join(fixture("new")), dir.path());
    let template = dir.path().join("333333333333/mesh-baseline.template.json");
    std::fs::write(&template, "{ not json").expect("write");
    let new = dir.path().to_str().expect("utf-8 path");
    let o = diff(&[&fixture("old"), new]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: `{}` is not valid: key must be a string",
            Path::new(new)
                .join("333333333333/mesh-baseline.template.json")
                .display()
        )),
        "{stderr}"
    );
}
