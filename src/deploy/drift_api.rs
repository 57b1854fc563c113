//! The AWS calls of `meshsynth drift`, behind one trait: CloudFormation
//! drift detection, and reading and writing the documents of the access
//! surface (bucket policies, key policies, IAM roles, permission sets).
//!
//! `SdkDrift` is the real implementation. It reuses the account's assumed
//! role (`AccountApis::config`, one AssumeRole per account and region for
//! every command), the CloudFormation and S3 calls live in `cfn.rs` and
//! `s3.rs` (the only files importing those SDKs), and this file is the only
//! one importing the KMS, IAM and Identity Center (SSO admin) SDKs. Every
//! call is retried on throttling through [`Retrying`], like the rest of
//! `deploy/`. The Glue catalog policy goes through `AccountApis::glue`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_iam as iam;
use aws_sdk_kms as kms;
use aws_sdk_ssoadmin as ssoadmin;

use super::api::{from_sdk, ApiError, ApiErrorKind, Retrying};
use super::cfn::{NewChangeSet, SdkCfn};
use super::drift_status::{DetectionState, DifferenceKind, ResourceDriftState, StackDriftState};
use super::s3::SdkS3;
use super::session::{AccountApis, AwsSession, Connector};
use super::DeployError;

/// Where a drift detection stands (`DescribeStackDriftDetectionStatus`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DetectionStatus {
    pub(crate) status: DetectionState,
    /// Once known.
    pub(crate) stack_drift_status: Option<StackDriftState>,
    pub(crate) reason: Option<String>,
}

/// One property of a drifted resource that differs from the template.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct PropertyDifference {
    /// `/Properties/VersioningConfiguration/Status`.
    pub(crate) path: String,
    /// `ADD`, `REMOVE` or `NOT_EQUAL`.
    pub(crate) kind: DifferenceKind,
    pub(crate) expected: Option<String>,
    pub(crate) actual: Option<String>,
}

/// A resource whose live state is not its template's (MODIFIED or DELETED).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct ResourceDrift {
    pub(crate) logical_id: String,
    pub(crate) physical_id: String,
    #[serde(rename = "type")]
    pub(crate) resource_type: String,
    pub(crate) status: ResourceDriftState,
    pub(crate) differences: Vec<PropertyDifference>,
}

/// A resource of a deployed stack, with the id AWS gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StackResource {
    pub(crate) logical_id: String,
    pub(crate) physical_id: String,
    pub(crate) resource_type: String,
}

/// An IAM role as it is live: its trust policy, its inline policies by
/// name and the managed policies attached to it (documents as JSON text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LiveRole {
    pub(crate) trust: String,
    pub(crate) inline: BTreeMap<String, String>,
    pub(crate) managed: BTreeSet<String>,
}

/// The drift calls meshsynth makes (one account, one region).
#[async_trait]
pub(crate) trait DriftApi: Send + Sync {
    /// Starts CloudFormation drift detection of a stack; returns its id.
    async fn detect_stack_drift(&self, stack: &str) -> Result<String, ApiError>;
    async fn drift_detection_status(&self, detection_id: &str) -> Result<DetectionStatus, ApiError>;
    /// The stack's MODIFIED and DELETED resources with their differences.
    async fn resource_drifts(&self, stack: &str) -> Result<Vec<ResourceDrift>, ApiError>;
    /// Every resource of the deployed stack with its physical id.
    async fn stack_resources(&self, stack: &str) -> Result<Vec<StackResource>, ApiError>;
    /// An UPDATE change set of `request` that reverts drifted resources.
    async fn create_revert_drift_change_set(&self, request: &NewChangeSet) -> Result<String, ApiError>;
    /// `None`: the bucket has no policy. A missing bucket: code `NoSuchBucket`.
    async fn bucket_policy(&self, bucket: &str) -> Result<Option<String>, ApiError>;
    async fn put_bucket_policy(&self, bucket: &str, policy: &str) -> Result<(), ApiError>;
    /// The key's `default` policy. A missing key: code `NotFoundException`.
    async fn key_policy(&self, key_id: &str) -> Result<String, ApiError>;
    async fn put_key_policy(&self, key_id: &str, policy: &str) -> Result<(), ApiError>;
    /// `None`: there is no such role.
    async fn role(&self, name: &str) -> Result<Option<LiveRole>, ApiError>;
    async fn put_role_policy(&self, role: &str, name: &str, policy: &str) -> Result<(), ApiError>;
    async fn delete_role_policy(&self, role: &str, name: &str) -> Result<(), ApiError>;
    async fn update_assume_role_policy(&self, role: &str, policy: &str) -> Result<(), ApiError>;
    async fn attach_role_policy(&self, role: &str, arn: &str) -> Result<(), ApiError>;
    async fn detach_role_policy(&self, role: &str, arn: &str) -> Result<(), ApiError>;
    /// The permission set's inline policy; `None` when it has none.
    async fn permission_set_policy(&self, instance: &str, permission_set: &str) -> Result<Option<String>, ApiError>;
    /// Sets the inline policy (`None`: removes it) and provisions the
    /// permission set to every account it is assigned to (the change reaches
    /// no one otherwise).
    async fn put_permission_set_policy(
        &self,
        instance: &str,
        permission_set: &str,
        policy: Option<&str>,
    ) -> Result<(), ApiError>;
}

