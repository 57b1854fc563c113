//! Credentials and clients: the starting credentials (standard chain or
//! `--profile`), the role assumed in each account, and that account's
//! CloudFormation, Glue and S3 clients.
//!
//! The engine asks a [`Connector`] for an account's [`AccountApis`]; the real
//! one, [`AwsSession`], assumes `org.deploy_role` once per account and region
//! and hands out the same clients to every stack of that account. Tests give
//! the engine a connector of fakes instead.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::SharedCredentialsProvider;

use super::api::{RetryPolicy, Retrying};
use super::cfn::{CfnApi, SdkCfn};
use super::glue::{GlueApi, SdkGlue};
use super::s3::{S3Api, SdkS3};
use super::sts::{AssumedRole, SdkSts, StsApi};
use super::DeployError;

/// The service clients of one account (and region), retried on throttling.
pub(crate) struct AccountApis {
    pub(crate) cfn: Arc<dyn CfnApi>,
    pub(crate) glue: Arc<dyn GlueApi>,
    pub(crate) s3: Arc<dyn S3Api>,
    /// The SDK configuration with the account's assumed role, for clients
    /// only some commands need (`drift`: KMS, IAM, Identity Center); `None`
    /// for test doubles.
    pub(crate) config: Option<aws_config::SdkConfig>,
}

/// Where the engine gets an account's clients from.
#[async_trait]
pub(crate) trait Connector: Send + Sync {
    async fn account(&self, account: &str, region: &str) -> Result<Arc<AccountApis>, DeployError>;
}

/// How to reach AWS (resolved from the command line; see `Settings`).
#[derive(Debug, Clone)]
pub(crate) struct AwsOptions {
    /// Send every call here (an emulator), instead of the real endpoints.
    pub(crate) endpoint_url: Option<String>,
    /// The region of the starting session (STS); stacks use their own.
    pub(crate) region: String,
    /// The AWS profile of the starting credentials; the standard chain otherwise.
    pub(crate) profile: Option<String>,
    /// The role assumed in every account (`org.deploy_role`).
    pub(crate) deploy_role: String,
    /// The longest one AWS call may take, the SDK's own retries included.
    pub(crate) call_timeout: Duration,
    /// Attempts of the SDK's own retry (standard mode) per call.
    pub(crate) sdk_max_attempts: u32,
    /// Our retry of throttling, on top of the SDK's.
    pub(crate) retry: RetryPolicy,
}

/// The starting configuration every AWS command shares: the standard
/// credential chain (or `--profile`) and `--endpoint-url` (else
/// `AWS_ENDPOINT_URL`, which the SDK reads itself).
pub(crate) fn config_loader(profile: Option<&str>, endpoint_url: Option<&str>) -> aws_config::ConfigLoader {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader
}

type Cell = Arc<tokio::sync::OnceCell<Arc<AccountApis>>>;

/// The real [`Connector`]: the SDK, with one assumed role per account.
pub(crate) struct AwsSession {
    base: aws_config::SdkConfig,
    sts: Arc<dyn StsApi>,
    options: AwsOptions,
    accounts: tokio::sync::Mutex<BTreeMap<(String, String), Cell>>,
}

impl AwsSession {
    /// Loads the starting configuration (no call is made yet).
    pub(crate) async fn new(options: AwsOptions) -> AwsSession {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(10).min(options.call_timeout))
            .operation_timeout(options.call_timeout)
            .build();
        let base = config_loader(options.profile.as_deref(), options.endpoint_url.as_deref())
            .region(Region::new(options.region.clone()))
            .retry_config(RetryConfig::standard().with_max_attempts(options.sdk_max_attempts.max(1)))
            .timeout_config(timeouts)
            .load()
            .await;
        let sts: Arc<dyn StsApi> = Arc::new(Retrying::new(SdkSts::new(&base), options.retry));
        AwsSession {
            base,
            sts,
            options,
            accounts: tokio::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// Whether S3 buckets are addressed path style (an emulator endpoint).
    pub(crate) fn path_style(&self) -> bool {
        self.options.endpoint_url.is_some()
    }

    /// Our retry of throttling, for clients made beside `AccountApis`.
    pub(crate) fn retry_policy(&self) -> RetryPolicy {
        self.options.retry
    }

    async fn connect(&self, account: &str, region: &str) -> Result<Arc<AccountApis>, DeployError> {
        let role_arn = format!("arn:aws:iam::{account}:role/{}", self.options.deploy_role);
        let role = AssumedRole::assume(self.sts.clone(), role_arn.clone())
            .await
            .map_err(|error| DeployError::AssumeRole {
                account: account.to_owned(),
                role_arn,
                error,
            })?;
        let config = self
            .base
            .to_builder()
            .region(Region::new(region.to_owned()))
            .credentials_provider(SharedCredentialsProvider::new(role))
            .build();
        let retry = self.options.retry;
        Ok(Arc::new(AccountApis {
            cfn: Arc::new(Retrying::new(SdkCfn::new(&config), retry)),
            glue: Arc::new(Retrying::new(SdkGlue::new(&config), retry)),
            s3: Arc::new(Retrying::new(
                SdkS3::new(&config, self.options.endpoint_url.is_some()),
                retry,
            )),
            config: Some(config),
        }))
    }
}

#[async_trait]
impl Connector for AwsSession {
    async fn account(&self, account: &str, region: &str) -> Result<Arc<AccountApis>, DeployError> {
        let cell = {
            let mut accounts = self.accounts.lock().await;
            accounts
                .entry((account.to_owned(), region.to_owned()))
                .or_default()
                .clone()
        };
        // Concurrent first uses of an account wait for the one AssumeRole.
        cell.get_or_try_init(|| self.connect(account, region)).await.cloned()
    }
}
