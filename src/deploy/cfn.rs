//! The CloudFormation calls meshsynth makes, behind a trait.
//!
//! `CfnApi` speaks in plain types (our own structs; a stack's status is
//! classified here, once, into [`StackState`]), so
//! the engine and its tests never see an SDK type, and a test double
//! (`FakeCfn` in `deploy/fake.rs`) can inject throttling and failures.
//! `SdkCfn` is the real implementation. This is the only file that imports
//! `aws_sdk_cloudformation`.
//!
//! Every call here is one API call (or all pages of one); waiting and
//! deciding belong to `change_set.rs`.

use async_trait::async_trait;
use aws_sdk_cloudformation as cfn;
use cfn::types::{Capability, ChangeSetType as SdkChangeSetType, StackStatus, TemplateStage};

use super::api::{from_sdk, ApiError, ApiErrorKind, Retrying};

/// A stack as `DescribeStacks` / `ListStacks` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StackInfo {
    pub(crate) stack_id: String,
    pub(crate) name: String,
    /// Its status, classified.
    pub(crate) status: StackState,
    pub(crate) status_reason: Option<String>,
    /// Whether the stack cannot be deleted until this is turned off.
    pub(crate) termination_protection: bool,
}

/// A stack's status as meshsynth acts on it: the settled states it tells
/// apart by name, and every other one as in progress or failed (with
/// CloudFormation's name, for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StackState {
    CreateComplete,
    UpdateComplete,
    ImportComplete,
    /// An update failed and was rolled back: the stack is as before, and updatable.
    UpdateRollbackComplete,
    ImportRollbackComplete,
    /// Created by a change set that was never executed: it holds nothing.
    ReviewInProgress,
    /// Its creation failed: it can only be deleted.
    RollbackComplete,
    DeleteInProgress,
    DeleteComplete,
    /// Any other `*_IN_PROGRESS`: an operation is running.
    InProgress(String),
    /// Anything else (`CREATE_FAILED`, `UPDATE_ROLLBACK_FAILED`, ...): needs a person.
    Failed(String),
}

impl StackState {
    /// Classifies CloudFormation's status name.
    pub(crate) fn of(status: &str) -> StackState {
        match status {
            "CREATE_COMPLETE" => StackState::CreateComplete,
            "UPDATE_COMPLETE" => StackState::UpdateComplete,
            "IMPORT_COMPLETE" => StackState::ImportComplete,
            "UPDATE_ROLLBACK_COMPLETE" => StackState::UpdateRollbackComplete,
            "IMPORT_ROLLBACK_COMPLETE" => StackState::ImportRollbackComplete,
            "REVIEW_IN_PROGRESS" => StackState::ReviewInProgress,
            "ROLLBACK_COMPLETE" => StackState::RollbackComplete,
            "DELETE_IN_PROGRESS" => StackState::DeleteInProgress,
            "DELETE_COMPLETE" => StackState::DeleteComplete,
            s if s.ends_with("_IN_PROGRESS") => StackState::InProgress(s.to_owned()),
            s => StackState::Failed(s.to_owned()),
        }
    }

    /// CloudFormation's name of the status.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            StackState::CreateComplete => "CREATE_COMPLETE",
            StackState::UpdateComplete => "UPDATE_COMPLETE",
            StackState::ImportComplete => "IMPORT_COMPLETE",
            StackState::UpdateRollbackComplete => "UPDATE_ROLLBACK_COMPLETE",
            StackState::ImportRollbackComplete => "IMPORT_ROLLBACK_COMPLETE",
            StackState::ReviewInProgress => "REVIEW_IN_PROGRESS",
            StackState::RollbackComplete => "ROLLBACK_COMPLETE",
            StackState::DeleteInProgress => "DELETE_IN_PROGRESS",
            StackState::DeleteComplete => "DELETE_COMPLETE",
            StackState::InProgress(s) | StackState::Failed(s) => s,
        }
    }

    /// Whether a change set can update the stack (and GetTemplate reads a template worth
    /// comparing).
    pub(crate) fn is_updatable(&self) -> bool {
        matches!(
            self,
            StackState::CreateComplete
                | StackState::UpdateComplete
                | StackState::ImportComplete
                | StackState::UpdateRollbackComplete
                | StackState::ImportRollbackComplete
        )
    }

    /// Whether an operation is running on the stack.
    pub(crate) fn is_in_progress(&self) -> bool {
        matches!(
            self,
            StackState::ReviewInProgress | StackState::DeleteInProgress | StackState::InProgress(_)
        )
    }
}

