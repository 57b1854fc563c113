//! One stack at a time: create a change set, wait for it, describe it,
//! classify it; later execute it and wait for the stack.
//!
//! "The submitted information didn't contain changes" is an outcome
//! (`no_changes`), not an error. Changes are classified by meshsynth itself
//! (`crate::change::classify` on the deployed template and the new one); the
//! service's `Replacement` can only make a change more serious, never less,
//! because some services (and emulators) leave it out.

use std::time::Instant;

use serde_json::Value;

use super::cfn::{
    ChangeSetInfo, ChangeSetState, ChangeSetType, NewChangeSet, ServiceChange, StackInfo, StackState, TemplateSource,
};
use super::guards;
use super::manifest::{ManifestStack, Template};
use super::planned::{ContractSides, Exec, StackPlan, StackStatus, WaitOptions};
use super::s3::template_url;
use super::session::AccountApis;
use super::DeployError;
use crate::change::{self, Action, Replacement, ResourceChange};

/// The change set name for a template: the same template always gets the
/// same name, so a reviewer can match a plan to the console.
pub(crate) fn change_set_name(sha256: &str) -> String {
    format!("meshsynth-{}", &sha256[..sha256.len().min(12)])
}

/// The reasons CloudFormation gives a change set that changes nothing.
fn is_no_changes(reason: Option<&str>) -> bool {
    reason.is_some_and(|r| r.contains("didn't contain changes") || r.contains("No updates are to be performed"))
}

pub(super) fn api_error(account: &str, stack: &str, error: super::api::ApiError) -> DeployError {
    DeployError::Api {
        account: account.to_owned(),
        stack: Some(stack.to_owned()),
        error,
    }
}

/// What a stack needs before a change set can be made, from its status.
enum Start {
    /// Absent (or only reviewed, never created): a CREATE change set.
    Create,
    /// Deployed: an UPDATE change set.
    Update,
    /// Left in ROLLBACK_COMPLETE by a failed creation: delete, then create.
    Recreate { stack_id: String },
}

fn start_of(account: &str, name: &str, existing: Option<StackInfo>) -> Result<Start, DeployError> {
    let Some(info) = existing else {
        return Ok(Start::Create);
    };
    match &info.status {
        StackState::ReviewInProgress => Ok(Start::Create),
        StackState::RollbackComplete => Ok(Start::Recreate {
            stack_id: info.stack_id,
        }),
        s if s.is_updatable() => Ok(Start::Update),
        s if s.is_in_progress() => Err(DeployError::StackBusy {
            account: account.to_owned(),
            stack: name.to_owned(),
            status: s.clone(),
        }),
        s => Err(DeployError::StackStuck {
            account: account.to_owned(),
            stack: name.to_owned(),
            status: s.clone(),
            reason: info.status_reason.unwrap_or_default(),
        }),
    }
}

/// Where CloudFormation should read the template: inline, or staged in S3.
/// `None` when the staging bucket does not exist yet (first deploy).
async fn template_source(
    apis: &AccountApis,
    stack: &ManifestStack,
    region: &str,
    template: &Template,
) -> Result<Option<TemplateSource>, DeployError> {
    let Some(upload) = &stack.upload else {
        return Ok(Some(TemplateSource::Body(template.text.clone())));
    };
    match apis.s3.put_object(&upload.bucket, &upload.key, &template.text).await {
        Ok(()) => Ok(Some(TemplateSource::Url(template_url(
            region,
            &upload.bucket,
            &upload.key,
        )))),
        Err(e) if e.is_code("NoSuchBucket") => Ok(None),
        Err(e) => Err(api_error(&stack.account, &stack.name, e)),
    }
}

/// What preparing a change set came to.
pub(super) enum Prepared {
    NoChanges,
    Ready(ChangeSetInfo),
    /// The staging bucket is missing: try again once earlier waves ran.
    NoBucket,
}

