//! Unit tests of `change` (pure: templates in, classification out).

use super::*;
use serde_json::json;

fn template(resources: Value) -> Value {
    json!({ "AWSTemplateFormatVersion": "2010-09-09", "Resources": resources })
}

fn bucket(name: &str) -> Value {
    json!({ "Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain",
            "Properties": { "BucketName": name, "Tags": [ { "Key": "team", "Value": "shows" } ] } })
}

fn one(old: &Value, new: &Value) -> ResourceChange {
    let mut changes = classify(Some(old), Some(new));
    assert_eq!(changes.len(), 1, "{changes:#?}");
    changes.remove(0)
}

#[test]
fn displays_are_cloudformation_words() {
    assert_eq!(Action::Add.to_string(), "Add");
    assert_eq!(Action::Modify.to_string(), "Modify");
    assert_eq!(Action::Remove.to_string(), "Remove");
    assert_eq!(Replacement::True.to_string(), "True");
    assert_eq!(Replacement::False.to_string(), "False");
    assert_eq!(Replacement::Conditional.to_string(), "Conditional");
}

#[test]
fn stateful_types() {
    for ty in [
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
        "AWS::Glue::Database",
        "AWS::Glue::Table",
    ] {
        assert!(is_stateful(ty), "{ty}");
    }
    for ty in [
        "AWS::IAM::Role",
        "AWS::KMS::Alias",
        "AWS::S3::BucketPolicy",
        "AWS::SSO::Assignment",
        "",
    ] {
        assert!(!is_stateful(ty), "{ty}");
    }
}

#[test]
fn identical_templates_have_no_changes() {
    let t = template(json!({ "B": bucket("a") }));
    assert!(classify(Some(&t), Some(&t)).is_empty());
    assert!(classify(None, None).is_empty());
}

