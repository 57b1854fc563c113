//! Carrying out one stack's plan: execute its change set (or create one
//! first, for a template staged during the deploy), delete it, or set its
//! guards, then wait until the stack settles and, on failure, name the first
//! resource that failed. `change_set.rs` plans; this executes.

use std::collections::BTreeSet;

use super::cfn::{ChangeSetType, StackInfo, StackState};
use super::change_set::{api_error, change_set_name, prepare, Poll, Prepared};
use super::guards;
use super::manifest::{ManifestStack, Template};
use super::planned::{Exec, StackPlan, StackStatus, WaitOptions};
use super::session::AccountApis;
use super::DeployError;

/// How one stack's execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Created,
    Updated,
    Deleted,
    Unchanged,
    /// Only the guards were set (stack policy, termination protection).
    Guarded,
}

/// Why a stack failed: the stack's status and the first failed resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StackFailure {
    pub(crate) status: Option<String>,
    pub(crate) reason: String,
}

impl From<DeployError> for StackFailure {
    fn from(e: DeployError) -> Self {
        StackFailure {
            status: None,
            reason: e.to_string(),
        }
    }
}

/// Carries out one stack's plan and waits until the stack settles.
pub(crate) async fn execute_stack(
    apis: &AccountApis,
    plan: &StackPlan,
    stack: Option<&ManifestStack>,
    template: Option<&Template>,
    wait: &WaitOptions,
) -> Result<Outcome, StackFailure> {
    let (account, name) = (plan.account.as_str(), plan.name.as_str());
    let outcome = match &plan.exec {
        Exec::Nothing => return Ok(Outcome::Unchanged),
        Exec::Guard => {
            guard(apis, account, name).await?;
            return Ok(Outcome::Guarded);
        }
        Exec::Execute { change_set } => {
            run_change_set(apis, plan, change_set, plan.status == StackStatus::Create, wait).await?
        }
        Exec::Prepare {
            change_set_type,
            delete_first,
        } => {
            let (Some(stack), Some(template)) = (stack, template) else {
                return Err(StackFailure {
                    status: None,
                    reason: "not in the synthesis".to_owned(),
                });
            };
            if let Some(stack_id) = delete_first {
                apis.cfn
                    .delete_stack(stack_id)
                    .await
                    .map_err(|e| api_error(account, name, e))?;
                settle_deleted(apis, account, name, stack_id, wait).await?;
            }
            match prepare(apis, stack, &plan.region, template, *change_set_type, wait).await? {
                Prepared::NoChanges => Outcome::Unchanged,
                Prepared::NoBucket => {
                    return Err(StackFailure {
                        status: None,
                        reason: format!(
                            "staging bucket `{}` does not exist in account {account}",
                            stack.upload.as_ref().map(|u| u.bucket.as_str()).unwrap_or_default()
                        ),
                    })
                }
                Prepared::Ready(_) => {
                    let creating = *change_set_type == ChangeSetType::Create;
                    run_change_set(apis, plan, &change_set_name(&stack.sha256), creating, wait).await?
                }
            }
        }
        Exec::Delete { stack_id, protected } => {
            // The deploy allowed this deletion: only now does protection go.
            if *protected {
                apis.cfn
                    .set_termination_protection(stack_id, false)
                    .await
                    .map_err(|e| api_error(account, name, e))?;
            }
            apis.cfn
                .delete_stack(stack_id)
                .await
                .map_err(|e| api_error(account, name, e))?;
            settle_deleted(apis, account, name, stack_id, wait).await?;
            return Ok(Outcome::Deleted);
        }
    };
    // Created or updated (or found unchanged): a stack holding data gets its
    // guards, which also puts back the protective policy after a lifted update.
    if outcome != Outcome::Unchanged && template.is_some_and(|t| guards::holds_data(&t.json)) {
        guard(apis, account, name).await?;
    }
    Ok(outcome)
}

/// Executes a change set and waits for the stack. An update that replaces
/// or removes stateful resources (each one allowed by the deploy) runs under
/// a temporary stack policy lifting exactly those logical ids; the
/// protective policy is put back afterwards, whatever happened.
async fn run_change_set(
    apis: &AccountApis,
    plan: &StackPlan,
    change_set: &str,
    creating: bool,
    wait: &WaitOptions,
) -> Result<Outcome, StackFailure> {
    let (account, name) = (plan.account.as_str(), plan.name.as_str());
    let lifted: BTreeSet<String> = plan
        .changes
        .iter()
        .filter(|c| c.destructive)
        .map(|c| c.logical_id.clone())
        .collect();
    let temporary = !creating && !lifted.is_empty();
    if temporary {
        apis.cfn
            .set_stack_policy(name, &guards::stack_policy(&lifted))
            .await
            .map_err(|e| api_error(account, name, e))?;
    }
    let executed = match apis.cfn.execute_change_set(name, change_set).await {
        Ok(()) => settle(apis, account, name, name, creating, wait).await,
        Err(e) => Err(api_error(account, name, e).into()),
    };
    if temporary {
        let restored = apis
            .cfn
            .set_stack_policy(name, &guards::stack_policy(&BTreeSet::new()))
            .await
            .map_err(|e| api_error(account, name, e).into());
        // A failed update is the news; a failed restore after it is secondary.
        return executed.and_then(|o| restored.map(|()| o));
    }
    executed
}

