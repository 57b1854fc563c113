//! Test doubles of the service traits, for fault injection: throttling, a
//! stack that fails to deploy, and the engine's reaction to both (retries,
//! later waves skipped, resuming). The happy path is tested against the moto
//! emulator in `tests/it/deploy.rs`; these cover what moto cannot be made to do.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;

use super::api::{ApiError, ApiErrorKind, RetryPolicy, Retrying};
use super::cfn::{
    CfnApi, ChangeSetInfo, ChangeSetState, ChangeSetType, EventStatus, ExecutionState, NewChangeSet, ServiceChange,
    StackEvent, StackInfo, StackState, TemplateSource,
};
pub(crate) use super::fake_services::{Calls, FakeGlue, FakeS3};
use super::session::{AccountApis, Connector};
use super::DeployError;

#[derive(Debug, Clone)]
struct FakeStack {
    id: String,
    name: String,
    status: String,
    template: Option<String>,
    events: Vec<StackEvent>, // oldest first
    policy: Option<String>,
    protected: bool,
}

#[derive(Debug, Clone)]
struct FakeChangeSet {
    stack_id: String,
    name: String,
    kind: ChangeSetType,
    template: String,
    info: ChangeSetInfo,
}

#[derive(Debug, Default)]
struct State {
    stacks: Vec<FakeStack>,
    change_sets: Vec<FakeChangeSet>,
}

/// An in-memory CloudFormation of one account.
#[derive(Debug, Default)]
pub(crate) struct FakeCfn {
    account: String,
    state: Mutex<State>,
    /// The next this many calls are throttled.
    pub(crate) throttle_next: AtomicU32,
    /// Throttled answers given so far.
    pub(crate) throttled: AtomicU32,
    /// Stacks whose next execution fails, with the failing resource.
    pub(crate) fail: Mutex<BTreeMap<String, String>>,
    /// How long executing a stack takes (none: at once).
    pub(crate) delay: Mutex<BTreeMap<String, Duration>>,
    /// `execute <stack>` / `delete <stack>`, in call order.
    pub(crate) log: Mutex<Vec<String>>,
    /// Every call, by operation (and the latency each one takes).
    pub(crate) calls: Calls,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn validation(op: &'static str, message: String) -> ApiError {
    ApiError::new(op, ApiErrorKind::Service, Some("ValidationError"), message)
}

fn event(logical_id: &str, ty: &str, status: &str, reason: Option<&str>) -> StackEvent {
    StackEvent {
        logical_id: logical_id.to_owned(),
        resource_type: ty.to_owned(),
        status: EventStatus::of(status),
        reason: reason.map(str::to_owned),
    }
}

impl FakeCfn {
    pub(crate) fn new(account: &str) -> FakeCfn {
        FakeCfn {
            account: account.to_owned(),
            ..FakeCfn::default()
        }
    }

    async fn gate(&self, op: &'static str) -> Result<(), ApiError> {
        self.calls.count(op).await;
        let left = self.throttle_next.load(Ordering::SeqCst);
        if left > 0 {
            self.throttle_next.store(left - 1, Ordering::SeqCst);
            self.throttled.fetch_add(1, Ordering::SeqCst);
            return Err(ApiError::throttled(op));
        }
        Ok(())
    }

    /// A stack deployed with `template` (CREATE_COMPLETE), as if by an
    /// earlier deploy; `guarded`: with termination protection and the stack
    /// policy, as meshsynth leaves a stack holding data.
    pub(crate) fn deployed(&self, name: &str, template: &str, guarded: bool) {
        let mut state = lock(&self.state);
        let n = state.stacks.len();
        state.stacks.push(FakeStack {
            id: format!("arn:aws:cloudformation:eu-west-1:{}:stack/{name}/{n}", self.account),
            name: name.to_owned(),
            status: "CREATE_COMPLETE".into(),
            template: Some(template.to_owned()),
            events: Vec::new(),
            policy: guarded.then(|| super::guards::stack_policy(&BTreeSet::new())),
            protected: guarded,
        });
    }