/// `DriftApi` over the AWS SDK.
#[derive(Debug, Clone)]
pub(crate) struct SdkDrift {
    cfn: SdkCfn,
    s3: SdkS3,
    kms: kms::Client,
    iam: iam::Client,
    sso: ssoadmin::Client,
}

impl SdkDrift {
    /// `path_style`: S3 buckets addressed as `endpoint/bucket` (emulators).
    pub(crate) fn new(config: &aws_config::SdkConfig, path_style: bool) -> Self {
        SdkDrift {
            cfn: SdkCfn::new(config),
            s3: SdkS3::new(config, path_style),
            kms: kms::Client::new(config),
            iam: iam::Client::new(config),
            sso: ssoadmin::Client::new(config),
        }
    }
}

/// IAM returns policy documents URL-encoded (RFC 3986).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied(), bytes.get(i + 2).copied()) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                let v = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A document as IAM gives it: URL-encoded JSON, or JSON already.
fn iam_document(s: &str) -> String {
    if s.trim_start().starts_with('{') {
        s.to_owned()
    } else {
        percent_decode(s)
    }
}

#[async_trait]
impl DriftApi for SdkDrift {
    async fn detect_stack_drift(&self, stack: &str) -> Result<String, ApiError> {
        self.cfn.detect_stack_drift(stack).await
    }

    async fn drift_detection_status(&self, detection_id: &str) -> Result<DetectionStatus, ApiError> {
        self.cfn.drift_detection_status(detection_id).await
    }

    async fn resource_drifts(&self, stack: &str) -> Result<Vec<ResourceDrift>, ApiError> {
        self.cfn.resource_drifts(stack).await
    }

    async fn stack_resources(&self, stack: &str) -> Result<Vec<StackResource>, ApiError> {
        self.cfn.stack_resources(stack).await
    }

    async fn create_revert_drift_change_set(&self, request: &NewChangeSet) -> Result<String, ApiError> {
        self.cfn.create_revert_drift_change_set(request).await
    }

    async fn bucket_policy(&self, bucket: &str) -> Result<Option<String>, ApiError> {
        self.s3.bucket_policy(bucket).await
    }

    async fn put_bucket_policy(&self, bucket: &str, policy: &str) -> Result<(), ApiError> {
        self.s3.put_bucket_policy(bucket, policy).await
    }

    async fn key_policy(&self, key_id: &str) -> Result<String, ApiError> {
        let out = self
            .kms
            .get_key_policy()
            .key_id(key_id)
            .policy_name("default")
            .send()
            .await
            .map_err(|e| from_sdk("kms:GetKeyPolicy", e))?;
        Ok(out.policy().unwrap_or_default().to_owned())
    }

    async fn put_key_policy(&self, key_id: &str, policy: &str) -> Result<(), ApiError> {
        self.kms
            .put_key_policy()
            .key_id(key_id)
            .policy_name("default")
            .policy(policy)
            .send()
            .await
            .map_err(|e| from_sdk("kms:PutKeyPolicy", e))?;
        Ok(())
    }