/// Creates the stack's change set (replacing one of the same name left by an
/// earlier plan), waits for it, and reads it whole.
pub(super) async fn prepare(
    apis: &AccountApis,
    stack: &ManifestStack,
    region: &str,
    template: &Template,
    kind: ChangeSetType,
    wait: &WaitOptions,
) -> Result<Prepared, DeployError> {
    let (account, name) = (stack.account.as_str(), stack.name.as_str());
    let Some(source) = template_source(apis, stack, region, template).await? else {
        return Ok(Prepared::NoBucket);
    };
    let cs = change_set_name(&stack.sha256);
    let request = NewChangeSet {
        stack_name: name.to_owned(),
        change_set_name: cs.clone(),
        change_set_type: kind,
        template: source,
    };
    let refused = |e: super::api::ApiError| match e.code.as_deref() {
        // The template was refused outright: a finding about the synthesis.
        Some("ValidationError" | "InsufficientCapabilitiesException") => DeployError::ChangeSetFailed {
            account: account.to_owned(),
            stack: name.to_owned(),
            reason: e.message,
        },
        _ => api_error(account, name, e),
    };
    match apis.cfn.create_change_set(&request).await {
        Ok(_) => {}
        // A change set of this name is left from an earlier plan of the same
        // template: replace it (it may predate what is deployed now). Cheaper
        // than deleting first on every plan, where it is rarely there.
        Err(e) if e.is_code("AlreadyExistsException") => {
            apis.cfn
                .delete_change_set(name, &cs)
                .await
                .map_err(|e| api_error(account, name, e))?;
            apis.cfn.create_change_set(&request).await.map_err(refused)?;
        }
        Err(e) => return Err(refused(e)),
    }
    let info = wait_change_set(apis, account, name, &cs, wait).await?;
    if info.status == ChangeSetState::Failed {
        if is_no_changes(info.status_reason.as_deref()) {
            apis.cfn
                .delete_change_set(name, &cs)
                .await
                .map_err(|e| api_error(account, name, e))?;
            return Ok(Prepared::NoChanges);
        }
        return Err(DeployError::ChangeSetFailed {
            account: account.to_owned(),
            stack: name.to_owned(),
            reason: info.status_reason.unwrap_or_else(|| "no reason given".to_owned()),
        });
    }
    Ok(Prepared::Ready(info))
}

/// Sleeps between two looks at something that is not done yet.
pub(super) struct Poll {
    started: Instant,
    next: std::time::Duration,
    options: WaitOptions,
}

impl Poll {
    pub(super) fn new(options: &WaitOptions) -> Poll {
        Poll {
            started: Instant::now(),
            next: options.poll_initial,
            options: *options,
        }
    }

    /// Waits before the next look; `false` once the timeout is spent.
    pub(super) async fn again(&mut self) -> bool {
        if self.started.elapsed() >= self.options.timeout {
            return false;
        }
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(self.options.poll_max);
        true
    }
}

async fn wait_change_set(
    apis: &AccountApis,
    account: &str,
    stack: &str,
    change_set: &str,
    wait: &WaitOptions,
) -> Result<ChangeSetInfo, DeployError> {
    let mut poll = Poll::new(wait);
    loop {
        let info = apis
            .cfn
            .describe_change_set(stack, change_set)
            .await
            .map_err(|e| api_error(account, stack, e))?;
        if info.status != ChangeSetState::Pending {
            return Ok(info);
        }
        if !poll.again().await {
            return Err(DeployError::WaitTimeout {
                account: account.to_owned(),
                stack: stack.to_owned(),
                what: "its change set".to_owned(),
                secs: wait.timeout.as_secs(),
            });
        }
    }
}

fn replacement_of(s: &str) -> Option<Replacement> {
    match s {
        "True" => Some(Replacement::True),
        "False" => Some(Replacement::False),
        "Conditional" => Some(Replacement::Conditional),
        _ => None,
    }
}

fn rank(r: Option<Replacement>) -> u8 {
    match r {
        None | Some(Replacement::False) => 0,
        Some(Replacement::Conditional) => 1,
        Some(Replacement::True) => 2,
    }
}

