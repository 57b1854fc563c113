//! What every blueprint context shares: the fields of [`Common`] (the org, the
//! account, its bucket names and tags, which stack of a part this is), and the
//! assembly of a part's units into its stacks (`mesh-<part>`, `mesh-<part>-2`, …).
//!
//! Contexts are plain `#[derive(Serialize, JsonSchema)]` structs, built once and
//! never edited by key: `meshsynth blueprint-context PART --schema` prints them as
//! JSON Schema, and README's "Blueprints" section lists their fields. Pure: no IO.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::access::Decisions;
use super::split::{self, Unit};
use super::{names, size, Part};
use crate::model::{AccessMode, AccountId, Org, Topology};

/// Which read paths a synthesis emits: the iam mode's (bucket, key and Glue catalog
/// policies, reader roles' S3 and KMS rights), Lake Formation's (data lake settings,
/// registered locations, grants, resource links), or both — for the one deploy that
/// switches an org from iam (`org.keep_iam_paths`), so that no reader loses access mid-way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Paths {
    pub(crate) iam: bool,
    pub(crate) lakeformation: bool,
}

impl Paths {
    /// The paths of an org's access mode: iam → (true, false), lakeformation → (false, true),
    /// lakeformation with `keep_iam_paths` → (true, true).
    pub(crate) fn of(org: &Org) -> Paths {
        let lakeformation = org.access_mode == AccessMode::LakeFormation;
        Paths {
            iam: !lakeformation || org.keep_iam_paths,
            lakeformation,
        }
    }
}

/// A resource tag in CloudFormation's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub(crate) struct Tag {
    #[serde(rename = "Key")]
    pub(crate) key: String,
    #[serde(rename = "Value")]
    pub(crate) value: String,
}

/// The fields of every stack's context.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Common {
    /// `org.name`.
    pub(crate) org: String,
    /// The AWS Organizations id (`o-…`).
    pub(crate) organization_id: String,
    /// `org.region`.
    pub(crate) region: String,
    /// The account the stack deploys to.
    pub(crate) account: String,
    /// The stack part: `baseline`, `products`, `consumer`, `central`, `identity` or `access`.
    pub(crate) part: String,
    /// The iam mode's read paths: grants in bucket, key and Glue catalog policies, reader
    /// roles' S3 and KMS rights (access mode iam, or lakeformation with `keep_iam_paths`).
    pub(crate) iam: bool,
    /// Lake Formation's resources: data lake settings, grants, resource links (access mode
    /// lakeformation). Both are true for the deploy that switches an org from iam.
    pub(crate) lakeformation: bool,
    /// The account's data bucket.
    pub(crate) data_bucket: String,
    /// The account's staging bucket (Athena query results).
    pub(crate) staging_bucket: String,
    /// The account's access-log bucket (exists only when `access_logs`).
    pub(crate) log_bucket: String,
    /// `org.access_logs`: buckets log their server access to `log_bucket`.
    pub(crate) access_logs: bool,
    /// The alias of the account's data key (`alias/…`).
    pub(crate) key_alias: String,
    /// The org's tags, then meshsynth's own (`meshsynth:org`, `:team`, `:domain`), sorted by key.
    pub(crate) tags: Vec<Tag>,
    /// The stack's name: `mesh-<part>`, or `mesh-<part>-<n>` for the n-th stack of a split part.
    pub(crate) stack: String,
    /// Whether this is the part's first stack (the one that holds its fixed resources).
    pub(crate) first: bool,
}

/// Tags of an account's resources: the org's tags, then meshsynth's (which win).
fn account_tags(t: &Topology, account: &AccountId) -> Vec<Tag> {
    let mut tags: BTreeMap<String, String> = t.org.tags.clone();
    tags.insert("meshsynth:org".into(), t.org.name.clone());
    if let Some(a) = t.accounts.get(account) {
        tags.insert("meshsynth:team".into(), a.team.clone());
        if let Some(team) = t.teams.get(&a.team) {
            tags.insert("meshsynth:domain".into(), team.domain.clone());
        }
    }
    tags.into_iter().map(|(key, value)| Tag { key, value }).collect()
}

/// `mesh-<part>`, or `mesh-<part>-<index>` past the first.
pub(crate) fn stack_name(part: Part, index: usize) -> String {
    if index == 1 {
        format!("mesh-{part}")
    } else {
        format!("mesh-{part}-{index}")
    }
}

/// The common fields of stack `index` (1-based) of a part in an account.
pub(crate) fn common(d: &Decisions<'_>, account: &AccountId, part: Part, paths: Paths, index: usize) -> Common {
    let org = &d.t.org;
    Common {
        org: org.name.clone(),
        organization_id: org.organization_id.clone(),
        region: org.region.clone(),
        account: account.to_string(),
        part: part.as_str().to_owned(),
        iam: paths.iam,
        lakeformation: paths.lakeformation,
        data_bucket: names::data_bucket(org, account),
        staging_bucket: names::staging_bucket(org, account),
        log_bucket: names::log_bucket(org, account),
        access_logs: org.access_logs,
        key_alias: names::key_alias(org),
        tags: account_tags(d.t, account),
        stack: stack_name(part, index),
        first: index == 1,
    }
}

/// A unit of `resources` resources around `value`, with its estimated size.
pub(crate) fn unit<T: Serialize>(key: String, resources: usize, value: T) -> Unit<T> {
    // Blueprints add boilerplate per resource (types, SerDe names, policies' fixed parts).
    let bytes = size::approx_bytes(&value) + 1_200 * resources;
    Unit {
        key,
        resources,
        bytes,
        value,
    }
}

/// Splits a part's units into its stacks: (1-based index, the stack's units). Stack 1 also
/// holds `fixed`, first. An empty stack past the first is left out (it is not deployable), and
/// the later stacks keep their names.
pub(crate) fn assemble<T>(fixed: Vec<Unit<T>>, units: Vec<Unit<T>>) -> Vec<(usize, Vec<T>)> {
    let fixed_r = fixed.iter().map(|u| u.resources).sum();
    let fixed_b = fixed.iter().map(|u| u.bytes).sum();
    let mut parts = split::split(units, fixed_r, fixed_b);
    if let Some(first) = parts.first_mut() {
        let mut all = fixed;
        all.append(first);
        *first = all;
    }
    parts
        .into_iter()
        .enumerate()
        .filter(|(i, units)| *i == 0 || !units.is_empty())
        .map(|(i, units)| (i + 1, units.into_iter().map(|u| u.value).collect()))
        .collect()
}
