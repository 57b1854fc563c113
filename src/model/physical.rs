//! Physical names that stages before synth need as well: validation checks
//! that they fit AWS's limits, synth and render use them. One function per
//! name, so a check and the name it checks cannot drift apart. No IO.

/// S3's limit on a bucket name.
pub(crate) const BUCKET_NAME_MAX: usize = 63;

/// `<org>-<account>-<region>-staging`: the account's bucket for Athena results and oversized
/// templates, the longest bucket name meshsynth makes.
pub(crate) fn staging_bucket(org: &str, account: &str, region: &str) -> String {
    format!("{org}-{account}-{region}-staging")
}

/// The longest org name whose staging bucket names fit S3's limit in `region`.
pub(crate) fn max_org_name_len(region: &str) -> usize {
    BUCKET_NAME_MAX.saturating_sub(staging_bucket("", "000000000000", region).len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_org_name_limit_leaves_room_for_the_rest_of_the_staging_bucket_name() {
        let region = "eu-west-1";
        let org = "a".repeat(max_org_name_len(region));
        assert_eq!(staging_bucket(&org, "123456789012", region).len(), BUCKET_NAME_MAX);
        assert_eq!(max_org_name_len(region), 63 - 1 - 12 - 1 - 9 - "-staging".len());
    }
}
