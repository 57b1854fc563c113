//! IAM policy documents: bucket, key and Glue catalog resource policies, and the
//! identity policies of reader roles and permission sets.
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
const GLUE_READ: &[&str] = &[
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
    let glue = format!("arn:aws:glue:{}:{}", org.region, product.account);
    VersionResources {
        bucket_arn: format!("arn:aws:s3:::{bucket}"),
        objects_arn: format!("arn:aws:s3:::{bucket}/{prefix}*"),
        list_prefix: format!("{prefix}*"),
        catalog_arn: format!("{glue}:catalog"),
        database_arn: format!("{glue}:database/{db}"),
        tables_arn: format!("{glue}:table/{db}/*"),
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

fn resources_of(d: &Decisions<'_>, pvs: &[Pv<'_>]) -> Vec<VersionResources> {
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
pub(crate) fn glue_resource_policy(d: &Decisions<'_>, products: &[&Product]) -> Option<Value> {
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
    (!statements.is_empty()).then(|| json!({"Version": "2012-10-17", "Statement": statements}))
}

/// What one reader (a role or a permission set) may do.
pub(crate) struct Reader<'a, 't> {
    /// The account the reader's principals live in.
    pub(crate) account: &'a AccountId,
    /// The Athena workgroup it queries through.
    pub(crate) workgroup: &'a str,
    /// Restricted versions it may read.
    pub(crate) allowed: &'a BTreeSet<Pv<'t>>,
    /// Restricted (and retired) versions its account reaches but it may not read.
    pub(crate) denied: &'a BTreeSet<Pv<'t>>,
    /// Roles it may assume (a permission set's reader role).
    pub(crate) assume: Option<String>,
}

/// The identity policy of a reader: open data by the org's naming pattern (restricted to
/// resources of the organisation), restricted data by name, and an explicit deny of every
/// other restricted version its account can reach.
pub(crate) fn reader_policy(d: &Decisions<'_>, r: &Reader<'_, '_>, iam: bool) -> Value {
    let org = &d.t.org;
    let region = &org.region;
    let account = r.account;
    let staging = names::staging_bucket(org, account);
    let via_s3 = format!("s3.{region}.amazonaws.com");
    let in_org = json!({"StringEquals": {"aws:ResourceOrgID": org.organization_id}});
    let mut st = vec![
        json!({
            "Sid": "RunQueries",
            "Effect": "Allow",
            "Action": [
                "athena:BatchGetQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
                "athena:GetWorkGroup", "athena:ListQueryExecutions", "athena:StartQueryExecution",
                "athena:StopQueryExecution"
            ],
            "Resource": format!("arn:aws:athena:{region}:{account}:workgroup/{}", r.workgroup)
        }),
        json!({
            "Sid": "BrowseCatalogs",
            "Effect": "Allow",
            "Action": [
                "athena:GetDataCatalog", "athena:GetDatabase", "athena:GetTableMetadata",
                "athena:ListDatabases", "athena:ListTableMetadata"
            ],
            "Resource": format!("arn:aws:athena:{region}:{account}:datacatalog/*")
        }),
        json!({
            "Sid": "QueryResults",
            "Effect": "Allow",
            "Action": ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
            "Resource": format!("arn:aws:s3:::{staging}/athena-results/{}/*", r.workgroup)
        }),
        json!({
            "Sid": "QueryResultsBucket",
            "Effect": "Allow",
            "Action": "s3:GetBucketLocation",
            "Resource": format!("arn:aws:s3:::{staging}")
        }),
        json!({
            "Sid": "QueryResultsListing",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": format!("arn:aws:s3:::{staging}"),
            "Condition": {"StringLike": {"s3:prefix": format!("athena-results/{}/*", r.workgroup)}}
        }),
        json!({
            "Sid": "QueryResultsKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": format!("arn:aws:kms:{region}:{account}:key/*"),
            "Condition": {"StringEquals": {"kms:ViaService": via_s3}}
        }),
        json!({
            "Sid": "ReadOrgCatalogs",
            "Effect": "Allow",
            "Action": GLUE_READ,
            "Resource": [
                format!("arn:aws:glue:{region}:*:catalog"),
                format!("arn:aws:glue:{region}:*:database/*"),
                format!("arn:aws:glue:{region}:*:table/*/*")
            ],
            "Condition": in_org
        }),
    ];
    if iam {
        let pattern = names::data_bucket_pattern(org);
        st.push(json!({
            "Sid": "ReadOrgData",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{pattern}/*"),
            "Condition": in_org
        }));
        st.push(json!({
            "Sid": "ListOrgData",
            "Effect": "Allow",
            "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
            "Resource": format!("arn:aws:s3:::{pattern}"),
            "Condition": in_org
        }));
        st.push(json!({
            "Sid": "DecryptOrgData",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": format!("arn:aws:kms:{region}:*:key/*"),
            "Condition": {"StringEquals": {"aws:ResourceOrgID": org.organization_id, "kms:ViaService": via_s3}}
        }));
    } else {
        st.push(json!({
            "Sid": "LakeFormationDataAccess",
            "Effect": "Allow",
            "Action": "lakeformation:GetDataAccess",
            "Resource": "*"
        }));
    }
    if !r.allowed.is_empty() {
        let rs: Vec<VersionResources> = resources_of(d, &r.allowed.iter().copied().collect::<Vec<_>>());
        if iam {
            st.push(json!({
                "Sid": "ReadRestrictedData",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": rs.iter().map(|r| r.objects_arn.clone()).collect::<Vec<_>>()
            }));
        }
        st.push(json!({
            "Sid": "ReadRestrictedTables",
            "Effect": "Allow",
            "Action": GLUE_READ,
            "Resource": rs.iter().flat_map(|r| [r.database_arn.clone(), r.tables_arn.clone()]).collect::<Vec<_>>()
        }));
    }
    if !r.denied.is_empty() {
        let rs: Vec<VersionResources> = resources_of(d, &r.denied.iter().copied().collect::<Vec<_>>());
        let buckets: BTreeSet<&str> = rs.iter().map(|r| r.bucket_arn.as_str()).collect();
        st.push(json!({
            "Sid": "DenyOtherRestrictedData",
            "Effect": "Deny",
            "Action": "s3:GetObject",
            "Resource": rs.iter().map(|r| r.objects_arn.clone()).collect::<Vec<_>>()
        }));
        st.push(json!({
            "Sid": "DenyOtherRestrictedListing",
            "Effect": "Deny",
            "Action": "s3:ListBucket",
            "Resource": buckets,
            "Condition": {"StringLike": {"s3:prefix": rs.iter().map(|r| r.list_prefix.clone()).collect::<Vec<_>>()}}
        }));
        st.push(json!({
            "Sid": "DenyOtherRestrictedTables",
            "Effect": "Deny",
            "Action": GLUE_READ,
            "Resource": rs.iter().map(|r| r.tables_arn.clone()).collect::<Vec<_>>()
        }));
    }
    if let Some(role) = &r.assume {
        st.push(json!({
            "Sid": "AssumeReaderRole",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": role
        }));
    }
    json!({"Version": "2012-10-17", "Statement": st})
}

/// A role trust policy: the account root, narrowed to the given principal ARNs (patterns allowed).
pub(crate) fn trust_policy(account: &AccountId, principals: &[String]) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": names::account_root(account)},
            "Action": "sts:AssumeRole",
            "Condition": {"ArnLike": {"aws:PrincipalArn": principals}}
        }]
    })
}

// ---------------------------------------------------------------------------
// Size limits. IAM counts a policy's characters without whitespace, so sizes are those of the
// compact JSON (which has no whitespace outside strings, and the names here have none inside).

/// IAM: the inline policies of one role, together.
pub(crate) const ROLE_INLINE_MAX: usize = 10_240;
/// IAM: one customer managed policy.
pub(crate) const MANAGED_POLICY_MAX: usize = 6_144;
/// IAM: managed policies attached to one role (the default quota).
pub(crate) const MANAGED_POLICIES_PER_ROLE: usize = 10;
/// IAM Identity Center: the inline policy of a permission set.
pub(crate) const PERMISSION_SET_INLINE_MAX: usize = 32_768;
/// S3: a bucket policy (20 KB).
pub(crate) const BUCKET_POLICY_MAX: usize = 20_480;
/// Glue: a Data Catalog resource policy (`PolicyInJson`, 10 KB; deploy sends it compact).
pub(crate) const GLUE_POLICY_MAX: usize = 10_240;
/// KMS: a key policy (32 KB).
pub(crate) const KEY_POLICY_MAX: usize = 32_768;

/// The size of a policy document as IAM and the services count it.
pub(crate) fn policy_size(doc: &Value) -> usize {
    serde_json::to_string(doc).map_or(usize::MAX, |s| s.chars().count())
}

/// A policy over a size limit: what it is, how big, the limit and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TooLarge {
    pub(crate) size: usize,
    pub(crate) limit: usize,
    /// What went over, in words (e.g. "managed policies needed").
    pub(crate) detail: String,
}

/// Checks one document against a limit.
pub(crate) fn check_size(doc: &Value, limit: usize) -> Result<(), TooLarge> {
    let size = policy_size(doc);
    if size <= limit {
        Ok(())
    } else {
        Err(TooLarge {
            size,
            limit,
            detail: format!("{size} characters of policy, over the limit of {limit}"),
        })
    }
}

/// Statements of a reader policy that name product versions one by one: the ones that grow with
/// the org, and the ones moved into managed policies when a role's inline policy is too big.
const BY_NAME_SIDS: &[&str] = &[
    "ReadRestrictedData",
    "ReadRestrictedTables",
    "DenyOtherRestrictedData",
    "DenyOtherRestrictedListing",
    "DenyOtherRestrictedTables",
];

/// A role's policies: one inline document and the documents of the managed policies to attach.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RolePolicies {
    pub(crate) inline: Value,
    pub(crate) managed: Vec<Value>,
}

fn document(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The list a statement can be cut along: `Resource`, or the `s3:prefix` values of its
/// `StringLike` condition, whichever is bigger. Both are ORs, so the union of the pieces
/// allows (or denies) exactly what the whole did.
fn split_list(st: &Value) -> Option<&'static [&'static str]> {
    const RESOURCE: &[&str] = &["Resource"];
    const PREFIX: &[&str] = &["Condition", "StringLike", "s3:prefix"];
    let at = |path: &[&str]| -> Option<usize> {
        let mut v = st;
        for k in path {
            v = v.get(k)?;
        }
        let a = v.as_array()?;
        (a.len() > 1).then(|| policy_size(v))
    };
    match (at(RESOURCE), at(PREFIX)) {
        (Some(r), Some(p)) => Some(if p > r { PREFIX } else { RESOURCE }),
        (Some(_), None) => Some(RESOURCE),
        (None, Some(_)) => Some(PREFIX),
        (None, None) => None,
    }
}

fn list_mut<'v>(st: &'v mut Value, path: &[&str]) -> &'v mut Vec<Value> {
    let mut v = st;
    for k in path {
        v = &mut v[*k];
    }
    match v {
        Value::Array(a) => a,
        _ => unreachable!("split_list only names arrays"),
    }
}

/// Cuts a statement into pieces of at most `budget` characters along its longest list, filling
/// each piece in list order (deterministic), again along the other list where one item still
/// leaves a piece too big. Pieces are named `<Sid>1`, `<Sid>2`, …; a statement that fits, or
/// cannot be cut, comes back whole.
fn cut_statement(st: Value, budget: usize) -> Vec<Value> {
    if policy_size(&st) <= budget {
        return vec![st];
    }
    let sid = st.get("Sid").and_then(Value::as_str).map(str::to_owned);
    let mut pieces = cut(st, budget);
    if let (Some(sid), true) = (sid, pieces.len() > 1) {
        for (i, piece) in pieces.iter_mut().enumerate() {
            piece["Sid"] = json!(format!("{sid}{}", i + 1));
        }
    }
    pieces
}

fn cut(st: Value, budget: usize) -> Vec<Value> {
    if policy_size(&st) <= budget {
        return vec![st];
    }
    let Some(path) = split_list(&st) else {
        return vec![st];
    };
    let mut empty = st;
    let items = std::mem::take(list_mut(&mut empty, path));
    let base = policy_size(&empty);
    let mut groups: Vec<Vec<Value>> = Vec::new();
    let mut current: Vec<Value> = Vec::new();
    let mut size = base;
    for item in items {
        // The item and its comma (one too many: the estimate errs on the safe side).
        let cost = policy_size(&item) + 1;
        if !current.is_empty() && size + cost > budget {
            groups.push(std::mem::take(&mut current));
            size = base;
        }
        current.push(item);
        size += cost;
    }
    groups.push(current);
    groups
        .into_iter()
        .flat_map(|items| {
            let mut piece = empty.clone();
            *list_mut(&mut piece, path) = items;
            // A single item here: only the other list can make the piece smaller.
            if policy_size(&piece) > budget && list_mut(&mut piece, path).len() == 1 {
                cut(piece, budget)
            } else {
                vec![piece]
            }
        })
        .collect()
}

/// Fits a reader policy into IAM's limits for a role: the whole document inline when it fits
/// (10,240 characters); otherwise the statements that name versions one by one move into
/// managed policies (6,144 characters each, at most 10 per role), cut along their lists and
/// packed in order, and the rest stays inline. Deterministic: the same policy gives the same
/// documents. An error says which limit would still be passed.
pub(crate) fn fit_role_policies(policy: Value) -> Result<RolePolicies, TooLarge> {
    let size = policy_size(&policy);
    if size <= ROLE_INLINE_MAX {
        return Ok(RolePolicies {
            inline: policy,
            managed: Vec::new(),
        });
    }
    let statements = match policy.get("Statement") {
        Some(Value::Array(s)) => s.clone(),
        _ => Vec::new(),
    };
    let (moved, kept): (Vec<Value>, Vec<Value>) = statements.into_iter().partition(|s| {
        s.get("Sid")
            .and_then(Value::as_str)
            .is_some_and(|sid| BY_NAME_SIDS.contains(&sid))
    });
    let inline = document(kept);
    let inline_size = policy_size(&inline);
    if inline_size > ROLE_INLINE_MAX {
        return Err(TooLarge {
            size: inline_size,
            limit: ROLE_INLINE_MAX,
            detail: format!(
                "{inline_size} characters of inline policy besides the statements that name versions, \
                 over IAM's limit of {ROLE_INLINE_MAX} for a role"
            ),
        });
    }
    let empty = policy_size(&document(Vec::new()));
    let budget = MANAGED_POLICY_MAX - empty;
    let mut docs: Vec<Vec<Value>> = Vec::new();
    let mut used = budget; // forces a first document
    for st in moved.into_iter().flat_map(|s| cut_statement(s, budget)) {
        let cost = policy_size(&st) + 1;
        if cost - 1 > budget {
            return Err(TooLarge {
                size: cost - 1 + empty,
                limit: MANAGED_POLICY_MAX,
                detail: format!(
                    "a statement of {} characters that cannot be cut below IAM's limit of {MANAGED_POLICY_MAX} \
                     for a managed policy",
                    cost - 1 + empty
                ),
            });
        }
        if used + cost > budget {
            docs.push(Vec::new());
            used = 0;
        }
        docs.last_mut().expect("a document").push(st);
        used += cost;
    }
    if docs.len() > MANAGED_POLICIES_PER_ROLE {
        return Err(TooLarge {
            size,
            limit: MANAGED_POLICIES_PER_ROLE,
            detail: format!(
                "{size} characters of policy: {} managed policies of {MANAGED_POLICY_MAX} characters, \
                 over IAM's limit of {MANAGED_POLICIES_PER_ROLE} per role (and {ROLE_INLINE_MAX} inline)",
                docs.len()
            ),
        });
    }
    Ok(RolePolicies {
        inline,
        managed: docs.into_iter().map(document).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arns(prefix: &str, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("arn:aws:s3:::acast-{i:012}-eu-west-1-mesh/{prefix}/product-{i:05}/v1/*"))
            .collect()
    }

    /// A reader policy: fixed statements, then by-name lists of `n` versions each.
    fn reader(n: usize) -> Value {
        let mut st = vec![
            json!({"Sid": "RunQueries", "Effect": "Allow", "Action": "athena:StartQueryExecution", "Resource": "arn:aws:athena:eu-west-1:1:workgroup/mesh"}),
            json!({"Sid": "ReadOrgData", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acast-*-eu-west-1-mesh/*"}),
        ];
        st.push(json!({"Sid": "ReadRestrictedData", "Effect": "Allow", "Action": "s3:GetObject", "Resource": arns("allowed", n)}));
        st.push(json!({"Sid": "DenyOtherRestrictedData", "Effect": "Deny", "Action": "s3:GetObject", "Resource": arns("denied", n)}));
        st.push(json!({
            "Sid": "DenyOtherRestrictedListing", "Effect": "Deny", "Action": "s3:ListBucket",
            "Resource": ["arn:aws:s3:::acast-000000000001-eu-west-1-mesh"],
            "Condition": {"StringLike": {"s3:prefix": (0..n).map(|i| format!("denied/product-{i:05}/v1/*")).collect::<Vec<_>>()}}
        }));
        document(st)
    }

    /// Every (Sid-less) statement of the documents, with its lists flattened: what they allow or deny.
    fn coverage(docs: &[&Value]) -> BTreeSet<(String, String, String)> {
        let mut out = BTreeSet::new();
        for d in docs {
            for s in d["Statement"].as_array().expect("statements") {
                let effect = s["Effect"].as_str().expect("effect").to_owned();
                let resources: Vec<String> = match &s["Resource"] {
                    Value::Array(a) => a.iter().map(|r| r.as_str().expect("arn").to_owned()).collect(),
                    r => vec![r.as_str().expect("arn").to_owned()],
                };
                let prefixes: Vec<String> = match &s["Condition"]["StringLike"]["s3:prefix"] {
                    Value::Array(a) => a.iter().map(|p| p.as_str().expect("prefix").to_owned()).collect(),
                    _ => vec![String::new()],
                };
                for r in &resources {
                    for p in &prefixes {
                        out.insert((effect.clone(), r.clone(), p.clone()));
                    }
                }
            }
        }
        out
    }

    #[test]
    fn a_policy_that_fits_stays_inline_untouched() {
        let doc = reader(3);
        let fitted = fit_role_policies(doc.clone()).expect("fits");
        assert_eq!(fitted.inline, doc);
        assert!(fitted.managed.is_empty());
    }

    #[test]
    fn a_big_policy_moves_its_by_name_statements_into_managed_policies_within_the_limits() {
        let doc = reader(60);
        assert!(policy_size(&doc) > ROLE_INLINE_MAX, "{}", policy_size(&doc));
        let fitted = fit_role_policies(doc.clone()).expect("fits with managed policies");
        assert!(policy_size(&fitted.inline) <= ROLE_INLINE_MAX);
        let sids: Vec<&str> = fitted.inline["Statement"]
            .as_array()
            .expect("statements")
            .iter()
            .filter_map(|s| s["Sid"].as_str())
            .collect();
        assert_eq!(sids, ["RunQueries", "ReadOrgData"]);
        assert!(fitted.managed.len() >= 2 && fitted.managed.len() <= MANAGED_POLICIES_PER_ROLE);
        for m in &fitted.managed {
            assert!(policy_size(m) <= MANAGED_POLICY_MAX, "{}", policy_size(m));
        }
        // Together they allow and deny exactly what the whole policy did.
        let mut all: Vec<&Value> = vec![&fitted.inline];
        all.extend(&fitted.managed);
        assert_eq!(coverage(&all), coverage(&[&doc]));
        // Sids stay unique.
        let mut seen = BTreeSet::new();
        for d in &all {
            for s in d["Statement"].as_array().expect("statements") {
                assert!(seen.insert(s["Sid"].as_str().expect("sid").to_owned()), "{s}");
            }
        }
        // Deterministic.
        assert_eq!(fit_role_policies(doc).expect("fits"), fitted);
    }

    #[test]
    fn a_policy_past_ten_managed_policies_is_an_error() {
        let err = fit_role_policies(reader(400)).expect_err("too big for any role");
        assert_eq!(err.limit, MANAGED_POLICIES_PER_ROLE);
        assert!(err.detail.contains("over IAM's limit of 10 per role"), "{}", err.detail);
    }

    #[test]
    fn fixed_statements_past_the_inline_limit_are_an_error() {
        let mut doc = reader(1);
        doc["Statement"]
            .as_array_mut()
            .expect("statements")
            .push(json!({"Sid": "Huge", "Effect": "Allow", "Action": "s3:GetObject", "Resource": arns("x", 200)}));
        let err = fit_role_policies(doc).expect_err("cannot move unnamed statements");
        assert_eq!(err.limit, ROLE_INLINE_MAX);
    }

    #[test]
    fn a_statement_is_cut_along_its_longest_list_then_the_other() {
        let st = json!({
            "Sid": "DenyOtherRestrictedListing", "Effect": "Deny", "Action": "s3:ListBucket",
            "Resource": ["arn:aws:s3:::a", "arn:aws:s3:::b"],
            "Condition": {"StringLike": {"s3:prefix": (0..300).map(|i| format!("p/{i:05}/*")).collect::<Vec<_>>()}}
        });
        let pieces = cut_statement(st.clone(), 1_000);
        assert!(pieces.len() > 3);
        for p in &pieces {
            assert!(policy_size(p) <= 1_000);
        }
        assert_eq!(pieces[0]["Sid"], "DenyOtherRestrictedListing1");
        let whole = document(vec![st]);
        let docs: Vec<Value> = pieces.iter().map(|p| document(vec![p.clone()])).collect();
        let doc_refs: Vec<&Value> = docs.iter().collect();
        assert_eq!(coverage(&doc_refs), coverage(&[&whole]));
    }

    #[test]
    fn size_checks_count_compact_json() {
        let doc = json!({"Version": "2012-10-17", "Statement": []});
        assert_eq!(policy_size(&doc), r#"{"Statement":[],"Version":"2012-10-17"}"#.len());
        assert!(check_size(&doc, 100).is_ok());
        let err = check_size(&doc, 10).expect_err("over");
        assert_eq!((err.size, err.limit), (policy_size(&doc), 10));
        assert!(err.detail.contains("over the limit of 10"), "{}", err.detail);
        let big = document(vec![
            json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": arns("b", 300)}),
        ]);
        assert!(check_size(&big, BUCKET_POLICY_MAX).is_err());
        assert!(check_size(&big, GLUE_POLICY_MAX).is_err());
    }
}