fn is_destructive(action: Action, replacement: Option<Replacement>, stateful: bool) -> bool {
    stateful && (action == Action::Remove || rank(replacement) > 0)
}

/// Our classification, upgraded by the service's where the service is more
/// serious (a replacement we did not predict), plus any change only the
/// service saw. Sorted: destructive first, then by logical id.
pub(crate) fn merge_changes(ours: Vec<ResourceChange>, service: &[ServiceChange]) -> Vec<ResourceChange> {
    let mut merged = ours;
    for s in service {
        let theirs = s.replacement.as_deref().and_then(replacement_of);
        if let Some(c) = merged.iter_mut().find(|c| c.logical_id == s.logical_id) {
            if c.action == Action::Modify && rank(theirs) > rank(c.replacement) {
                c.replacement = theirs;
            }
            c.destructive = c.destructive || is_destructive(c.action, c.replacement, c.stateful);
        } else {
            let action = Action::from_service(&s.action);
            let stateful = change::is_stateful(&s.resource_type);
            merged.push(ResourceChange {
                action,
                logical_id: s.logical_id.clone(),
                resource_type: s.resource_type.clone(),
                // CloudFormation's replacement only for a modification, as `change::classify` gives it.
                replacement: theirs,
                stateful,
                destructive: is_destructive(action, theirs, stateful),
                properties: Vec::new(),
            });
        }
    }
    merged.sort_by(|a, b| {
        b.destructive
            .cmp(&a.destructive)
            .then_with(|| a.logical_id.cmp(&b.logical_id))
    });
    merged
}

/// What is deployed under a stack's name, as one account listing and one
/// GetTemplate found it (`deploy/account.rs` reads both for all of an
/// account's stacks at once).
pub(crate) struct Deployed {
    /// The stack's entry in the account's listing; `None`: no such stack.
    pub(crate) info: Option<StackInfo>,
    /// The template it was last deployed with (read only for a stack that
    /// can be updated); `None` when it was not read.
    pub(crate) template: Option<Result<String, super::api::ApiError>>,
}

/// Whether a deployed template is the one synthesised: the same text, or the
/// same JSON (formatting and key order do not count).
fn same_template(deployed: &str, template: &Template) -> Result<bool, serde_json::Error> {
    if deployed == template.text {
        return Ok(true);
    }
    Ok(serde_json::from_str::<Value>(deployed)? == template.json)
}

/// A deployed stack that holds data but has no termination protection was
/// deployed before meshsynth set guards (or someone turned them off): deploy
/// sets them.
fn guard_if_unprotected(plan: &mut StackPlan, template: &Value, protected: bool) {
    if !protected && guards::holds_data(template) {
        plan.exec = Exec::Guard;
        plan.note = Some("no termination protection: deploy sets it and the stack policy".to_owned());
    }
}

