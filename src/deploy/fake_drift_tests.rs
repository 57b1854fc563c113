use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::deploy::drift::{self, DriftOptions, DriftReport};
use crate::deploy::drift_api::PropertyDifference;
use crate::deploy::drift_status::{DifferenceKind, ReportedDrift, ResourceDriftState};
use crate::deploy::manifest::{Manifest, ManifestStack, Synthesis, Template};
use crate::deploy::plan::WaitOptions;
use crate::deploy::Progress;
use crate::render::manifest::ManifestPolicy;

const A: &str = "333333333333";
const BUCKET: &str = "acast-333333333333-eu-west-1-mesh";

fn template() -> Value {
    json!({"Resources": {
        "DataBucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": BUCKET}},
        "DataBucketPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
            "Bucket": {"Ref": "DataBucket"},
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Sid": "GrantedRead1", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444444444444:root"},
                 "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{BUCKET}/finance/payouts/v1/*")}]}}},
        "MeshKey": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": [
            {"Sid": "AccountAdministersKey", "Effect": "Allow", "Action": "kms:*", "Resource": "*",
             "Principal": {"AWS": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root"}}}]}}},
        "Reader": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "mesh-reader",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "arn:aws:iam::333333333333:root"}}]},
            "Policies": [{"PolicyName": "read", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Sid": "Decrypt", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": {"Fn::GetAtt": ["MeshKey", "Arn"]}}]}}]}}
    }})
}

fn catalog_policy() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Read", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444444444444:root"},
         "Action": ["glue:GetTable"], "Resource": ["arn:aws:glue:eu-west-1:333333333333:database/finance_payouts_v1"]}]})
}

fn synthesis() -> Synthesis {
    let t = template();
    let text = t.to_string();
    let stack = ManifestStack {
        name: "mesh-baseline".to_owned(),
        account: A.to_owned(),
        region: "eu-west-1".to_owned(),
        template: format!("{A}/mesh-baseline.template.json"),
        depends_on: Vec::new(),
        wave: 0,
        resources: 4,
        sha256: "0123456789abcdef".to_owned(),
        upload: None,
    };
    Synthesis {
        manifest: Manifest {
            format: 1,
            org: "acast".to_owned(),
            region: "eu-west-1".to_owned(),
            stacks: vec![stack],
            policies: vec![ManifestPolicy {
                account: A.to_owned(),
                file: format!("{A}/glue-resource-policy.json"),
                sha256: "0123456789abcdef".to_owned(),
            }],
        },
        templates: BTreeMap::from([((A.to_owned(), "mesh-baseline".to_owned()), Template { text, json: t })]),
        policies: BTreeMap::from([(A.to_owned(), catalog_policy().to_string())]),
    }
}

/// An account deployed exactly as synthesised.
fn deployed(polls: u32, detection: Detection) -> FakeDriftConnector {
    let c = FakeDriftConnector::new(&[A], polls);
    let t = template();
    let d = &c.drift[A];
    let resources = [
        ("DataBucket", BUCKET, "AWS::S3::Bucket"),
        ("DataBucketPolicy", "policy-id", "AWS::S3::BucketPolicy"),
        ("MeshKey", "key-1", "AWS::KMS::Key"),
        ("Reader", "mesh-reader", "AWS::IAM::Role"),
    ]
    .map(|(l, p, ty)| StackResource {
        logical_id: l.to_owned(),
        physical_id: p.to_owned(),
        resource_type: ty.to_owned(),
    });
    lock(&d.stacks).insert("mesh-baseline".to_owned(), (resources.to_vec(), Some(detection)));
    let bucket_policy = &t["Resources"]["DataBucketPolicy"]["Properties"]["PolicyDocument"];
    lock(&d.buckets).insert(BUCKET.to_owned(), Some(bucket_policy.to_string()));
    lock(&d.keys).insert(
        "key-1".to_owned(),
        json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "AccountAdministersKey", "Effect": "Allow", "Action": "kms:*", "Resource": "*",
             "Principal": {"AWS": "arn:aws:iam::333333333333:root"}}]})
        .to_string(),
    );
    let role = &t["Resources"]["Reader"]["Properties"];
    lock(&d.roles).insert(
        "mesh-reader".to_owned(),
        LiveRole {
            // IAM hands account principals back as written, in any order of keys.
            trust: role["AssumeRolePolicyDocument"].to_string(),
            inline: BTreeMap::from([(
                "read".to_owned(),
                json!({"Version": "2012-10-17", "Statement": [{"Sid": "Decrypt", "Effect": "Allow",
                    "Action": ["kms:Decrypt"], "Resource": "arn:aws:kms:eu-west-1:333333333333:key/key-1"}]})
                .to_string(),
            )]),
            managed: BTreeSet::new(),
        },
    );
    *lock(&c.base.accounts[A].glue.policy) = Some(catalog_policy().to_string());
    c
}

