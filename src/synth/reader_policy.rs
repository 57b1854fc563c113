//! The identity policy of a reader (a reader role or a permission set) and a role's trust
//! policy, as typed documents ([`PolicyDocument`]): the policies `fit.rs` cuts to IAM's
//! limits. Same invariants as `policy.rs`: open data only by the org's naming pattern and
//! within the organisation, restricted data by name, every other restricted version the
//! reader's account reaches denied. Pure: no IO.

use std::collections::BTreeSet;

use super::access::{Decisions, Pv};
use super::context::Paths;
use super::names;
use super::policy::{resources_of, VersionResources, GLUE_READ};
use super::policy_doc::{Condition, Effect::Allow, Effect::Deny, PolicyDocument, Principal, Statement};
use crate::model::{AccountId, Org};

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
/// other restricted version its account can reach. `paths` says through what it reads:
/// S3 and KMS directly (the iam mode's paths), Lake Formation, or both while an org switches.
pub(crate) fn reader_policy(d: &Decisions<'_>, r: &Reader<'_, '_>, paths: Paths) -> PolicyDocument {
    let mut st = query_statements(&d.t.org, r);
    st.extend(data_path_statements(&d.t.org, paths));
    st.extend(restricted_statements(d, r, paths.iam));
    if let Some(role) = &r.assume {
        st.push(Statement::new(
            "AssumeReaderRole",
            Allow,
            "sts:AssumeRole",
            role.clone(),
            Condition::none(),
        ));
    }
    PolicyDocument::new(st)
}

/// What every reader needs to query: its workgroup, the account's data catalogs, its
/// results prefix and key, and Glue reads of the organisation's catalogs.
fn query_statements(org: &Org, r: &Reader<'_, '_>) -> Vec<Statement> {
    let region = &org.region;
    let account = r.account;
    let staging = names::staging_bucket(org, account);
    let via_s3 = format!("s3.{region}.amazonaws.com");
    vec![
        Statement::new(
            "RunQueries",
            Allow,
            [
                "athena:BatchGetQueryExecution",
                "athena:GetQueryExecution",
                "athena:GetQueryResults",
                "athena:GetWorkGroup",
                "athena:ListQueryExecutions",
                "athena:StartQueryExecution",
                "athena:StopQueryExecution",
            ],
            format!("arn:aws:athena:{region}:{account}:workgroup/{}", r.workgroup),
            Condition::none(),
        ),
        Statement::new(
            "BrowseCatalogs",
            Allow,
            [
                "athena:GetDataCatalog",
                "athena:GetDatabase",
                "athena:GetTableMetadata",
                "athena:ListDatabases",
                "athena:ListTableMetadata",
            ],
            format!("arn:aws:athena:{region}:{account}:datacatalog/*"),
            Condition::none(),
        ),
        Statement::new(
            "QueryResults",
            Allow,
            ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
            format!("arn:aws:s3:::{staging}/athena-results/{}/*", r.workgroup),
            Condition::none(),
        ),
        Statement::new(
            "QueryResultsBucket",
            Allow,
            "s3:GetBucketLocation",
            format!("arn:aws:s3:::{staging}"),
            Condition::none(),
        ),
        Statement::new(
            "QueryResultsListing",
            Allow,
            "s3:ListBucket",
            format!("arn:aws:s3:::{staging}"),
            Condition::of([(
                "StringLike",
                "s3:prefix",
                format!("athena-results/{}/*", r.workgroup).into(),
            )]),
        ),
        Statement::new(
            "QueryResultsKey",
            Allow,
            ["kms:Decrypt", "kms:GenerateDataKey"],
            format!("arn:aws:kms:{region}:{account}:key/*"),
            Condition::of([("StringEquals", "kms:ViaService", via_s3.into())]),
        ),
        Statement::new(
            "ReadOrgCatalogs",
            Allow,
            GLUE_READ,
            vec![
                format!("arn:aws:glue:{region}:*:catalog"),
                format!("arn:aws:glue:{region}:*:database/*"),
                format!("arn:aws:glue:{region}:*:table/*/*"),
            ],
            in_org(org),
        ),
    ]
}

/// Resources of the organisation only.
fn in_org(org: &Org) -> Condition {
    Condition::of([("StringEquals", "aws:ResourceOrgID", org.organization_id.clone().into())])
}