impl std::fmt::Display for StackState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a change set creates the stack or updates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeSetType {
    Create,
    Update,
}

/// Where CloudFormation reads the template from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TemplateSource {
    /// Inline (up to 51,200 bytes).
    Body(String),
    /// An S3 object URL (the staging bucket), for larger templates.
    Url(String),
}

/// What `CreateChangeSet` needs. Templates have no parameters; the IAM
/// capabilities are always given (the templates create named roles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewChangeSet {
    pub(crate) stack_name: String,
    pub(crate) change_set_name: String,
    pub(crate) change_set_type: ChangeSetType,
    pub(crate) template: TemplateSource,
}

/// One resource change as the service reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceChange {
    /// `Add`, `Modify`, `Remove`, `Import`, `Dynamic`.
    pub(crate) action: String,
    pub(crate) logical_id: String,
    pub(crate) resource_type: String,
    /// `True`, `False`, `Conditional`; absent when the service does not say.
    pub(crate) replacement: Option<String>,
}

/// A change set with every page of its changes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ChangeSetInfo {
    /// Its status, classified.
    pub(crate) status: ChangeSetState,
    /// `AVAILABLE`, `UNAVAILABLE`, `EXECUTE_COMPLETE`, ...
    pub(crate) execution_status: Option<String>,
    pub(crate) status_reason: Option<String>,
    pub(crate) changes: Vec<ServiceChange>,
}

/// A change set's status as meshsynth acts on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum ChangeSetState {
    /// `CREATE_PENDING` or `CREATE_IN_PROGRESS`: still being worked out.
    #[default]
    Pending,
    /// `CREATE_COMPLETE`: ready to describe and execute.
    Ready,
    /// `FAILED` (also when the template changes nothing).
    Failed,
    /// Anything else, by CloudFormation's name (`DELETE_COMPLETE`, ...).
    Other(String),
}

impl ChangeSetState {
    /// Classifies CloudFormation's status name.
    pub(crate) fn of(status: &str) -> ChangeSetState {
        match status {
            "CREATE_PENDING" | "CREATE_IN_PROGRESS" => ChangeSetState::Pending,
            "CREATE_COMPLETE" => ChangeSetState::Ready,
            "FAILED" => ChangeSetState::Failed,
            s => ChangeSetState::Other(s.to_owned()),
        }
    }
}

/// One stack event (newest first when listed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StackEvent {
    pub(crate) logical_id: String,
    pub(crate) resource_type: String,
    /// `CREATE_FAILED`, `UPDATE_IN_PROGRESS`, ...
    pub(crate) status: String,
    pub(crate) reason: Option<String>,
}

/// The CloudFormation API as meshsynth uses it (one account, one region).
#[async_trait]
pub(crate) trait CfnApi: Send + Sync {
    /// The stack named (or with the id) `stack`; `None` when there is none.
    async fn describe_stack(&self, stack: &str) -> Result<Option<StackInfo>, ApiError>;
    /// Every stack of the account and region that is not deleted (one
    /// `DescribeStacks` without a name, every page: unlike `ListStacks` it
    /// says whether a stack has termination protection).
    async fn list_stacks(&self) -> Result<Vec<StackInfo>, ApiError>;
    /// Replaces the stack's policy (what updates may do to its resources).
    async fn set_stack_policy(&self, stack: &str, policy: &str) -> Result<(), ApiError>;
    /// Turns the stack's termination protection on or off.
    async fn set_termination_protection(&self, stack: &str, enabled: bool) -> Result<(), ApiError>;
    /// The template the stack was last deployed with.
    async fn get_template(&self, stack: &str) -> Result<String, ApiError>;
    /// Starts creating a change set; returns its id.
    async fn create_change_set(&self, request: &NewChangeSet) -> Result<String, ApiError>;
    /// The change set with all pages of changes.
    async fn describe_change_set(&self, stack: &str, change_set: &str) -> Result<ChangeSetInfo, ApiError>;
    /// Deletes a change set; one that does not exist is not an error.
    async fn delete_change_set(&self, stack: &str, change_set: &str) -> Result<(), ApiError>;
    async fn execute_change_set(&self, stack: &str, change_set: &str) -> Result<(), ApiError>;
    /// Starts deleting the stack; one that does not exist is not an error.
    async fn delete_stack(&self, stack: &str) -> Result<(), ApiError>;
    /// The stack's most recent events, newest first (at least one page).
    async fn stack_events(&self, stack: &str) -> Result<Vec<StackEvent>, ApiError>;
}