fn options() -> DriftOptions {
    DriftOptions {
        accounts: BTreeMap::from([(A.to_owned(), "billing".to_owned())]),
        region_override: None,
        concurrency: 4,
        wait: WaitOptions {
            timeout: Duration::from_secs(5),
            poll_initial: Duration::from_millis(1),
            poll_max: Duration::from_millis(2),
        },
    }
}

async fn check(c: &FakeDriftConnector) -> DriftReport {
    drift::check(c, &synthesis(), &options(), &Progress::hidden()).await
}

fn lines(report: &DriftReport) -> Vec<String> {
    crate::deploy::drift_render::render_text(report)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn an_account_as_synthesised_has_no_drift() {
    let c = deployed(2, Detection::InSync);
    let report = check(&c).await;
    assert!(!report.drifted(), "{report:#?}");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.summary.stacks_checked, 1);
    // bucket, key, role trust + 1 inline + managed, catalog
    assert_eq!(report.summary.documents_checked, 6);
    assert_eq!(
        lines(&report),
        vec!["No drift (1 stack checked in 1 account, 6 documents)."]
    );
    let log = lock(&c.drift[A].log).clone();
    // Polled until the detection finished: twice in progress, then complete.
    assert_eq!(
        log.iter()
            .filter(|l| l.starts_with("cloudformation:DescribeStackDriftDetectionStatus"))
            .count(),
        3
    );
}

#[tokio::test]
async fn a_drifted_stack_lists_its_modified_and_deleted_resources() {
    let drifts = vec![
        ResourceDrift {
            logical_id: "DataBucket".to_owned(),
            physical_id: BUCKET.to_owned(),
            resource_type: "AWS::S3::Bucket".to_owned(),
            status: ResourceDriftState::Modified,
            differences: vec![PropertyDifference {
                path: "/VersioningConfiguration/Status".to_owned(),
                kind: DifferenceKind::NotEqual,
                expected: Some("Enabled".to_owned()),
                actual: Some("Suspended".to_owned()),
            }],
        },
        ResourceDrift {
            logical_id: "Alias".to_owned(),
            physical_id: "alias/mesh".to_owned(),
            resource_type: "AWS::KMS::Alias".to_owned(),
            status: ResourceDriftState::Deleted,
            differences: Vec::new(),
        },
    ];
    let c = deployed(0, Detection::Drifted(drifts));
    let report = check(&c).await;
    assert!(report.drifted());
    assert_eq!(report.summary.stacks_drifted, 1);
    assert_eq!(
        lines(&report),
        vec![
            "account 333333333333 stack mesh-baseline: resource Alias (AWS::KMS::Alias) deleted outside CloudFormation",
            "account 333333333333 stack mesh-baseline: resource DataBucket (AWS::S3::Bucket) modified",
            "    /VersioningConfiguration/Status not equal: expected Enabled, actual Suspended",
            "",
            "Drift: 1 stack drifted, 0 documents with 0 statements added and 0 removed (1 stack checked in 1 account, 6 documents).",
        ]
    );
    let json: Value = serde_json::from_str(&crate::deploy::drift_render::render_json(&report)).expect("JSON");
    assert_eq!(json["stacks"][0]["status"], "DRIFTED");
    assert_eq!(
        json["stacks"][0]["resources"][1]["differences"][0]["actual"],
        "Suspended"
    );
}

#[tokio::test]
async fn a_failed_detection_is_an_error_not_a_clean_stack() {
    let c = deployed(
        1,
        Detection::Failed("Resource type AWS::Athena::WorkGroup is not supported".to_owned()),
    );
    let report = check(&c).await;
    assert!(!report.drifted());
    assert_eq!(
        report.errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>(),
        vec!["drift detection failed: Resource type AWS::Athena::WorkGroup is not supported"]
    );
}

#[tokio::test]
async fn no_drift_detection_at_the_endpoint_is_said_and_the_surface_still_checked() {
    let c = deployed(0, Detection::NotOffered);
    let report = check(&c).await;
    assert!(!report.drifted());
    assert!(report.errors.is_empty());
    assert_eq!(report.summary.stacks_not_checked, 1);
    assert_eq!(report.summary.documents_checked, 6);
}

