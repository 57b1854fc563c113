//! Staging uploads: templates over CloudFormation's 51,200-byte inline limit
//! go to the account's staging bucket first, and the change set reads them by
//! URL. This is the only file that imports `aws_sdk_s3`.

use async_trait::async_trait;
use aws_sdk_s3 as s3;

use super::api::{from_sdk, ApiError, Retrying};

/// The S3 calls meshsynth makes (one account, one region).
#[async_trait]
pub(crate) trait S3Api: Send + Sync {
    /// Writes `body` to `s3://bucket/key`. A missing bucket is an error with
    /// code `NoSuchBucket` (the staging bucket comes with the baseline stack,
    /// so it is missing before the first deploy).
    async fn put_object(&self, bucket: &str, key: &str, body: &str) -> Result<(), ApiError>;

    /// Reads `s3://bucket/key` as text; `Ok(None)` when the object does not exist. A missing
    /// bucket is an error with code `NoSuchBucket`.
    async fn get_object(&self, bucket: &str, key: &str) -> Result<Option<String>, ApiError>;
}

/// `S3Api` over the AWS SDK.
#[derive(Debug, Clone)]
pub(crate) struct SdkS3 {
    client: s3::Client,
}

impl SdkS3 {
    /// `path_style`: address buckets as `endpoint/bucket` (emulators on an IP
    /// address need it; `bucket.127.0.0.1` does not resolve).
    pub(crate) fn new(config: &aws_config::SdkConfig, path_style: bool) -> Self {
        let conf = s3::config::Builder::from(config).force_path_style(path_style).build();
        SdkS3 {
            client: s3::Client::from_conf(conf),
        }
    }
}

#[async_trait]
impl S3Api for SdkS3 {
    async fn put_object(&self, bucket: &str, key: &str, body: &str) -> Result<(), ApiError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(s3::primitives::ByteStream::from(body.as_bytes().to_vec()))
            .send()
            .await
            .map_err(|e| from_sdk("s3:PutObject", e))?;
        Ok(())
    }

    async fn get_object(&self, bucket: &str, key: &str) -> Result<Option<String>, ApiError> {
        let out = match self.client.get_object().bucket(bucket).key(key).send().await {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(from_sdk("s3:GetObject", e)),
        };
        let bytes = out.body.collect().await.map_err(|e| {
            ApiError::new(
                "s3:GetObject",
                super::api::ApiErrorKind::Unreachable,
                None,
                format!("reading the body of s3://{bucket}/{key}: {e}"),
            )
        })?;
        String::from_utf8(bytes.into_bytes().to_vec()).map(Some).map_err(|_| {
            ApiError::new(
                "s3:GetObject",
                super::api::ApiErrorKind::Service,
                None,
                format!("s3://{bucket}/{key} is not UTF-8 text"),
            )
        })
    }
}

// Bucket policies (`meshsynth drift`): inherent calls, so this file stays
// the only one that imports the S3 SDK; the drift engine reaches them
// through `drift_api::DriftApi`.
impl SdkS3 {
    /// The bucket's policy; `None` when it has none. A missing bucket is an
    /// error with code `NoSuchBucket`.
    pub(crate) async fn bucket_policy(&self, bucket: &str) -> Result<Option<String>, ApiError> {
        match self.client.get_bucket_policy().bucket(bucket).send().await {
            Ok(out) => Ok(out.policy().filter(|p| !p.trim().is_empty()).map(str::to_owned)),
            Err(e) => {
                let e = from_sdk("s3:GetBucketPolicy", e);
                if e.is_code("NoSuchBucketPolicy") {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Replaces the bucket's policy.
    pub(crate) async fn put_bucket_policy(&self, bucket: &str, policy: &str) -> Result<(), ApiError> {
        self.client
            .put_bucket_policy()
            .bucket(bucket)
            .policy(policy)
            .send()
            .await
            .map_err(|e| from_sdk("s3:PutBucketPolicy", e))?;
        Ok(())
    }
}

#[async_trait]
impl<T: S3Api> S3Api for Retrying<T> {
    async fn put_object(&self, bucket: &str, key: &str, body: &str) -> Result<(), ApiError> {
        self.policy.run(|| self.inner.put_object(bucket, key, body)).await
    }

    async fn get_object(&self, bucket: &str, key: &str) -> Result<Option<String>, ApiError> {
        self.policy.run(|| self.inner.get_object(bucket, key)).await
    }
}

/// The URL CloudFormation reads a staged template from: path style, so
/// bucket names with dots work, in the bucket's region.
pub(crate) fn template_url(region: &str, bucket: &str, key: &str) -> String {
    let host = if region == "us-east-1" {
        "s3.amazonaws.com".to_owned()
    } else {
        format!("s3.{region}.amazonaws.com")
    };
    let suffix = if region.starts_with("cn-") { ".cn" } else { "" };
    format!("https://{host}{suffix}/{bucket}/{key}")
}

#[cfg(test)]
mod tests {
    use super::template_url;

    #[test]
    fn urls_are_path_style_in_the_region() {
        assert_eq!(
            template_url("eu-west-1", "acast-staging-333", "meshsynth/mesh-products/abc.json"),
            "https://s3.eu-west-1.amazonaws.com/acast-staging-333/meshsynth/mesh-products/abc.json"
        );
        assert_eq!(template_url("us-east-1", "b", "k"), "https://s3.amazonaws.com/b/k");
    }
}
