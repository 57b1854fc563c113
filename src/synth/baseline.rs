//! The `baseline` part: every team-owned account (and the central account) gets
//! its data key, data and staging buckets, access-log bucket and Athena
//! workgroup, with the key and bucket policies that carry access mode iam's
//! grants. Pure: no IO.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::access::{self, Decisions};
use super::context::{common, Common, Paths};
use super::doc::Doc;
use super::{names, policy, Context, Part, StackPlan, SynthError};
use crate::model::{Access, AccountId, Product, ServiceRole};

/// The context of `baseline.json.hbs` (`{{> bucket}}` takes `name`, `results_days` and
/// `eventbridge` as parameters).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct BaselineContext {
    #[serde(flatten)]
    pub(crate) common: Common,
    /// The account's own Athena workgroup.
    pub(crate) workgroup: String,
    /// `org.query_results_days`: query results in the staging bucket expire after this many days.
    pub(crate) query_results_days: u32,
    /// Lake Formation administrators: the deploy role and `org.data_lake_admins`, as role ARNs.
    pub(crate) data_lake_admins: Vec<String>,
    /// The data key's policy.
    pub(crate) key_policy: Doc,
    /// The data bucket's policy.
    pub(crate) data_bucket_policy: Doc,
    /// The staging bucket's policy (restricted readers' results are theirs alone).
    pub(crate) staging_bucket_policy: Doc,
    /// The log bucket's policy; only when `access_logs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) log_bucket_policy: Option<Doc>,
}

/// The readers of an account whose query results are theirs alone: restricted service roles'
/// reader roles and, in the central account, restricted access groups.
fn private_results(d: &Decisions<'_>, account: &AccountId, roles: &[&ServiceRole]) -> Vec<policy::PrivateResults> {
    let t = d.t;
    let arns = |principals: Vec<access::Principal>| principals.into_iter().map(|(_, arn)| arn).collect();
    let mut out: Vec<policy::PrivateResults> = roles
        .iter()
        .filter(|r| r.access == Access::Restricted)
        .map(|r| policy::PrivateResults {
            workgroup: names::service_workgroup(&r.name),
            principals: arns(access::service_principals(account, &r.name)),
        })
        .collect();
    if *account == t.org.central_account {
        for g in t.access_groups.values().filter(|g| g.access == Access::Restricted) {
            out.push(policy::PrivateResults {
                workgroup: names::group_workgroup(&g.name),
                principals: arns(access::group_principals(account, &g.name)),
            });
        }
    }
    out.sort_by(|a, b| a.workgroup.cmp(&b.workgroup));
    out
}

/// `doc`, unless it passes `limit`: then what is too large, with what to do.
fn sized(doc: Value, limit: usize, what: impl FnOnce() -> String, hint: &str) -> Result<Doc, SynthError> {
    policy::check_size(&doc, limit).map_err(|e| SynthError::too_large(what(), e, hint))?;
    Ok(doc.into())
}

pub(crate) fn stack(
    d: &Decisions<'_>,
    account: &AccountId,
    products: &[&Product],
    roles: &[&ServiceRole],
    paths: Paths,
) -> Result<StackPlan, SynthError> {
    let org = &d.t.org;
    // Lake Formation: the deploy role (it grants) and the org's named administrators.
    let data_lake_admins: Vec<String> = std::iter::once(&org.deploy_role)
        .chain(&org.data_lake_admins)
        .map(|r| names::role_arn(account, r))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let key_policy = sized(
        policy::key_policy(d, account, products, paths.iam),
        policy::KEY_POLICY_MAX,
        || format!("the KMS key policy of account {account}"),
        "it names every account approved to read the account's restricted versions; move products to another \
         account of the team",
    )?;
    let bucket = names::data_bucket(org, account);
    let data_bucket_policy = sized(
        policy::data_bucket_policy(d, &bucket, products, paths.iam),
        policy::BUCKET_POLICY_MAX,
        || format!("the bucket policy of `{bucket}` (account {account})"),
        "it grants each product version of the account to its readers; move products to another account of the \
         team, or retire old versions",
    )?;
    let staging = names::staging_bucket(org, account);
    let staging_bucket_policy = sized(
        policy::staging_bucket_policy(&staging, &private_results(d, account, roles)),
        policy::BUCKET_POLICY_MAX,
        || format!("the bucket policy of `{staging}` (account {account})"),
        "it closes every restricted reader's query results to other principals; declare fewer restricted service \
         roles in this account",
    )?;
    let log_bucket_policy = org.access_logs.then(|| {
        let sources = [bucket.clone(), staging.clone()];
        policy::log_bucket_policy(&names::log_bucket(org, account), account, &sources).into()
    });
    let ctx = BaselineContext {
        common: common(d, account, Part::Baseline, paths, 1),
        workgroup: names::BASELINE_WORKGROUP.to_owned(),
        query_results_days: org.query_results_days,
        data_lake_admins,
        key_policy,
        data_bucket_policy,
        staging_bucket_policy,
        log_bucket_policy,
    };
    Ok(StackPlan::new(account, Part::Baseline, 1, Context::Baseline(ctx)))
}