    /// The stack's policy and termination protection, if it exists.
    pub(crate) fn guards_of(&self, name: &str) -> Option<(Option<String>, bool)> {
        let mut state = lock(&self.state);
        FakeCfn::live(&mut state, name).map(|s| (s.policy.clone(), s.protected))
    }

    pub(crate) fn status_of(&self, name: &str) -> Option<String> {
        let state = lock(&self.state);
        state
            .stacks
            .iter()
            .rev()
            .find(|s| s.name == name)
            .map(|s| s.status.clone())
    }

    pub(crate) fn log(&self) -> Vec<String> {
        lock(&self.log).clone()
    }

    fn live<'s>(state: &'s mut State, name_or_id: &str) -> Option<&'s mut FakeStack> {
        state
            .stacks
            .iter_mut()
            .rev()
            .find(|s| s.id == name_or_id || (s.name == name_or_id && s.status != "DELETE_COMPLETE"))
    }
}

#[async_trait]
impl CfnApi for FakeCfn {
    async fn describe_stack(&self, stack: &str) -> Result<Option<StackInfo>, ApiError> {
        self.gate("cloudformation:DescribeStacks").await?;
        let mut state = lock(&self.state);
        Ok(FakeCfn::live(&mut state, stack).map(|s| StackInfo {
            stack_id: s.id.clone(),
            name: s.name.clone(),
            status: StackState::of(&s.status),
            status_reason: None,
            termination_protection: s.protected,
        }))
    }

    async fn list_stacks(&self) -> Result<Vec<StackInfo>, ApiError> {
        self.gate("cloudformation:DescribeStacks").await?;
        let state = lock(&self.state);
        Ok(state
            .stacks
            .iter()
            .filter(|s| s.status != "DELETE_COMPLETE")
            .map(|s| StackInfo {
                stack_id: s.id.clone(),
                name: s.name.clone(),
                status: StackState::of(&s.status),
                status_reason: None,
                termination_protection: s.protected,
            })
            .collect())
    }

    async fn get_template(&self, stack: &str) -> Result<String, ApiError> {
        self.gate("cloudformation:GetTemplate").await?;
        let mut state = lock(&self.state);
        FakeCfn::live(&mut state, stack)
            .and_then(|s| s.template.clone())
            .ok_or_else(|| {
                validation(
                    "cloudformation:GetTemplate",
                    format!("Stack with id {stack} does not exist"),
                )
            })
    }

    async fn create_change_set(&self, request: &NewChangeSet) -> Result<String, ApiError> {
        let op = "cloudformation:CreateChangeSet";
        self.gate(op).await?;
        let TemplateSource::Body(template) = &request.template else {
            return Err(validation(op, "the fake reads inline templates only".into()));
        };
        let mut state = lock(&self.state);
        let n = state.stacks.len();
        let existing = FakeCfn::live(&mut state, &request.stack_name)
            .map(|s| (s.id.clone(), s.status.clone(), s.template.clone()));
        let (stack_id, deployed) = match (request.change_set_type, existing) {
            (ChangeSetType::Create, Some((id, status, _))) if status == "REVIEW_IN_PROGRESS" => (id, None),
            (ChangeSetType::Create, Some(_)) => {
                return Err(ApiError::new(
                    op,
                    ApiErrorKind::Service,
                    Some("AlreadyExistsException"),
                    "exists",
                ));
            }
            (ChangeSetType::Create, None) => {
                let stack = FakeStack {
                    id: format!(
                        "arn:aws:cloudformation:eu-west-1:{}:stack/{}/{n}",
                        self.account, request.stack_name
                    ),
                    name: request.stack_name.clone(),
                    status: "REVIEW_IN_PROGRESS".into(),
                    template: None,
                    events: Vec::new(),
                    policy: None,
                    protected: false,
                };
                let id = stack.id.clone();
                state.stacks.push(stack);
                (id, None)
            }
            (ChangeSetType::Update, Some((id, _, deployed))) => (id, deployed),
            (ChangeSetType::Update, None) => {
                return Err(validation(op, format!("Stack [{}] does not exist", request.stack_name)));
            }
        };
        let old: Option<serde_json::Value> = deployed.as_deref().and_then(|t| serde_json::from_str(t).ok());
        let new: Option<serde_json::Value> = serde_json::from_str(template).ok();
        let changes: Vec<ServiceChange> = crate::change::classify(old.as_ref(), new.as_ref())
            .into_iter()
            .map(|c| ServiceChange {
                action: c.action.to_string(),
                logical_id: c.logical_id,
                resource_type: c.resource_type,
                replacement: None,
            })
            .collect();
        let no_changes = deployed.as_deref() == Some(template.as_str());
        let info = ChangeSetInfo {
            status: if no_changes {
                ChangeSetState::Failed
            } else {
                ChangeSetState::Ready
            },
            execution_status: Some(if no_changes {
                ExecutionState::Unavailable
            } else {
                ExecutionState::Available
            }),
            status_reason: no_changes.then(|| "The submitted information didn't contain changes.".to_owned()),
            changes: if no_changes { Vec::new() } else { changes },
        };
        if state
            .change_sets
            .iter()
            .any(|c| c.stack_id == stack_id && c.name == request.change_set_name)
        {
            return Err(ApiError::new(
                op,
                ApiErrorKind::Service,
                Some("AlreadyExistsException"),
                "ChangeSet exists",
            ));
        }
        state.change_sets.push(FakeChangeSet {
            stack_id: stack_id.clone(),
            name: request.change_set_name.clone(),
            kind: request.change_set_type,
            template: template.clone(),
            info,
        });
        Ok(format!("{stack_id}/changeSet/{}", request.change_set_name))
    }

