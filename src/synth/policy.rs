//! IAM policy documents: bucket, key and Glue catalog resource policies (the identity
//! policies of reader roles and permission sets are typed, in `reader_policy.rs`).
//!
//! These are the security decisions in JSON form, so they are built here, in
//! plain Rust where tests can reach them, and the blueprints only place them.
//! Invariants kept by construction: an `Allow` to principal `*` always carries
//! an `aws:PrincipalOrgID` condition and names only open versions; restricted
//! versions are granted to account roots narrowed by an `aws:PrincipalArn`
//! condition to exactly the granted reader principals. Pure: no IO.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::access::{Decisions, Principal, Pv};
use super::names;
use crate::model::{AccountId, Org, Product};

/// Glue read actions a reader needs on catalog, databases and tables.
pub(super) const GLUE_READ: &[&str] = &[
    "glue:BatchGetPartition",
    "glue:GetDatabase",
    "glue:GetDatabases",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:GetTable",
    "glue:GetTables",
];

/// The resources of one product version, by kind.
pub(crate) struct VersionResources {
    pub(crate) bucket_arn: String,
    pub(crate) objects_arn: String,
    pub(crate) list_prefix: String,
    pub(crate) catalog_arn: String,
    pub(crate) database_arn: String,
    pub(crate) tables_arn: String,
}

pub(crate) fn version_resources(org: &Org, product: &Product, version: u32) -> VersionResources {
    let bucket = names::data_bucket(org, &product.account);
    let prefix = names::version_prefix(&product.id, version);
    let db = names::glue_database(&product.id, version);
    // Built by concatenation: a large org asks for hundreds of thousands of these.
    let glue = ["arn:aws:glue:", &org.region, ":", product.account.as_str()].concat();
    VersionResources {
        bucket_arn: ["arn:aws:s3:::", &bucket].concat(),
        objects_arn: ["arn:aws:s3:::", &bucket, "/", &prefix, "*"].concat(),
        list_prefix: [&prefix, "*"].concat(),
        catalog_arn: [&glue, ":catalog"].concat(),
        database_arn: [&glue, ":database/", &db].concat(),
        tables_arn: [&glue, ":table/", &db, "/*"].concat(),
    }
}

fn deny_insecure_transport(arns: &[String]) -> Value {
    json!({
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": arns,
        // A JSON boolean, not the string "false": IAM takes both, and scanners (the Guard
        // Rules Registry's S3_BUCKET_SSL_REQUESTS_ONLY among them) look for the boolean.
        "Condition": {"Bool": {"aws:SecureTransport": false}}
    })
}

/// A reader whose query results only it may read: its workgroup and its principals' ARNs.
pub(crate) struct PrivateResults {
    pub(crate) workgroup: String,
    pub(crate) principals: Vec<String>,
}