/// `CfnApi` over the AWS SDK.
#[derive(Debug, Clone)]
pub(crate) struct SdkCfn {
    client: cfn::Client,
}

impl SdkCfn {
    pub(crate) fn new(config: &aws_config::SdkConfig) -> Self {
        SdkCfn {
            client: cfn::Client::new(config),
        }
    }
}

/// CloudFormation answers a missing stack with a plain `ValidationError`
/// whose message says so.
fn is_missing_stack(e: &ApiError) -> bool {
    e.kind == ApiErrorKind::Service && e.is_code("ValidationError") && e.message.contains("does not exist")
}

fn stack_info(s: &cfn::types::Stack) -> StackInfo {
    StackInfo {
        stack_id: s.stack_id().unwrap_or_default().to_owned(),
        name: s.stack_name().unwrap_or_default().to_owned(),
        status: StackState::of(s.stack_status().map_or("", |s| s.as_str())),
        status_reason: s.stack_status_reason().map(str::to_owned),
        termination_protection: s.enable_termination_protection().unwrap_or(false),
    }
}

#[async_trait]
impl CfnApi for SdkCfn {
    async fn describe_stack(&self, stack: &str) -> Result<Option<StackInfo>, ApiError> {
        let op = "cloudformation:DescribeStacks";
        match self.client.describe_stacks().stack_name(stack).send().await {
            Ok(out) => Ok(out.stacks().first().map(stack_info)),
            Err(e) => {
                let e = from_sdk(op, e);
                if is_missing_stack(&e) {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn list_stacks(&self) -> Result<Vec<StackInfo>, ApiError> {
        let mut stacks = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_stacks()
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| from_sdk("cloudformation:DescribeStacks", e))?;
            stacks.extend(
                out.stacks()
                    .iter()
                    .filter(|s| s.stack_status() != Some(&StackStatus::DeleteComplete))
                    .map(stack_info),
            );
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(stacks),
            }
        }
    }

    async fn set_stack_policy(&self, stack: &str, policy: &str) -> Result<(), ApiError> {
        self.client
            .set_stack_policy()
            .stack_name(stack)
            .stack_policy_body(policy)
            .send()
            .await
            .map_err(|e| from_sdk("cloudformation:SetStackPolicy", e))?;
        Ok(())
    }

    async fn set_termination_protection(&self, stack: &str, enabled: bool) -> Result<(), ApiError> {
        self.client
            .update_termination_protection()
            .stack_name(stack)
            .enable_termination_protection(enabled)
            .send()
            .await
            .map_err(|e| from_sdk("cloudformation:UpdateTerminationProtection", e))?;
        Ok(())
    }

    async fn get_template(&self, stack: &str) -> Result<String, ApiError> {
        let out = self
            .client
            .get_template()
            .stack_name(stack)
            .template_stage(TemplateStage::Original)
            .send()
            .await
            .map_err(|e| from_sdk("cloudformation:GetTemplate", e))?;
        Ok(out.template_body().unwrap_or_default().to_owned())
    }

    async fn create_change_set(&self, request: &NewChangeSet) -> Result<String, ApiError> {
        self.send_change_set(request, false).await
    }

    async fn describe_change_set(&self, stack: &str, change_set: &str) -> Result<ChangeSetInfo, ApiError> {
        let mut info = ChangeSetInfo::default();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_change_set()
                .stack_name(stack)
                .change_set_name(change_set)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| from_sdk("cloudformation:DescribeChangeSet", e))?;
            info.status = ChangeSetState::of(out.status().map_or("", |s| s.as_str()));
            info.execution_status = out.execution_status().map(|s| s.as_str().to_owned());
            info.status_reason = out.status_reason().map(str::to_owned);
            for change in out.changes() {
                let Some(rc) = change.resource_change() else { continue };
                info.changes.push(ServiceChange {
                    action: rc.action().map(|a| a.as_str().to_owned()).unwrap_or_default(),
                    logical_id: rc.logical_resource_id().unwrap_or_default().to_owned(),
                    resource_type: rc.resource_type().unwrap_or_default().to_owned(),
                    replacement: rc.replacement().map(|r| r.as_str().to_owned()),
                });
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(info),
            }
        }
    }

    async fn delete_change_set(&self, stack: &str, change_set: &str) -> Result<(), ApiError> {
        match self
            .client
            .delete_change_set()
            .stack_name(stack)
            .change_set_name(change_set)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = from_sdk("cloudformation:DeleteChangeSet", e);
                if e.is_code("ChangeSetNotFound") || e.is_code("ChangeSetNotFoundException") || is_missing_stack(&e) {
                    Ok(())
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn execute_change_set(&self, stack: &str, change_set: &str) -> Result<(), ApiError> {
        self.client
            .execute_change_set()
            .stack_name(stack)
            .change_set_name(change_set)
            .send()
            .await
            .map_err(|e| from_sdk("cloudformation:ExecuteChangeSet", e))?;
        Ok(())
    }

    async fn delete_stack(&self, stack: &str) -> Result<(), ApiError> {
        self.client
            .delete_stack()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| from_sdk("cloudformation:DeleteStack", e))?;
        Ok(())
    }

    async fn stack_events(&self, stack: &str) -> Result<Vec<StackEvent>, ApiError> {
        let out = self
            .client
            .describe_stack_events()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| from_sdk("cloudformation:DescribeStackEvents", e))?;
        Ok(out
            .stack_events()
            .iter()
            .map(|e| StackEvent {
                logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
                resource_type: e.resource_type().unwrap_or_default().to_owned(),
                status: e.resource_status().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                reason: e.resource_status_reason().filter(|r| !r.is_empty()).map(str::to_owned),
            })
            .collect())
    }
}

