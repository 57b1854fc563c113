//! The review of a deploy: what each stack and catalog policy of the org
//! would become, worked out against what is deployed.
//!
//! [`plan`] works account by account (`account.rs`): it reads what is
//! deployed, creates (and waits for) a change set for each stack whose
//! template differs from the synthesis, diffs the Glue resource policy
//! against the one in force, and lists the `mesh-*` stacks that are deployed
//! but no longer synthesised as stack deletions. It executes nothing. The [`Plan`] it returns is what `preview`
//! renders and what `execute` carries out.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use futures_util::stream::{self, StreamExt};

use super::account::{self, AccountPlan, AccountWork};
use super::manifest::Synthesis;
pub(crate) use super::planned::{Plan, WaitOptions};
use super::progress::Progress;
use super::session::Connector;
use super::DeployError;

/// What to plan and how.
#[derive(Debug, Clone)]
pub(crate) struct PlanOptions {
    /// The accounts to plan (id → name): their stacks of the synthesis, and
    /// their deployed `mesh-*` stacks that the synthesis no longer has.
    pub(crate) accounts: BTreeMap<String, String>,
    /// Replaces every stack's region (`--region`).
    pub(crate) region_override: Option<String>,
    /// How many accounts to work on at once (an account's stacks are
    /// planned together).
    pub(crate) concurrency: usize,
    pub(crate) wait: WaitOptions,
}

type Task<'a> = Pin<Box<dyn Future<Output = Result<AccountPlan, DeployError>> + Send + 'a>>;

/// The work of each of `accounts` (by id): its stacks of the synthesis with
/// their templates and regions (`region_override` replacing each), and its
/// catalog policy. `plan` and `drift` both go account by account.
pub(crate) fn work_by_account<'s>(
    synth: &'s Synthesis,
    accounts: &'s BTreeMap<String, String>,
    region_override: Option<&str>,
) -> Vec<AccountWork<'s>> {
    let manifest = &synth.manifest;
    let region_of = |r: &str| region_override.map_or_else(|| r.to_owned(), str::to_owned);
    let home_region = region_of(&manifest.region);
    let mut work: BTreeMap<&str, AccountWork<'_>> = accounts
        .keys()
        .map(|a| {
            (
                a.as_str(),
                AccountWork {
                    account: a.as_str(),
                    home_region: home_region.clone(),
                    stacks: Vec::new(),
                    policy: None,
                },
            )
        })
        .collect();
    for stack in &manifest.stacks {
        let Some(w) = work.get_mut(stack.account.as_str()) else {
            continue;
        };
        let key = (stack.account.clone(), stack.name.clone());
        if let Some(template) = synth.templates.get(&key) {
            w.stacks.push((stack, template, region_of(&stack.region)));
        }
    }
    for policy in &manifest.policies {
        if let (Some(w), Some(document)) = (
            work.get_mut(policy.account.as_str()),
            synth.policies.get(&policy.account),
        ) {
            w.policy = Some(document.as_str());
        }
    }
    work.into_values().collect()
}

/// Plans every stack and policy of `synth` in `options.accounts`: one task
/// per account (`account::plan_account`), at most `options.concurrency` at once.
pub(crate) async fn plan(
    connector: &dyn Connector,
    synth: &Synthesis,
    options: &PlanOptions,
    progress: &Progress,
) -> Result<Plan, DeployError> {
    let manifest = &synth.manifest;
    let home_region = options
        .region_override
        .clone()
        .unwrap_or_else(|| manifest.region.clone());
    let work = work_by_account(synth, &options.accounts, options.region_override.as_deref());
    let wait = options.wait;
    let tasks: Vec<Task<'_>> = work
        .into_iter()
        .map(|w| -> Task<'_> { Box::pin(async move { account::plan_account(connector, w, &wait).await }) })
        .collect();

    let bar = progress.bar(tasks.len() as u64, "planning");
    let results: Vec<Result<AccountPlan, DeployError>> = stream::iter(tasks)
        .map(|task| {
            let bar = bar.clone();
            async move {
                let r = task.await;
                bar.inc(1);
                r
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    bar.finish_and_clear();

    let mut stacks = Vec::new();
    let mut policies = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(a) => {
                stacks.extend(a.stacks);
                policies.extend(a.policy);
            }
            Err(e) => errors.push(e),
        }
    }
    // Report the same error whatever order the calls finished in.
    errors.sort_by_key(ToString::to_string);
    if let Some(e) = errors.into_iter().next() {
        return Err(e);
    }
    stacks.sort_by(|a, b| (&a.account, &a.name).cmp(&(&b.account, &b.name)));
    policies.sort_by(|a, b| a.account.cmp(&b.account));
    Ok(Plan {
        org: manifest.org.clone(),
        region: home_region,
        accounts: options.accounts.clone(),
        stacks,
        policies,
    })
}
