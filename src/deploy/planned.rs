//! What a plan is made of: per stack its status, resource changes (the one
//! change model, `crate::change`) and how `deploy` carries it out; per account
//! its Glue catalog policy; and the whole [`Plan`]. Types only, with the
//! questions `preview`, `approval` and `execute` ask of them. `change_set`
//! builds these while `plan` drives it, so they live apart from both and
//! neither imports the other. Pure: no IO.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::cfn::ChangeSetType;
use crate::change::ResourceChange;

/// What happens to a stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StackStatus {
    Create,
    Update,
    NoChanges,
    Delete,
}

impl StackStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StackStatus::Create => "create",
            StackStatus::Update => "update",
            StackStatus::NoChanges => "no_changes",
            StackStatus::Delete => "delete",
        }
    }
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
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StackPlan {
    pub(crate) account: String,
    pub(crate) name: String,
    pub(crate) region: String,
    pub(crate) status: StackStatus,
    /// Destructive changes first, then by logical id.
    pub(crate) changes: Vec<ResourceChange>,
    /// The manifest's wave; `None` for a stack to delete.
    pub(crate) wave: Option<u32>,
    /// Something the reviewer should know (a stack to recreate, a change set
    /// that will be created during the deploy).
    pub(crate) note: Option<String>,
    /// The product versions (contracts without consumers) the deployed and the
    /// new template describe, when the stack changes; empty otherwise.
    pub(crate) contracts: ContractSides,
    pub(crate) exec: Exec,
}

/// What a stack's deployed and new templates promise (`crate::contract::from_template`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ContractSides {
    pub(crate) deployed: BTreeMap<String, crate::contract::VersionContract>,
    pub(crate) new: BTreeMap<String, crate::contract::VersionContract>,
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
    pub(crate) fn destructive(&self) -> usize {
        self.changes.iter().filter(|c| c.destructive).count()
    }
}

/// What happens to a catalog resource policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PolicyStatus {
    Create,
    Update,
    NoChanges,
    /// The account has a policy but should have none (its last grant gone,
    /// or the org switched to Lake Formation).
    Delete,
}

impl PolicyStatus {
    pub(crate) fn as_str(self) -> &'static str {
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
pub(crate) struct PolicyPlan {
    pub(crate) account: String,
    pub(crate) region: String,
    pub(crate) status: PolicyStatus,
    /// What the change grants and takes away, one line per statement
    /// (`policy_diff::describe_change`); empty when nothing changes.
    pub(crate) changes: Vec<String>,
    /// The policy to put (the synthesised file, verbatim); `None` to delete.
    pub(crate) document: Option<String>,
    /// Glue's hash of the policy the plan saw, so deploy changes only that
    /// policy (`PolicyHashCondition`).
    pub(crate) deployed_hash: Option<String>,
}

/// The plan of a whole org (or of the accounts asked for).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub(crate) org: String,
    pub(crate) region: String,
    /// Every planned account, with its name from the topology.
    pub(crate) accounts: BTreeMap<String, String>,
    /// Sorted by (account, name).
    pub(crate) stacks: Vec<StackPlan>,
    /// Sorted by account.
    pub(crate) policies: Vec<PolicyPlan>,
}

impl Plan {
    /// The changes that remove or replace a stateful resource.
    pub(crate) fn destructive(&self) -> usize {
        self.stacks.iter().map(StackPlan::destructive).sum()
    }

    /// The stacks to delete.
    pub(crate) fn deletions(&self) -> usize {
        self.stacks.iter().filter(|s| s.status == StackStatus::Delete).count()
    }

    /// Breaking changes to live versions between what is deployed and what
    /// would be, over every planned stack (a version may move between the
    /// stacks of a split part). Consumers come from `listing` (the
    /// synthesis's `contracts.json`).
    pub(crate) fn breaking(
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
    pub(crate) fn is_unchanged(&self) -> bool {
        self.stacks
            .iter()
            .all(|s| s.status == StackStatus::NoChanges && s.exec == Exec::Nothing)
            && self.policies.iter().all(|p| p.status == PolicyStatus::NoChanges)
    }
}

/// How long to wait for change sets and stacks, and how often to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WaitOptions {
    /// Give up on one change set or stack operation after this long.
    pub(crate) timeout: Duration,
    /// The first pause between two looks; doubled up to `poll_max`.
    pub(crate) poll_initial: Duration,
    pub(crate) poll_max: Duration,
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
