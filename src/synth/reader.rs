//! The contexts of the partials that consumer and central stacks share: a data
//! catalog (`{{> catalog}}`), a reader's workgroup (`{{> workgroup}}`), its role
//! (`{{> reader_role}}`) and the managed policies its read policy overflows into
//! (`{{> managed_policies}}`); and the reader of a declared service role. Pure: no IO.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::access::Decisions;
use super::context::{unit, Paths};
use super::policy_doc::PolicyDocument;
use super::split::Unit;
use super::{names, policy, SynthError};
use crate::model::{Access, AccountId, ServiceRole};

/// What to do when a reader's policy passes IAM's limits.
pub(crate) const READER_HINT: &str = "the policy names every restricted version this reader may read and every other \
     restricted version its account reaches; split the access group or service role into smaller ones, grant fewer \
     restricted versions to this account, or retire old restricted versions";

/// `{{> catalog}}`: an Athena data catalog over a producer account's Glue Data Catalog.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Catalog {
    /// Logical id: `DataCatalog<producer>`.
    pub(crate) id: String,
    /// The catalog's name: `<org>_<producer>` (dashes of the org's name as `_`).
    pub(crate) name: String,
    /// The producer account.
    pub(crate) catalog_id: String,
}

/// `{{> workgroup}}`: a reader's own Athena workgroup.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Workgroup {
    /// Logical id of the workgroup.
    pub(crate) workgroup_id: String,
    /// The workgroup's name; its results go to `s3://<staging_bucket>/athena-results/<workgroup>/`.
    pub(crate) workgroup: String,
    pub(crate) workgroup_description: String,
}

/// One managed policy of a reader role (`{{> managed_policies}}`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ManagedPolicy {
    /// Logical id: `ReadPolicy<n><role id>`.
    pub(crate) id: String,
    /// 1-based position among the role's managed policies.
    pub(crate) n: usize,
    pub(crate) description: String,
    /// The policy document.
    #[schemars(with = "Value")]
    pub(crate) policy: PolicyDocument,
}

/// `{{> reader_role}}`: a reader role with the read policy meshsynth computed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ReaderRole {
    /// The role's name.
    pub(crate) role_name: String,
    pub(crate) description: String,
    /// The trust policy (who may assume the role: `aws:PrincipalArn` in its own account).
    #[schemars(with = "Value")]
    pub(crate) trust: PolicyDocument,
    /// The inline read policy.
    #[schemars(with = "Value")]
    pub(crate) policy: PolicyDocument,
    /// Statements past IAM's inline limit, as managed policies (usually none).
    pub(crate) managed_policies: Vec<ManagedPolicy>,
}

/// The reader of a declared service role: its role (logical id `id`) and workgroup.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ServiceReader {
    /// Logical id of the role: `ReaderRole<name as id>`.
    pub(crate) id: String,
    #[serde(flatten)]
    pub(crate) workgroup: Workgroup,
    #[serde(flatten)]
    pub(crate) role: ReaderRole,
}

/// The catalog of a producer account, as a unit of one resource.
pub(crate) fn catalog(d: &Decisions<'_>, producer: &AccountId) -> Unit<Catalog> {
    let value = Catalog {
        id: ["DataCatalog", producer.as_str()].concat(),
        name: names::athena_catalog(&d.t.org, producer),
        catalog_id: producer.as_str().to_owned(),
    };
    unit(["catalog:", producer.as_str()].concat(), 1, value)
}

/// The logical id of the n-th managed policy of a reader role (never a role's id: those start
/// with `ReaderRole`).
fn managed_policy_id(role_id: &str, n: usize) -> String {
    format!("ReadPolicy{n}{role_id}")
}

/// A reader role's inline document, and the managed policies its statements overflow into
/// past IAM's inline limit.
pub(crate) fn role_policies(
    role_id: &str,
    role_name: &str,
    account: &AccountId,
    doc: PolicyDocument,
) -> Result<(PolicyDocument, Vec<ManagedPolicy>), SynthError> {
    let fitted = policy::fit_role_policies(doc).map_err(|e| {
        SynthError::too_large(
            format!("the reader role `{role_name}` in account {account}"),
            e,
            READER_HINT,
        )
    })?;
    let managed = fitted
        .managed
        .into_iter()
        .enumerate()
        .map(|(i, policy)| ManagedPolicy {
            id: managed_policy_id(role_id, i + 1),
            n: i + 1,
            description: format!(
                "meshsynth: part {} of the read policy of role {role_name} (past IAM's inline policy limit)",
                i + 1
            ),
            policy,
        })
        .collect();
    Ok((fitted.inline, managed))
}

fn unit_key(role: &ServiceRole) -> String {
    format!("service:{}", role.name)
}

/// Two service role names can map to one logical id (`a-b`, `a.b`): each role whose id is
/// shared gets the suffix `H<hash of its unit key>`; the others none.
pub(crate) fn id_suffixes<'r>(roles: &[&'r ServiceRole]) -> BTreeMap<&'r str, String> {
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for r in roles {
        *count.entry(names::id_fragment(&r.name)).or_default() += 1;
    }
    roles
        .iter()
        .map(|r| {
            let shared = count.get(&names::id_fragment(&r.name)).copied().unwrap_or(0) > 1;
            let suffix = if shared {
                format!("H{}", names::short_hash(&unit_key(r)))
            } else {
                String::new()
            };
            (r.name.as_str(), suffix)
        })
        .collect()
}

/// A reader role for a declared service role, with its own workgroup; `suffix` from [`id_suffixes`].
pub(crate) fn service_reader(
    d: &Decisions<'_>,
    role: &ServiceRole,
    paths: Paths,
    suffix: &str,
) -> Result<Unit<ServiceReader>, SynthError> {
    let workgroup = names::service_workgroup(&role.name);
    let allowed = d.service_role_reads(role);
    let denied = d.denied(&role.account, &allowed);
    let reader = policy::Reader {
        account: &role.account,
        workgroup: &workgroup,
        allowed: &allowed,
        denied: &denied,
        assume: None,
    };
    let access = match role.access {
        Access::Open => "open",
        Access::Restricted => "restricted",
    };
    let frag = names::id_fragment(&role.name);
    let id = format!("ReaderRole{frag}{suffix}");
    let role_name = names::service_reader_role(&role.name);
    let (inline, managed) = role_policies(&id, &role_name, &role.account, policy::reader_policy(d, &reader, paths))?;
    let resources = 2 + managed.len();
    let value = ServiceReader {
        id,
        workgroup: Workgroup {
            workgroup_id: format!("ServiceWorkgroup{frag}{suffix}"),
            workgroup_description: format!(
                "Queries of service role {} ({access}), with results only it can read",
                role.name
            ),
            workgroup,
        },
        role: ReaderRole {
            role_name,
            description: format!("Reads mesh data ({access}) for service role {}", role.name),
            trust: policy::trust_policy(
                &role.account,
                &[names::role_arn_at(&role.account, &role.path, &role.name)],
            ),
            policy: inline,
            managed_policies: managed,
        },
    };
    let mut u = unit(unit_key(role), resources, value);
    // The split estimate has always been made before suffixing (the id, the workgroup's and
    // each managed policy's); keeping it so keeps every split where it was.
    u.bytes -= suffix.len() * (2 + u.value.role.managed_policies.len());
    Ok(u)
}
