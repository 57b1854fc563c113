//! A test double of `DriftApi`, and the drift engine's tests against it:
//! CloudFormation drift detection (which the emulator does not offer), a
//! detection that fails, throttling, and the access surface found drifted,
//! repaired and found clean. The emulator test of the access part is
//! `tests/it/drift.rs`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use super::api::{ApiError, ApiErrorKind, Retrying};
use super::cfn::{CfnApi, NewChangeSet};
use super::drift_api::{DetectionStatus, DriftApi, DriftApis, DriftConnector, LiveRole, ResourceDrift, StackResource};
use super::drift_status::{DetectionState, StackDriftState};
use super::fake::{FakeCfn, FakeConnector};
use super::session::Connector;
use super::DeployError;

/// How a stack's drift detection ends.
#[derive(Debug, Clone)]
pub(crate) enum Detection {
    InSync,
    Drifted(Vec<ResourceDrift>),
    Failed(String),
    /// The endpoint has no drift detection (an unknown action).
    NotOffered,
}

/// A deployed stack's resources and its last drift detection, if any.
pub(crate) type FakeStack = (Vec<StackResource>, Option<Detection>);

/// The drift side of one account: deployed stacks and live documents.
#[derive(Debug, Default)]
pub(crate) struct FakeDrift {
    pub(crate) stacks: Mutex<BTreeMap<String, FakeStack>>,
    pub(crate) buckets: Mutex<BTreeMap<String, Option<String>>>,
    pub(crate) keys: Mutex<BTreeMap<String, String>>,
    pub(crate) roles: Mutex<BTreeMap<String, LiveRole>>,
    /// Answers `DETECTION_IN_PROGRESS` this many times per detection first.
    pub(crate) polls: u32,
    /// The next this many calls are throttled.
    pub(crate) throttle_next: AtomicU32,
    pub(crate) throttled: AtomicU32,
    /// Every call, `operation target`, in order.
    pub(crate) log: Mutex<Vec<String>>,
    detections: Mutex<BTreeMap<String, (String, u32)>>,
    /// The account's CloudFormation, where a revert-drift change set is made
    /// (creating it puts the stack back in sync, as executing it would).
    cfn: Option<Arc<FakeCfn>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FakeDrift {
    fn call(&self, op: &'static str, target: &str) -> Result<(), ApiError> {
        if self
            .throttle_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            self.throttled.fetch_add(1, Ordering::SeqCst);
            return Err(ApiError::throttled(op));
        }
        lock(&self.log).push(format!("{op} {target}"));
        Ok(())
    }

    fn missing_stack(op: &'static str, stack: &str) -> ApiError {
        ApiError::new(
            op,
            ApiErrorKind::Service,
            Some("ValidationError"),
            format!("Stack with id {stack} does not exist"),
        )
    }

    fn detection(&self, stack: &str) -> Option<Detection> {
        lock(&self.stacks).get(stack).and_then(|(_, d)| d.clone())
    }
}

#[async_trait]
impl DriftApi for Arc<FakeDrift> {
    async fn detect_stack_drift(&self, stack: &str) -> Result<String, ApiError> {
        let op = "cloudformation:DetectStackDrift";
        self.call(op, stack)?;
        match self.detection(stack) {
            Some(Detection::NotOffered) => Err(ApiError::new(
                op,
                ApiErrorKind::Service,
                Some("InvalidAction"),
                "The action DetectStackDrift is not valid for this web service.",
            )),
            None if !lock(&self.stacks).contains_key(stack) => Err(FakeDrift::missing_stack(op, stack)),
            _ => {
                let id = format!("detection-{stack}");
                lock(&self.detections).insert(id.clone(), (stack.to_owned(), 0));
                Ok(id)
            }
        }
    }

    async fn drift_detection_status(&self, detection_id: &str) -> Result<DetectionStatus, ApiError> {
        self.call("cloudformation:DescribeStackDriftDetectionStatus", detection_id)?;
        let (stack, polled) = {
            let mut d = lock(&self.detections);
            let entry = d.get_mut(detection_id).ok_or_else(|| {
                ApiError::new(
                    "cloudformation:DescribeStackDriftDetectionStatus",
                    ApiErrorKind::Service,
                    Some("ValidationError"),
                    "no such detection",
                )
            })?;
            entry.1 += 1;
            entry.clone()
        };
        let status = |status: &str, drift: Option<&str>, reason: Option<&str>| DetectionStatus {
            status: DetectionState::of(status),
            stack_drift_status: drift.map(StackDriftState::of),
            reason: reason.map(str::to_owned),
        };
        if polled <= self.polls {
            return Ok(status("DETECTION_IN_PROGRESS", None, None));
        }
        Ok(match self.detection(&stack) {
            Some(Detection::Drifted(_)) => status("DETECTION_COMPLETE", Some("DRIFTED"), None),
            Some(Detection::Failed(reason)) => status("DETECTION_FAILED", Some("UNKNOWN"), Some(&reason)),
            _ => status("DETECTION_COMPLETE", Some("IN_SYNC"), None),
        })
    }

    async fn resource_drifts(&self, stack: &str) -> Result<Vec<ResourceDrift>, ApiError> {
        self.call("cloudformation:DescribeStackResourceDrifts", stack)?;
        Ok(match self.detection(stack) {
            Some(Detection::Drifted(d)) => d,
            _ => Vec::new(),
        })
    }

    async fn stack_resources(&self, stack: &str) -> Result<Vec<StackResource>, ApiError> {
        let op = "cloudformation:DescribeStackResources";
        self.call(op, stack)?;
        lock(&self.stacks)
            .get(stack)
            .map(|(r, _)| r.clone())
            .ok_or_else(|| FakeDrift::missing_stack(op, stack))
    }

