//! Getting into each account: STS AssumeRole behind a trait, and the
//! credentials provider that the account's clients share.
//!
//! Each account gets one [`AssumedRole`] (built by `session.rs` and cached
//! there), which calls AssumeRole once, keeps the temporary credentials, and
//! assumes the role again only when they are about to expire — so a deploy
//! that outlasts a session keeps working, and a short one calls STS once per
//! account. This is the only file that imports `aws_sdk_sts`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::provider::{error::CredentialsError, future, ProvideCredentials};
use aws_credential_types::Credentials;
use aws_sdk_sts as sts;

use super::api::{from_sdk, ApiError, Retrying};

/// The session name of every assumed role: what CloudTrail shows as the actor.
pub(crate) const SESSION_NAME: &str = "meshsynth";

/// Temporary credentials from AssumeRole.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct TemporaryCredentials {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) session_token: String,
    pub(crate) expiration: SystemTime,
}

impl std::fmt::Debug for TemporaryCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemporaryCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

/// The STS calls meshsynth makes, with the starting credentials.
#[async_trait]
pub(crate) trait StsApi: Send + Sync {
    async fn assume_role(&self, role_arn: &str, session_name: &str) -> Result<TemporaryCredentials, ApiError>;
}

/// `StsApi` over the AWS SDK.
#[derive(Debug, Clone)]
pub(crate) struct SdkSts {
    client: sts::Client,
}

impl SdkSts {
    pub(crate) fn new(config: &aws_config::SdkConfig) -> Self {
        SdkSts {
            client: sts::Client::new(config),
        }
    }
}

#[async_trait]
impl StsApi for SdkSts {
    async fn assume_role(&self, role_arn: &str, session_name: &str) -> Result<TemporaryCredentials, ApiError> {
        let op = "sts:AssumeRole";
        let out = self
            .client
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(session_name)
            .send()
            .await
            .map_err(|e| from_sdk(op, e))?;
        let creds = out.credentials().ok_or_else(|| {
            ApiError::new(
                op,
                super::api::ApiErrorKind::Other,
                None,
                "the answer has no credentials",
            )
        })?;
        Ok(TemporaryCredentials {
            access_key_id: creds.access_key_id().to_owned(),
            secret_access_key: creds.secret_access_key().to_owned(),
            session_token: creds.session_token().to_owned(),
            expiration: SystemTime::try_from(*creds.expiration())
                .unwrap_or_else(|_| SystemTime::now() + Duration::from_secs(900)),
        })
    }
}

#[async_trait]
impl<T: StsApi> StsApi for Retrying<T> {
    async fn assume_role(&self, role_arn: &str, session_name: &str) -> Result<TemporaryCredentials, ApiError> {
        self.policy.run(|| self.inner.assume_role(role_arn, session_name)).await
    }
}

/// Credentials are renewed this long before they expire, so no call is
/// signed with credentials that lapse in flight.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// The role assumed in one account, as a credentials provider for that
/// account's clients (see the module docs).
pub(crate) struct AssumedRole {
    sts: Arc<dyn StsApi>,
    role_arn: String,
    cached: Mutex<Option<TemporaryCredentials>>,
}

impl std::fmt::Debug for AssumedRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssumedRole")
            .field("role_arn", &self.role_arn)
            .finish_non_exhaustive()
    }
}

impl AssumedRole {
    /// Assumes `role_arn` now (so a missing trust or permission shows up
    /// before any work starts) and keeps the credentials.
    pub(crate) async fn assume(sts: Arc<dyn StsApi>, role_arn: String) -> Result<AssumedRole, ApiError> {
        let creds = sts.assume_role(&role_arn, SESSION_NAME).await?;
        Ok(AssumedRole {
            sts,
            role_arn,
            cached: Mutex::new(Some(creds)),
        })
    }

    /// The credentials to sign with: the cached ones while fresh, else new ones.
    pub(crate) async fn credentials(&self) -> Result<TemporaryCredentials, ApiError> {
        if let Some(fresh) = self.fresh() {
            return Ok(fresh);
        }
        let creds = self.sts.assume_role(&self.role_arn, SESSION_NAME).await?;
        if let Ok(mut cached) = self.cached.lock() {
            *cached = Some(creds.clone());
        }
        Ok(creds)
    }

    fn fresh(&self) -> Option<TemporaryCredentials> {
        let cached = self.cached.lock().ok()?;
        cached
            .as_ref()
            .filter(|c| c.expiration > SystemTime::now() + REFRESH_MARGIN)
            .cloned()
    }
}

impl ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let c = self.credentials().await.map_err(CredentialsError::provider_error)?;
            Ok(Credentials::new(
                c.access_key_id,
                c.secret_access_key,
                Some(c.session_token),
                Some(c.expiration),
                "meshsynth-assume-role",
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct CountingSts {
        calls: AtomicU32,
        lifetime: Duration,
    }

    #[async_trait]
    impl StsApi for CountingSts {
        async fn assume_role(&self, role_arn: &str, session_name: &str) -> Result<TemporaryCredentials, ApiError> {
            assert_eq!(session_name, "meshsynth");
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(TemporaryCredentials {
                access_key_id: format!("ASIA{n}"),
                secret_access_key: role_arn.to_owned(),
                session_token: "token".to_owned(),
                expiration: SystemTime::now() + self.lifetime,
            })
        }
    }

    #[tokio::test]
    async fn one_assume_role_while_the_credentials_are_fresh() {
        let sts = Arc::new(CountingSts {
            calls: AtomicU32::new(0),
            lifetime: Duration::from_secs(3600),
        });
        let role = AssumedRole::assume(sts.clone(), "arn:aws:iam::333333333333:role/Deploy".to_owned())
            .await
            .expect("assume");
        for _ in 0..5 {
            let c = role.provide_credentials().await.expect("credentials");
            assert_eq!(c.access_key_id(), "ASIA0");
        }
        assert_eq!(sts.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn expiring_credentials_are_renewed() {
        let sts = Arc::new(CountingSts {
            calls: AtomicU32::new(0),
            lifetime: Duration::from_secs(60),
        });
        let role = AssumedRole::assume(sts.clone(), "arn:aws:iam::333333333333:role/Deploy".to_owned())
            .await
            .expect("assume");
        let c = role.provide_credentials().await.expect("credentials");
        assert_eq!(c.access_key_id(), "ASIA1");
        assert_eq!(sts.calls.load(Ordering::SeqCst), 2);
    }
}