#[tokio::test]
async fn throttled_calls_are_retried() {
    let c = deployed(1, Detection::InSync);
    c.drift[A].throttle_next.store(5, Ordering::SeqCst);
    let report = check(&c).await;
    assert!(!report.drifted() && report.errors.is_empty(), "{report:#?}");
    assert_eq!(c.drift[A].throttled.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn hand_made_statements_are_found_repaired_and_then_gone() {
    let c = deployed(0, Detection::InSync);
    let d = &c.drift[A];
    // A statement added to the bucket policy by hand, one taken from the key policy.
    let mut bucket: Value = serde_json::from_str(lock(&d.buckets)[BUCKET].as_deref().expect("a policy")).expect("JSON");
    bucket["Statement"].as_array_mut().expect("statements").push(json!(
        {"Sid": "ByHand", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
         "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{BUCKET}/*")}));
    lock(&d.buckets).insert(BUCKET.to_owned(), Some(bucket.to_string()));
    lock(&d.keys).insert(
        "key-1".to_owned(),
        json!({"Version": "2012-10-17", "Statement": []}).to_string(),
    );
    lock(&d.roles)
        .get_mut("mesh-reader")
        .expect("the role")
        .managed
        .insert("arn:aws:iam::aws:policy/AdministratorAccess".to_owned());
    *lock(&c.base.accounts[A].glue.policy) = None;

    let report = check(&c).await;
    assert_eq!(
        lines(&report),
        vec![
            "account 333333333333 Glue catalog policy: statement `Read` removed: Allow glue:GetTable to arn:aws:iam::444444444444:root on arn:aws:glue:eu-west-1:333333333333:database/finance_payouts_v1",
            "account 333333333333 KMS key MeshKey (key-1): statement `AccountAdministersKey` removed: Allow kms:* to arn:aws:iam::333333333333:root on *",
            "account 333333333333 bucket acast-333333333333-eu-west-1-mesh: statement `ByHand` added: Allow s3:GetObject to arn:aws:iam::999999999999:root on arn:aws:s3:::acast-333333333333-eu-west-1-mesh/*",
            "account 333333333333 role mesh-reader: managed policy arn:aws:iam::aws:policy/AdministratorAccess added",
            "",
            "Drift: 0 stacks drifted, 4 documents with 2 statements added and 2 removed (1 stack checked in 1 account, 6 documents).",
        ]
    );

    let repairs = crate::deploy::drift_repair::repair(&c, &synthesis(), &report, &options(), &Progress::hidden()).await;
    assert!(repairs.iter().all(|r| r.error.is_none()), "{repairs:?}");
    assert_eq!(repairs.len(), 4);
    let after = check(&c).await;
    assert!(!after.drifted(), "{:?}", lines(&after));
    assert!(lock(&d.log).iter().any(|l| l == "iam:DetachRolePolicy mesh-reader"));
}

#[tokio::test]
async fn a_stack_not_deployed_is_reported_and_its_surface_skipped() {
    let c = deployed(0, Detection::InSync);
    lock(&c.drift[A].stacks).clear();
    let report = check(&c).await;
    assert!(report.drifted());
    assert_eq!(report.stacks[0].status, ReportedDrift::NotDeployed);
    // Only the catalog policy could be compared.
    assert_eq!(report.summary.documents_checked, 1);
}

fn drifted_bucket() -> Detection {
    Detection::Drifted(vec![ResourceDrift {
        logical_id: "DataBucket".to_owned(),
        physical_id: BUCKET.to_owned(),
        resource_type: "AWS::S3::Bucket".to_owned(),
        status: ResourceDriftState::Modified,
        differences: Vec::new(),
    }])
}

#[tokio::test]
async fn a_drifted_stack_is_reverted_with_its_own_template() {
    let c = deployed(0, drifted_bucket());
    // Deployed from the same template, formatted differently: CloudFormation
    // makes a revert-drift change set of it.
    c.base
        .cfn(A)
        .deployed("mesh-baseline", &format!("{} ", template()), true);
    let report = check(&c).await;
    assert_eq!(report.summary.stacks_drifted, 1);
    let repairs = crate::deploy::drift_repair::repair(&c, &synthesis(), &report, &options(), &Progress::hidden()).await;
    assert_eq!(
        crate::deploy::drift_render::render_repairs(&repairs),
        "account 333333333333 stack mesh-baseline: repaired\n\nRepaired 1 of 1 finding.\n"
    );
    assert_eq!(
        c.base.cfn(A).status_of("mesh-baseline").as_deref(),
        Some("UPDATE_COMPLETE")
    );
    assert!(!check(&c).await.drifted());
}

#[tokio::test]
async fn drift_that_cloudformation_cannot_revert_is_a_failed_repair() {
    let c = deployed(0, drifted_bucket());
    c.base.cfn(A).deployed("mesh-baseline", &template().to_string(), true);
    let report = check(&c).await;
    let repairs = crate::deploy::drift_repair::repair(&c, &synthesis(), &report, &options(), &Progress::hidden()).await;
    assert_eq!(repairs.len(), 1);
    assert!(
        repairs[0]
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("CloudFormation has nothing to revert")),
        "{repairs:?}"
    );
}