#[async_trait]
impl<T: CfnApi> CfnApi for Retrying<T> {
    async fn describe_stack(&self, stack: &str) -> Result<Option<StackInfo>, ApiError> {
        self.policy.run(|| self.inner.describe_stack(stack)).await
    }
    async fn list_stacks(&self) -> Result<Vec<StackInfo>, ApiError> {
        self.policy.run(|| self.inner.list_stacks()).await
    }
    async fn get_template(&self, stack: &str) -> Result<String, ApiError> {
        self.policy.run(|| self.inner.get_template(stack)).await
    }
    async fn set_stack_policy(&self, stack: &str, policy: &str) -> Result<(), ApiError> {
        self.policy.run(|| self.inner.set_stack_policy(stack, policy)).await
    }
    async fn set_termination_protection(&self, stack: &str, enabled: bool) -> Result<(), ApiError> {
        self.policy
            .run(|| self.inner.set_termination_protection(stack, enabled))
            .await
    }
    async fn create_change_set(&self, request: &NewChangeSet) -> Result<String, ApiError> {
        self.policy.run(|| self.inner.create_change_set(request)).await
    }
    async fn describe_change_set(&self, stack: &str, change_set: &str) -> Result<ChangeSetInfo, ApiError> {
        self.policy
            .run(|| self.inner.describe_change_set(stack, change_set))
            .await
    }
    async fn delete_change_set(&self, stack: &str, change_set: &str) -> Result<(), ApiError> {
        self.policy
            .run(|| self.inner.delete_change_set(stack, change_set))
            .await
    }
    async fn execute_change_set(&self, stack: &str, change_set: &str) -> Result<(), ApiError> {
        self.policy
            .run(|| self.inner.execute_change_set(stack, change_set))
            .await
    }
    async fn delete_stack(&self, stack: &str) -> Result<(), ApiError> {
        self.policy.run(|| self.inner.delete_stack(stack)).await
    }
    async fn stack_events(&self, stack: &str) -> Result<Vec<StackEvent>, ApiError> {
        self.policy.run(|| self.inner.stack_events(stack)).await
    }
}

// Drift detection (`meshsynth drift`): inherent calls of `SdkCfn`, so this
// file stays the only one that imports the CloudFormation SDK; the trait
// the drift engine uses is `drift_api::DriftApi`.
use super::drift_api::{DetectionStatus, PropertyDifference, ResourceDrift, StackResource};