    async fn describe_change_set(&self, stack: &str, change_set: &str) -> Result<ChangeSetInfo, ApiError> {
        let op = "cloudformation:DescribeChangeSet";
        self.gate(op).await?;
        let mut state = lock(&self.state);
        let id = FakeCfn::live(&mut state, stack)
            .map(|s| s.id.clone())
            .unwrap_or_default();
        state
            .change_sets
            .iter()
            .find(|c| c.stack_id == id && c.name == change_set)
            .map(|c| c.info.clone())
            .ok_or_else(|| ApiError::new(op, ApiErrorKind::Service, Some("ChangeSetNotFound"), "not found"))
    }

    async fn delete_change_set(&self, stack: &str, change_set: &str) -> Result<(), ApiError> {
        self.gate("cloudformation:DeleteChangeSet").await?;
        let mut state = lock(&self.state);
        let id = FakeCfn::live(&mut state, stack)
            .map(|s| s.id.clone())
            .unwrap_or_default();
        state
            .change_sets
            .retain(|c| !(c.stack_id == id && c.name == change_set));
        Ok(())
    }

    async fn execute_change_set(&self, stack: &str, change_set: &str) -> Result<(), ApiError> {
        let op = "cloudformation:ExecuteChangeSet";
        self.gate(op).await?;
        lock(&self.log).push(format!("execute {}/{stack}", self.account));
        let delay = lock(&self.delay).get(stack).copied();
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let failing = lock(&self.fail).remove(stack);
        let mut state = lock(&self.state);
        let id = FakeCfn::live(&mut state, stack)
            .map(|s| s.id.clone())
            .unwrap_or_default();
        let Some(cs) = state
            .change_sets
            .iter()
            .find(|c| c.stack_id == id && c.name == change_set)
            .cloned()
        else {
            return Err(ApiError::new(
                op,
                ApiErrorKind::Service,
                Some("ChangeSetNotFound"),
                "not found",
            ));
        };
        if cs.info.execution_status != Some(ExecutionState::Available) {
            return Err(ApiError::new(
                op,
                ApiErrorKind::Service,
                Some("InvalidChangeSetStatus"),
                "not available",
            ));
        }
        state.change_sets.retain(|c| c.stack_id != id);
        let Some(s) = FakeCfn::live(&mut state, &id) else {
            return Err(validation(op, format!("Stack [{stack}] does not exist")));
        };
        let verb = if cs.kind == ChangeSetType::Create {
            "CREATE"
        } else {
            "UPDATE"
        };
        let name = s.name.clone();
        let e = event(
            &name,
            "AWS::CloudFormation::Stack",
            &format!("{verb}_IN_PROGRESS"),
            Some("User Initiated"),
        );
        s.events.push(e);
        match failing {
            Some(resource) => {
                let e = event(
                    &resource,
                    "AWS::Glue::Database",
                    &format!("{verb}_FAILED"),
                    Some("AlreadyExistsException: Database already exists"),
                );
                s.events.push(e);
                s.status = if verb == "CREATE" {
                    "ROLLBACK_COMPLETE"
                } else {
                    "UPDATE_ROLLBACK_COMPLETE"
                }
                .into();
                if verb == "CREATE" {
                    s.template = Some(cs.template);
                }
            }
            None => {
                s.status = format!("{verb}_COMPLETE");
                s.template = Some(cs.template);
            }
        }
        let status = s.status.clone();
        let e = event(&name, "AWS::CloudFormation::Stack", &status, None);
        s.events.push(e);
        Ok(())
    }

