//! The `identity` part: in the management account, when the org has Identity
//! Center and access groups, a permission set per access (open, and each
//! restricted access group) and its assignments to the central account. Pure: no IO.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::access::{Decisions, Pv};
use super::context::{assemble, common, unit, Common, Paths};
use super::policy_doc::PolicyDocument;
use super::reader::READER_HINT;
use super::split::Unit;
use super::{names, policy, Context, Part, StackPlan, SynthError};
use crate::model::Access;

/// The context of `identity.json.hbs`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct IdentityContext {
    #[serde(flatten)]
    pub(crate) common: Common,
    /// The open permission set (first stack only), then one per restricted access group.
    pub(crate) permission_sets: Vec<PermissionSet>,
    /// `org.identity_center.instance_arn`.
    pub(crate) instance_arn: String,
    /// The account the permission sets are assigned in.
    pub(crate) central_account: String,
    /// Session length of every permission set (ISO 8601).
    pub(crate) session_duration: String,
}

/// An Identity Center permission set and its group assignments.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct PermissionSet {
    /// Logical id: `PermissionSet<access as id>`.
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    /// The inline policy.
    #[schemars(with = "Value")]
    pub(crate) policy: PolicyDocument,
    pub(crate) assignments: Vec<Assignment>,
}

/// The assignment of a permission set to one Identity Center group in the central account.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Assignment {
    /// Logical id: `Assignment<group as id>`.
    pub(crate) id: String,
    /// The access group's name.
    pub(crate) group: String,
    /// The Identity Center group id.
    pub(crate) group_id: String,
}

/// One permission set: who it is for and what it may read.
struct Grantee<'a, 't> {
    name: String,
    key: &'a str,
    workgroup: String,
    role: String,
    allowed: &'a BTreeSet<Pv<'t>>,
    groups: Vec<(&'a str, &'a str)>,
}

fn permission_set(d: &Decisions<'_>, a: Grantee<'_, '_>, paths: Paths) -> Result<Unit<PermissionSet>, SynthError> {
    let central = &d.t.org.central_account;
    let denied = d.denied(central, a.allowed);
    let reader = policy::Reader {
        account: central,
        workgroup: &a.workgroup,
        allowed: a.allowed,
        denied: &denied,
        assume: Some(names::role_arn(central, &a.role)),
    };
    let policy = policy::reader_policy(d, &reader, paths);
    policy::check_size(&policy, policy::PERMISSION_SET_INLINE_MAX)
        .map_err(|e| SynthError::too_large(format!("the permission set `{}`", a.name), e, READER_HINT))?;
    let assignments: Vec<Assignment> = a
        .groups
        .iter()
        .map(|(g, id)| Assignment {
            id: format!("Assignment{}", names::id_fragment(g)),
            group: (*g).to_owned(),
            group_id: (*id).to_owned(),
        })
        .collect();
    let value = PermissionSet {
        id: format!("PermissionSet{}", names::id_fragment(a.key)),
        description: format!("Mesh data access `{}` in the central account", a.key),
        name: a.name,
        policy,
        assignments,
    };
    Ok(unit(format!("ps:{}", a.key), 1 + a.groups.len(), value))
}

pub(crate) fn stacks(d: &Decisions<'_>, paths: Paths) -> Result<Vec<StackPlan>, SynthError> {
    let t = d.t;
    let org = &t.org;
    let mut open_groups = Vec::new();
    let mut units = Vec::new();
    for g in t.access_groups.values() {
        match g.access {
            Access::Open => open_groups.push((g.name.as_str(), g.group_id.as_str())),
            Access::Restricted => {
                let allowed = d.group_reads(&g.name);
                let a = Grantee {
                    name: names::group_permission_set(&g.name),
                    key: &g.name,
                    workgroup: names::group_workgroup(&g.name),
                    role: names::group_role(&g.name),
                    allowed: &allowed,
                    groups: vec![(g.name.as_str(), g.group_id.as_str())],
                };
                units.push(permission_set(d, a, paths)?);
            }
        }
    }
    let empty = BTreeSet::new();
    let open = Grantee {
        name: names::OPEN_PERMISSION_SET.to_owned(),
        key: "open",
        workgroup: names::OPEN_WORKGROUP.to_owned(),
        role: names::OPEN_READER_ROLE.to_owned(),
        allowed: &empty,
        groups: open_groups,
    };
    let open = permission_set(d, open, paths)?;
    let instance_arn = org
        .identity_center
        .as_ref()
        .map(|i| i.instance_arn.clone())
        .unwrap_or_default();
    Ok(assemble(vec![open], units)
        .into_iter()
        .map(|(index, permission_sets)| {
            let ctx = IdentityContext {
                common: common(d, &org.management_account, Part::Identity, paths, index),
                permission_sets,
                instance_arn: instance_arn.clone(),
                central_account: org.central_account.to_string(),
                session_duration: "PT8H".to_owned(),
            };
            StackPlan::new(&org.management_account, Part::Identity, index, Context::Identity(ctx))
        })
        .collect())
}