    async fn role(&self, name: &str) -> Result<Option<LiveRole>, ApiError> {
        let role = match self.iam.get_role().role_name(name).send().await {
            Ok(out) => out.role().cloned(),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_entity_exception()) => return Ok(None),
            Err(e) => return Err(from_sdk("iam:GetRole", e)),
        };
        let Some(role) = role else { return Ok(None) };
        let mut live = LiveRole {
            trust: role.assume_role_policy_document().map(iam_document).unwrap_or_default(),
            ..LiveRole::default()
        };
        let mut names = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .iam
                .list_role_policies()
                .role_name(name)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| from_sdk("iam:ListRolePolicies", e))?;
            names.extend(out.policy_names().iter().cloned());
            match out.marker() {
                Some(m) if out.is_truncated() && !m.is_empty() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        for policy in names {
            let out = self
                .iam
                .get_role_policy()
                .role_name(name)
                .policy_name(&policy)
                .send()
                .await
                .map_err(|e| from_sdk("iam:GetRolePolicy", e))?;
            live.inline.insert(policy, iam_document(out.policy_document()));
        }
        loop {
            let out = self
                .iam
                .list_attached_role_policies()
                .role_name(name)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| from_sdk("iam:ListAttachedRolePolicies", e))?;
            live.managed.extend(
                out.attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn())
                    .map(str::to_owned),
            );
            match out.marker() {
                Some(m) if out.is_truncated() && !m.is_empty() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        Ok(Some(live))
    }

    async fn put_role_policy(&self, role: &str, name: &str, policy: &str) -> Result<(), ApiError> {
        self.iam
            .put_role_policy()
            .role_name(role)
            .policy_name(name)
            .policy_document(policy)
            .send()
            .await
            .map_err(|e| from_sdk("iam:PutRolePolicy", e))?;
        Ok(())
    }

    async fn delete_role_policy(&self, role: &str, name: &str) -> Result<(), ApiError> {
        self.iam
            .delete_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
            .map_err(|e| from_sdk("iam:DeleteRolePolicy", e))?;
        Ok(())
    }

    async fn update_assume_role_policy(&self, role: &str, policy: &str) -> Result<(), ApiError> {
        self.iam
            .update_assume_role_policy()
            .role_name(role)
            .policy_document(policy)
            .send()
            .await
            .map_err(|e| from_sdk("iam:UpdateAssumeRolePolicy", e))?;
        Ok(())
    }

    async fn attach_role_policy(&self, role: &str, arn: &str) -> Result<(), ApiError> {
        self.iam
            .attach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| from_sdk("iam:AttachRolePolicy", e))?;
        Ok(())
    }

    async fn detach_role_policy(&self, role: &str, arn: &str) -> Result<(), ApiError> {
        self.iam
            .detach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| from_sdk("iam:DetachRolePolicy", e))?;
        Ok(())
    }

    async fn permission_set_policy(&self, instance: &str, permission_set: &str) -> Result<Option<String>, ApiError> {
        let out = self
            .sso
            .get_inline_policy_for_permission_set()
            .instance_arn(instance)
            .permission_set_arn(permission_set)
            .send()
            .await
            .map_err(|e| from_sdk("sso:GetInlinePolicyForPermissionSet", e))?;
        Ok(out.inline_policy().filter(|p| !p.trim().is_empty()).map(str::to_owned))
    }

    async fn put_permission_set_policy(
        &self,
        instance: &str,
        permission_set: &str,
        policy: Option<&str>,
    ) -> Result<(), ApiError> {
        match policy {
            Some(policy) => {
                self.sso
                    .put_inline_policy_to_permission_set()
                    .instance_arn(instance)
                    .permission_set_arn(permission_set)
                    .inline_policy(policy)
                    .send()
                    .await
                    .map_err(|e| from_sdk("sso:PutInlinePolicyToPermissionSet", e))?;
            }
            None => {
                self.sso
                    .delete_inline_policy_from_permission_set()
                    .instance_arn(instance)
                    .permission_set_arn(permission_set)
                    .send()
                    .await
                    .map_err(|e| from_sdk("sso:DeleteInlinePolicyFromPermissionSet", e))?;
            }
        }
        self.sso
            .provision_permission_set()
            .instance_arn(instance)
            .permission_set_arn(permission_set)
            .target_type(ssoadmin::types::ProvisionTargetType::AllProvisionedAccounts)
            .send()
            .await
            .map_err(|e| from_sdk("sso:ProvisionPermissionSet", e))?;
        Ok(())
    }
}