impl SdkCfn {
    /// Starts drift detection of a stack; returns the detection's id.
    pub(crate) async fn detect_stack_drift(&self, stack: &str) -> Result<String, ApiError> {
        let out = self
            .client
            .detect_stack_drift()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| from_sdk("cloudformation:DetectStackDrift", e))?;
        Ok(out.stack_drift_detection_id().unwrap_or_default().to_owned())
    }

    pub(crate) async fn drift_detection_status(&self, detection_id: &str) -> Result<DetectionStatus, ApiError> {
        let out = self
            .client
            .describe_stack_drift_detection_status()
            .stack_drift_detection_id(detection_id)
            .send()
            .await
            .map_err(|e| from_sdk("cloudformation:DescribeStackDriftDetectionStatus", e))?;
        Ok(DetectionStatus {
            status: out
                .detection_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            stack_drift_status: out.stack_drift_status().map(|s| s.as_str().to_owned()),
            reason: out.detection_status_reason().map(str::to_owned),
        })
    }

    /// The stack's resources that are MODIFIED or DELETED, every page.
    pub(crate) async fn resource_drifts(&self, stack: &str) -> Result<Vec<ResourceDrift>, ApiError> {
        use cfn::types::StackResourceDriftStatus as S;
        let mut drifts = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_stack_resource_drifts()
                .stack_name(stack)
                .stack_resource_drift_status_filters(S::Modified)
                .stack_resource_drift_status_filters(S::Deleted)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| from_sdk("cloudformation:DescribeStackResourceDrifts", e))?;
            for d in out.stack_resource_drifts() {
                drifts.push(ResourceDrift {
                    logical_id: d.logical_resource_id().unwrap_or_default().to_owned(),
                    physical_id: d.physical_resource_id().unwrap_or_default().to_owned(),
                    resource_type: d.resource_type().unwrap_or_default().to_owned(),
                    status: d
                        .stack_resource_drift_status()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    differences: d
                        .property_differences()
                        .iter()
                        .map(|p| PropertyDifference {
                            path: p.property_path().unwrap_or_default().to_owned(),
                            kind: p.difference_type().map(|t| t.as_str().to_owned()).unwrap_or_default(),
                            expected: p.expected_value().map(str::to_owned),
                            actual: p.actual_value().map(str::to_owned),
                        })
                        .collect(),
                });
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(drifts),
            }
        }
    }

    /// Logical id → physical id and type of every resource of the stack.
    pub(crate) async fn stack_resources(&self, stack: &str) -> Result<Vec<StackResource>, ApiError> {
        let out = self
            .client
            .describe_stack_resources()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| from_sdk("cloudformation:DescribeStackResources", e))?;
        Ok(out
            .stack_resources()
            .iter()
            .map(|r| StackResource {
                logical_id: r.logical_resource_id().unwrap_or_default().to_owned(),
                physical_id: r.physical_resource_id().unwrap_or_default().to_owned(),
                resource_type: r.resource_type().unwrap_or_default().to_owned(),
            })
            .collect())
    }

    /// Creates an UPDATE change set of the stack's own template in
    /// `REVERT_DRIFT` mode: executing it puts drifted resources back to the
    /// template (a plain update of an unchanged template changes nothing).
    pub(crate) async fn create_revert_drift_change_set(&self, request: &NewChangeSet) -> Result<String, ApiError> {
        self.send_change_set(request, true).await
    }

    /// `CreateChangeSet` of `request`; in `REVERT_DRIFT` deployment mode when `revert_drift`.
    async fn send_change_set(&self, request: &NewChangeSet, revert_drift: bool) -> Result<String, ApiError> {
        let mut call = self
            .client
            .create_change_set()
            .stack_name(&request.stack_name)
            .change_set_name(&request.change_set_name)
            .change_set_type(match request.change_set_type {
                ChangeSetType::Create => SdkChangeSetType::Create,
                ChangeSetType::Update => SdkChangeSetType::Update,
            })
            .capabilities(Capability::CapabilityIam)
            .capabilities(Capability::CapabilityNamedIam)
            .description("meshsynth");
        if revert_drift {
            call = call.deployment_mode(cfn::types::DeploymentMode::RevertDrift);
        }
        call = match &request.template {
            TemplateSource::Body(body) => call.template_body(body),
            TemplateSource::Url(url) => call.template_url(url),
        };
        let out = call
            .send()
            .await
            .map_err(|e| from_sdk("cloudformation:CreateChangeSet", e))?;
        Ok(out.id().unwrap_or_default().to_owned())
    }
}
