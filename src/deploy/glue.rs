//! The Glue Data Catalog resource policy of an account, behind a trait.
//!
//! The policy is not a CloudFormation resource (there is no
//! `AWS::Glue::ResourcePolicy` type), so meshsynth applies it with the API,
//! after the account's products stack. This is the only file that imports
//! `aws_sdk_glue`.
//!
//! Two guards on every write: the hash of the policy the plan saw is passed
//! as `PolicyHashCondition`, so a policy changed by someone else between plan
//! and deploy is not overwritten blindly (the call fails, and the next plan
//! shows the change); and `EnableHybrid` is `TRUE`, because Glue refuses
//! `PutResourcePolicy` in an account that has already granted cross-account
//! access through Lake Formation unless the caller says it uses both methods
//! (it changes nothing in an account that has no such grants).

use async_trait::async_trait;
use aws_sdk_glue as glue;
use glue::types::EnableHybridValues;

use super::api::{from_sdk, ApiError, Retrying};

/// A catalog policy in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CatalogPolicy {
    /// The policy's JSON text.
    pub(crate) text: String,
    /// Glue's hash of it, for `PolicyHashCondition`; `None` when not given.
    pub(crate) hash: Option<String>,
}

/// The catalog resource policy calls meshsynth makes (one account, one region).
#[async_trait]
pub(crate) trait GlueApi: Send + Sync {
    /// The policy in force; `None` when the catalog has none.
    async fn get_resource_policy(&self) -> Result<Option<CatalogPolicy>, ApiError>;
    /// Sets the catalog's policy, replacing any other; with `expected_hash`,
    /// only if the policy in force still has that hash.
    async fn put_resource_policy(&self, policy: &str, expected_hash: Option<&str>) -> Result<(), ApiError>;
    /// Removes the catalog's policy; with `expected_hash`, only if the policy
    /// in force still has that hash. A missing policy is not an error.
    async fn delete_resource_policy(&self, expected_hash: Option<&str>) -> Result<(), ApiError>;
}

/// `GlueApi` over the AWS SDK.
#[derive(Debug, Clone)]
pub(crate) struct SdkGlue {
    client: glue::Client,
}

impl SdkGlue {
    pub(crate) fn new(config: &aws_config::SdkConfig) -> Self {
        SdkGlue {
            client: glue::Client::new(config),
        }
    }
}

#[async_trait]
impl GlueApi for SdkGlue {
    async fn get_resource_policy(&self) -> Result<Option<CatalogPolicy>, ApiError> {
        match self.client.get_resource_policy().send().await {
            Ok(out) => Ok(out
                .policy_in_json()
                .filter(|p| !p.trim().is_empty())
                .map(|text| CatalogPolicy {
                    text: text.to_owned(),
                    hash: out.policy_hash().map(str::to_owned),
                })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_entity_not_found_exception()) => Ok(None),
            Err(e) => Err(from_sdk("glue:GetResourcePolicy", e)),
        }
    }

    async fn put_resource_policy(&self, policy: &str, expected_hash: Option<&str>) -> Result<(), ApiError> {
        self.client
            .put_resource_policy()
            .policy_in_json(policy)
            .set_policy_hash_condition(expected_hash.map(str::to_owned))
            .enable_hybrid(EnableHybridValues::True)
            .send()
            .await
            .map_err(|e| from_sdk("glue:PutResourcePolicy", e))?;
        Ok(())
    }

    async fn delete_resource_policy(&self, expected_hash: Option<&str>) -> Result<(), ApiError> {
        match self
            .client
            .delete_resource_policy()
            .set_policy_hash_condition(expected_hash.map(str::to_owned))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_entity_not_found_exception()) => Ok(()),
            Err(e) => Err(from_sdk("glue:DeleteResourcePolicy", e)),
        }
    }
}

#[async_trait]
impl<T: GlueApi> GlueApi for Retrying<T> {
    async fn get_resource_policy(&self) -> Result<Option<CatalogPolicy>, ApiError> {
        self.policy.run(|| self.inner.get_resource_policy()).await
    }
    async fn put_resource_policy(&self, policy: &str, expected_hash: Option<&str>) -> Result<(), ApiError> {
        self.policy
            .run(|| self.inner.put_resource_policy(policy, expected_hash))
            .await
    }
    async fn delete_resource_policy(&self, expected_hash: Option<&str>) -> Result<(), ApiError> {
        self.policy
            .run(|| self.inner.delete_resource_policy(expected_hash))
            .await
    }
}