#[test]
fn key_order_does_not_matter() {
    let a: Value = serde_json::from_str(r#"{"Resources":{"R":{"Type":"AWS::IAM::Role","Properties":{"A":1,"B":2}}}}"#)
        .expect("json");
    let b: Value = serde_json::from_str(r#"{"Resources":{"R":{"Properties":{"B":2,"A":1},"Type":"AWS::IAM::Role"}}}"#)
        .expect("json");
    assert!(classify(Some(&a), Some(&b)).is_empty());
}

#[test]
fn a_new_stack_adds_everything_and_a_missing_one_removes_everything() {
    let t = template(json!({ "B": bucket("a"), "R": { "Type": "AWS::IAM::Role", "Properties": {} } }));
    let added = classify(None, Some(&t));
    assert_eq!(added.len(), 2);
    assert!(added
        .iter()
        .all(|c| c.action == Action::Add && !c.destructive && c.replacement.is_none()));
    assert!(added[0].stateful && added[0].logical_id == "B");

    let removed = classify(Some(&t), None);
    assert_eq!(removed[0].logical_id, "B");
    assert_eq!(removed[0].action, Action::Remove);
    assert!(removed[0].destructive, "a removed bucket loses its data");
    assert_eq!(removed[1].logical_id, "R");
    assert!(!removed[1].destructive);
}

#[test]
fn renaming_a_bucket_replaces_it() {
    let c = one(
        &template(json!({ "B": bucket("a") })),
        &template(json!({ "B": bucket("b") })),
    );
    assert_eq!(c.action, Action::Modify);
    assert_eq!(c.replacement, Some(Replacement::True));
    assert!(c.stateful && c.destructive);
    assert_eq!(
        c.properties,
        vec![PropertyChange {
            path: "Properties.BucketName".into(),
            old: Some(json!("a")),
            new: Some(json!("b")),
            requires_replacement: true,
        }]
    );
}

#[test]
fn tags_are_compared_by_key_and_update_in_place() {
    let mut new = bucket("a");
    new["Properties"]["Tags"] = json!([{ "Key": "team", "Value": "hosts" }, { "Key": "domain", "Value": "podcasts" }]);
    let c = one(&template(json!({ "B": bucket("a") })), &template(json!({ "B": new })));
    assert_eq!(c.replacement, Some(Replacement::False));
    assert!(!c.destructive);
    let paths: Vec<_> = c
        .properties
        .iter()
        .map(|p| (p.path.as_str(), p.old.clone(), p.new.clone()))
        .collect();
    assert_eq!(
        paths,
        vec![
            ("Properties.Tags[domain]", None, Some(json!("podcasts"))),
            ("Properties.Tags[team]", Some(json!("shows")), Some(json!("hosts"))),
        ]
    );
}

#[test]
fn deletion_policy_is_not_a_replacement() {
    let mut new = bucket("a");
    new["DeletionPolicy"] = json!("Delete");
    let c = one(&template(json!({ "B": bucket("a") })), &template(json!({ "B": new })));
    assert_eq!(c.replacement, Some(Replacement::False));
    assert!(!c.destructive);
    assert_eq!(c.properties[0].path, "DeletionPolicy");
    assert!(!c.properties[0].requires_replacement);
}

#[test]
fn nested_immutable_paths() {
    let db = |name: &str, desc: &str| {
        json!({ "Type": "AWS::Glue::Database",
                "Properties": { "CatalogId": "333333333333",
                                "DatabaseInput": { "Name": name, "Description": desc } } })
    };
    let c = one(
        &template(json!({ "Db": db("a", "x") })),
        &template(json!({ "Db": db("a", "y") })),
    );
    assert_eq!(c.replacement, Some(Replacement::False));
    assert_eq!(c.properties[0].path, "Properties.DatabaseInput.Description");

    let c = one(
        &template(json!({ "Db": db("a", "x") })),
        &template(json!({ "Db": db("b", "x") })),
    );
    assert_eq!(c.replacement, Some(Replacement::True));
    assert!(c.destructive);
    assert_eq!(c.properties[0].path, "Properties.DatabaseInput.Name");
    assert!(c.properties[0].requires_replacement);
}

#[test]
fn a_whole_object_that_appears_counts_when_it_holds_an_immutable_path() {
    let old = template(json!({ "T": { "Type": "AWS::Glue::Table", "Properties": { "DatabaseName": "d" } } }));
    let new = template(
        json!({ "T": { "Type": "AWS::Glue::Table", "Properties": { "DatabaseName": "d", "TableInput": { "Name": "t" } } } }),
    );
    let c = one(&old, &new);
    assert_eq!(c.replacement, Some(Replacement::True));
    assert_eq!(c.properties[0].path, "Properties.TableInput");
    assert!(c.properties[0].requires_replacement);
}

#[test]
fn arrays_by_index_when_the_length_is_kept_and_whole_otherwise() {
    let role = |statements: Value| json!({ "Type": "AWS::IAM::Role", "Properties": { "Policies": [ { "PolicyName": "read", "PolicyDocument": { "Statement": statements } } ] } });
    let c = one(
        &template(json!({ "R": role(json!([{ "Effect": "Allow", "Resource": "a" }])) })),
        &template(json!({ "R": role(json!([{ "Effect": "Allow", "Resource": "b" }])) })),
    );
    assert_eq!(
        c.properties[0].path,
        "Properties.Policies[0].PolicyDocument.Statement[0].Resource"
    );

    let c = one(
        &template(json!({ "R": role(json!([{ "Resource": "a" }])) })),
        &template(json!({ "R": role(json!([{ "Resource": "a" }, { "Resource": "b" }])) })),
    );
    assert_eq!(c.properties[0].path, "Properties.Policies[0].PolicyDocument.Statement");
    assert_eq!(c.replacement, Some(Replacement::False));
}

#[test]
fn a_type_change_is_a_replacement() {
    let old = template(json!({ "X": bucket("a") }));
    let new = template(json!({ "X": { "Type": "AWS::IAM::Role", "Properties": {} } }));
    let c = one(&old, &new);
    assert_eq!(c.replacement, Some(Replacement::True));
    assert!(c.stateful && c.destructive, "the bucket goes away");
    assert!(c.properties.iter().any(|p| p.path == "Properties.BucketName"));
    assert!(c.properties.iter().any(|p| p.path == "Type" && p.requires_replacement));
}

#[test]
fn every_property_of_an_assignment_is_immutable() {
    let a = |principal: &str| json!({ "Type": "AWS::SSO::Assignment", "Properties": { "PrincipalId": principal, "TargetId": "333333333333" } });
    let c = one(&template(json!({ "A": a("g1") })), &template(json!({ "A": a("g2") })));
    assert_eq!(c.replacement, Some(Replacement::True));
    assert!(!c.stateful && !c.destructive);
    assert!(c.properties[0].requires_replacement);
}

#[test]
fn replacement_follows_references_in_immutable_properties() {
    let db = |name: &str| json!({ "Type": "AWS::Glue::Database", "Properties": { "CatalogId": "1", "DatabaseInput": { "Name": name } } });
    let table = json!({ "Type": "AWS::Glue::Table",
                        "Properties": { "CatalogId": "1", "DatabaseName": { "Ref": "Db" }, "TableInput": { "Name": "t" } } });
    let perms = json!({ "Type": "AWS::LakeFormation::PrincipalPermissions",
                        "Properties": { "Resource": { "Table": { "DatabaseName": { "Ref": "Db" }, "Name": { "Ref": "Tbl" } } } } });
    let old = template(json!({ "Db": db("a"), "Tbl": table, "Perm": perms }));
    let new = template(json!({ "Db": db("b"), "Tbl": table, "Perm": perms }));
    let changes = classify(Some(&old), Some(&new));
    let summary: Vec<_> = changes
        .iter()
        .map(|c| (c.logical_id.as_str(), c.replacement, c.destructive))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("Db", Some(Replacement::True), true),
            ("Tbl", Some(Replacement::Conditional), true),
            ("Perm", Some(Replacement::Conditional), false),
        ]
    );
    let tbl = &changes[1];
    assert_eq!(tbl.properties[0].path, "Properties.DatabaseName");
    assert_eq!(tbl.properties[0].old, tbl.properties[0].new);
}

