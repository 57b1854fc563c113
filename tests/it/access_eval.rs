//! Who can read what, judged from the rendered policies as AWS would judge them.
//!
//! `common::iam` evaluates the statements meshsynth generates; `common::mesh`
//! reads a synthesis's rendered files (bucket, key and Glue policies, roles,
//! permission sets). The checks here try every principal meshsynth creates,
//! every Identity Center role and an "admin" with broad rights in every
//! account against every product version, and compare the outcome with the
//! access decisions of the topology (`model::access::resolve`):
//! - a restricted live version: read (object, decryption, Glue tables, listing)
//!   by exactly its granted readers, by no other principal outside the
//!   producing account (admins included), and by none of the producing
//!   account's reader roles;
//! - an open live version: read by every principal of the org;
//! - a retired version: read by no reader role;
//! - a restricted reader's query results: read, listed and queried only by that
//!   reader's own principals.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use meshsynth::model::access::{resolve, Reader};
use meshsynth::model::{Access, AccessMode, Classification, ProductId, Topology, VersionStatus};
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::common;
use common::iam::{allowed, arn_like, glob, kms_allowed, Principal, Request};
use common::mesh::{LfColumns, LfResource, Mesh};
use common::org::{build, build_lf, lf_org_strategy, org_strategy, topology, TODAY};

// ---------------------------------------------------------------------------
// The evaluator itself, on hand-written statements.

const ORG: &str = "o-test";

fn role(account: &str, name: &str, statements: Value) -> Principal {
    Principal {
        arn: format!("arn:aws:iam::{account}:role/{name}"),
        account: account.to_owned(),
        policies: vec![json!({"Version": "2012-10-17", "Statement": statements})],
    }
}

fn get(resource: &str, account: &str) -> Request {
    Request::new("s3:GetObject", resource, account)
        .with("aws:PrincipalOrgID", ORG)
        .with("aws:ResourceOrgID", ORG)
        .with("aws:SecureTransport", "true")
}

fn policy(statements: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

const OBJ: &str = "arn:aws:s3:::b/data/x.parquet";

fn reads_all() -> Value {
    json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])
}

#[test]
fn wildcards_match_like_iam() {
    assert!(glob("arn:aws:s3:::b/*", OBJ));
    assert!(glob("arn:aws:s3:::?/data/*", OBJ));
    assert!(!glob("arn:aws:s3:::?/data/*", "arn:aws:s3:::bb/data/x"));
    assert!(!glob("arn:aws:s3:::b/other/*", OBJ));
    assert!(glob("*", ""));
    assert!(glob("a*b*c", "abxxbc"));
    assert!(!glob("a*b*c", "abxxbd"));
    let sso = "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_open_*";
    assert!(arn_like(
        sso,
        "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_open_ab12"
    ));
    assert!(!arn_like(
        sso,
        "arn:aws:iam::2:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_open_ab12"
    ));
    assert!(!arn_like(
        sso,
        "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_opener"
    ));
    // A wildcard in one ARN part does not reach across a colon into the next.
    assert!(!arn_like("arn:aws:iam::*", "arn:aws:iam::1:role/x"));
    assert!(arn_like("arn:aws:iam::*:role/x", "arn:aws:iam::1:role/x"));
}

