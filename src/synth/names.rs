//! Physical names, ARNs and logical ids of everything meshsynth creates.
//!
//! Every name here derives only from the org name, the region, account ids,
//! domain, product, version and table names (and, for roles and permission
//! sets, the access group or service role they serve) — never from a team
//! name, a file name or a list position, so that re-synthesis after a team is
//! renamed or split keeps every stateful resource in place
//! (`spec/topology.md`, "What the names mean to AWS"). No IO here.

use crate::model::{camel, AccountId, Org, ProductId};

/// `<org>-<account>-<region>-mesh`: the account's data bucket.
pub(crate) fn data_bucket(org: &Org, account: &AccountId) -> String {
    [&org.name, "-", account.as_str(), "-", &org.region, "-mesh"].concat()
}

/// `<org>-<account>-<region>-staging`: Athena results and oversized templates.
pub(crate) fn staging_bucket(org: &Org, account: &AccountId) -> String {
    crate::model::physical::staging_bucket(&org.name, account.as_str(), &org.region)
}

/// `<org>-<account>-<region>-logs`: the S3 server access logs of the account's other buckets.
pub(crate) fn log_bucket(org: &Org, account: &AccountId) -> String {
    [&org.name, "-", account.as_str(), "-", &org.region, "-logs"].concat()
}

/// The bucket-name pattern of every data bucket of the org (identity policies for open data).
pub(crate) fn data_bucket_pattern(org: &Org) -> String {
    format!("{}-*-{}-mesh", org.name, org.region)
}

/// `alias/<org>-mesh`: the account's data key, by a name other stacks can use.
pub(crate) fn key_alias(org: &Org) -> String {
    format!("alias/{}-mesh", org.name)
}

/// `<domain>_<product>_v<version>` with dashes as underscores.
pub(crate) fn glue_database(product: &ProductId, version: u32) -> String {
    format!(
        "{}_{}_v{version}",
        product.domain.replace('-', "_"),
        product.name.replace('-', "_")
    )
}

/// `<domain>/<product>/v<version>/`: where a version's tables live in the data bucket.
pub(crate) fn version_prefix(product: &ProductId, version: u32) -> String {
    format!("{}/{}/v{version}/", product.domain, product.name)
}

/// The Athena data catalog that points at a producer account's Glue catalog.
pub(crate) fn athena_catalog(org: &Org, producer: &AccountId) -> String {
    let mut name = org.name.replace('-', "_");
    name.push('_');
    name.push_str(producer.as_str());
    name
}

/// Logical id of a product version's Glue database, e.g. `GlueDbPodcastsEpisodesV2`.
pub(crate) fn glue_db_id(product: &ProductId, version: u32) -> String {
    format!("GlueDb{}V{version}", product.camel())
}

/// Logical id of a table, e.g. `GlueTablePodcastsEpisodesV2Episodes`.
pub(crate) fn glue_table_id(product: &ProductId, version: u32, table: &str) -> String {
    format!("GlueTable{}V{version}{}", product.camel(), camel(table))
}

/// A logical-id fragment of any AWS-style name (letters and digits only).
pub(crate) fn id_fragment(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    camel(&cleaned)
}

/// `prefix + name`, cut to `max` characters with a stable hash suffix when too long.
pub(crate) fn bounded(prefix: &str, name: &str, max: usize) -> String {
    let full = format!("{prefix}{name}");
    if full.len() <= max {
        return full;
    }
    let hash = short_hash(name);
    let keep = max - hash.len() - 1;
    format!("{}-{hash}", &full[..keep])
}

