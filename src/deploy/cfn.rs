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

pub(crate) use types::{
    ChangeSetInfo, ChangeSetState, ChangeSetType, EventStatus, ExecutionState, NewChangeSet, ServiceChange, StackEvent,
    StackInfo, StackState, TemplateSource,
};

/// The plain types the calls speak in (no SDK type in them).
#[path = "cfn_types.rs"]
mod types;

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
            info.execution_status = out.execution_status().map(|s| ExecutionState::of(s.as_str()));
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
                status: EventStatus::of(e.resource_status().map(|s| s.as_str()).unwrap_or_default()),
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
use super::drift_status::{DetectionState, DifferenceKind, ResourceDriftState, StackDriftState};

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
            status: DetectionState::of(out.detection_status().map(|s| s.as_str()).unwrap_or_default()),
            stack_drift_status: out.stack_drift_status().map(|s| StackDriftState::of(s.as_str())),
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
                    status: ResourceDriftState::of(
                        d.stack_resource_drift_status().map(|s| s.as_str()).unwrap_or_default(),
                    ),
                    differences: d
                        .property_differences()
                        .iter()
                        .map(|p| PropertyDifference {
                            path: p.property_path().unwrap_or_default().to_owned(),
                            kind: DifferenceKind::of(p.difference_type().map(|t| t.as_str()).unwrap_or_default()),
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