#[test]
fn actions_are_case_insensitive_and_resources_are_not() {
    let p = role(
        "1",
        "r",
        json!([{"Effect": "Allow", "Action": "S3:get*", "Resource": "arn:aws:s3:::b/*"}]),
    );
    assert!(allowed(&p, &get(OBJ, "1"), None));
    let p = role(
        "1",
        "r",
        json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::B/*"}]),
    );
    assert!(!allowed(&p, &get(OBJ, "1"), None));
    let p = role(
        "1",
        "r",
        json!([{"Effect": "Allow", "Action": ["s3:ListBucket", "s3:PutObject"], "Resource": "*"}]),
    );
    assert!(!allowed(&p, &get(OBJ, "1"), None));
}

#[test]
fn an_explicit_deny_wins_over_any_allow() {
    let deny_in_identity = role(
        "1",
        "r",
        json!([
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/data/*"}
        ]),
    );
    assert!(!allowed(&deny_in_identity, &get(OBJ, "1"), None));
    let bucket_denies = policy(json!([
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*",
         "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::1:role/keeper"}}}
    ]));
    assert!(!allowed(
        &role("1", "r", reads_all()),
        &get(OBJ, "1"),
        Some(&bucket_denies)
    ));
    assert!(allowed(
        &role("1", "keeper", reads_all()),
        &get(OBJ, "1"),
        Some(&bucket_denies)
    ));
}

#[test]
fn same_account_needs_one_allow_and_cross_account_needs_both() {
    let nothing = role("1", "r", json!([]));
    let everything = role("1", "r", reads_all());
    let open_to_org = policy(json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}}}]));
    let to_root_of_1 = policy(json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]));
    // Same account (the bucket is in account 1).
    assert!(allowed(&everything, &get(OBJ, "1"), None), "identity alone");
    assert!(
        allowed(&nothing, &get(OBJ, "1"), Some(&open_to_org)),
        "bucket policy alone, to `*`"
    );
    assert!(
        !allowed(&nothing, &get(OBJ, "1"), Some(&to_root_of_1)),
        "the account root delegates to IAM"
    );
    assert!(allowed(&everything, &get(OBJ, "1"), Some(&to_root_of_1)));
    // Cross account (the bucket is in account 2).
    assert!(
        !allowed(&everything, &get(OBJ, "2"), None),
        "identity alone is not enough"
    );
    assert!(
        !allowed(&nothing, &get(OBJ, "2"), Some(&open_to_org)),
        "nor the bucket policy alone"
    );
    assert!(allowed(&everything, &get(OBJ, "2"), Some(&open_to_org)));
    assert!(allowed(&everything, &get(OBJ, "2"), Some(&to_root_of_1)));
    let to_root_of_3 = policy(
        json!([{"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::3:root", "4"]},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]),
    );
    assert!(!allowed(&everything, &get(OBJ, "2"), Some(&to_root_of_3)));
    assert!(
        allowed(&role("4", "r", reads_all()), &get(OBJ, "2"), Some(&to_root_of_3)),
        "a bare account id"
    );
}

#[test]
fn each_condition_operator() {
    let everything = role("1", "reader", reads_all());
    let other = role("1", "other", reads_all());
    let with = |condition: Value| {
        policy(
            json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "s3:*",
            "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], "Condition": condition}]),
        )
    };
    // StringEquals: exact, any of the values.
    let p = with(json!({"StringEquals": {"aws:PrincipalOrgID": ["o-else", ORG]}}));
    assert!(allowed(&everything, &get(OBJ, "2"), Some(&p)));
    let p = with(json!({"StringEquals": {"aws:PrincipalOrgID": "o-test*"}}));
    assert!(
        !allowed(&everything, &get(OBJ, "2"), Some(&p)),
        "no wildcards in StringEquals"
    );
    // StringLike with s3:prefix; absent on GetObject, so it does not hold there.
    let p = with(json!({"StringLike": {"s3:prefix": "data/*"}}));
    let list = |prefix: &str| {
        Request::new("s3:ListBucket", "arn:aws:s3:::b", "2")
            .with("aws:PrincipalOrgID", ORG)
            .with("s3:prefix", prefix)
    };
    assert!(allowed(&everything, &list("data/v1/"), Some(&p)));
    assert!(!allowed(&everything, &list("secret/"), Some(&p)));
    assert!(!allowed(&everything, &get(OBJ, "2"), Some(&p)));
    // ArnLike / ArnNotLike on aws:PrincipalArn.
    let p = with(json!({"ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::1:role/read*"]}}));
    assert!(allowed(&everything, &get(OBJ, "2"), Some(&p)));
    assert!(!allowed(&other, &get(OBJ, "2"), Some(&p)));
    let p = with(json!({"ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::1:role/read*", "arn:aws:iam::9:role/x"]}}));
    assert!(!allowed(&everything, &get(OBJ, "2"), Some(&p)));
    assert!(allowed(&other, &get(OBJ, "2"), Some(&p)));
    // Bool, written as a JSON bool or a string.
    for value in [json!(false), json!("false")] {
        let deny = policy(json!([
            {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*",
             "Condition": {"Bool": {"aws:SecureTransport": value}}}
        ]));
        assert!(allowed(&everything, &get(OBJ, "2"), Some(&deny)));
        let plain = get(OBJ, "2").with("aws:SecureTransport", "false");
        assert!(!allowed(&everything, &plain, Some(&deny)));
    }
    // Two operators and two keys: all must hold.
    let p = with(json!({"StringEquals": {"aws:PrincipalOrgID": ORG, "aws:ResourceOrgID": "o-else"}}));
    assert!(!allowed(&everything, &get(OBJ, "2"), Some(&p)));
    let p = with(
        json!({"StringEquals": {"aws:PrincipalOrgID": ORG}, "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::1:role/nope"}}),
    );
    assert!(!allowed(&everything, &get(OBJ, "2"), Some(&p)));
}

#[test]
fn kms_needs_the_key_policy_and_its_root_statement_delegates_to_iam() {
    let key = "arn:aws:kms:eu-west-1:1:key/k";
    let decrypt = |account: &str| {
        Request::new("kms:Decrypt", key, "1")
            .with("kms:ViaService", "s3.eu-west-1.amazonaws.com")
            .with("aws:PrincipalOrgID", ORG)
            .with("aws:ResourceOrgID", ORG)
            .with("aws:PrincipalAccount", account)
    };
    let admin_only = policy(
        json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "kms:*", "Resource": "*"}]),
    );
    let can = role(
        "1",
        "r",
        json!([{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]),
    );
    let cannot = role("1", "r", json!([]));
    assert!(
        kms_allowed(&can, &decrypt("1"), &admin_only),
        "root statement + IAM allow"
    );
    assert!(
        !kms_allowed(&cannot, &decrypt("1"), &admin_only),
        "root statement alone"
    );
    let outsider = role(
        "2",
        "r",
        json!([{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]),
    );
    assert!(
        !kms_allowed(&outsider, &decrypt("2"), &admin_only),
        "another account's IAM rights alone"
    );
    let org_via_s3 = policy(json!([
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG, "kms:ViaService": "s3.eu-west-1.amazonaws.com"}}}
    ]));
    assert!(kms_allowed(&outsider, &decrypt("2"), &org_via_s3));
    let direct = Request::new("kms:Decrypt", key, "1").with("aws:PrincipalOrgID", ORG);
    assert!(!kms_allowed(&outsider, &direct, &org_via_s3), "not through S3");
    assert!(
        !kms_allowed(&role("2", "r", json!([])), &decrypt("2"), &org_via_s3),
        "no IAM allow across accounts"
    );
}

#[test]
fn intrinsics_and_managed_policies_are_read_from_the_template() {
    let template = json!({"Resources": {
        "MeshKey": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root"}}, "Action": "kms:*", "Resource": "*"}]}}},
        "DataBucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "b",
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"KMSMasterKeyID": {"Fn::GetAtt": ["MeshKey", "Arn"]}}}]}}},
        "DataBucketPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": {"Ref": "DataBucket"},
            "PolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": {"Fn::Sub": "arn:aws:s3:::${DataBucket}/*"},
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}}}]}}},
        "Extra": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {"Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "kms:Decrypt"], "Resource": "*"}]}}},
        "Reader": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "reader", "Path": "/team/",
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [{"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"}]}}],
            "ManagedPolicyArns": [{"Ref": "Extra"}]}}
    }});
    let bytes = serde_json::to_vec(&template).expect("json");
    let mesh = Mesh::read(
        [("111111111111/mesh-baseline.template.json", bytes.as_slice())],
        ORG,
        "eu-west-1",
    );
    let reader = mesh
        .principal("arn:aws:iam::111111111111:role/team/reader")
        .expect("the role, under its path");
    assert_eq!(reader.policies.len(), 2, "inline and managed");
    assert!(
        mesh.can_read_object(&reader, "b", "x"),
        "same account: IAM and the key's root statement"
    );
    let outsider = mesh.admin("222222222222");
    assert!(mesh.can_get_object(&outsider, "b", "x"), "the org statement");
    assert!(
        !mesh.can_decrypt_via_s3(&outsider, "b"),
        "the key policy names no one else"
    );
}

// ---------------------------------------------------------------------------
// Access of whole syntheses.

/// Renders a topology and reads the rendered files.
fn synthesise(t: &Topology) -> Mesh {
    synthesise_with(t, None)
}

/// Renders a topology with blueprint overrides (`--blueprints DIR`) and reads the rendered files.
fn synthesise_with(t: &Topology, blueprints: Option<&Path>) -> Mesh {
    let mut synthesis = meshsynth::synth::plan(t).expect("plans");
    let blueprints = meshsynth::render::Blueprints::new(blueprints).expect("blueprints");
    let files = meshsynth::render::render(&blueprints, &mut synthesis).expect("renders");
    Mesh::read(
        files.iter().map(|f| (f.path.as_str(), f.bytes.as_slice())),
        &t.org.organization_id,
        &t.org.region,
    )
}

/// Where one product version lives.
struct Version {
    bucket: String,
    object: String,
    prefix: String,
    account: String,
    database: String,
    tables: Vec<String>,
}

fn version(t: &Topology, id: &ProductId, v: u32) -> Version {
    let p = &t.products[id];
    let prefix = format!("{}/{}/v{v}/", id.domain, id.name);
    Version {
        bucket: format!("{}-{}-{}-mesh", t.org.name, p.account, t.org.region),
        object: format!(
            "{prefix}{}/part-00000.parquet",
            p.versions[&v].tables.first().map_or("t", |t| &t.name)
        ),
        prefix,
        account: p.account.to_string(),
        database: format!("{}_{}_v{v}", id.domain.replace('-', "_"), id.name.replace('-', "_")),
        tables: p.versions[&v].tables.iter().map(|t| t.name.clone()).collect(),
    }
}

/// Reads the whole version: an object (with its key), the listing, every table.
fn reads_all_of(m: &Mesh, p: &Principal, v: &Version) -> bool {
    m.can_read_object(p, &v.bucket, &v.object)
        && m.can_list(p, &v.bucket, &v.prefix)
        && v.tables.iter().all(|t| m.can_get_table(p, &v.account, &v.database, t))
}

/// Reads any part of the version (an object, the listing or a table). Decryption is left
/// out on purpose: a key grant alone reads nothing, and the data key of an open version
/// is shared with the restricted ones of the same bucket.
fn reads_any_of(m: &Mesh, p: &Principal, v: &Version) -> bool {
    m.can_get_object(p, &v.bucket, &v.object)
        || m.can_list(p, &v.bucket, &v.prefix)
        || v.tables.iter().any(|t| m.can_get_table(p, &v.account, &v.database, t))
}

fn service_reader_arn(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/mesh-service-{name}")
}

fn group_arns(m: &Mesh, central: &str, group: &str) -> Vec<String> {
    vec![
        format!("arn:aws:iam::{central}:role/mesh-group-{group}"),
        m.sso_role_arn(central, group),
    ]
}

/// Every check of the module docs; the failures, one line each.
fn check(t: &Topology, m: &Mesh) -> Vec<String> {
    let mut failures = Vec::new();
    let central = t.org.central_account.to_string();
    let resolution = resolve(t);
    let principals = m.principals();
    let reader_roles: BTreeSet<&str> = m
        .roles
        .keys()
        .map(String::as_str)
        .chain(
            principals
                .iter()
                .filter(|p| p.arn.contains("AWSReservedSSO_"))
                .map(|p| p.arn.as_str()),
        )
        .collect();
    // Granted readers of each restricted version, as principal ARNs.
    let mut granted: BTreeMap<(ProductId, u32), BTreeSet<String>> = BTreeMap::new();
    for (reader, pv) in resolution.through.keys() {
        let arns = match reader {
            Reader::Service { account, name } => vec![service_reader_arn(account.as_str(), name)],
            Reader::Group(g) => group_arns(m, &central, g),
        };
        granted.entry(pv.clone()).or_default().extend(arns);
    }
    for arns in granted.values() {
        for arn in arns {
            if !principals.iter().any(|p| &p.arn == arn) {
                failures.push(format!("granted reader {arn} is not in the synthesis"));
            }
        }
    }
    for (id, p) in &t.products {
        for (n, ver) in &p.versions {
            let v = version(t, id, *n);
            let live = ver.status != VersionStatus::Retired;
            let label = format!(
                "{id}@{n} ({})",
                if live { p.classification.as_str() } else { "retired" }
            );
            let expected = granted.get(&(id.clone(), *n)).cloned().unwrap_or_default();
            for who in &principals {
                let in_producer = who.account == v.account;
                let is_reader = reader_roles.contains(who.arn.as_str());
                if !live {
                    if is_reader && reads_any_of(m, who, &v) {
                        failures.push(format!("{} reads retired {label}", who.arn));
                    }
                } else if p.classification == Classification::Open {
                    if !reads_all_of(m, who, &v) {
                        failures.push(format!("{} does not read {label}", who.arn));
                    }
                } else if expected.contains(&who.arn) {
                    if !reads_all_of(m, who, &v) {
                        failures.push(format!("granted {} does not read {label}", who.arn));
                    }
                } else if (!in_producer || is_reader) && reads_any_of(m, who, &v) {
                    failures.push(format!("{} reads {label} without a grant", who.arn));
                }
            }
        }
    }
    // Query results of restricted readers: (account, workgroup, its principals).
    let mut private: Vec<(String, String, Vec<String>)> = Vec::new();
    for r in t.service_roles.iter().filter(|r| r.access == Access::Restricted) {
        let account = r.account.to_string();
        private.push((
            account.clone(),
            format!("mesh-service.{}", r.name),
            vec![service_reader_arn(&account, &r.name)],
        ));
    }
    for g in t.access_groups.values().filter(|g| g.access == Access::Restricted) {
        private.push((
            central.clone(),
            format!("mesh-{}", g.name),
            group_arns(m, &central, &g.name),
        ));
    }
    let open_only: BTreeSet<String> = t
        .service_roles
        .iter()
        // The central account's open service roles assume `mesh-reader-open`.
        .filter(|r| r.access == Access::Open && r.account != t.org.central_account)
        .map(|r| service_reader_arn(r.account.as_str(), &r.name))
        .chain([
            format!("arn:aws:iam::{central}:role/mesh-reader-open"),
            m.sso_role_arn(&central, "open"),
        ])
        .collect();
    for (account, workgroup, own) in &private {
        let Some(location) = m.workgroups.get(&(account.clone(), workgroup.clone())) else {
            failures.push(format!("no workgroup {workgroup} in account {account}"));
            continue;
        };
        let Some((bucket, prefix)) = location.strip_prefix("s3://").and_then(|l| l.split_once('/')) else {
            failures.push(format!("workgroup {workgroup} writes to {location}"));
            continue;
        };
        if prefix != format!("athena-results/{workgroup}/") {
            failures.push(format!(
                "workgroup {workgroup} writes to {location}, not its own prefix"
            ));
        }
        let object = format!("{prefix}query-1.csv");
        for who in &principals {
            let reads = m.can_get_object(who, bucket, &object);
            let lists = m.can_list(who, bucket, prefix);
            let queries = m.can_start_query(who, account, workgroup);
            if own.contains(&who.arn) {
                if !(reads && lists && queries && m.can_decrypt_via_s3(who, bucket)) {
                    failures.push(format!(
                        "{} cannot use its own workgroup {workgroup} (read {reads}, list {lists}, query {queries})",
                        who.arn
                    ));
                }
            } else if reads || lists || queries {
                let kind = if open_only.contains(&who.arn) { "open-only " } else { "" };
                failures.push(format!(
                    "{kind}{} reaches the results of {workgroup} in {account} (read {reads}, list {lists}, query {queries})",
                    who.arn
                ));
            }
        }
    }
    failures
}

fn assert_no_failures(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} access failures:\n{}",
        failures.len(),
        failures.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}

proptest! {
    // Each case synthesises a whole org and evaluates every principal against every
    // version; 64 cases take a few seconds on 2 cores.
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"))), ..ProptestConfig::default() })]

    #[test]
    fn generated_orgs_grant_exactly_what_their_grants_say(spec in org_strategy(6)) {
        let (org, teams, _) = build(&spec);
        let t = topology(&org, &teams);
        let m = synthesise(&t);
        let failures = check(&t, &m);
        prop_assert!(failures.is_empty(), "{} access failures:\n{}", failures.len(), failures.iter().take(40).cloned().collect::<Vec<_>>().join("\n"));
    }
}

/// The example org, judged on the day its grants are written for.
fn example() -> (Topology, Mesh) {
    let (mut t, _) = meshsynth::validate::read_topology(&Path::new(env!("CARGO_MANIFEST_DIR")).join("accounts"))
        .expect("the example org is valid");
    t.today = meshsynth::model::date::Date::parse(TODAY).expect("a date");
    let m = synthesise(&t);
    (t, m)
}

fn pid(s: &str) -> ProductId {
    ProductId::parse(s).expect("a product id")
}

#[test]
fn the_example_org_grants_exactly_what_its_grants_say() {
    let (t, m) = example();
    assert_no_failures(&check(&t, &m));
}

#[test]
fn the_example_org_named_readers() {
    let (t, m) = example();
    let central = "307870227078";
    let insights = "689856076538";
    let who = |arn: &str| {
        m.principal(arn)
            .unwrap_or_else(|| panic!("{arn} is not in the synthesis"))
    };
    let payouts_v1 = version(&t, &pid("finance.payouts"), 1);
    let dbt = who(&service_reader_arn(central, "dbt-runner"));
    assert!(
        reads_all_of(&m, &dbt, &payouts_v1),
        "dbt-runner's reader role reads finance.payouts v1"
    );
    assert!(m.can_decrypt_via_s3(&dbt, &payouts_v1.bucket));
    for open in [
        format!("arn:aws:iam::{central}:role/mesh-reader-open"),
        m.sso_role_arn(central, "open"),
        m.admin(central).arn,
    ] {
        assert!(
            !reads_any_of(&m, &who(&open), &payouts_v1),
            "{open} reads finance.payouts v1"
        );
    }
    // finance-analysts: granted v1 of payouts, by its role and its Identity Center roles.
    for arn in group_arns(&m, central, "finance-analysts") {
        assert!(reads_all_of(&m, &who(&arn), &payouts_v1), "{arn}");
    }
    // insights asks for finance.payouts@1 and has no grant: its reader role reads nothing of it.
    assert!(
        resolve(&t).pending.iter().any(|p| p.product == pid("finance.payouts")
            && p.version == Some(1)
            && matches!(&p.requester, meshsynth::model::access::Requester::Account(a) if a.as_str() == insights)),
        "insights' request for finance.payouts@1 is pending"
    );
    let revenue_index = who(&service_reader_arn(insights, "revenue-index"));
    assert!(
        !reads_any_of(&m, &revenue_index, &payouts_v1),
        "a pending request reads nothing"
    );
    // It reads ad-revenue v1 (granted to its account, version 1 only), not v2.
    assert!(reads_all_of(
        &m,
        &revenue_index,
        &version(&t, &pid("finance.ad-revenue"), 1)
    ));
    assert!(!reads_any_of(
        &m,
        &revenue_index,
        &version(&t, &pid("finance.ad-revenue"), 2)
    ));
    // An open product: everyone, admins of other accounts included.
    let open = t
        .products
        .values()
        .find(|p| p.classification == Classification::Open)
        .expect("an open product");
    let (n, _) = open
        .versions
        .iter()
        .find(|(_, v)| v.status == VersionStatus::Active)
        .expect("an active version");
    let open_v = version(&t, &open.id, *n);
    assert!(reads_all_of(&m, &m.admin(insights), &open_v));
    assert!(reads_all_of(&m, &who(&m.sso_role_arn(central, "open")), &open_v));
    // The results of dbt-runner's workgroup are closed to the open reader.
    let staging = format!("acast-{central}-eu-west-1-staging");
    let results = "athena-results/mesh-service.dbt-runner/";
    assert!(m.can_read_object(&dbt, &staging, &format!("{results}q.csv")));
    let open_reader = who(&format!("arn:aws:iam::{central}:role/mesh-reader-open"));
    assert!(!m.can_get_object(&open_reader, &staging, &format!("{results}q.csv")));
    assert!(!m.can_list(&open_reader, &staging, results));
    assert!(!m.can_get_object(&m.admin(central), &staging, &format!("{results}q.csv")));
}

/// The first `n` values of a strategy, the same on every run.
fn samples<S: Strategy>(strategy: S, n: usize) -> Vec<S::Value> {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).expect("a value").current())
        .collect()
}

/// The generator reaches every kind of access the property test is about, so a pass means
/// something: granted service roles and groups, pending requests, narrowed and expired grants.
#[test]
fn generated_orgs_cover_every_kind_of_access() {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for spec in samples(org_strategy(6), 64) {
        let (org, teams, _) = build(&spec);
        let t = topology(&org, &teams);
        let r = resolve(&t);
        let mut count = |what, n: usize| *seen.entry(what).or_default() += n;
        count("service role reads", r.service.values().map(BTreeSet::len).sum());
        count("group reads", r.groups.values().map(BTreeSet::len).sum());
        count("pending requests", r.pending.len());
        let grants = || t.products.values().flat_map(|p| &p.grants);
        count("expired grants", grants().filter(|g| !g.is_live(t.today)).count());
        count("grants naming roles", grants().filter(|g| !g.roles.is_empty()).count());
        count(
            "grants naming versions",
            grants().filter(|g| g.versions.is_some()).count(),
        );
        count(
            "retired versions",
            t.products
                .values()
                .flat_map(|p| p.versions.values())
                .filter(|v| v.status == VersionStatus::Retired)
                .count(),
        );
    }
    for (what, n) in &seen {
        assert!(*n > 0, "64 generated orgs have no {what}: {seen:?}");
    }
    assert_eq!(seen.len(), 7);
}

/// The checks read what is rendered: a house blueprint that replaces the staging bucket's
/// policy by a TLS-only one (dropping the private-results denies) is caught.
#[test]
fn a_blueprint_that_drops_the_private_results_denies_is_caught() {
    let (t, _) = example();
    let dir = tempfile::tempdir().expect("a temp dir");
    let baseline = include_str!("../../blueprints/baseline.json.hbs");
    let tls_only = r#"{"Version": "2012-10-17", "Statement": [{"Sid": "DenyInsecureTransport", "Effect": "Deny",
        "Principal": "*", "Action": "s3:*", "Resource": [{{json (concat "arn:aws:s3:::" staging_bucket)}},
        {{json (concat "arn:aws:s3:::" staging_bucket "/*")}}], "Condition": {"Bool": {"aws:SecureTransport": false}}}]}"#;
    let edited = baseline.replace("{{json staging_bucket_policy}}", tls_only);
    assert_ne!(
        edited, baseline,
        "the baseline blueprint places the staging bucket policy"
    );
    std::fs::write(dir.path().join("baseline.json.hbs"), edited).expect("write the override");
    let m = synthesise_with(&t, Some(dir.path()));
    let failures = check(&t, &m);
    let admin = "arn:aws:iam::307870227078:role/admin reaches the results of mesh-finance-analysts in 307870227078";
    assert!(failures.iter().any(|f| f.starts_with(admin)), "{failures:#?}");
    assert!(
        failures.iter().all(|f| f.contains("reaches the results of")),
        "{failures:#?}"
    );
}

// ---------------------------------------------------------------------------
// Access mode lakeformation: who reads which column, from the Lake Formation
// permissions, resource links, data lake settings and registered locations as
// rendered (`Mesh::lf_select`).

/// The reader roles the topology lets read each live version in lakeformation mode, with
/// whether they read its sensitive columns: open versions to every reader role of an
/// account that consumes them (every service role's) and of the central account
/// (`mesh-reader-open`, restricted groups' and restricted service roles' roles),
/// restricted ones to their granted readers (sensitive columns with `columns: all`).
/// Readers in the producing account are left out: nothing is linked there.
fn lf_expected(t: &Topology) -> BTreeMap<(ProductId, u32), BTreeMap<String, bool>> {
    let central = t.org.central_account.to_string();
    let central_readers: Vec<String> = std::iter::once(format!("arn:aws:iam::{central}:role/mesh-reader-open"))
        .chain(
            t.access_groups
                .values()
                .filter(|g| g.access == Access::Restricted)
                .map(|g| format!("arn:aws:iam::{central}:role/mesh-group-{}", g.name)),
        )
        .chain(
            t.service_roles
                .iter()
                .filter(|r| r.account.as_str() == central && r.access == Access::Restricted)
                .map(|r| service_reader_arn(&central, &r.name)),
        )
        .collect();
    let resolution = resolve(t);
    let mut out: BTreeMap<(ProductId, u32), BTreeMap<String, bool>> = BTreeMap::new();
    for (id, p) in &t.products {
        for (n, v) in &p.versions {
            let entry = out.entry((id.clone(), *n)).or_default();
            if v.status == VersionStatus::Retired {
                continue;
            }
            if p.classification == Classification::Open {
                for r in &central_readers {
                    entry.insert(r.clone(), false);
                }
                for c in t.consumes.iter().filter(|c| c.product == *id && c.version == *n) {
                    if c.account == t.org.central_account {
                        continue;
                    }
                    for r in t.service_roles.iter().filter(|r| r.account == c.account) {
                        entry.insert(service_reader_arn(r.account.as_str(), &r.name), false);
                    }
                }
            } else {
                for ((reader, pv), i) in &resolution.through {
                    if pv.0 != *id || pv.1 != *n {
                        continue;
                    }
                    let (account, arn) = match reader {
                        Reader::Service { account, name } => {
                            (account.to_string(), service_reader_arn(account.as_str(), name))
                        }
                        Reader::Group(g) => (central.clone(), format!("arn:aws:iam::{central}:role/mesh-group-{g}")),
                    };
                    if account != p.account.as_str() {
                        entry.insert(arn, p.grants[*i].all_columns);
                    }
                }
            }
            entry.retain(|arn, _| !arn.starts_with(&format!("arn:aws:iam::{}:", p.account)));
        }
    }
    out
}

/// Every lakeformation-mode check; the failures, one line each:
/// - every account that grants has the deploy role as data lake administrator,
///   `CROSS_ACCOUNT_VERSION` 4 (organisation-wide grants need version 3 or later) and no
///   default permissions for new databases and tables (else `IAMAllowedPrincipals` gets
///   them, and IAM alone decides who reads);
/// - an organisation-wide grant names only open live versions and never a sensitive column;
/// - no principal outside the producing account reads a version's objects, listing or
///   tables through IAM and resource policies alone;
/// - each column of each live version is read through Lake Formation by exactly the reader
///   roles of `lf_expected` (sensitive ones only with `columns: all`), each through a
///   resource link in its own account, and no column of a retired version by anyone.
fn check_lf(t: &Topology, m: &Mesh) -> Vec<String> {
    check_lf_paths(t, m, false)
}

/// `check_lf`; with `iam_paths` (`keep_iam_paths`), reads through the iam mode's paths are
/// expected beside Lake Formation's, and `check` judges those.
fn check_lf_paths(t: &Topology, m: &Mesh, iam_paths: bool) -> Vec<String> {
    let mut failures = Vec::new();
    let deploy_role = t.org.deploy_role.as_str();
    let grantors: BTreeSet<&str> = m.lf.grants.iter().map(|g| g.grantor.as_str()).collect();
    for a in grantors {
        if !m.lf_admin_grants(a, deploy_role) {
            failures.push(format!(
                "account {a} grants, but its deploy role is no data lake administrator"
            ));
        }
        if m.lf.cross_account_version.get(a).map(String::as_str) != Some("4") {
            failures.push(format!("account {a} does not set CROSS_ACCOUNT_VERSION 4"));
        }
        if m.lf.iam_defaults.contains(a) {
            failures.push(format!(
                "account {a} gives new databases or tables default permissions (IAMAllowedPrincipals)"
            ));
        }
    }
    // (producer account, database, table) → (sensitive columns, open and live).
    let mut tables: BTreeMap<(String, String, String), (BTreeSet<String>, bool)> = BTreeMap::new();
    for (id, p) in &t.products {
        for (n, v) in &p.versions {
            let db = version(t, id, *n).database;
            let open_live = p.classification == Classification::Open && v.status != VersionStatus::Retired;
            for table in &v.tables {
                let sensitive = table
                    .columns
                    .iter()
                    .filter(|c| c.sensitive)
                    .map(|c| c.name.clone())
                    .collect();
                tables.insert(
                    (p.account.to_string(), db.clone(), table.name.clone()),
                    (sensitive, open_live),
                );
            }
        }
    }
    for g in
        m.lf.grants
            .iter()
            .filter(|g| g.principal.starts_with("arn:aws:organizations::"))
    {
        if let LfResource::Database { catalog, name } = &g.resource {
            if !tables
                .iter()
                .any(|((c, d, _), (_, open))| c == catalog && d == name && *open)
            {
                failures.push(format!(
                    "the organisation is granted database {catalog}/{name}, not an open live version"
                ));
            }
        }
        for ((c, d, name), (sensitive, open)) in &tables {
            let Some(columns) = g.resource.columns_of(c, d, name) else {
                continue;
            };
            if !open {
                failures.push(format!(
                    "the organisation is granted {c}/{d}.{name}, not an open live version"
                ));
            }
            for col in sensitive.iter().filter(|col| columns.covers(col)) {
                failures.push(format!(
                    "the organisation is granted sensitive column {c}/{d}.{name}.{col}"
                ));
            }
        }
    }
    // A grant of an account on another's table must be within what the account holds with
    // grant option (Lake Formation refuses the rest, failing the deploy).
    for g in &m.lf.grants {
        for ((c, d, name), cols) in &m.columns {
            if *c == g.grantor {
                continue;
            }
            let Some(columns) = g.resource.columns_of(c, d, name) else {
                continue;
            };
            for col in cols.iter().filter(|col| columns.covers(col)) {
                for perm in &g.permissions {
                    let held = m.lf.grants.iter().any(|s| {
                        s.grantor == *c
                            && (s.principal == g.grantor
                                || s.principal
                                    .ends_with(&format!(":organization/{}", t.org.organization_id)))
                            && s.grantable.contains(perm)
                            && s.resource.columns_of(c, d, name).is_some_and(|x| x.covers(col))
                    });
                    if !held {
                        failures.push(format!(
                            "account {} grants {} {perm} on {c}/{d}.{name}.{col}, which it does not hold with grant option",
                            g.grantor, g.principal
                        ));
                    }
                }
            }
        }
    }
    let expected = lf_expected(t);
    let principals = m.principals();
    for (id, p) in &t.products {
        for (n, ver) in &p.versions {
            let v = version(t, id, *n);
            let readers = &expected[&(id.clone(), *n)];
            let label = format!("{id}@{n}");
            for who in &principals {
                if !iam_paths && who.account != v.account && reads_any_of(m, who, &v) {
                    failures.push(format!("{} reads {label} outside Lake Formation", who.arn));
                }
                let want = readers.get(&who.arn);
                for table in &ver.tables {
                    let columns = m
                        .columns
                        .get(&(v.account.clone(), v.database.clone(), table.name.clone()))
                        .cloned()
                        .unwrap_or_default();
                    for col in &columns {
                        let sensitive = table.columns.iter().any(|c| &c.name == col && c.sensitive);
                        let should = want.is_some_and(|all| !sensitive || *all);
                        let path =
                            m.lf_select(who, deploy_role, &v.bucket, (&v.account, &v.database, &table.name, col));
                        match (&path, should) {
                            (Some(path), true) if who.account != v.account && path.link.is_none() => failures.push(
                                format!("{} reads {label} {}.{col} without a resource link", who.arn, table.name),
                            ),
                            (Some(_), false) => failures.push(format!(
                                "{} reads {label} {}.{col}{} without a grant",
                                who.arn,
                                table.name,
                                if sensitive { " (sensitive)" } else { "" }
                            )),
                            (None, true) => failures.push(format!(
                                "granted {} does not read {label} {}.{col}",
                                who.arn, table.name
                            )),
                            _ => {}
                        }
                    }
                }
            }
            for arn in readers.keys() {
                if !principals.iter().any(|p| &p.arn == arn) {
                    failures.push(format!("reader {arn} of {label} is not in the synthesis"));
                }
            }
        }
    }
    failures
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn generated_lakeformation_orgs_grant_exactly_what_their_grants_say(spec in lf_org_strategy(6)) {
        let (org, teams, _) = build_lf(&spec);
        let t = topology(&org, &teams);
        prop_assert_eq!(t.org.access_mode, AccessMode::LakeFormation);
        let m = synthesise(&t);
        let failures = check_lf(&t, &m);
        prop_assert!(failures.is_empty(), "{} access failures:\n{}", failures.len(), failures.iter().take(40).cloned().collect::<Vec<_>>().join("\n"));
    }
}

/// The example org switched to lakeformation, with a sensitive column in an open product's
/// active version: the topology, that version and the (table, column).
fn example_lf() -> (Topology, ProductId, u32, String, String) {
    let (mut t, _) = example();
    t.org.access_mode = AccessMode::LakeFormation;
    let open = t
        .products
        .values_mut()
        .find(|p| {
            p.classification == Classification::Open && p.versions.values().any(|v| v.status == VersionStatus::Active)
        })
        .expect("an open product");
    let id = open.id.clone();
    let (n, v) = open
        .versions
        .iter_mut()
        .find(|(_, v)| v.status == VersionStatus::Active)
        .expect("an active version");
    let n = *n;
    let table = v.tables.first_mut().expect("a table");
    let column = table.columns.first_mut().expect("a column");
    column.sensitive = true;
    let (table, column) = (table.name.clone(), column.name.clone());
    (t, id, n, table, column)
}

#[test]
fn the_example_org_in_lakeformation_mode() {
    let (t, id, n, table, column) = example_lf();
    let m = synthesise(&t);
    assert_no_failures(&check_lf(&t, &m));
    // The open reader of the central account reads the table, but not the sensitive column.
    let central = t.org.central_account.to_string();
    let reader = m
        .principal(&format!("arn:aws:iam::{central}:role/mesh-reader-open"))
        .expect("the open reader");
    let ver = version(&t, &id, n);
    let other = m.columns[&(ver.account.clone(), ver.database.clone(), table.clone())]
        .iter()
        .find(|c| **c != column)
        .expect("another column")
        .clone();
    let at = |col: &str| {
        m.lf_select(
            &reader,
            &t.org.deploy_role,
            &ver.bucket,
            (&ver.account, &ver.database, &table, col),
        )
    };
    let path = at(&other).expect("the open reader reads the table");
    assert_eq!(path.link.as_deref(), Some(ver.database.as_str()));
    assert!(path
        .shared_to
        .as_deref()
        .is_some_and(|s| s.starts_with("arn:aws:organizations::")));
    assert_eq!(at(&column), None, "the sensitive column is hidden");
    // Without the data lake settings, no grant of the account can be made.
    let mut broken = synthesise(&t);
    broken.lf.admins.remove(&central);
    let failures = check_lf(&t, &broken);
    assert!(
        failures.contains(&format!(
            "account {central} grants, but its deploy role is no data lake administrator"
        )),
        "{failures:#?}"
    );
    assert!(
        failures.iter().any(|f| f.starts_with(&format!(
            "granted arn:aws:iam::{central}:role/mesh-reader-open does not read"
        ))),
        "{failures:#?}"
    );
    // An org-wide grant that forgets the exclusion is caught.
    let mut leaky = synthesise(&t);
    for g in &mut leaky.lf.grants {
        if let LfResource::Table { columns, .. } = &mut g.resource {
            if g.principal.starts_with("arn:aws:organizations::") {
                *columns = LfColumns::All;
            }
        }
    }
    let failures = check_lf(&t, &leaky);
    assert!(
        failures
            .iter()
            .any(|f| f.starts_with("the organisation is granted sensitive column")
                && f.ends_with(&format!(".{table}.{column}"))),
        "{failures:#?}"
    );
    // And so is an account's grant to its reader that forgets it, as a read without a grant.
    for g in &mut leaky.lf.grants {
        if let LfResource::Table { columns, .. } = &mut g.resource {
            if g.principal == reader.arn {
                *columns = LfColumns::All;
            }
        }
    }
    let failures = check_lf(&t, &leaky);
    assert!(
        failures.contains(&format!(
            "{} reads {id}@{n} {table}.{column} (sensitive) without a grant",
            reader.arn
        )),
        "{failures:#?}"
    );
}

/// The example org in the transition (`keep_iam_paths`): both paths at once, each judged by
/// its own checks — every iam-mode read as in access mode iam, every Lake Formation read as
/// in access mode lakeformation.
#[test]
fn the_example_org_in_transition_reads_through_both_paths() {
    let (t, _) = example();
    let (transition, _) = switch_of(&t);
    let mut m = synthesise(&transition);
    // Lake Formation's own data-location role (trusted by the service only) is no reader.
    m.roles.retain(|arn, _| !arn.contains(":role/mesh-lakeformation-"));
    assert_no_failures(&check(&transition, &m));
    assert_no_failures(&check_lf_paths(&transition, &m, true));
    // The catalog policies stay, and let AWS RAM share for Lake Formation's grants.
    let central_reader = format!("arn:aws:iam::{}:role/mesh-reader-open", t.org.central_account);
    assert!(m.principal(&central_reader).is_some());
    assert!(!m.glue_policies.is_empty());
    for (account, policy) in &m.glue_policies {
        let ram = policy["Statement"]
            .as_array()
            .expect("statements")
            .iter()
            .find(|s| s["Sid"] == "RamSharesForLakeFormation")
            .unwrap_or_else(|| panic!("the catalog policy of {account} lets RAM share"));
        assert_eq!(ram["Principal"], json!({"Service": "ram.amazonaws.com"}));
        assert_eq!(ram["Action"], "glue:ShareResource");
    }
}

/// House blueprints that forget the excluded columns are caught: the producer's
/// organisation-wide grant then shares the sensitive column, and an account's grant to its
/// readers asks for a column the account does not hold.
#[test]
fn blueprints_that_drop_the_column_exclusions_are_caught() {
    let (t, id, n, table, column) = example_lf();
    let v = version(&t, &id, n);
    let central = t.org.central_account.to_string();
    let drop = |file: &str, text: &str| {
        let dir = tempfile::tempdir().expect("a temp dir");
        let edited = text.replace(
            r#""ExcludedColumnNames": {{json excluded}}"#,
            r#""ExcludedColumnNames": []"#,
        );
        assert_ne!(edited, text, "{file} excludes columns");
        std::fs::write(dir.path().join(file), edited).expect("write the override");
        check_lf(&t, &synthesise_with(&t, Some(dir.path())))
    };
    let failures = drop("products.json.hbs", include_str!("../../blueprints/products.json.hbs"));
    assert!(
        failures.contains(&format!(
            "the organisation is granted sensitive column {}/{}.{table}.{column}",
            v.account, v.database
        )),
        "{failures:#?}"
    );
    let failures = drop("access.json.hbs", include_str!("../../blueprints/access.json.hbs"));
    assert!(
        failures.contains(&format!(
            "account {central} grants arn:aws:iam::{central}:role/mesh-reader-open SELECT on {}/{}.{table}.{column}, \
             which it does not hold with grant option",
            v.account, v.database
        )),
        "{failures:#?}"
    );
}

/// The lakeformation generator reaches what the property test is about: reads through
/// resource links, sensitive columns hidden from a reader of their table, and sensitive
/// columns read through `columns: all`.
#[test]
fn generated_lakeformation_orgs_cover_sensitive_reads() {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for spec in samples(lf_org_strategy(6), 12) {
        let (org, teams, _) = build_lf(&spec);
        let t = topology(&org, &teams);
        let m = synthesise(&t);
        for ((id, n), readers) in lf_expected(&t) {
            let v = version(&t, &id, n);
            let p = &t.products[&id];
            for (arn, all) in readers {
                let who = m.principal(&arn).expect("a reader of the synthesis");
                for table in &p.versions[&n].tables {
                    for c in &table.columns {
                        let read = m
                            .lf_select(
                                &who,
                                &t.org.deploy_role,
                                &v.bucket,
                                (&v.account, &v.database, &table.name, &c.name),
                            )
                            .is_some();
                        let kind = match (c.sensitive, all, read) {
                            (false, _, true) => "reads through a link",
                            (true, false, false) => "sensitive columns hidden",
                            (true, true, true) => "sensitive columns read with columns: all",
                            _ => "unexpected",
                        };
                        *seen.entry(kind).or_default() += 1;
                    }
                }
            }
        }
    }
    assert_eq!(seen.get("unexpected"), None, "{seen:?}");
    assert_eq!(seen.len(), 3, "{seen:?}");
}

// ---------------------------------------------------------------------------
// Switching an org from iam to lakeformation, wave by wave: who reads what at every
// point of the deploy (README, "Switching an existing org from `iam` to `lakeformation`").

/// A synthesis's rendered files by path (`manifest.json`, `<account>/<file>`).
fn rendered(t: &Topology) -> BTreeMap<String, Vec<u8>> {
    let mut synthesis = meshsynth::synth::plan(t).expect("plans");
    let blueprints = meshsynth::render::Blueprints::new(None).expect("blueprints");
    meshsynth::render::render(&blueprints, &mut synthesis)
        .expect("renders")
        .into_iter()
        .map(|f| (f.path, f.bytes))
        .collect()
}

/// What is deployed at each point of a deploy of `new` over `old`, in the order `deploy`
/// runs it (`src/deploy/execute.rs`): after each wave, its stacks of `new` in place of their
/// old counterparts, and each account's new Glue catalog policy with its (last) products
/// stack; then the catalog policies `new` has no products wave for, and the deletion of
/// those it has none of; last, the deletion of the stacks it no longer has. Each point is
/// labelled and holds the deployed files (templates and catalog policies only).
fn deploy_points(
    t: &Topology,
    old: &BTreeMap<String, Vec<u8>>,
    new: &BTreeMap<String, Vec<u8>>,
) -> Vec<(String, Mesh)> {
    let manifest: Value = serde_json::from_slice(&new["manifest.json"]).expect("a manifest");
    let deployed = |path: &str| path.ends_with(".template.json") || path.ends_with("/glue-resource-policy.json");
    let mut now: BTreeMap<String, Vec<u8>> = old
        .iter()
        .filter(|(p, _)| deployed(p))
        .map(|(p, b)| (p.clone(), b.clone()))
        .collect();
    let stacks: Vec<(String, String, u64, String)> = manifest["stacks"]
        .as_array()
        .expect("stacks")
        .iter()
        .map(|s| {
            let field = |k: &str| s[k].as_str().expect("a string").to_owned();
            (
                field("account"),
                field("name"),
                s["wave"].as_u64().expect("a wave"),
                field("template"),
            )
        })
        .collect();
    let mut policy_wave: BTreeMap<String, u64> = BTreeMap::new();
    for (account, name, wave, _) in &stacks {
        if name.starts_with("mesh-products") {
            let w = policy_wave.entry(account.clone()).or_insert(*wave);
            *w = (*w).max(*wave);
        }
    }
    let policies: BTreeMap<String, String> = manifest["policies"]
        .as_array()
        .expect("policies")
        .iter()
        .map(|p| {
            (
                p["account"].as_str().expect("an account").to_owned(),
                p["file"].as_str().expect("a file").to_owned(),
            )
        })
        .collect();
    let read = |files: &BTreeMap<String, Vec<u8>>| {
        Mesh::read(
            files.iter().map(|(p, b)| (p.as_str(), b.as_slice())),
            &t.org.organization_id,
            &t.org.region,
        )
    };
    let mut points = Vec::new();
    let last = stacks.iter().map(|s| s.2).max().unwrap_or(0);
    for wave in 1..=last {
        for (_, _, _, template) in stacks.iter().filter(|s| s.2 == wave) {
            now.insert(template.clone(), new[template].clone());
        }
        for (account, file) in &policies {
            if policy_wave.get(account) == Some(&wave) {
                now.insert(file.clone(), new[file].clone());
            }
        }
        points.push((format!("after wave {wave}"), read(&now)));
    }
    for (account, file) in &policies {
        if !policy_wave.contains_key(account) {
            now.insert(file.clone(), new[file].clone());
        }
    }
    now.retain(|p, _| !p.ends_with("/glue-resource-policy.json") || new.contains_key(p));
    points.push(("after the catalog policies".to_owned(), read(&now)));
    now.retain(|p, _| new.contains_key(p));
    let expected: BTreeMap<&String, &Vec<u8>> = new.iter().filter(|(p, _)| deployed(p)).collect();
    assert_eq!(
        now.iter().collect::<BTreeMap<_, _>>(),
        expected,
        "the deploy ends at the new synthesis"
    );
    points.push(("after the stack deletions".to_owned(), read(&now)));
    points
}

/// Every (principal, product version, table, column) read at a point of a deploy: through
/// the iam mode's paths (the whole version: object with its key, listing, every table) or
/// through Lake Formation (`Mesh::lf_select`, column by column).
fn reads(t: &Topology, m: &Mesh) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    // Lake Formation's own data-location role (trusted by the service only) is no reader.
    for who in m
        .principals()
        .into_iter()
        .filter(|p| !p.arn.contains(":role/mesh-lakeformation-"))
    {
        for (id, p) in &t.products {
            for (n, ver) in &p.versions {
                let v = version(t, id, *n);
                let whole = reads_all_of(m, &who, &v);
                for table in &ver.tables {
                    let columns = table
                        .columns
                        .iter()
                        .map(|c| &c.name)
                        .chain(table.partition_keys.iter().map(|c| &c.name));
                    for col in columns {
                        let at = (
                            v.account.as_str(),
                            v.database.as_str(),
                            table.name.as_str(),
                            col.as_str(),
                        );
                        if whole || m.lf_select(&who, &t.org.deploy_role, &v.bucket, at).is_some() {
                            out.insert((who.arn.clone(), format!("{id}@{n}"), format!("{}.{col}", table.name)));
                        }
                    }
                }
            }
        }
    }
    out
}

/// The reads lost mid-way by a sequence of deploys (each a list of points): every read at
/// the start and at the end that some point in between lacks, as `point: principal reads
/// version table.column`. Also the reads some point has that neither end has (a transient
/// grant), so the transition never widens access either.
fn lost_mid_way(t_start: &Topology, start: &Mesh, steps: &[(&Topology, Vec<(String, Mesh)>)]) -> Vec<String> {
    let before = reads(t_start, start);
    let (t_end, last) = steps.last().expect("a step");
    let after = reads(t_end, &last.last().expect("a point").1);
    let kept: BTreeSet<_> = before.intersection(&after).cloned().collect();
    let either: BTreeSet<_> = before.union(&after).cloned().collect();
    let mut failures = Vec::new();
    for (i, (t, points)) in steps.iter().enumerate() {
        for (label, m) in points {
            let now = reads(t, m);
            for (who, pv, col) in kept.difference(&now) {
                failures.push(format!("step {}, {label}: {who} no longer reads {pv} {col}", i + 1));
            }
            for (who, pv, col) in now.difference(&either) {
                failures.push(format!(
                    "step {}, {label}: {who} reads {pv} {col}, which it reads neither before nor after",
                    i + 1
                ));
            }
        }
    }
    failures
}

/// The iam org `t`, the same in access mode lakeformation with `keep_iam_paths`, and without.
fn switch_of(t: &Topology) -> (Topology, Topology) {
    let mut transition = t.clone();
    transition.org.access_mode = AccessMode::LakeFormation;
    transition.org.keep_iam_paths = true;
    let mut lf = transition.clone();
    lf.org.keep_iam_paths = false;
    (transition, lf)
}

/// Simulates both ways of switching `t` (an iam org) to lakeformation, wave by wave, with
/// the evaluator: the two deploys through `keep_iam_paths` lose nobody's access at any point
/// (and widen nobody's); the single deploy straight to lakeformation does lose some (so the
/// check is not vacuous). Returns those losses.
fn check_switch(t: &Topology) -> Vec<String> {
    assert_eq!(t.org.access_mode, AccessMode::Iam);
    let (transition, lf) = switch_of(t);
    let (iam_files, transition_files, lf_files) = (rendered(t), rendered(&transition), rendered(&lf));
    let start = Mesh::read(
        iam_files.iter().map(|(p, b)| (p.as_str(), b.as_slice())),
        &t.org.organization_id,
        &t.org.region,
    );
    let two_steps = [
        (&transition, deploy_points(t, &iam_files, &transition_files)),
        (&lf, deploy_points(t, &transition_files, &lf_files)),
    ];
    assert_no_failures(&lost_mid_way(t, &start, &two_steps));
    // Each step on its own, too: the transition keeps what iam reads, the final deploy what
    // the transition and lakeformation both read.
    let first = &two_steps[..1];
    assert_no_failures(&lost_mid_way(t, &start, first));
    let transition_end = &two_steps[0].1.last().expect("a point").1;
    assert_no_failures(&lost_mid_way(&transition, transition_end, &two_steps[1..]));
    let straight = [(&lf, deploy_points(t, &iam_files, &lf_files))];
    lost_mid_way(t, &start, &straight)
}

#[test]
fn switching_the_example_org_to_lakeformation_loses_no_reader_mid_way() {
    let (t, _) = example();
    let losses = check_switch(&t);
    // Straight to lakeformation, the central account's open reader stops reading an open
    // version of another account at wave 1, when its producer's bucket policy narrows.
    let central = t.org.central_account.to_string();
    let open_reader = format!("arn:aws:iam::{central}:role/mesh-reader-open");
    assert!(
        losses
            .iter()
            .any(|l| l.starts_with(&format!("step 1, after wave 1: {open_reader} no longer reads "))),
        "{losses:#?}"
    );
    assert!(
        !losses.iter().any(|l| l.contains("after the stack deletions")),
        "{losses:#?}"
    );
}

#[test]
fn switching_generated_orgs_to_lakeformation_loses_no_reader_mid_way() {
    let mut straight_losses = 0;
    for spec in samples(org_strategy(5), 6) {
        let (org, teams, _) = build(&spec);
        let t = topology(&org, &teams);
        straight_losses += usize::from(!check_switch(&t).is_empty());
    }
    assert!(
        straight_losses > 0,
        "no generated org loses access on a switch straight to lakeformation"
    );
}