/// Eight hex digits of the SHA-256 of `s`: stable across machines and runs.
pub(crate) fn short_hash(s: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(s.as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// The IAM role a reader in the central account assumes for open data.
pub(crate) const OPEN_READER_ROLE: &str = "mesh-reader-open";

/// The role of a restricted access group in the central account.
pub(crate) fn group_role(group: &str) -> String {
    bounded("mesh-group-", group, 64)
}

/// The reader role that meshsynth creates for a declared service role.
pub(crate) fn service_reader_role(service_role: &str) -> String {
    bounded("mesh-service-", service_role, 64)
}

/// The central account's Athena workgroup of an access group (`mesh-open` for open data).
pub(crate) fn group_workgroup(group: &str) -> String {
    bounded("mesh-", group, 128)
}

/// The Athena workgroup of a service role's reader role: its own, named so that it never
/// equals an access group's (`mesh-<group>`: group names have no `.`). Characters a workgroup
/// name cannot hold become `-`, with a hash of the role name so that two roles never share one.
pub(crate) fn service_workgroup(service_role: &str) -> String {
    let clean: String = service_role
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let clean = if clean == service_role {
        clean
    } else {
        format!("{clean}-{}", short_hash(service_role))
    };
    bounded("mesh-service.", &clean, 128)
}

/// The open workgroup of the central account.
pub(crate) const OPEN_WORKGROUP: &str = "mesh-open";

/// The workgroup of every team account's baseline.
pub(crate) const BASELINE_WORKGROUP: &str = "mesh";

/// The permission set of open access.
pub(crate) const OPEN_PERMISSION_SET: &str = "open";

/// The permission set of a restricted access group (at most 32 characters; never `open`).
pub(crate) fn group_permission_set(group: &str) -> String {
    if group == OPEN_PERMISSION_SET || group.len() > 32 {
        let hash = short_hash(group);
        let keep = group.len().min(32 - hash.len() - 1);
        format!("{}-{hash}", &group[..keep])
    } else {
        group.to_owned()
    }
}

/// The ARN pattern of the Identity Center roles of a permission set in `account`.
pub(crate) fn sso_role_pattern(account: &AccountId, permission_set: &str) -> String {
    format!("arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_{permission_set}_*")
}

pub(crate) fn account_root(account: &AccountId) -> String {
    ["arn:aws:iam::", account.as_str(), ":root"].concat()
}

pub(crate) fn role_arn(account: &AccountId, role: &str) -> String {
    ["arn:aws:iam::", account.as_str(), ":role/", role].concat()
}

/// The ARN of a role under an IAM path (`/`, or `/a/b/`).
pub(crate) fn role_arn_at(account: &AccountId, path: &str, role: &str) -> String {
    ["arn:aws:iam::", account.as_str(), ":role", path, role].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_with_a_stable_hash() {
        let long = "a".repeat(70);
        let name = service_reader_role(&long);
        assert_eq!(name.len(), 64);
        assert_eq!(name, service_reader_role(&long));
        assert_eq!(service_reader_role("etl"), "mesh-service-etl");
        assert_eq!(group_permission_set("finance-analysts"), "finance-analysts");
        assert_ne!(group_permission_set("open"), "open");
        assert!(group_permission_set(&"b".repeat(40)).len() <= 32);
    }

    #[test]
    fn glue_names_follow_the_spec() {
        let p = ProductId::parse("ads-x.ad-revenue").expect("valid id");
        assert_eq!(glue_database(&p, 2), "ads_x_ad_revenue_v2");
        assert_eq!(version_prefix(&p, 2), "ads-x/ad-revenue/v2/");
        assert_eq!(glue_db_id(&p, 2), "GlueDbAdsXAdRevenueV2");
        assert_eq!(glue_table_id(&p, 2, "daily_rev"), "GlueTableAdsXAdRevenueV2DailyRev");
        assert_eq!(id_fragment("etl+runner@x"), "EtlRunnerX");
    }

    #[test]
    fn service_workgroups_are_valid_distinct_names() {
        assert_eq!(service_workgroup("revenue-job"), "mesh-service.revenue-job");
        let a = service_workgroup("a+b");
        let b = service_workgroup("a=b");
        assert_ne!(a, b);
        assert!(a.starts_with("mesh-service.a-b-"), "{a}");
        assert!(service_workgroup(&"x".repeat(200)).len() <= 128);
        let p = AccountId::parse("333333333333").expect("id");
        assert_eq!(
            role_arn_at(&p, "/service-role/", "mwaa"),
            "arn:aws:iam::333333333333:role/service-role/mwaa"
        );
        assert_eq!(role_arn_at(&p, "/", "mwaa"), role_arn(&p, "mwaa"));
    }
}