#[async_trait]
impl<T: DriftApi> DriftApi for Retrying<T> {
    async fn detect_stack_drift(&self, stack: &str) -> Result<String, ApiError> {
        self.policy.run(|| self.inner.detect_stack_drift(stack)).await
    }
    async fn drift_detection_status(&self, detection_id: &str) -> Result<DetectionStatus, ApiError> {
        self.policy
            .run(|| self.inner.drift_detection_status(detection_id))
            .await
    }
    async fn resource_drifts(&self, stack: &str) -> Result<Vec<ResourceDrift>, ApiError> {
        self.policy.run(|| self.inner.resource_drifts(stack)).await
    }
    async fn stack_resources(&self, stack: &str) -> Result<Vec<StackResource>, ApiError> {
        self.policy.run(|| self.inner.stack_resources(stack)).await
    }
    async fn create_revert_drift_change_set(&self, request: &NewChangeSet) -> Result<String, ApiError> {
        self.policy
            .run(|| self.inner.create_revert_drift_change_set(request))
            .await
    }
    async fn bucket_policy(&self, bucket: &str) -> Result<Option<String>, ApiError> {
        self.policy.run(|| self.inner.bucket_policy(bucket)).await
    }
    async fn put_bucket_policy(&self, bucket: &str, policy: &str) -> Result<(), ApiError> {
        self.policy.run(|| self.inner.put_bucket_policy(bucket, policy)).await
    }
    async fn key_policy(&self, key_id: &str) -> Result<String, ApiError> {
        self.policy.run(|| self.inner.key_policy(key_id)).await
    }
    async fn put_key_policy(&self, key_id: &str, policy: &str) -> Result<(), ApiError> {
        self.policy.run(|| self.inner.put_key_policy(key_id, policy)).await
    }
    async fn role(&self, name: &str) -> Result<Option<LiveRole>, ApiError> {
        self.policy.run(|| self.inner.role(name)).await
    }
    async fn put_role_policy(&self, role: &str, name: &str, policy: &str) -> Result<(), ApiError> {
        self.policy.run(|| self.inner.put_role_policy(role, name, policy)).await
    }
    async fn delete_role_policy(&self, role: &str, name: &str) -> Result<(), ApiError> {
        self.policy.run(|| self.inner.delete_role_policy(role, name)).await
    }
    async fn update_assume_role_policy(&self, role: &str, policy: &str) -> Result<(), ApiError> {
        self.policy
            .run(|| self.inner.update_assume_role_policy(role, policy))
            .await
    }
    async fn attach_role_policy(&self, role: &str, arn: &str) -> Result<(), ApiError> {
        self.policy.run(|| self.inner.attach_role_policy(role, arn)).await
    }
    async fn detach_role_policy(&self, role: &str, arn: &str) -> Result<(), ApiError> {
        self.policy.run(|| self.inner.detach_role_policy(role, arn)).await
    }
    async fn permission_set_policy(&self, instance: &str, permission_set: &str) -> Result<Option<String>, ApiError> {
        self.policy
            .run(|| self.inner.permission_set_policy(instance, permission_set))
            .await
    }
    async fn put_permission_set_policy(
        &self,
        instance: &str,
        permission_set: &str,
        policy: Option<&str>,
    ) -> Result<(), ApiError> {
        self.policy
            .run(|| self.inner.put_permission_set_policy(instance, permission_set, policy))
            .await
    }
}

/// An account's clients for `drift`: those of plan and deploy, and the drift calls.
pub(crate) struct DriftApis {
    pub(crate) base: Arc<AccountApis>,
    pub(crate) drift: Arc<dyn DriftApi>,
}

/// Where the drift engine gets an account's clients from.
#[async_trait]
pub(crate) trait DriftConnector: Send + Sync {
    async fn drift_account(&self, account: &str, region: &str) -> Result<DriftApis, DeployError>;
}

#[async_trait]
impl DriftConnector for AwsSession {
    async fn drift_account(&self, account: &str, region: &str) -> Result<DriftApis, DeployError> {
        let base = self.account(account, region).await?;
        let Some(config) = base.config.as_ref() else {
            return Err(DeployError::Api {
                account: account.to_owned(),
                stack: None,
                error: ApiError::new(
                    "sts:AssumeRole",
                    ApiErrorKind::Other,
                    None,
                    "no SDK configuration for the account",
                ),
            });
        };
        let drift = SdkDrift::new(config, self.path_style());
        Ok(DriftApis {
            drift: Arc::new(Retrying::new(drift, self.retry_policy())),
            base,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_documents_are_url_decoded() {
        assert_eq!(
            iam_document("%7B%22Version%22%3A%222012-10-17%22%2C%22a%22%3A%22x+y%22%7D"),
            r#"{"Version":"2012-10-17","a":"x y"}"#
        );
        assert_eq!(iam_document(r#"{"a": "50%"}"#), r#"{"a": "50%"}"#);
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