    async fn delete_stack(&self, stack: &str) -> Result<(), ApiError> {
        self.gate("cloudformation:DeleteStack").await?;
        let mut state = lock(&self.state);
        if let Some(s) = FakeCfn::live(&mut state, stack) {
            if s.protected {
                return Err(validation(
                    "cloudformation:DeleteStack",
                    format!(
                        "Stack [{}] cannot be deleted while TerminationProtection is enabled",
                        s.name
                    ),
                ));
            }
            s.status = "DELETE_COMPLETE".into();
        }
        lock(&self.log).push(format!("delete {}/{stack}", self.account));
        Ok(())
    }

    async fn set_stack_policy(&self, stack: &str, policy: &str) -> Result<(), ApiError> {
        self.gate("cloudformation:SetStackPolicy").await?;
        let mut state = lock(&self.state);
        let s = FakeCfn::live(&mut state, stack).ok_or_else(|| {
            validation(
                "cloudformation:SetStackPolicy",
                format!("Stack [{stack}] does not exist"),
            )
        })?;
        s.policy = Some(policy.to_owned());
        lock(&self.log).push(format!("policy {}/{}", self.account, s.name));
        Ok(())
    }

    async fn set_termination_protection(&self, stack: &str, enabled: bool) -> Result<(), ApiError> {
        self.gate("cloudformation:UpdateTerminationProtection").await?;
        let mut state = lock(&self.state);
        let s = FakeCfn::live(&mut state, stack).ok_or_else(|| {
            validation(
                "cloudformation:UpdateTerminationProtection",
                format!("Stack [{stack}] does not exist"),
            )
        })?;
        s.protected = enabled;
        lock(&self.log).push(format!("protect={enabled} {}/{}", self.account, s.name));
        Ok(())
    }

    async fn stack_events(&self, stack: &str) -> Result<Vec<StackEvent>, ApiError> {
        self.gate("cloudformation:DescribeStackEvents").await?;
        let mut state = lock(&self.state);
        Ok(FakeCfn::live(&mut state, stack)
            .map(|s| s.events.iter().rev().cloned().collect())
            .unwrap_or_default())
    }
}

#[async_trait]
impl CfnApi for Arc<FakeCfn> {
    async fn describe_stack(&self, stack: &str) -> Result<Option<StackInfo>, ApiError> {
        self.as_ref().describe_stack(stack).await
    }
    async fn list_stacks(&self) -> Result<Vec<StackInfo>, ApiError> {
        self.as_ref().list_stacks().await
    }
    async fn get_template(&self, stack: &str) -> Result<String, ApiError> {
        self.as_ref().get_template(stack).await
    }
    async fn create_change_set(&self, request: &NewChangeSet) -> Result<String, ApiError> {
        self.as_ref().create_change_set(request).await
    }
    async fn describe_change_set(&self, stack: &str, change_set: &str) -> Result<ChangeSetInfo, ApiError> {
        self.as_ref().describe_change_set(stack, change_set).await
    }
    async fn delete_change_set(&self, stack: &str, change_set: &str) -> Result<(), ApiError> {
        self.as_ref().delete_change_set(stack, change_set).await
    }
    async fn execute_change_set(&self, stack: &str, change_set: &str) -> Result<(), ApiError> {
        self.as_ref().execute_change_set(stack, change_set).await
    }
    async fn delete_stack(&self, stack: &str) -> Result<(), ApiError> {
        self.as_ref().delete_stack(stack).await
    }
    async fn set_stack_policy(&self, stack: &str, policy: &str) -> Result<(), ApiError> {
        self.as_ref().set_stack_policy(stack, policy).await
    }
    async fn set_termination_protection(&self, stack: &str, enabled: bool) -> Result<(), ApiError> {
        self.as_ref().set_termination_protection(stack, enabled).await
    }
    async fn stack_events(&self, stack: &str) -> Result<Vec<StackEvent>, ApiError> {
        self.as_ref().stack_events(stack).await
    }
}

