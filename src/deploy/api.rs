//! What an AWS call can fail with, whatever the service, and the retry
//! wrapper that every client of `deploy/` goes through.
//!
//! The SDK retries throttling and transient errors itself (standard mode,
//! configured in `session.rs`), but a deploy of a large organisation hits the
//! CloudFormation API from many accounts at once for minutes; a throttling
//! error that survives the SDK's few attempts must not fail a stack. So every
//! service trait (`CfnApi`, `GlueApi`, `S3Api`, `StsApi`) is wrapped in
//! [`Retrying`], which retries throttling with capped exponential backoff and
//! jitter. It retries nothing else: a validation error stays an error.
//!
//! This module imports no service crate: SDK errors are generic over the
//! operation error, so one mapping serves every service.

use std::error::Error as StdError;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// How an AWS call failed, as far as deciding what to do next is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ApiErrorKind {
    /// The service asked us to slow down (`Throttling`, HTTP 429, ...): retried.
    Throttled,
    /// No answer: connection refused, DNS, a timeout.
    Unreachable,
    /// The service answered with an error (`ValidationError`, `AccessDenied`, ...).
    Service,
    /// Anything else: no credentials, a response that could not be parsed.
    Other,
}

/// A failed AWS call, with a message meant for people.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation}: {message}")]
pub(crate) struct ApiError {
    /// `service:Operation`, e.g. `cloudformation:CreateChangeSet`.
    pub(crate) operation: &'static str,
    pub(crate) kind: ApiErrorKind,
    /// The service's error code, when it gave one.
    pub(crate) code: Option<String>,
    pub(crate) message: String,
}

impl ApiError {
    /// An error made up by our code or a test double (no SDK error behind it).
    pub(crate) fn new(
        operation: &'static str,
        kind: ApiErrorKind,
        code: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            operation,
            kind,
            code: code.map(str::to_owned),
            message: message.into(),
        }
    }

    /// A throttling error, as the service would send it (the fakes' answer).
    #[cfg(test)]
    pub(crate) fn throttled(operation: &'static str) -> Self {
        ApiError::new(
            operation,
            ApiErrorKind::Throttled,
            Some("Throttling"),
            "Throttling: Rate exceeded",
        )
    }

    /// Whether the service's error code is `code`.
    pub(crate) fn is_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

/// Error codes that mean "slow down" across AWS services.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Maps an SDK error to an [`ApiError`]: the service's code and message when
/// it answered, else the whole cause chain (`DisplayErrorContext`).
pub(crate) fn from_sdk<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> ApiError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let (kind, code, message) = match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().map(str::to_owned);
            let status = service.raw().status().as_u16();
            let kind = if status == 429 || code.as_deref().is_some_and(|c| THROTTLING_CODES.contains(&c)) {
                ApiErrorKind::Throttled
            } else {
                ApiErrorKind::Service
            };
            let message = match (e.code(), e.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_owned(),
                (None, Some(m)) => m.to_owned(),
                (None, None) => format!("HTTP {status}: {}", DisplayErrorContext(&err)),
            };
            (kind, code, message)
        }
        SdkError::TimeoutError(_) => (
            ApiErrorKind::Unreachable,
            None,
            format!("timed out ({})", DisplayErrorContext(&err)),
        ),
        SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => (
            ApiErrorKind::Unreachable,
            None,
            format!("AWS unreachable ({})", DisplayErrorContext(&err)),
        ),
        SdkError::ResponseError(response) if response.raw().status().as_u16() == 429 => {
            (ApiErrorKind::Throttled, None, DisplayErrorContext(&err).to_string())
        }
        _ => (ApiErrorKind::Other, None, DisplayErrorContext(&err).to_string()),
    };
    ApiError {
        operation,
        kind,
        code,
        message,
    }
}

/// How often and how patiently to retry throttled calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry).
    pub(crate) max_attempts: u32,
    /// The delay before the first retry; doubled at each retry, with full jitter.
    pub(crate) base_delay: Duration,
    /// The longest delay between two attempts.
    pub(crate) max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// Runs `call` until it succeeds, fails with anything but throttling, or
    /// has used every attempt.
    pub(crate) async fn run<T, F, Fut>(&self, mut call: F) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let mut attempt = 1;
        loop {
            match call().await {
                Err(e) if e.kind == ApiErrorKind::Throttled && attempt < self.max_attempts => {
                    tokio::time::sleep(self.delay(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// The pause after failed attempt `attempt` (1-based): a random point in
    /// `[0, min(max_delay, base_delay * 2^(attempt-1))]` ("full jitter"), so
    /// many stacks throttled together do not retry together.
    fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX));
        let cap = exp.min(self.max_delay);
        let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(jitter() % (nanos + 1))
    }
}

/// A cheap pseudo-random number (splitmix64 over a counter seeded by the
/// clock): jitter needs spread, not cryptographic quality.
fn jitter() -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos().into())
        .unwrap_or(0u64);
    let mut z = STATE
        .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
        .wrapping_add(seed);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Any of our service traits, retried on throttling (see the module docs).
/// Each trait file implements its trait for `Retrying<T>`.
#[derive(Debug, Clone)]
pub(crate) struct Retrying<T> {
    pub(crate) inner: T,
    pub(crate) policy: RetryPolicy,
}

impl<T> Retrying<T> {
    pub(crate) fn new(inner: T, policy: RetryPolicy) -> Self {
        Retrying { inner, policy }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[test]
    fn delays_are_capped_and_grow() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        };
        for attempt in 1..10 {
            assert!(policy.delay(attempt) <= Duration::from_millis(300));
        }
        assert!(policy.delay(1) <= Duration::from_millis(100));
        let zero = RetryPolicy {
            base_delay: Duration::ZERO,
            ..policy
        };
        assert_eq!(zero.delay(3), Duration::ZERO);
    }

    #[tokio::test]
    async fn throttling_is_retried_and_other_errors_are_not() {
        let policy = RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        };
        let calls = AtomicU32::new(0);
        let ok = policy
            .run(|| async {
                if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(ApiError::throttled("test:Op"))
                } else {
                    Ok(7)
                }
            })
            .await;
        assert_eq!(ok.ok(), Some(7));
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        calls.store(0, Ordering::SeqCst);
        let gave_up: Result<(), _> = policy
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(ApiError::throttled("test:Op"))
            })
            .await;
        assert_eq!(gave_up.map_err(|e| e.kind), Err(ApiErrorKind::Throttled));
        assert_eq!(calls.load(Ordering::SeqCst), 4);

        calls.store(0, Ordering::SeqCst);
        let invalid: Result<(), _> = policy
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(ApiError::new(
                    "test:Op",
                    ApiErrorKind::Service,
                    Some("ValidationError"),
                    "bad",
                ))
            })
            .await;
        assert!(invalid.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