/// How a reader reaches the data itself: the org's data buckets and keys by their naming
/// pattern (the iam mode's path), `lakeformation:GetDataAccess`, or both.
fn data_path_statements(org: &Org, paths: Paths) -> Vec<Statement> {
    let mut st = Vec::new();
    if paths.iam {
        let pattern = names::data_bucket_pattern(org);
        st.push(Statement::new(
            "ReadOrgData",
            Allow,
            "s3:GetObject",
            format!("arn:aws:s3:::{pattern}/*"),
            in_org(org),
        ));
        st.push(Statement::new(
            "ListOrgData",
            Allow,
            ["s3:GetBucketLocation", "s3:ListBucket"],
            format!("arn:aws:s3:::{pattern}"),
            in_org(org),
        ));
        st.push(Statement::new(
            "DecryptOrgData",
            Allow,
            "kms:Decrypt",
            format!("arn:aws:kms:{}:*:key/*", org.region),
            Condition::of([
                ("StringEquals", "aws:ResourceOrgID", org.organization_id.clone().into()),
                (
                    "StringEquals",
                    "kms:ViaService",
                    format!("s3.{}.amazonaws.com", org.region).into(),
                ),
            ]),
        ));
    }
    if paths.lakeformation {
        st.push(Statement::new(
            "LakeFormationDataAccess",
            Allow,
            "lakeformation:GetDataAccess",
            "*".to_owned(),
            Condition::none(),
        ));
    }
    st
}

/// The restricted versions a reader may read (objects only on the iam mode's path; tables
/// always), and the denies of every other restricted version its account reaches.
fn restricted_statements(d: &Decisions<'_>, r: &Reader<'_, '_>, iam: bool) -> Vec<Statement> {
    let mut st = Vec::new();
    if !r.allowed.is_empty() {
        let rs: Vec<VersionResources> = resources_of(d, &r.allowed.iter().copied().collect::<Vec<_>>());
        if iam {
            st.push(Statement::new(
                "ReadRestrictedData",
                Allow,
                "s3:GetObject",
                rs.iter().map(|r| r.objects_arn.clone()).collect::<Vec<_>>(),
                Condition::none(),
            ));
        }
        st.push(Statement::new(
            "ReadRestrictedTables",
            Allow,
            GLUE_READ,
            rs.iter()
                .flat_map(|r| [r.database_arn.clone(), r.tables_arn.clone()])
                .collect::<Vec<_>>(),
            Condition::none(),
        ));
    }
    if !r.denied.is_empty() {
        let rs: Vec<VersionResources> = resources_of(d, &r.denied.iter().copied().collect::<Vec<_>>());
        let buckets: BTreeSet<&str> = rs.iter().map(|r| r.bucket_arn.as_str()).collect();
        st.push(Statement::new(
            "DenyOtherRestrictedData",
            Deny,
            "s3:GetObject",
            rs.iter().map(|r| r.objects_arn.clone()).collect::<Vec<_>>(),
            Condition::none(),
        ));
        st.push(Statement::new(
            "DenyOtherRestrictedListing",
            Deny,
            "s3:ListBucket",
            buckets.into_iter().map(str::to_owned).collect::<Vec<_>>(),
            Condition::of([(
                "StringLike",
                "s3:prefix",
                rs.iter().map(|r| r.list_prefix.clone()).collect::<Vec<_>>().into(),
            )]),
        ));
        st.push(Statement::new(
            "DenyOtherRestrictedTables",
            Deny,
            GLUE_READ,
            rs.iter().map(|r| r.tables_arn.clone()).collect::<Vec<_>>(),
            Condition::none(),
        ));
    }
    st
}

/// A role trust policy: the account root, narrowed to the given principal ARNs (patterns allowed).
pub(crate) fn trust_policy(account: &AccountId, principals: &[String]) -> PolicyDocument {
    PolicyDocument::new(vec![Statement {
        sid: None,
        effect: Allow,
        principal: Some(Principal::Aws(names::account_root(account))),
        action: "sts:AssumeRole".into(),
        resource: None,
        condition: Condition::of([("ArnLike", "aws:PrincipalArn", principals.into())]),
    }])
}
