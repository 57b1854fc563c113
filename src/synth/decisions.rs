//! `access.json`: the access decisions of a synthesis as data.
//!
//! Per product version: whether the whole organisation reads it, or which
//! reader principals of which accounts do, through which grant and until
//! when; per restricted reader: its Athena workgroup and the results prefix
//! only it may read. It is built from the same [`Decisions`] that every bucket,
//! key, Glue and reader policy is built from, so `diff` and `plan` compare what
//! synth decided instead of reading it back out of rendered policies.
//!
//! The file is canonical JSON (sorted keys, sorted lists) with no timestamps
//! or paths, so it changes only when access does. Its shape is documented in
//! `docs/cli.md` ("access.json"). Pure: no IO.

use serde::{Deserialize, Serialize};

use super::access::{group_principals, service_principals, Decisions};
use super::context::Paths;
use super::names;
use crate::model::access::Reader;
use crate::model::{Access, Classification, Grant, VersionStatus};

/// The file's name, beside `manifest.json`.
pub(crate) const ACCESS_FILE: &str = "access.json";

/// The shape of `access.json` this meshsynth writes and reads.
pub(crate) const ACCESS_FORMAT: u32 = 1;

/// Who may read what, as synth decided it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccessModel {
    pub(crate) format: u32,
    /// Through what readers read: `iam` (bucket, key and Glue catalog policies, reader roles'
    /// S3 and KMS rights), `lakeformation` (Lake Formation grants through resource links), or
    /// both (`org.keep_iam_paths`, while an org switches). Left out when it is `["iam"]`, so a
    /// record without it (from before it) reads as `iam`.
    #[serde(default = "iam_only", skip_serializing_if = "is_iam_only")]
    pub(crate) paths: Vec<String>,
    /// Every product version, sorted by product id, then version.
    pub(crate) versions: Vec<VersionAccess>,
    /// Every reader of restricted data, sorted by account, then name.
    pub(crate) readers: Vec<ReaderSetup>,
}

/// Who may read one product version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VersionAccess {
    /// `<domain>.<product>`
    pub(crate) product: String,
    pub(crate) version: u32,
    /// The account that holds the data (and, in `access_mode: iam`, the Glue catalog policy).
    pub(crate) producer: String,
    /// `open` or `restricted`.
    pub(crate) classification: String,
    /// `active`, `deprecated` or `retired`.
    pub(crate) status: String,
    /// Readable by every principal of the organisation (open and not retired).
    pub(crate) org_wide: bool,
    /// The principals granted read of a restricted version, sorted by account, then `through`.
    pub(crate) readers: Vec<VersionReader>,
}

/// One reader of a restricted version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct VersionReader {
    /// The account the reader's principals live in.
    pub(crate) account: String,
    /// The principals, in words: `role mesh-service-revenue-job`.
    pub(crate) through: String,
    /// Their ARNs (or ARN patterns, for Identity Center roles), as the policies name them.
    pub(crate) principals: Vec<String>,
    /// The steward's grant it reads through.
    pub(crate) grant: GrantRef,
}

/// A grant, as far as a reader of `access.json` needs it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct GrantRef {
    /// `account 578575860272` or `access group finance-analysts`.
    pub(crate) to: String,
    pub(crate) approved_by: String,
    /// The first day it gives no access (`YYYY-MM-DD`), if it expires.
    pub(crate) expires: Option<String>,
    /// Whether it covers sensitive columns too (`columns: all`).
    pub(crate) all_columns: bool,
}

/// A reader of restricted data: where its queries run and where their results go.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct ReaderSetup {
    pub(crate) account: String,
    /// `service_role` or `access_group`.
    pub(crate) kind: String,
    /// The service role's or access group's name in the topology.
    pub(crate) name: String,
    /// The same words as `VersionReader::through`.
    pub(crate) through: String,
    /// Its Athena workgroup.
    pub(crate) workgroup: String,
    /// `s3://<staging bucket>/athena-results/<workgroup>/`: results only it may read.
    pub(crate) results: String,
}

/// The `paths` of a record that names none.
fn iam_only() -> Vec<String> {
    vec![PATH_IAM.to_owned()]
}

fn is_iam_only(paths: &[String]) -> bool {
    paths == [PATH_IAM]
}

/// The names of the read paths in `paths`.
pub(crate) const PATH_IAM: &str = "iam";
pub(crate) const PATH_LAKEFORMATION: &str = "lakeformation";

impl AccessModel {
    /// Whether readers read through the iam mode's paths.
    pub(crate) fn iam_paths(&self) -> bool {
        self.paths.iter().any(|p| p == PATH_IAM)
    }

    /// Whether readers read through Lake Formation.
    pub(crate) fn lakeformation(&self) -> bool {
        self.paths.iter().any(|p| p == PATH_LAKEFORMATION)
    }
}

impl GrantRef {
    fn of(g: &Grant) -> GrantRef {
        GrantRef {
            to: g.to.to_string(),
            approved_by: g.approved_by.clone(),
            expires: g.expires.map(|d| d.to_string()),
            all_columns: g.all_columns,
        }
    }
}