#[test]
fn sub_references_skip_pseudo_parameters_and_escapes() {
    let mut out = BTreeSet::new();
    sub_references("${Bucket.Arn}/x/${AWS::Region}/${!Literal}/${Key}", &mut out);
    assert_eq!(
        out.into_iter().collect::<Vec<_>>(),
        vec!["Bucket".to_owned(), "Key".to_owned()]
    );
}

#[test]
fn destructive_changes_sort_first() {
    let old = template(json!({ "A": { "Type": "AWS::IAM::Role" }, "Z": bucket("z") }));
    let new = template(json!({ "A": { "Type": "AWS::IAM::Role", "Properties": { "Path": "/x/" } } }));
    let ids: Vec<_> = classify(Some(&old), Some(&new))
        .into_iter()
        .map(|c| c.logical_id)
        .collect();
    assert_eq!(ids, vec!["Z", "A"]);
}

#[test]
fn serialises_with_the_plan_field_names() {
    let c = classify(None, Some(&template(json!({ "B": bucket("a") }))));
    let v = serde_json::to_value(&c[0]).expect("serialise");
    assert_eq!(
        v,
        json!({ "logical_id": "B", "type": "AWS::S3::Bucket", "action": "Add", "replacement": null,
                "stateful": true, "destructive": false, "properties": [] })
    );
}

#[test]
fn garbage_templates_do_not_panic() {
    for t in [
        json!(null),
        json!([]),
        json!({ "Resources": 3 }),
        json!({ "Resources": { "X": 1 } }),
    ] {
        let _ = classify(Some(&t), Some(&template(json!({ "X": bucket("a") }))));
        let _ = classify(Some(&template(json!({ "X": bucket("a") }))), Some(&t));
    }
}

#[test]
fn statements_with_sids_are_compared_by_sid() {
    let old = json!({ "Statement": [ { "Sid": "A", "Effect": "Allow", "Principal": "x" } ] });
    let new = json!({ "Statement": [ { "Sid": "B", "Effect": "Allow" }, { "Sid": "A", "Effect": "Allow", "Principal": "y" } ] });
    let paths: Vec<_> = diff_documents("Policy", Some(&old), Some(&new))
        .into_iter()
        .map(|p| p.path)
        .collect();
    assert_eq!(paths, vec!["Policy.Statement[A].Principal", "Policy.Statement[B]"]);
}

#[test]
fn kms_style_tags_are_compared_by_key_too() {
    let key = |team: &str| json!({ "Type": "AWS::KMS::Key", "Properties": { "Tags": [{ "TagKey": "team", "TagValue": team }] } });
    let c = one(&template(json!({ "K": key("a") })), &template(json!({ "K": key("b") })));
    assert_eq!(c.properties[0].path, "Properties.Tags[team]");
    assert_eq!(c.replacement, Some(Replacement::False));
}
