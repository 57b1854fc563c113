//! Reading AWS Organizations: the organisation, its accounts and their tags.
//! The only file of `lifecycle` that imports `aws_sdk_organizations`; it
//! reads and never changes anything.

use std::collections::{BTreeMap, BTreeSet};

use aws_config::{Region, SdkConfig};
use aws_sdk_organizations::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_organizations::Client;

use crate::settings::AwsSettings;

/// An account as Organizations knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrgAccount {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) email: String,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, `CLOSED`… (the account's
    /// `State`, or its older `Status` where the service gives only that).
    pub(crate) state: String,
    pub(crate) tags: BTreeMap<String, String>,
}

/// The organisation and every account in it, sorted by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrgSnapshot {
    pub(crate) id: String,
    pub(crate) management_account: String,
    pub(crate) accounts: Vec<OrgAccount>,
}

/// Why Organizations could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OrgError {
    #[error("the caller's account is not in an AWS organisation (Organizations: `AWSOrganizationsNotInUseException`)")]
    NotInUse,
    #[error("AWS Organizations denied `{operation}`: {message} (run this with credentials of the management account, or of a delegated administrator)")]
    AccessDenied { operation: &'static str, message: String },
    #[error("AWS Organizations `{operation}` failed: {message}")]
    Call { operation: &'static str, message: String },
}

fn call_error<E, R>(operation: &'static str, err: SdkError<E, R>) -> OrgError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let SdkError::ServiceError(service) = &err {
        let e = service.err();
        match e.code() {
            Some("AWSOrganizationsNotInUseException") => return OrgError::NotInUse,
            Some("AccessDeniedException") => {
                return OrgError::AccessDenied {
                    operation,
                    message: e.message().unwrap_or("access denied").to_owned(),
                }
            }
            _ => {}
        }
    }
    OrgError::Call {
        operation,
        message: DisplayErrorContext(&err).to_string(),
    }
}

/// The SDK configuration for these settings: the standard credential chain
/// (or `--profile`), `--endpoint-url`, and `--region`, else `fallback_region`
/// (`org.region`), else the environment's, else `us-east-1` (Organizations is
/// a global service; any region reaches it).
/// Organizations is called with the starting credentials (no role is assumed).
pub(crate) async fn sdk_config(aws: &AwsSettings, fallback_region: Option<&str>) -> SdkConfig {
    let mut loader = crate::deploy::session::config_loader(aws.profile.as_deref(), aws.endpoint_url.as_deref());
    if let Some(region) = aws.region.as_deref().or(fallback_region) {
        loader = loader.region(Region::new(region.to_owned()));
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return config.into_builder().region(Region::from_static("us-east-1")).build();
    }
    config
}

/// Reads the organisation, its accounts and (when `tags`) every account's tags.
pub(crate) async fn snapshot(client: &Client, tags: bool) -> Result<OrgSnapshot, OrgError> {
    let org = client
        .describe_organization()
        .send()
        .await
        .map_err(|e| call_error("DescribeOrganization", e))?;
    let org = org.organization();
    let id = org.and_then(|o| o.id()).unwrap_or_default().to_owned();
    let management_account = org.and_then(|o| o.master_account_id()).unwrap_or_default().to_owned();

    let mut accounts = Vec::new();
    let mut pages = client.list_accounts().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("ListAccounts", e))?;
        for a in page.accounts() {
            let state = a
                .state()
                .map(|s| s.as_str().to_owned())
                .or_else(|| a.status().map(|s| s.as_str().to_owned()))
                .unwrap_or_default();
            accounts.push(OrgAccount {
                id: a.id().unwrap_or_default().to_owned(),
                name: a.name().unwrap_or_default().to_owned(),
                email: a.email().unwrap_or_default().to_owned(),
                state,
                tags: BTreeMap::new(),
            });
        }
    }
    if tags {
        // One call per account; a 2,000-account org takes a while, which is
        // acceptable for an occasional check.
        for a in &mut accounts {
            let mut pages = client
                .list_tags_for_resource()
                .resource_id(&a.id)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| call_error("ListTagsForResource", e))?;
                for t in page.tags() {
                    a.tags.insert(t.key().to_owned(), t.value().to_owned());
                }
            }
        }
    }
    accounts.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(OrgSnapshot {
        id,
        management_account,
        accounts,
    })
}

/// The service principals with trusted access to the organisation
/// (`ListAWSServiceAccessForOrganization`): `ram.amazonaws.com` once AWS RAM
/// sharing with the organisation is enabled.
pub(crate) async fn service_access(client: &Client) -> Result<BTreeSet<String>, OrgError> {
    let mut out = BTreeSet::new();
    let mut pages = client
        .list_aws_service_access_for_organization()
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("ListAWSServiceAccessForOrganization", e))?;
        for s in page.enabled_service_principals() {
            if let Some(p) = s.service_principal() {
                out.insert(p.to_owned());
            }
        }
    }
    Ok(out)
}
