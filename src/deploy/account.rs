//! Planning one account: what is deployed is read once for all of its stacks,
//! and only stacks whose template differs get a change set.
//!
//! Per account and region, one `ListStacks` gives every stack's status (and
//! the deployed `mesh-*` stacks the synthesis no longer has), and at the same
//! time one `GetTemplate` per synthesised stack reads what it was last
//! deployed with. A stack whose deployed template is the synthesised one is
//! `no_changes` there and then: no change set (which costs four calls and
//! seconds of waiting per stack). The catalog policy is read beside them
//! (`GetResourcePolicy`). So an unchanged account costs one AssumeRole, one
//! ListStacks, one GetResourcePolicy and one GetTemplate per stack, in two
//! round trips.
//!
//! The templates are read before the listing says which stacks exist: a
//! GetTemplate of a stack that turns out to be new fails and is ignored (one
//! wasted call for a new stack, one round trip saved for every other).

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::{join_all, try_join_all};
use serde_json::Value;

use super::api::ApiError;
use super::cfn::StackInfo;
use super::change_set::{self, Deployed};
use super::manifest::{ManifestStack, Template};
use super::planned::{PolicyPlan, PolicyStatus, StackPlan, WaitOptions};
use super::policy_diff;
use super::session::{AccountApis, Connector};
use super::DeployError;

/// What to plan in one account.
pub(crate) struct AccountWork<'s> {
    pub(crate) account: &'s str,
    /// Where stale stacks are looked for and the catalog policy lives.
    pub(crate) home_region: String,
    /// The account's synthesised stacks, each with its template and region.
    pub(crate) stacks: Vec<(&'s ManifestStack, &'s Template, String)>,
    /// The synthesised catalog policy; `None`: the account should have none.
    pub(crate) policy: Option<&'s str>,
}

/// The plan of one account.
pub(crate) struct AccountPlan {
    pub(crate) stacks: Vec<StackPlan>,
    /// `None` when the account neither has nor should have a policy.
    pub(crate) policy: Option<PolicyPlan>,
}

fn account_error(account: &str, error: ApiError) -> DeployError {
    DeployError::Api {
        account: account.to_owned(),
        stack: None,
        error,
    }
}

/// Plans the account's stacks of one region: one listing, the templates read
/// alongside, change sets only where needed. In the home region also the
/// stacks to delete.
async fn plan_region(
    apis: &AccountApis,
    work: &AccountWork<'_>,
    region: &str,
    wait: &WaitOptions,
) -> Result<Vec<StackPlan>, DeployError> {
    let account = work.account;
    let stacks: Vec<&(&ManifestStack, &Template, String)> =
        work.stacks.iter().filter(|(_, _, r)| r == region).collect();
    let listing = async { apis.cfn.list_stacks().await.map_err(|e| account_error(account, e)) };
    let templates = join_all(stacks.iter().map(|(s, _, _)| apis.cfn.get_template(&s.name)));
    let (listing, templates) = futures_util::join!(listing, templates);
    let listing = listing?;
    // The listing may hold deleted stacks' namesakes; the live one is the
    // last listed that is not deleted (the SDK filters DELETE_COMPLETE).
    let mut by_name: BTreeMap<&str, &StackInfo> = BTreeMap::new();
    for info in &listing {
        by_name.insert(info.name.as_str(), info);
    }
    let plans = try_join_all(stacks.iter().zip(templates).map(|((stack, template, _), read)| {
        let info = by_name.get(stack.name.as_str()).map(|i| (*i).clone());
        let template_read = // GetTemplate reads a template worth comparing only where a change set can update the
        // stack: there the deployed template is the one the stack runs.
        info.as_ref().filter(|i| i.status.is_updatable()).map(|_| read);
        let deployed = Deployed {
            info,
            template: template_read,
        };
        change_set::plan_stack(apis, stack, region, template, deployed, wait)
    }))
    .await?;
    let mut plans = plans;
    if region == work.home_region {
        let known: Vec<&str> = work.stacks.iter().map(|(s, _, _)| s.name.as_str()).collect();
        plans.extend(change_set::plan_stale(apis, account, region, &listing, &known).await?);
    }
    Ok(plans)
}

/// Compares the account's catalog policy with the synthesised one (as JSON:
/// formatting and key order do not count) and says what changes in words.
async fn plan_policy(apis: &AccountApis, work: &AccountWork<'_>) -> Result<Option<PolicyPlan>, DeployError> {
    let current = apis
        .glue
        .get_resource_policy()
        .await
        .map_err(|e| account_error(work.account, e))?;
    let parse = |t: &str| serde_json::from_str::<Value>(t).ok();
    let old = current.as_ref().and_then(|c| parse(&c.text));
    let new = work.policy.and_then(parse);
    let status = match (&current, work.policy) {
        (None, None) => return Ok(None),
        (Some(_), None) => PolicyStatus::Delete,
        (None, Some(_)) => PolicyStatus::Create,
        (Some(_), Some(_)) if old.is_some() && old == new => PolicyStatus::NoChanges,
        (Some(_), Some(_)) => PolicyStatus::Update,
    };
    let changes = if status == PolicyStatus::NoChanges {
        Vec::new()
    } else {
        policy_diff::describe_change(old.as_ref(), new.as_ref())
    };
    Ok(Some(PolicyPlan {
        account: work.account.to_owned(),
        region: work.home_region.clone(),
        status,
        changes,
        document: work.policy.map(str::to_owned),
        deployed_hash: current.and_then(|c| c.hash),
    }))
}

/// Plans one account (see the module docs).
pub(crate) async fn plan_account(
    connector: &dyn Connector,
    work: AccountWork<'_>,
    wait: &WaitOptions,
) -> Result<AccountPlan, DeployError> {
    let home = connector.account(work.account, &work.home_region).await?;
    let mut regions: BTreeSet<&str> = work.stacks.iter().map(|(_, _, r)| r.as_str()).collect();
    regions.insert(&work.home_region);
    let stacks = try_join_all(regions.into_iter().map(|region| {
        let work = &work;
        let home = home.clone();
        async move {
            let apis = if region == work.home_region {
                home
            } else {
                connector.account(work.account, region).await?
            };
            plan_region(&apis, work, region, wait).await
        }
    }));
    let (stacks, policy) = futures_util::join!(stacks, plan_policy(&home, &work));
    Ok(AccountPlan {
        stacks: stacks?.into_iter().flatten().collect(),
        policy: policy?,
    })
}