/// A fake account: its CloudFormation and catalog, kept for inspection.
pub(crate) struct FakeAccount {
    pub(crate) cfn: Arc<FakeCfn>,
    pub(crate) glue: Arc<FakeGlue>,
}

/// Hands the engine the fakes of each account, retried with `retry`.
pub(crate) struct FakeConnector {
    pub(crate) accounts: BTreeMap<String, FakeAccount>,
    pub(crate) retry: RetryPolicy,
    /// One `sts:AssumeRole` per account, the first time it is asked for (as
    /// `AwsSession` caches its sessions).
    pub(crate) sts: Calls,
    assumed: Mutex<BTreeSet<String>>,
}

impl FakeConnector {
    pub(crate) fn new(accounts: &[&str]) -> FakeConnector {
        FakeConnector {
            accounts: accounts
                .iter()
                .map(|a| {
                    (
                        (*a).to_owned(),
                        FakeAccount {
                            cfn: Arc::new(FakeCfn::new(a)),
                            glue: Arc::new(FakeGlue::default()),
                        },
                    )
                })
                .collect(),
            retry: RetryPolicy {
                max_attempts: 10,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
            },
            sts: Calls::default(),
            assumed: Mutex::default(),
        }
    }

    /// Every call of every fake, by operation.
    pub(crate) fn calls(&self) -> BTreeMap<&'static str, u64> {
        let mut all = self.sts.by_op();
        for a in self.accounts.values() {
            for (op, n) in a.cfn.calls.by_op().into_iter().chain(a.glue.calls.by_op()) {
                *all.entry(op).or_insert(0) += n;
            }
        }
        all
    }

    /// Every call takes `latency`.
    pub(crate) fn set_latency(&self, latency: Duration) {
        self.sts.set_latency(latency);
        for a in self.accounts.values() {
            a.cfn.calls.set_latency(latency);
            a.glue.calls.set_latency(latency);
        }
    }

    pub(crate) fn cfn(&self, account: &str) -> &FakeCfn {
        &self.accounts[account].cfn
    }

    /// Every `execute`/`delete` of every account.
    pub(crate) fn log(&self) -> BTreeSet<String> {
        self.accounts.values().flat_map(|a| a.cfn.log()).collect()
    }
}

#[async_trait]
impl Connector for FakeConnector {
    async fn account(&self, account: &str, _region: &str) -> Result<Arc<AccountApis>, DeployError> {
        let a = self.accounts.get(account).ok_or_else(|| DeployError::AssumeRole {
            account: account.to_owned(),
            role_arn: format!("arn:aws:iam::{account}:role/Deploy"),
            error: ApiError::new(
                "sts:AssumeRole",
                ApiErrorKind::Service,
                Some("AccessDenied"),
                "no such account",
            ),
        })?;
        if lock(&self.assumed).insert(account.to_owned()) {
            self.sts.count("sts:AssumeRole").await;
        }
        Ok(Arc::new(AccountApis {
            cfn: Arc::new(Retrying::new(a.cfn.clone(), self.retry)),
            glue: Arc::new(Retrying::new(a.glue.clone(), self.retry)),
            s3: Arc::new(Retrying::new(FakeS3, self.retry)),
            config: None,
        }))
    }
}

#[cfg(test)]
#[path = "fake_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "bench_tests.rs"]
mod bench;