/// Plans one stack of the synthesis (see the module docs). A deployed stack
/// whose template is the synthesised one is `no_changes` at once: no change
/// set is made for it (an unchanged plan costs one GetTemplate per stack).
pub(crate) async fn plan_stack(
    apis: &AccountApis,
    stack: &ManifestStack,
    region: &str,
    template: &Template,
    deployed: Deployed,
    wait: &WaitOptions,
) -> Result<StackPlan, DeployError> {
    let (account, name) = (stack.account.as_str(), stack.name.as_str());
    let protected = deployed.info.as_ref().is_some_and(|i| i.termination_protection);
    let start = start_of(account, name, deployed.info)?;
    let mut plan = StackPlan {
        account: account.to_owned(),
        name: name.to_owned(),
        region: region.to_owned(),
        status: StackStatus::Create,
        changes: Vec::new(),
        wave: Some(stack.wave),
        note: None,
        contracts: ContractSides::default(),
        exec: Exec::Nothing,
    };
    let kind = match start {
        Start::Recreate { stack_id } => {
            plan.changes = merge_changes(change::classify(None, Some(&template.json)), &[]);
            plan.note = Some("left in ROLLBACK_COMPLETE by a failed creation: deploy deletes and recreates it".into());
            plan.exec = Exec::Prepare {
                change_set_type: ChangeSetType::Create,
                delete_first: Some(stack_id),
            };
            return Ok(plan);
        }
        Start::Create => ChangeSetType::Create,
        Start::Update => ChangeSetType::Update,
    };
    let old: Option<Value> = match kind {
        ChangeSetType::Create => None,
        ChangeSetType::Update => {
            let text = match deployed.template {
                Some(read) => read.map_err(|e| api_error(account, name, e))?,
                None => apis
                    .cfn
                    .get_template(name)
                    .await
                    .map_err(|e| api_error(account, name, e))?,
            };
            let unreadable = |e: serde_json::Error| DeployError::UnreadableTemplate {
                account: account.to_owned(),
                stack: name.to_owned(),
                reason: e.to_string(),
            };
            if same_template(&text, template).map_err(unreadable)? {
                plan.status = StackStatus::NoChanges;
                guard_if_unprotected(&mut plan, &template.json, protected);
                return Ok(plan);
            }
            Some(serde_json::from_str(&text).map_err(unreadable)?)
        }
    };
    match prepare(apis, stack, region, template, kind, wait).await? {
        Prepared::NoChanges => {
            plan.status = StackStatus::NoChanges;
            guard_if_unprotected(&mut plan, &template.json, protected);
        }
        Prepared::Ready(info) => {
            plan.status = if kind == ChangeSetType::Create {
                StackStatus::Create
            } else {
                StackStatus::Update
            };
            plan.changes = merge_changes(change::classify(old.as_ref(), Some(&template.json)), &info.changes);
            plan.contracts = ContractSides::of(account, old.as_ref(), Some(&template.json));
            plan.exec = Exec::Execute {
                change_set: change_set_name(&stack.sha256),
            };
        }
        Prepared::NoBucket => {
            // Judge from the templates alone; the change set is made when the
            // staging bucket exists (after the baseline wave).
            plan.status = if kind == ChangeSetType::Create {
                StackStatus::Create
            } else {
                StackStatus::Update
            };
            plan.changes = merge_changes(change::classify(old.as_ref(), Some(&template.json)), &[]);
            if plan.status != StackStatus::NoChanges {
                plan.contracts = ContractSides::of(account, old.as_ref(), Some(&template.json));
                let bucket = stack.upload.as_ref().map(|u| u.bucket.as_str()).unwrap_or_default();
                plan.note = Some(format!(
                    "change set made during deploy, once staging bucket `{bucket}` exists"
                ));
                plan.exec = Exec::Prepare {
                    change_set_type: kind,
                    delete_first: None,
                };
            }
        }
    }
    Ok(plan)
}