    async fn create_revert_drift_change_set(&self, request: &NewChangeSet) -> Result<String, ApiError> {
        self.call("cloudformation:CreateChangeSet", &request.stack_name)?;
        let Some(cfn) = &self.cfn else {
            return Err(FakeDrift::missing_stack(
                "cloudformation:CreateChangeSet",
                &request.stack_name,
            ));
        };
        let id = cfn.create_change_set(request).await?;
        if let Some((_, detection)) = lock(&self.stacks).get_mut(&request.stack_name) {
            *detection = Some(Detection::InSync);
        }
        Ok(id)
    }

    async fn bucket_policy(&self, bucket: &str) -> Result<Option<String>, ApiError> {
        self.call("s3:GetBucketPolicy", bucket)?;
        lock(&self.buckets).get(bucket).cloned().ok_or_else(|| {
            ApiError::new(
                "s3:GetBucketPolicy",
                ApiErrorKind::Service,
                Some("NoSuchBucket"),
                "The specified bucket does not exist",
            )
        })
    }

    async fn put_bucket_policy(&self, bucket: &str, policy: &str) -> Result<(), ApiError> {
        self.call("s3:PutBucketPolicy", bucket)?;
        lock(&self.buckets).insert(bucket.to_owned(), Some(policy.to_owned()));
        Ok(())
    }

    async fn key_policy(&self, key_id: &str) -> Result<String, ApiError> {
        self.call("kms:GetKeyPolicy", key_id)?;
        lock(&self.keys).get(key_id).cloned().ok_or_else(|| {
            ApiError::new(
                "kms:GetKeyPolicy",
                ApiErrorKind::Service,
                Some("NotFoundException"),
                "no such key",
            )
        })
    }

    async fn put_key_policy(&self, key_id: &str, policy: &str) -> Result<(), ApiError> {
        self.call("kms:PutKeyPolicy", key_id)?;
        lock(&self.keys).insert(key_id.to_owned(), policy.to_owned());
        Ok(())
    }

    async fn role(&self, name: &str) -> Result<Option<LiveRole>, ApiError> {
        self.call("iam:GetRole", name)?;
        Ok(lock(&self.roles).get(name).cloned())
    }

    async fn put_role_policy(&self, role: &str, name: &str, policy: &str) -> Result<(), ApiError> {
        self.call("iam:PutRolePolicy", role)?;
        if let Some(r) = lock(&self.roles).get_mut(role) {
            r.inline.insert(name.to_owned(), policy.to_owned());
        }
        Ok(())
    }

    async fn delete_role_policy(&self, role: &str, name: &str) -> Result<(), ApiError> {
        self.call("iam:DeleteRolePolicy", role)?;
        if let Some(r) = lock(&self.roles).get_mut(role) {
            r.inline.remove(name);
        }
        Ok(())
    }

    async fn update_assume_role_policy(&self, role: &str, policy: &str) -> Result<(), ApiError> {
        self.call("iam:UpdateAssumeRolePolicy", role)?;
        if let Some(r) = lock(&self.roles).get_mut(role) {
            policy.clone_into(&mut r.trust);
        }
        Ok(())
    }

    async fn attach_role_policy(&self, role: &str, arn: &str) -> Result<(), ApiError> {
        self.call("iam:AttachRolePolicy", role)?;
        if let Some(r) = lock(&self.roles).get_mut(role) {
            r.managed.insert(arn.to_owned());
        }
        Ok(())
    }

    async fn detach_role_policy(&self, role: &str, arn: &str) -> Result<(), ApiError> {
        self.call("iam:DetachRolePolicy", role)?;
        if let Some(r) = lock(&self.roles).get_mut(role) {
            r.managed.remove(arn);
        }
        Ok(())
    }

    async fn permission_set_policy(&self, _instance: &str, permission_set: &str) -> Result<Option<String>, ApiError> {
        self.call("sso:GetInlinePolicyForPermissionSet", permission_set)?;
        Ok(None)
    }

    async fn put_permission_set_policy(
        &self,
        _instance: &str,
        permission_set: &str,
        _policy: Option<&str>,
    ) -> Result<(), ApiError> {
        self.call("sso:PutInlinePolicyToPermissionSet", permission_set)
    }
}

/// The fakes of `fake.rs` for CloudFormation and Glue, and a `FakeDrift` per account.
pub(crate) struct FakeDriftConnector {
    pub(crate) base: FakeConnector,
    pub(crate) drift: BTreeMap<String, Arc<FakeDrift>>,
}

impl FakeDriftConnector {
    pub(crate) fn new(accounts: &[&str], polls: u32) -> Self {
        let base = FakeConnector::new(accounts);
        FakeDriftConnector {
            drift: accounts
                .iter()
                .map(|a| {
                    (
                        (*a).to_owned(),
                        Arc::new(FakeDrift {
                            polls,
                            cfn: Some(base.accounts[*a].cfn.clone()),
                            ..FakeDrift::default()
                        }),
                    )
                })
                .collect(),
            base,
        }
    }
}

#[async_trait]
impl DriftConnector for FakeDriftConnector {
    async fn drift_account(&self, account: &str, region: &str) -> Result<DriftApis, DeployError> {
        let base = self.base.account(account, region).await?;
        let drift = self.drift.get(account).cloned().ok_or_else(|| DeployError::Api {
            account: account.to_owned(),
            stack: None,
            error: ApiError::new(
                "sts:AssumeRole",
                ApiErrorKind::Service,
                Some("AccessDenied"),
                "no such account",
            ),
        })?;
        Ok(DriftApis {
            base,
            drift: Arc::new(Retrying::new(drift, self.base.retry)),
        })
    }
}

#[cfg(test)]
#[path = "fake_drift_tests.rs"]
mod tests;
