//! Test doubles of the Glue and S3 APIs, and a call counter, beside the
//! CloudFormation fake in `fake.rs`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::api::{ApiError, ApiErrorKind};
use super::fake::lock;
use super::glue::{CatalogPolicy, GlueApi};
use super::s3::S3Api;

/// A catalog whose policy is whatever was last put; its hash is the
/// policy's length and a counter of writes, enough to tell versions apart.
#[derive(Debug, Default)]
pub(crate) struct FakeGlue {
    pub(crate) policy: Mutex<Option<String>>,
    writes: AtomicU32,
    pub(crate) calls: Calls,
}

impl FakeGlue {
    fn hash(&self) -> String {
        format!("h{}", self.writes.load(Ordering::SeqCst))
    }

    fn check(&self, op: &'static str, expected: Option<&str>) -> Result<(), ApiError> {
        match expected {
            Some(h) if lock(&self.policy).is_some() && h != self.hash() => Err(ApiError::new(
                op,
                ApiErrorKind::Service,
                Some("ConcurrentModificationException"),
                "Policy hash condition not met",
            )),
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl GlueApi for Arc<FakeGlue> {
    async fn get_resource_policy(&self) -> Result<Option<CatalogPolicy>, ApiError> {
        self.calls.count("glue:GetResourcePolicy").await;
        Ok(lock(&self.policy).clone().map(|text| CatalogPolicy {
            text,
            hash: Some(self.hash()),
        }))
    }
    async fn put_resource_policy(&self, policy: &str, expected_hash: Option<&str>) -> Result<(), ApiError> {
        self.calls.count("glue:PutResourcePolicy").await;
        self.check("glue:PutResourcePolicy", expected_hash)?;
        *lock(&self.policy) = Some(policy.to_owned());
        self.writes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn delete_resource_policy(&self, expected_hash: Option<&str>) -> Result<(), ApiError> {
        self.calls.count("glue:DeleteResourcePolicy").await;
        self.check("glue:DeleteResourcePolicy", expected_hash)?;
        *lock(&self.policy) = None;
        self.writes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Calls made to a fake, by operation, each after `latency` (a stand-in for
/// the network round trip, for the benchmark).
#[derive(Debug, Default)]
pub(crate) struct Calls {
    pub(crate) latency: Mutex<Duration>,
    by_op: Mutex<BTreeMap<&'static str, u64>>,
}

impl Calls {
    pub(super) async fn count(&self, op: &'static str) {
        *lock(&self.by_op).entry(op).or_insert(0) += 1;
        let latency = *lock(&self.latency);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }

    pub(crate) fn by_op(&self) -> BTreeMap<&'static str, u64> {
        lock(&self.by_op).clone()
    }

    pub(crate) fn set_latency(&self, latency: Duration) {
        *lock(&self.latency) = latency;
    }
}

/// S3 with no buckets (the tests' templates are all inline).
#[derive(Debug, Default)]
pub(crate) struct FakeS3;

#[async_trait]
impl S3Api for FakeS3 {
    async fn put_object(&self, _bucket: &str, _key: &str, _body: &str) -> Result<(), ApiError> {
        Err(ApiError::new(
            "s3:PutObject",
            ApiErrorKind::Service,
            Some("NoSuchBucket"),
            "no bucket",
        ))
    }

    async fn get_object(&self, _bucket: &str, _key: &str) -> Result<Option<String>, ApiError> {
        Err(ApiError::new(
            "s3:GetObject",
            ApiErrorKind::Service,
            Some("NoSuchBucket"),
            "no bucket",
        ))
    }
}
