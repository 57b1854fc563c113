//! Access mode `lakeformation` against the AWS emulator (moto server on a free
//! loopback port, through `scripts/local-aws`):
//! - a generated org in lakeformation mode with sensitive columns synthesises,
//!   lints clean with cfn-lint, deploys, and then plans unchanged;
//! - the example org switched from `iam` to `lakeformation` in two deploys:
//!   with `keep_iam_paths` (data lake settings, registered locations, grants
//!   and resource links added, the catalog policies let AWS RAM share, nothing
//!   narrows), then without (bucket, key and reader policies narrowed, every
//!   Glue catalog policy deleted after every wave); each deploys, lints clean
//!   and then plans unchanged. Straight to `lakeformation`, the plan warns.
//!
//! moto accepts the `AWS::LakeFormation::*` and `AWS::Glue::*` resources
//! without creating them (see the README's emulator section): these tests prove
//! the templates, the order and the engine, not Lake Formation's own checks.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{copy_dir, gen_org, repo, Moto};
use serde_json::Value;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(moto: &Moto, dir: &Path, args: &[&str]) -> Run {
    let o = moto.meshsynth(dir).args(args).output().expect("run meshsynth");
    Run {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// `account/stack` → status, of every stack of a JSON plan; and the policies' statuses.
fn plan_statuses(moto: &Moto, dir: &Path, topology: &str) -> (BTreeMap<String, String>, Vec<String>) {
    let r = run(moto, dir, &["-q", "-t", topology, "plan", "--format", "json"]);
    assert_eq!(r.code, Some(0), "plan failed: {}", r.stderr);
    let plan: Value = serde_json::from_str(&r.stdout).expect("the plan is JSON");
    let field = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    let stacks = plan["stacks"]
        .as_array()
        .expect("stacks")
        .iter()
        .map(|s| {
            (
                format!("{}/{}", field(s, "account"), field(s, "name")),
                field(s, "status"),
            )
        })
        .collect();
    let policies = plan["policies"]
        .as_array()
        .expect("policies")
        .iter()
        .map(|p| field(p, "status"))
        .collect();
    (stacks, policies)
}

fn manifest_stacks(out: &Path) -> usize {
    let text = std::fs::read_to_string(out.join("manifest.json")).expect("manifest.json");
    let v: Value = serde_json::from_str(&text).expect("JSON");
    v["stacks"].as_array().map_or(0, Vec::len)
}

/// cfn-lint over every template under `out`, in one run.
fn cfn_lint(out: &Path) {
    let mut templates = Vec::new();
    for account in std::fs::read_dir(out).expect("read out") {
        let account = account.expect("an entry").path();
        if account.is_dir() {
            for f in std::fs::read_dir(&account).expect("read an account folder") {
                let f = f.expect("an entry").path();
                if f.to_string_lossy().ends_with(".template.json") {
                    templates.push(f);
                }
            }
        }
    }
    assert!(!templates.is_empty());
    let o = Command::new("cfn-lint")
        .args(["--format", "parseable"])
        .args(&templates)
        .output()
        .unwrap_or_else(|e| panic!("cfn-lint is not installed ({e}): pip install cfn-lint"));
    let report = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && report.trim().is_empty(),
        "cfn-lint found problems in {} templates:\n{report}{}",
        templates.len(),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_generated_lakeformation_org_with_sensitive_columns_deploys_and_plans_unchanged() {
    let ws = tempfile::tempdir().expect("a temp dir");
    let dir = ws.path();
    let topology = gen_org(
        &dir.join("org"),
        &[
            "--teams",
            "6",
            "--accounts-per-team",
            "2",
            "--products",
            "8",
            "--consumes",
            "16",
            "--access-mode",
            "lakeformation",
            "--sensitive-columns",
        ],
        "json",
    );
    let org: Value = serde_json::from_str(&std::fs::read_to_string(&topology).expect("org.json")).expect("JSON");
    assert_eq!(org["org"]["access_mode"], "lakeformation");
    let text = org.to_string();
    assert!(text.contains(r#""sensitive":true"#), "gen-org marks sensitive columns");
    assert!(
        text.contains(r#""columns":"all""#),
        "and grants them with `columns: all`"
    );

    let moto = Moto::start();
    let r = run(&moto, dir, &["-q", "-t", "org/org.json", "synth"]);
    assert_eq!(r.code, Some(0), "synth failed: {}", r.stderr);
    let out = dir.join("out");
    // Sensitive columns reach the grants as excluded columns.
    let templates: String = std::fs::read_dir(&out)
        .expect("out")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .flat_map(|e| std::fs::read_dir(e.path()).expect("an account folder"))
        .filter_map(|f| f.ok().and_then(|f| std::fs::read_to_string(f.path()).ok()))
        .collect();
    assert!(
        templates.contains("\"ExcludedColumnNames\": [\n"),
        "no column is excluded anywhere"
    );
    assert!(templates.contains("AWS::Glue::Database") && templates.contains("\"TargetDatabase\""));
    cfn_lint(&out);

    let stacks = manifest_stacks(&out);
    let r = run(&moto, dir, &["-t", "org/org.json", "deploy", "--yes"]);
    assert_eq!(r.code, Some(0), "deploy failed:\n{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains(&format!("Deployed: {stacks} created, 0 updated, 0 deleted")),
        "{}",
        r.stdout
    );
    let (after, policies) = plan_statuses(&moto, dir, "org/org.json");
    assert_eq!(after.len(), stacks);
    assert!(after.values().all(|s| s == "no_changes"), "{after:#?}");
    assert!(
        policies.is_empty(),
        "lakeformation mode writes no catalog policy: {policies:?}"
    );
    assert!(after.keys().any(|k| k.ends_with("/mesh-access")), "{after:#?}");
}

/// Writes `accounts/org.yaml` with `access_mode` set to `mode` (and `keep_iam_paths: true`
/// after it when `keep`), then synthesises.
fn switch_to(moto: &Moto, dir: &Path, mode: &str, keep: bool) {
    let org = dir.join("accounts/org.yaml");
    let text = std::fs::read_to_string(&org).expect("org.yaml");
    let kept: String = text
        .lines()
        .filter(|l| !l.contains("keep_iam_paths"))
        .map(|l| format!("{l}\n"))
        .collect();
    let mode_line = kept
        .lines()
        .find(|l| l.trim_start().starts_with("access_mode:"))
        .expect("org.yaml sets access_mode")
        .to_owned();
    let mut new_line = format!("  access_mode: {mode}");
    if keep {
        new_line.push_str("\n  keep_iam_paths: true");
    }
    std::fs::write(&org, kept.replace(&mode_line, &new_line)).expect("write org.yaml");
    let r = run(moto, dir, &["-q", "synth"]);
    assert_eq!(r.code, Some(0), "synth failed: {}", r.stderr);
}

/// Deploys, checks the phases and what was deployed, and that a plan afterwards is clean.
fn deploy_step(moto: &Moto, dir: &Path, phases_wanted: &[&str], deployed: &str) {
    let r = run(moto, dir, &["deploy", "--yes"]);
    assert_eq!(r.code, Some(0), "the deploy failed:\n{}{}", r.stdout, r.stderr);
    let phases: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("wave ") || l.starts_with("catalog policies"))
        .map(|l| l.split(':').next().unwrap_or(l))
        .collect();
    assert_eq!(phases, phases_wanted, "{}", r.stderr);
    assert!(r.stdout.contains(deployed), "{}", r.stdout);
    let (after, policies) = plan_statuses(moto, dir, "accounts");
    assert!(after.values().all(|s| s == "no_changes"), "{after:#?}");
    assert!(policies.iter().all(|p| p == "no_changes"), "{policies:?}");
}

/// The example org, deployed in access mode iam, switched in two deploys: first with
/// `keep_iam_paths` (the Lake Formation resources are added and nothing narrows), then
/// without (the iam paths go, the catalog policies last). Straight to lakeformation, the
/// plan warns that readers lose access mid-way.
#[test]
fn the_example_org_switches_from_iam_to_lakeformation() {
    let ws = tempfile::tempdir().expect("a temp dir");
    let dir = ws.path();
    copy_dir(&repo().join("accounts"), &dir.join("accounts"));
    copy_dir(&repo().join("out"), &dir.join("out"));
    let moto = Moto::start();
    let r = run(&moto, dir, &["-q", "deploy", "--yes"]);
    assert_eq!(r.code, Some(0), "deploy in access mode iam failed:\n{}", r.stderr);

    // Straight to lakeformation: the plan says who loses access, and what to do instead.
    switch_to(&moto, dir, "lakeformation", false);
    let r = run(&moto, dir, &["-q", "plan"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "Warning: this deploy switches from access mode iam straight to lakeformation: every reader of the "
        ) && r.stdout.contains("deploy with `org.keep_iam_paths: true` first"),
        "{}",
        r.stdout
    );

    // Step 1: lakeformation beside the iam paths. Nothing narrows, no catalog policy goes.
    switch_to(&moto, dir, "lakeformation", true);
    let out = dir.join("out");
    cfn_lint(&out);
    let r = run(&moto, dir, &["-q", "plan"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let plan = r.stdout;
    for line in [
        "    + Add     DataLakeSettings  AWS::LakeFormation::DataLakeSettings\n",
        "    + Add     LakeFormationDataLocation  AWS::LakeFormation::Resource\n",
        "  glue resource policy  update\n",
        "  mesh-access  create  ",
    ] {
        assert!(plan.contains(line), "the plan has no `{}`:\n{plan}", line.trim_end());
    }
    for absent in [
        "Warning:",
        "DataBucketPolicy",
        "KeyPolicy",
        "glue resource policy  delete",
    ] {
        assert!(!plan.contains(absent), "step 1 plans `{absent}`:\n{plan}");
    }
    let (stacks, policies) = plan_statuses(&moto, dir, "accounts");
    let n_policies = policies.len();
    assert!(n_policies > 0 && policies.iter().all(|p| p == "update"), "{policies:?}");
    assert!(stacks.values().all(|s| s != "delete"), "{stacks:#?}");
    let created = stacks.values().filter(|s| *s == "create").count();
    let updated = stacks.values().filter(|s| *s == "update").count();
    let waves = [
        "wave 1 (baseline)",
        "wave 2 (products)",
        "wave 3 (central, consumer)",
        "wave 4 (access, identity)",
    ];
    deploy_step(
        &moto,
        dir,
        &waves,
        &format!("Deployed: {created} created, {updated} updated, 0 deleted, {n_policies} policies applied, "),
    );

    // Step 2: without the iam paths. Bucket, key and reader policies narrow; every catalog
    // policy is deleted after every wave.
    switch_to(&moto, dir, "lakeformation", false);
    let r = run(&moto, dir, &["-q", "plan"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let plan = r.stdout;
    for line in [
        "    ~ Modify  DataBucketPolicy  AWS::S3::BucketPolicy  ",
        "  glue resource policy  delete\n",
    ] {
        assert!(plan.contains(line), "the plan has no `{}`:\n{plan}", line.trim_end());
    }
    for absent in ["Warning:", "  mesh-access  create", "DataLakeSettings"] {
        assert!(!plan.contains(absent), "step 2 plans `{absent}`:\n{plan}");
    }
    let (stacks, policies) = plan_statuses(&moto, dir, "accounts");
    assert!(
        policies.len() == n_policies && policies.iter().all(|p| p == "delete"),
        "{policies:?}"
    );
    assert!(stacks.values().all(|s| s != "delete" && s != "create"), "{stacks:#?}");
    let updated = stacks.values().filter(|s| *s == "update").count();
    // The products stacks already hold everything Lake Formation needs: wave 2 has nothing to do.
    let with_policies = [waves[0], waves[2], waves[3], "catalog policies"];
    deploy_step(
        &moto,
        dir,
        &with_policies,
        &format!(
            "Deployed: 0 created, {updated} updated, 0 deleted, 0 policies applied, {n_policies} policies deleted"
        ),
    );
    let (_, policies) = plan_statuses(&moto, dir, "accounts");
    assert!(policies.is_empty(), "{policies:?}");
}
