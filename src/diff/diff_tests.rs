//! Unit tests of `diff::compare` on synthesis folders written into temp dirs.

use super::*;
use serde_json::json;

/// Writes a synthesis: stacks as (account, name, template), policies as (account, document).
fn synthesis(stacks: &[(&str, &str, Value)], policies: &[(&str, Value)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut entries = Vec::new();
    for (account, name, template) in stacks {
        let rel = format!("{account}/{name}.template.json");
        let path = dir.path().join(&rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let text = serde_json::to_string_pretty(template).expect("json");
        std::fs::write(&path, &text).expect("write");
        let sha256 = crate::render::manifest::sha256_hex(text.as_bytes());
        entries.push(
            json!({ "name": name, "account": account, "region": "eu-west-1", "template": rel,
                             "depends_on": [], "wave": 1, "resources": 0, "sha256": sha256 }),
        );
    }
    for (account, doc) in policies {
        let path = dir.path().join(account).join("glue-resource-policy.json");
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, serde_json::to_string_pretty(doc).expect("json")).expect("write");
    }
    let manifest = json!({ "format": 1, "org": "acast", "region": "eu-west-1", "stacks": entries });
    std::fs::write(dir.path().join("manifest.json"), manifest.to_string()).expect("write manifest");
    dir
}

fn bucket(name: &str, team: &str) -> Value {
    json!({ "Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain",
            "Properties": { "BucketName": name, "Tags": [{ "Key": "team", "Value": team }] } })
}

fn db(name: &str) -> Value {
    json!({ "Type": "AWS::Glue::Database", "Properties": { "CatalogId": "333333333333", "DatabaseInput": { "Name": name } } })
}

fn t(resources: Value) -> Value {
    json!({ "Resources": resources })
}

#[test]
fn identical_syntheses_have_no_changes() {
    let a = synthesis(
        &[("333333333333", "mesh-baseline", t(json!({ "B": bucket("b", "shows") })))],
        &[],
    );
    let b = synthesis(
        &[("333333333333", "mesh-baseline", t(json!({ "B": bucket("b", "shows") })))],
        &[],
    );
    let r = compare(a.path(), b.path()).expect("compare");
    assert!(r.is_empty());
    assert_eq!(r.summary, Summary::default());
}

#[test]
fn a_tag_change_is_a_modification_and_not_destructive() {
    let a = synthesis(
        &[("333333333333", "mesh-baseline", t(json!({ "B": bucket("b", "shows") })))],
        &[],
    );
    let b = synthesis(
        &[("333333333333", "mesh-baseline", t(json!({ "B": bucket("b", "hosts") })))],
        &[],
    );
    let r = compare(a.path(), b.path()).expect("compare");
    assert_eq!(r.stacks.len(), 1);
    assert_eq!(r.stacks[0].status, Status::Modified);
    assert_eq!(r.stacks[0].changes[0].properties[0].path, "Properties.Tags[team]");
    assert!(r.destructive.is_empty());
    assert_eq!(r.summary.resources_modified, 1);
}

#[test]
fn a_removed_stack_removes_every_resource_and_flags_stateful_ones() {
    let a = synthesis(
        &[
            ("333333333333", "mesh-baseline", t(json!({ "B": bucket("b", "shows") }))),
            (
                "333333333333",
                "mesh-products",
                t(json!({ "Db": db("podcasts_episodes_v1") })),
            ),
        ],
        &[],
    );
    let b = synthesis(
        &[("333333333333", "mesh-baseline", t(json!({ "B": bucket("b", "shows") })))],
        &[],
    );
    let r = compare(a.path(), b.path()).expect("compare");
    assert_eq!(r.summary.stacks_removed, 1);
    assert_eq!(r.destructive.len(), 1);
    assert_eq!(r.destructive[0].logical_id, "Db");
    assert_eq!(r.destructive[0].reason, "removed, with its data");
}

#[test]
fn a_stateful_resource_that_moves_stack_is_flagged() {
    let a = synthesis(
        &[(
            "333333333333",
            "mesh-products",
            t(json!({ "Db1": db("a_b_v1"), "Db2": db("a_c_v1") })),
        )],
        &[],
    );
    let b = synthesis(
        &[
            ("333333333333", "mesh-products", t(json!({ "Db1": db("a_b_v1") }))),
            ("333333333333", "mesh-products-2", t(json!({ "Db2": db("a_c_v1") }))),
        ],
        &[],
    );
    let r = compare(a.path(), b.path()).expect("compare");
    assert_eq!(r.destructive.len(), 1);
    let d = &r.destructive[0];
    assert_eq!((d.stack.as_str(), d.logical_id.as_str()), ("mesh-products", "Db2"));
    assert_eq!(d.moved_to.as_deref(), Some("333333333333/mesh-products-2"));
    assert!(d.reason.starts_with("moves to stack"));
}

#[test]
fn a_retained_bucket_says_so() {
    let a = synthesis(
        &[("333333333333", "mesh-baseline", t(json!({ "B": bucket("b", "shows") })))],
        &[],
    );
    let b = synthesis(&[("333333333333", "mesh-baseline", t(json!({})))], &[]);
    let r = compare(a.path(), b.path()).expect("compare");
    assert!(r.destructive[0].retained);
}

#[test]
fn glue_policy_changes_say_what_they_grant_from_access_json() {
    let policy = |accounts: &[&str]| {
        json!({ "Version": "2012-10-17", "Statement": [
            { "Sid": "Read", "Effect": "Allow",
              "Principal": { "AWS": accounts.iter().map(|a| format!("arn:aws:iam::{a}:root")).collect::<Vec<_>>() },
              "Action": ["glue:GetDatabase", "glue:GetTable"],
              "Resource": ["arn:aws:glue:eu-west-1:333333333333:database/finance_payouts_v2",
                           "arn:aws:glue:eu-west-1:333333333333:table/finance_payouts_v2/*"] } ] })
    };
    let a = synthesis(&[], &[("333333333333", policy(&["444444444444"]))]);
    let b = synthesis(&[], &[("333333333333", policy(&["444444444444", "555555555555"]))]);
    // Without access.json on a side, access is not compared, and the review says why.
    let r = compare(a.path(), b.path()).expect("compare");
    assert!(r.access.is_empty());
    let why = r.access_unknown.expect("a side has no access.json");
    assert!(
        why.starts_with(&format!(
            "`{}` has no access.json",
            a.path().join("access.json").display()
        )),
        "{why}"
    );

    write_access(&a, &["444444444444"]);
    write_access(&b, &["444444444444", "555555555555"]);
    let r = compare(a.path(), b.path()).expect("compare");
    assert_eq!(r.access_unknown, None);
    assert_eq!(r.policies.len(), 1);
    assert_eq!(r.policies[0].changes[0].path, "Policy.Statement[Read].Principal.AWS");
    let texts: Vec<_> = r.access.iter().map(|c| c.text.as_str()).collect();
    let gained = "account 555555555555 gains read on finance.payouts v2 through role mesh-service-reader";
    assert_eq!(texts, vec![gained]);
    assert_eq!(r.policies[0].access, vec![gained.to_owned()]);
}

/// Writes `access.json`: finance.payouts v2 of 333333333333 read by a service role of each account.
fn write_access(dir: &tempfile::TempDir, readers: &[&str]) {
    use crate::synth::decisions::{AccessModel, GrantRef, VersionAccess, VersionReader, ACCESS_FORMAT};
    let model = AccessModel {
        format: ACCESS_FORMAT,
        paths: vec!["iam".into()],
        versions: vec![VersionAccess {
            product: "finance.payouts".into(),
            version: 2,
            producer: "333333333333".into(),
            classification: "restricted".into(),
            status: "active".into(),
            org_wide: false,
            readers: readers
                .iter()
                .map(|a| VersionReader {
                    account: (*a).to_owned(),
                    through: "role mesh-service-reader".into(),
                    principals: vec![format!("arn:aws:iam::{a}:role/mesh-service-reader")],
                    grant: GrantRef {
                        to: format!("account {a}"),
                        approved_by: "steward@example.com".into(),
                        expires: None,
                        all_columns: false,
                    },
                })
                .collect(),
        }],
        readers: vec![],
    };
    std::fs::write(
        dir.path().join("access.json"),
        serde_json::to_string(&model).expect("json"),
    )
    .expect("write access.json");
}

#[test]
fn missing_manifest_is_an_error_naming_the_file() {
    let a = tempfile::tempdir().expect("temp dir");
    let err = compare(a.path(), a.path()).expect_err("no manifest");
    assert!(err.to_string().contains("manifest.json"), "{err}");
}

#[test]
fn matching_hashes_skip_reading_the_templates() {
    let a = synthesis(&[("333333333333", "mesh-baseline", t(json!({})))], &[]);
    // Same manifest hash on both sides: the (missing) template is never read.
    let manifest = json!({ "format": 1, "org": "acast", "region": "eu-west-1", "stacks": [{ "name": "mesh-baseline",
        "account": "333333333333", "region": "eu-west-1", "wave": 1,
        "template": "333333333333/gone.template.json", "sha256": "abc" }] });
    std::fs::write(a.path().join("manifest.json"), manifest.to_string()).expect("write");
    let r = compare(a.path(), a.path()).expect("compare");
    assert!(r.is_empty());
}

#[test]
fn a_manifest_path_outside_the_folder_is_refused() {
    let a = synthesis(&[], &[]);
    let manifest = json!({ "format": 1, "org": "acast", "region": "eu-west-1", "stacks": [{ "name": "mesh-baseline",
        "account": "333333333333", "region": "eu-west-1", "wave": 1,
        "template": "../../etc/passwd", "sha256": "abc" }] });
    std::fs::write(a.path().join("manifest.json"), manifest.to_string()).expect("write");
    let err = compare(a.path(), a.path()).expect_err("outside").to_string();
    assert_eq!(
        err,
        format!(
            "`{}` is not valid: stack `333333333333/mesh-baseline` has path `../../etc/passwd`, which leaves the \
             output folder (paths are relative to manifest.json, inside its folder, without `..`)",
            a.path().join("manifest.json").display()
        )
    );
}
