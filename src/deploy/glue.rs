//! The Glue Data Catalog resource policy of an account, behind a trait.
//!
//! The policy is not a CloudFormation resource (there is no
//! `AWS::Glue::ResourcePolicy` type), so meshsynth applies it with the API,
//! after the account's products stack. This is the only file that imports
//! `aws_sdk_glue`.

use async_trait::async_trait;
use aws_sdk_glue as glue;

use super::api::{from_sdk, ApiError, Retrying};

/// The catalog resource policy calls meshsynth makes (one account, one region).
#[async_trait]
pub trait GlueApi: Send + Sync {
    /// The policy in force (its JSON text); `None` when the catalog has none.
    async fn get_resource_policy(&self) -> Result<Option<String>, ApiError>;
    /// Sets the catalog's policy, replacing any other.
    async fn put_resource_policy(&self, policy: &str) -> Result<(), ApiError>;
}

/// `GlueApi` over the AWS SDK.
#[derive(Debug, Clone)]
pub struct SdkGlue {
    client: glue::Client,
}

impl SdkGlue {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        SdkGlue {
            client: glue::Client::new(config),
        }
    }
}

#[async_trait]
impl GlueApi for SdkGlue {
    async fn get_resource_policy(&self) -> Result<Option<String>, ApiError> {
        match self.client.get_resource_policy().send().await {
            Ok(out) => Ok(out.policy_in_json().filter(|p| !p.trim().is_empty()).map(str::to_owned)),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_entity_not_found_exception()) => Ok(None),
            Err(e) => Err(from_sdk("glue:GetResourcePolicy", e)),
        }
    }

    async fn put_resource_policy(&self, policy: &str) -> Result<(), ApiError> {
        self.client
            .put_resource_policy()
            .policy_in_json(policy)
            .send()
            .await
            .map_err(|e| from_sdk("glue:PutResourcePolicy", e))?;
        Ok(())
    }
}

#[async_trait]
impl<T: GlueApi> GlueApi for Retrying<T> {
    async fn get_resource_policy(&self) -> Result<Option<String>, ApiError> {
        self.policy.run(|| self.inner.get_resource_policy()).await
    }
    async fn put_resource_policy(&self, policy: &str) -> Result<(), ApiError> {
        self.policy.run(|| self.inner.put_resource_policy(policy)).await
    }
}
