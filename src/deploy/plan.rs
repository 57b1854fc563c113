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
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use super::account::{self, AccountPlan, AccountWork};
use super::cfn::ChangeSetType;
use super::manifest::Synthesis;
use super::progress::Progress;
use super::session::Connector;
use super::DeployError;
use crate::change::Replacement;

/// What happens to a stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StackStatus {
    Create,
    Update,
    NoChanges,
    Delete,
}

impl StackStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StackStatus::Create => "create",
            StackStatus::Update => "update",
            StackStatus::NoChanges => "no_changes",
            StackStatus::Delete => "delete",
        }
    }
}

/// What happens to a resource (CloudFormation's change actions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum ChangeAction {
    Add,
    Modify,
    Remove,
    Import,
    Dynamic,
}

impl ChangeAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeAction::Add => "Add",
            ChangeAction::Modify => "Modify",
            ChangeAction::Remove => "Remove",
            ChangeAction::Import => "Import",
            ChangeAction::Dynamic => "Dynamic",
        }
    }
}

/// One resource change of a stack, as meshsynth classifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedChange {
    pub action: ChangeAction,
    pub logical_id: String,
    pub resource_type: String,
    /// `None` for additions and removals.
    pub replacement: Option<Replacement>,
    /// The resource holds data (S3 bucket, KMS key, Glue database or table).
    pub stateful: bool,
    /// A stateful resource removed or replaced: data would be lost.
    pub destructive: bool,
    /// The changed property paths (`Properties.BucketName`), for the review.
    pub properties: Vec<String>,
}

/// How `deploy` carries out a stack's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Exec {
    /// Nothing to do.
    Nothing,
    /// Execute the change set the plan created.
    Execute { change_set: String },
    /// Create the change set when the stack's turn comes: its template is
    /// staged in a bucket that an earlier wave creates, or the stack must be
    /// deleted first (`delete_first`: a stack left in ROLLBACK_COMPLETE by a
    /// failed creation, which can only be deleted).
    Prepare {
        change_set_type: ChangeSetType,
        delete_first: Option<String>,
    },
    /// Delete the stack (by id), turning its termination protection off
    /// first when it is on.
    Delete { stack_id: String, protected: bool },
    /// The template is deployed, but the stack lacks its guards (stack
    /// policy and termination protection, `guards.rs`): set them.
    Guard,
}

/// The plan of one stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackPlan {
    pub account: String,
    pub name: String,
    pub region: String,
    pub status: StackStatus,
    /// Destructive changes first, then by logical id.
    pub changes: Vec<PlannedChange>,
    /// The manifest's wave; `None` for a stack to delete.
    pub wave: Option<u32>,
    /// Something the reviewer should know (a stack to recreate, a change set
    /// that will be created during the deploy).
    pub note: Option<String>,
    /// The product versions (contracts without consumers) the deployed and the
    /// new template describe, when the stack changes; empty otherwise.
    pub contracts: ContractSides,
    pub(crate) exec: Exec,
}

/// What a stack's deployed and new templates promise (`crate::contract::from_template`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContractSides {
    pub deployed: BTreeMap<String, crate::contract::VersionContract>,
    pub new: BTreeMap<String, crate::contract::VersionContract>,
}

impl ContractSides {
    /// Both sides of a stack from its templates (`None`: not deployed yet).
    pub(crate) fn of(account: &str, deployed: Option<&serde_json::Value>, new: Option<&serde_json::Value>) -> Self {
        ContractSides {
            deployed: deployed
                .map(|t| crate::contract::from_template(account, t))
                .unwrap_or_default(),
            new: new
                .map(|t| crate::contract::from_template(account, t))
                .unwrap_or_default(),
        }
    }
}

impl StackPlan {
    pub fn destructive(&self) -> usize {
        self.changes.iter().filter(|c| c.destructive).count()
    }
}

/// What happens to a catalog resource policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyStatus {
    Create,
    Update,
    NoChanges,
    /// The account has a policy but should have none (its last grant gone,
    /// or the org switched to Lake Formation).
    Delete,
}

impl PolicyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyStatus::Create => "create",
            PolicyStatus::Update => "update",
            PolicyStatus::NoChanges => "no_changes",
            PolicyStatus::Delete => "delete",
        }
    }
}

/// The plan of one account's Glue catalog resource policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyPlan {
    pub account: String,
    pub region: String,
    pub status: PolicyStatus,
    /// What the change grants and takes away, one line per statement
    /// (`policy_diff::describe_change`); empty when nothing changes.
    pub changes: Vec<String>,
    /// The policy to put (the synthesised file, verbatim); `None` to delete.
    pub(crate) document: Option<String>,
    /// Glue's hash of the policy the plan saw, so deploy changes only that
    /// policy (`PolicyHashCondition`).
    pub(crate) deployed_hash: Option<String>,
}

/// The plan of a whole org (or of the accounts asked for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub org: String,
    pub region: String,
    /// Every planned account, with its name from the topology.
    pub accounts: BTreeMap<String, String>,
    /// Sorted by (account, name).
    pub stacks: Vec<StackPlan>,
    /// Sorted by account.
    pub policies: Vec<PolicyPlan>,
}

impl Plan {
    /// The changes that remove or replace a stateful resource.
    pub fn destructive(&self) -> usize {
        self.stacks.iter().map(StackPlan::destructive).sum()
    }

    /// The stacks to delete.
    pub fn deletions(&self) -> usize {
        self.stacks.iter().filter(|s| s.status == StackStatus::Delete).count()
    }

    /// Breaking changes to live versions between what is deployed and what
    /// would be, over every planned stack (a version may move between the
    /// stacks of a split part). Consumers come from `listing` (the
    /// synthesis's `contracts.json`).
    pub fn breaking(
        &self,
        listing: &BTreeMap<String, crate::contract::VersionContract>,
    ) -> Vec<crate::contract::BreakingVersion> {
        let mut deployed = BTreeMap::new();
        let mut new = BTreeMap::new();
        for s in &self.stacks {
            deployed.extend(s.contracts.deployed.iter().map(|(k, v)| (k.clone(), v.clone())));
            new.extend(s.contracts.new.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        crate::contract::breaking(&deployed, &new, listing)
    }

    /// Whether deploying would change nothing.
    pub fn is_unchanged(&self) -> bool {
        self.stacks
            .iter()
            .all(|s| s.status == StackStatus::NoChanges && s.exec == Exec::Nothing)
            && self.policies.iter().all(|p| p.status == PolicyStatus::NoChanges)
    }
}

/// How long to wait for change sets and stacks, and how often to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    /// Give up on one change set or stack operation after this long.
    pub timeout: Duration,
    /// The first pause between two looks; doubled up to `poll_max`.
    pub poll_initial: Duration,
    pub poll_max: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            timeout: Duration::from_secs(3600),
            poll_initial: Duration::from_millis(250),
            poll_max: Duration::from_secs(5),
        }
    }
}

/// What to plan and how.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// The accounts to plan (id → name): their stacks of the synthesis, and
    /// their deployed `mesh-*` stacks that the synthesis no longer has.
    pub accounts: BTreeMap<String, String>,
    /// Replaces every stack's region (`--region`).
    pub region_override: Option<String>,
    /// How many accounts to work on at once (an account's stacks are
    /// planned together).
    pub concurrency: usize,
    pub wait: WaitOptions,
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
pub async fn plan(
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