/// The words for a service role's reader principals.
fn service_through(name: &str) -> String {
    format!("role {}", names::service_reader_role(name))
}

/// The words for an access group's reader principals.
fn group_through(group: &str) -> String {
    format!(
        "role {} and permission set {}",
        names::group_role(group),
        names::group_permission_set(group)
    )
}

pub(crate) fn model_of(d: &Decisions<'_>) -> AccessModel {
    let t = d.t;
    let central = &t.org.central_account;
    let readers_of = d.resolution.readers_by_version();
    let mut versions = Vec::new();
    for p in t.products.values() {
        for (n, v) in &p.versions {
            let mut readers: Vec<VersionReader> = readers_of
                .get(&(&p.id, *n))
                .into_iter()
                .flatten()
                .filter(|_| v.status != VersionStatus::Retired && p.classification == Classification::Restricted)
                .map(|&(reader, i)| {
                    let (account, through, principals) = match reader {
                        Reader::Service { account, name } => (
                            account.clone(),
                            service_through(name),
                            service_principals(account, name),
                        ),
                        Reader::Group(g) => (central.clone(), group_through(g), group_principals(central, g)),
                    };
                    VersionReader {
                        account: account.to_string(),
                        through,
                        principals: principals.into_iter().map(|(_, arn)| arn).collect(),
                        grant: GrantRef::of(&p.grants[i]),
                    }
                })
                .collect();
            readers.sort();
            versions.push(VersionAccess {
                product: p.id.to_string(),
                version: *n,
                producer: p.account.to_string(),
                classification: p.classification.as_str().to_owned(),
                status: v.status.as_str().to_owned(),
                org_wide: d.is_open((&p.id, *n)),
                readers,
            });
        }
    }
    versions.sort_by(|a, b| (&a.product, a.version).cmp(&(&b.product, b.version)));

    let results = |account: &crate::model::AccountId, workgroup: &str| {
        format!(
            "s3://{}/athena-results/{workgroup}/",
            names::staging_bucket(&t.org, account)
        )
    };
    let mut readers: Vec<ReaderSetup> = t
        .service_roles
        .iter()
        .filter(|r| r.access == Access::Restricted)
        .map(|r| {
            let workgroup = names::service_workgroup(&r.name);
            ReaderSetup {
                account: r.account.to_string(),
                kind: "service_role".to_owned(),
                name: r.name.clone(),
                through: service_through(&r.name),
                results: results(&r.account, &workgroup),
                workgroup,
            }
        })
        .collect();
    readers.extend(
        t.access_groups
            .values()
            .filter(|g| g.access == Access::Restricted)
            .map(|g| {
                let workgroup = names::group_workgroup(&g.name);
                ReaderSetup {
                    account: central.to_string(),
                    kind: "access_group".to_owned(),
                    name: g.name.clone(),
                    through: group_through(&g.name),
                    results: results(central, &workgroup),
                    workgroup,
                }
            }),
    );
    readers.sort();
    let p = Paths::of(&t.org);
    let paths = [(p.iam, PATH_IAM), (p.lakeformation, PATH_LAKEFORMATION)]
        .into_iter()
        .filter(|&(on, _)| on)
        .map(|(_, name)| name.to_owned())
        .collect();
    AccessModel {
        format: ACCESS_FORMAT,
        paths,
        versions,
        readers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The access decisions of a topology, as `access.json` records them.
    fn access_model(t: &crate::model::Topology) -> AccessModel {
        model_of(&Decisions::new(t))
    }

    #[test]
    fn the_example_org_names_who_reads_each_restricted_version_and_through_what() {
        let t = crate::synth::example_topology();
        let m = access_model(&t);
        assert_eq!(m.format, ACCESS_FORMAT);
        let payouts = m
            .versions
            .iter()
            .find(|v| v.product == "finance.payouts" && v.version == 1)
            .expect("finance.payouts v1");
        assert!(!payouts.org_wide);
        assert!(!payouts.readers.is_empty());
        for r in &payouts.readers {
            assert!(r.through.starts_with("role mesh-"), "{r:?}");
            assert!(
                r.principals
                    .iter()
                    .all(|arn| arn.starts_with(&format!("arn:aws:iam::{}:role/", r.account))),
                "{r:?}"
            );
        }
        // Open, live versions are org-wide and name no reader; retired ones nobody reads.
        for v in &m.versions {
            assert_eq!(v.org_wide, v.classification == "open" && v.status != "retired", "{v:?}");
            if v.org_wide || v.status == "retired" {
                assert!(v.readers.is_empty(), "{v:?}");
            }
        }
        // Every reader of a version has its workgroup and private results prefix.
        for v in &m.versions {
            for r in &v.readers {
                let setup = m
                    .readers
                    .iter()
                    .find(|s| s.account == r.account && s.through == r.through)
                    .expect("reader listed");
                assert!(setup
                    .results
                    .ends_with(&format!("/athena-results/{}/", setup.workgroup)));
            }
        }
        assert_eq!(m, access_model(&t), "deterministic");
    }
}