/// Sets a stack's guards: the protective stack policy and termination
/// protection (`guards.rs`).
async fn guard(apis: &AccountApis, account: &str, name: &str) -> Result<(), StackFailure> {
    apis.cfn
        .set_stack_policy(name, &guards::stack_policy(&BTreeSet::new()))
        .await
        .map_err(|e| api_error(account, name, e))?;
    apis.cfn
        .set_termination_protection(name, true)
        .await
        .map_err(|e| api_error(account, name, e))?;
    Ok(())
}

/// Waits for an executed change set's stack to settle.
async fn settle(
    apis: &AccountApis,
    account: &str,
    name: &str,
    stack: &str,
    creating: bool,
    wait: &WaitOptions,
) -> Result<Outcome, StackFailure> {
    let mut poll = Poll::new(wait);
    loop {
        let info = apis
            .cfn
            .describe_stack(stack)
            .await
            .map_err(|e| api_error(account, name, e))?;
        let Some(info) = info else {
            return Err(StackFailure {
                status: None,
                reason: "the stack disappeared while it was being deployed".to_owned(),
            });
        };
        match &info.status {
            StackState::CreateComplete => return Ok(Outcome::Created),
            StackState::UpdateComplete | StackState::ImportComplete => {
                return Ok(if creating { Outcome::Created } else { Outcome::Updated });
            }
            s if s.is_in_progress() => {}
            _ => return Err(failure(apis, &info).await),
        }
        if !poll.again().await {
            return Err(DeployError::WaitTimeout {
                account: account.to_owned(),
                stack: name.to_owned(),
                what: "the stack".to_owned(),
                secs: wait.timeout.as_secs(),
            }
            .into());
        }
    }
}

async fn settle_deleted(
    apis: &AccountApis,
    account: &str,
    name: &str,
    stack_id: &str,
    wait: &WaitOptions,
) -> Result<(), StackFailure> {
    let mut poll = Poll::new(wait);
    loop {
        let info = apis
            .cfn
            .describe_stack(stack_id)
            .await
            .map_err(|e| api_error(account, name, e))?;
        match info {
            None => return Ok(()),
            Some(i) if i.status == StackState::DeleteComplete => return Ok(()),
            Some(i) if i.status.is_in_progress() => {}
            Some(i) => return Err(failure(apis, &i).await),
        }
        if !poll.again().await {
            return Err(DeployError::WaitTimeout {
                account: account.to_owned(),
                stack: name.to_owned(),
                what: "the deletion".to_owned(),
                secs: wait.timeout.as_secs(),
            }
            .into());
        }
    }
}

/// The failure of a stack, explained by its events: the first resource that
/// failed in the latest operation, else the stack's own reason.
async fn failure(apis: &AccountApis, info: &StackInfo) -> StackFailure {
    let events = apis.cfn.stack_events(&info.stack_id).await.unwrap_or_default();
    let reason = failure_reason(&events, &info.name)
        .or_else(|| info.status_reason.clone())
        .unwrap_or_else(|| "no reason given in the stack events".to_owned());
    StackFailure {
        status: Some(info.status.to_string()),
        reason,
    }
}

/// From events listed newest first: the oldest failed resource of the latest
/// operation (which began with the stack's "User Initiated" event).
pub(crate) fn failure_reason(events: &[super::cfn::StackEvent], stack_name: &str) -> Option<String> {
    let latest: Vec<_> = events
        .iter()
        .take_while(|e| !(e.logical_id == stack_name && e.reason.as_deref() == Some("User Initiated")))
        .collect();
    latest
        .iter()
        .rev()
        .find(|e| e.status.is_failed() && e.logical_id != stack_name && e.reason.is_some())
        .map(|e| {
            format!(
                "{} ({}) {}: {}",
                e.logical_id,
                e.resource_type,
                e.status,
                e.reason.as_deref().unwrap_or_default()
            )
        })
        .or_else(|| {
            latest
                .iter()
                .rev()
                .find(|e| e.status.is_failed() && e.reason.is_some())
                .and_then(|e| e.reason.clone())
        })
}