/// Deployed `mesh-*` stacks of an account (its listing, `deployed`) that the
/// synthesis no longer has: stack deletions, each resource a `Remove`.
pub(crate) async fn plan_stale(
    apis: &AccountApis,
    account: &str,
    region: &str,
    deployed: &[StackInfo],
    known: &[&str],
) -> Result<Vec<StackPlan>, DeployError> {
    let mut plans = Vec::new();
    for info in deployed {
        if !info.name.starts_with("mesh-") || known.contains(&info.name.as_str()) {
            continue;
        }
        // A stack only ever reviewed (an abandoned plan) holds nothing, and a
        // stack being deleted is on its way out already.
        if matches!(
            info.status,
            StackState::ReviewInProgress | StackState::DeleteInProgress | StackState::DeleteComplete
        ) {
            continue;
        }
        let (changes, contracts) = if info.status == StackState::RollbackComplete {
            (Vec::new(), ContractSides::default()) // rolled back: nothing left to remove
        } else {
            let text = apis
                .cfn
                .get_template(&info.stack_id)
                .await
                .map_err(|e| api_error(account, &info.name, e))?;
            let deployed: Value = serde_json::from_str(&text).map_err(|e| DeployError::UnreadableTemplate {
                account: account.to_owned(),
                stack: info.name.clone(),
                reason: e.to_string(),
            })?;
            let sides = ContractSides::of(account, Some(&deployed), None);
            (merge_changes(change::classify(Some(&deployed), None), &[]), sides)
        };
        plans.push(StackPlan {
            account: account.to_owned(),
            name: info.name.clone(),
            region: region.to_owned(),
            status: StackStatus::Delete,
            changes,
            wave: None,
            note: Some("no longer synthesised".to_owned()),
            contracts,
            exec: Exec::Delete {
                stack_id: info.stack_id.clone(),
                protected: info.termination_protection,
            },
        });
    }
    Ok(plans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::cfn::StackEvent;
    use crate::deploy::stack_exec::failure_reason;

    fn ev(id: &str, ty: &str, status: &str, reason: Option<&str>) -> StackEvent {
        StackEvent {
            logical_id: id.to_owned(),
            resource_type: ty.to_owned(),
            status: crate::deploy::cfn::EventStatus::of(status),
            reason: reason.map(str::to_owned),
        }
    }

    #[test]
    fn the_first_failed_resource_of_the_latest_operation_explains_a_failure() {
        let stack = "AWS::CloudFormation::Stack";
        let events = vec![
            ev("mesh-products", stack, "ROLLBACK_COMPLETE", None),
            ev(
                "Table",
                "AWS::Glue::Table",
                "CREATE_FAILED",
                Some("Resource creation cancelled"),
            ),
            ev(
                "Db",
                "AWS::Glue::Database",
                "CREATE_FAILED",
                Some("AlreadyExistsException: exists"),
            ),
            ev("mesh-products", stack, "CREATE_IN_PROGRESS", Some("User Initiated")),
            ev("Old", "AWS::S3::Bucket", "CREATE_FAILED", Some("an older failure")),
        ];
        assert_eq!(
            failure_reason(&events, "mesh-products").as_deref(),
            Some("Db (AWS::Glue::Database) CREATE_FAILED: AlreadyExistsException: exists")
        );
        assert_eq!(failure_reason(&[], "mesh-products"), None);
    }

    #[test]
    fn the_service_can_only_make_a_change_more_serious() {
        let old = serde_json::json!({"Resources": {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"Description": "a"}},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"Description": "a"}}
        }});
        let new = serde_json::json!({"Resources": {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"Description": "b"}},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"Description": "b"}}
        }});
        let ours = change::classify(Some(&old), Some(&new));
        let service = vec![
            ServiceChange {
                action: "Modify".into(),
                logical_id: "Key".into(),
                resource_type: "AWS::KMS::Key".into(),
                replacement: Some("True".into()),
            },
            ServiceChange {
                action: "Modify".into(),
                logical_id: "Role".into(),
                resource_type: "AWS::IAM::Role".into(),
                replacement: None,
            },
            ServiceChange {
                action: "Dynamic".into(),
                logical_id: "Bucket".into(),
                resource_type: "AWS::S3::Bucket".into(),
                replacement: Some("Conditional".into()),
            },
        ];
        let merged = merge_changes(ours, &service);
        let summary: Vec<_> = merged
            .iter()
            .map(|c| (c.logical_id.as_str(), c.action, c.replacement, c.destructive))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("Bucket", Action::Dynamic, Some(Replacement::Conditional), true),
                ("Key", Action::Modify, Some(Replacement::True), true),
                ("Role", Action::Modify, Some(Replacement::False), false),
            ]
        );
        // A service that says "False" where we predict a replacement is not believed.
        let renamed = serde_json::json!({"Resources": {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"Description": "a", "KeySpec": "HMAC_256"}},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"Description": "a"}}
        }});
        let ours = change::classify(Some(&old), Some(&renamed));
        let merged = merge_changes(
            ours,
            &[ServiceChange {
                action: "Modify".into(),
                logical_id: "Key".into(),
                resource_type: "AWS::KMS::Key".into(),
                replacement: Some("False".into()),
            }],
        );
        assert_eq!(merged[0].replacement, Some(Replacement::True));
        assert!(merged[0].destructive);
    }
}