/// The staging bucket policy: TLS only, and each restricted reader's results prefix closed to
/// every other principal (query results are copies of the data they were computed from).
pub(crate) fn staging_bucket_policy(bucket: &str, private: &[PrivateResults]) -> Value {
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let mut statements = vec![deny_insecure_transport(&[
        bucket_arn.clone(),
        format!("{bucket_arn}/*"),
    ])];
    for (i, r) in private.iter().enumerate() {
        let prefix = format!("athena-results/{}/", r.workgroup);
        statements.push(json!({
            "Sid": format!("PrivateResults{}", i + 1),
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": format!("{bucket_arn}/{prefix}*"),
            "Condition": {"ArnNotLike": {"aws:PrincipalArn": r.principals}}
        }));
        statements.push(json!({
            "Sid": format!("PrivateResultsListing{}", i + 1),
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {
                "ArnNotLike": {"aws:PrincipalArn": r.principals},
                "StringLike": {"s3:prefix": format!("{prefix}*")}
            }
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The policy of an account's access-log bucket: TLS only, and S3 log delivery may write each
/// source bucket's logs under that bucket's prefix, for this account's buckets only
/// (`aws:SourceAccount`, `aws:SourceArn`), as AWS asks for buckets whose ACLs are disabled.
pub(crate) fn log_bucket_policy(log_bucket: &str, account: &AccountId, sources: &[String]) -> Value {
    let log_arn = format!("arn:aws:s3:::{log_bucket}");
    let deny = deny_insecure_transport(&[log_arn.clone(), format!("{log_arn}/*")]);
    let prefixes: Vec<String> = sources.iter().map(|b| format!("{log_arn}/{b}/*")).collect();
    let source_arns: Vec<String> = sources.iter().map(|b| format!("arn:aws:s3:::{b}")).collect();
    json!({"Version": "2012-10-17", "Statement": [deny, {
        "Sid": "S3ServerAccessLogDelivery",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": prefixes,
        "Condition": {
            "ArnLike": {"aws:SourceArn": source_arns},
            "StringEquals": {"aws:SourceAccount": account}
        }
    }]})
}

/// Groups an account's live versions into open ones and restricted ones keyed by their readers.
struct Grants<'t> {
    open: Vec<Pv<'t>>,
    restricted: BTreeMap<BTreeSet<Principal>, Vec<Pv<'t>>>,
}

impl Grants<'_> {
    /// Every principal granted some restricted version.
    fn all_readers(&self) -> BTreeSet<Principal> {
        self.restricted.keys().flatten().cloned().collect()
    }
}

fn grants<'t>(d: &Decisions<'t>, products: &[&'t Product]) -> Grants<'t> {
    let mut open = Vec::new();
    let mut restricted: BTreeMap<BTreeSet<Principal>, Vec<Pv<'t>>> = BTreeMap::new();
    for p in products {
        for v in p.versions.keys() {
            let pv = (&p.id, *v);
            if d.is_open(pv) {
                open.push(pv);
            } else if let Some(readers) = d.readers(pv) {
                restricted.entry(readers.clone()).or_default().push(pv);
            }
        }
    }
    Grants { open, restricted }
}

/// The account roots of some principals: the `Principal` of a role-scoped statement.
fn roots(principals: &BTreeSet<Principal>) -> Value {
    let accounts: BTreeSet<&AccountId> = principals.iter().map(|(a, _)| a).collect();
    let list: Vec<String> = accounts.iter().map(|a| names::account_root(a)).collect();
    if list.len() == 1 {
        json!(list[0])
    } else {
        json!(list)
    }
}

/// The condition that narrows account roots to exactly the granted principals.
fn principal_arns(principals: &BTreeSet<Principal>) -> Value {
    json!({"aws:PrincipalArn": principals.iter().map(|(_, arn)| arn.as_str()).collect::<Vec<_>>()})
}

pub(super) fn resources_of(d: &Decisions<'_>, pvs: &[Pv<'_>]) -> Vec<VersionResources> {
    pvs.iter()
        .filter_map(|(id, v)| d.t.products.get(*id).map(|p| version_resources(&d.t.org, p, *v)))
        .collect()
}

/// The data bucket policy of an account: TLS only, plus (access mode `iam`) read per version prefix.
pub(crate) fn data_bucket_policy(d: &Decisions<'_>, bucket: &str, products: &[&Product], iam: bool) -> Value {
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let mut statements = vec![deny_insecure_transport(&[
        bucket_arn.clone(),
        format!("{bucket_arn}/*"),
    ])];
    if iam {
        let org_id = &d.t.org.organization_id;
        let g = grants(d, products);
        if !g.open.is_empty() {
            let rs: Vec<VersionResources> = resources_of(d, &g.open);
            statements.push(json!({
                "Sid": "OrgListOpenVersions",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {
                    "StringEquals": {"aws:PrincipalOrgID": org_id},
                    "StringLike": {"s3:prefix": rs.iter().map(|r| r.list_prefix.clone()).collect::<Vec<_>>()}
                }
            }));
            statements.push(json!({
                "Sid": "OrgReadOpenVersions",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": rs.iter().map(|r| r.objects_arn.clone()).collect::<Vec<_>>(),
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}}
            }));
            // Athena asks where a bucket is before it reads across accounts.
            statements.push(json!({
                "Sid": "OrgLocatesBucket",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetBucketLocation",
                "Resource": bucket_arn,
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}}
            }));
        } else if !g.restricted.is_empty() {
            let all = g.all_readers();
            statements.push(json!({
                "Sid": "GrantedLocateBucket",
                "Effect": "Allow",
                "Principal": {"AWS": roots(&all)},
                "Action": "s3:GetBucketLocation",
                "Resource": bucket_arn,
                "Condition": {"ArnLike": principal_arns(&all)}
            }));
        }
        for (i, (readers, pvs)) in g.restricted.iter().enumerate() {
            let rs: Vec<VersionResources> = resources_of(d, pvs);
            statements.push(json!({
                "Sid": format!("GrantedList{}", i + 1),
                "Effect": "Allow",
                "Principal": {"AWS": roots(readers)},
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {
                    "ArnLike": principal_arns(readers),
                    "StringLike": {"s3:prefix": rs.iter().map(|r| r.list_prefix.clone()).collect::<Vec<_>>()}
                }
            }));
            statements.push(json!({
                "Sid": format!("GrantedRead{}", i + 1),
                "Effect": "Allow",
                "Principal": {"AWS": roots(readers)},
                "Action": "s3:GetObject",
                "Resource": rs.iter().map(|r| r.objects_arn.clone()).collect::<Vec<_>>(),
                "Condition": {"ArnLike": principal_arns(readers)}
            }));
        }
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The account's KMS key policy: the account administers it; readers of its data decrypt through S3 only.
pub(crate) fn key_policy(d: &Decisions<'_>, account: &AccountId, products: &[&Product], iam: bool) -> Value {
    let org = &d.t.org;
    let via_s3 = format!("s3.{}.amazonaws.com", org.region);
    let mut statements = vec![json!({
        "Sid": "AccountAdministersKey",
        "Effect": "Allow",
        "Principal": {"AWS": names::account_root(account)},
        "Action": "kms:*",
        "Resource": "*"
    })];
    if iam {
        let g = grants(d, products);
        if !g.open.is_empty() {
            statements.push(json!({
                "Sid": "OrgDecryptsOpenDataThroughS3",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": org.organization_id, "kms:ViaService": via_s3}}
            }));
        }
        let granted = g.all_readers();
        if !granted.is_empty() {
            statements.push(json!({
                "Sid": "GrantedReadersDecryptThroughS3",
                "Effect": "Allow",
                "Principal": {"AWS": roots(&granted)},
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": via_s3}, "ArnLike": principal_arns(&granted)}
            }));
        }
    }
    statements.extend(super::alarms::key_policy_statements(d.t, products));
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The Glue Data Catalog resource policy of a producer account, or `None` when it grants nothing.
/// Beside Lake Formation (`keep_iam_paths`) it also lets AWS RAM share the account's catalog:
/// Lake Formation's cross-account grants (named resources) fail while a catalog policy exists
/// that does not allow `glue:ShareResource` to `ram.amazonaws.com`.
pub(crate) fn glue_resource_policy(
    d: &Decisions<'_>,
    account: &AccountId,
    products: &[&Product],
    lakeformation: bool,
) -> Option<Value> {
    let g = grants(d, products);
    let mut statements = Vec::new();
    let glue_resources = |pvs: &[Pv<'_>]| -> Vec<String> {
        let mut out = Vec::new();
        for (i, r) in resources_of(d, pvs).into_iter().enumerate() {
            if i == 0 {
                out.push(r.catalog_arn.clone());
            }
            out.push(r.database_arn);
            out.push(r.tables_arn);
        }
        out
    };
    if !g.open.is_empty() {
        statements.push(json!({
            "Sid": "OrgReadsOpenVersions",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": GLUE_READ,
            "Resource": glue_resources(&g.open),
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": d.t.org.organization_id}}
        }));
    }
    for (i, (readers, pvs)) in g.restricted.iter().enumerate() {
        statements.push(json!({
            "Sid": format!("GrantedRead{}", i + 1),
            "Effect": "Allow",
            "Principal": {"AWS": roots(readers)},
            "Action": GLUE_READ,
            "Resource": glue_resources(pvs),
            "Condition": {"ArnLike": principal_arns(readers)}
        }));
    }
    if lakeformation && !statements.is_empty() {
        let region = &d.t.org.region;
        statements.push(json!({
            "Sid": "RamSharesForLakeFormation",
            "Effect": "Allow",
            "Principal": {"Service": "ram.amazonaws.com"},
            "Action": "glue:ShareResource",
            "Resource": [
                format!("arn:aws:glue:{region}:{account}:table/*/*"),
                format!("arn:aws:glue:{region}:{account}:database/*"),
                format!("arn:aws:glue:{region}:{account}:catalog")
            ]
        }));
    }
    (!statements.is_empty()).then(|| json!({"Version": "2012-10-17", "Statement": statements}))
}

pub(crate) use super::reader_policy::{reader_policy, trust_policy, Reader};

pub(crate) use super::fit::{
    check_size, fit_role_policies, TooLarge, BUCKET_POLICY_MAX, GLUE_POLICY_MAX, KEY_POLICY_MAX,
    PERMISSION_SET_INLINE_MAX,
};
