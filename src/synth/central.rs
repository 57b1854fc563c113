//! The `central` part: in the central account, a data catalog per producer
//! account; per access (open, and each restricted access group) a workgroup and a
//! reader role; a workgroup and a reader role per restricted service role. Open
//! service roles of the central account read through the open reader role. Pure: no IO.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::Serialize;

use super::access::{Decisions, Pv};
use super::consumer::{catalog_units, service_units, ReaderUnit};
use super::context::{assemble, common, unit, Common, Paths};
use super::reader::{role_policies, Catalog, ReaderRole, ServiceReader, Workgroup};
use super::split::Unit;
use super::{names, policy, Context, Part, StackPlan, SynthError};
use crate::model::{Access, AccountId, ServiceRole};

/// The context of `central.json.hbs`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct CentralContext {
    #[serde(flatten)]
    pub(crate) common: Common,
    /// A data catalog per producer account (`{{> catalog}}`).
    pub(crate) catalogs: Vec<Catalog>,
    /// The open reader (first stack only) and one per restricted access group.
    pub(crate) groups: Vec<GroupReader>,
    /// A reader per restricted service role of the central account.
    pub(crate) readers: Vec<ServiceReader>,
}

/// The reader of an access (open, or a restricted access group) in the central account.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct GroupReader {
    /// Logical id of the role: `ReaderRole<access as id>`.
    pub(crate) role_id: String,
    #[serde(flatten)]
    pub(crate) workgroup: Workgroup,
    #[serde(flatten)]
    pub(crate) role: ReaderRole,
}

fn group(
    d: &Decisions<'_>,
    key: &str,
    workgroup: &str,
    role: &str,
    trusted: &[String],
    allowed: &BTreeSet<Pv<'_>>,
    paths: Paths,
) -> Result<(usize, GroupReader), SynthError> {
    let central = &d.t.org.central_account;
    let denied = d.denied(central, allowed);
    let reader = policy::Reader {
        account: central,
        workgroup,
        allowed,
        denied: &denied,
        assume: None,
    };
    let frag = names::id_fragment(key);
    let role_id = format!("ReaderRole{frag}");
    let (inline, managed) = role_policies(&role_id, role, central, policy::reader_policy(d, &reader, paths))?;
    let resources = 2 + managed.len();
    let value = GroupReader {
        role_id,
        workgroup: Workgroup {
            workgroup_id: format!("Workgroup{frag}"),
            workgroup: workgroup.to_owned(),
            workgroup_description: format!("Queries of access `{key}` in the central account, with encrypted results"),
        },
        role: ReaderRole {
            role_name: role.to_owned(),
            description: format!("Reads mesh data for access `{key}` in the central account"),
            trust: policy::trust_policy(central, trusted),
            policy: inline,
            managed_policies: managed,
        },
    };
    Ok((resources, value))
}

pub(crate) fn stacks(
    d: &Decisions<'_>,
    producers: &BTreeSet<&AccountId>,
    roles: &[&ServiceRole],
    paths: Paths,
) -> Result<Vec<StackPlan>, SynthError> {
    let t = d.t;
    let central = &t.org.central_account;
    let mut units: Vec<Unit<ReaderUnit<GroupReader>>> = catalog_units(d, producers);
    // Open service roles of the central account use the open reader role; restricted ones get their own.
    let mut open_trust = vec![names::sso_role_pattern(central, names::OPEN_PERMISSION_SET)];
    let mut restricted = Vec::new();
    for r in roles {
        match r.access {
            Access::Open => open_trust.push(names::role_arn_at(central, &r.path, &r.name)),
            Access::Restricted => restricted.push(*r),
        }
    }
    units.extend(service_units(d, &restricted, paths)?);
    for g in t.access_groups.values().filter(|g| g.access == Access::Restricted) {
        let trusted = [names::sso_role_pattern(central, &names::group_permission_set(&g.name))];
        let (resources, value) = group(
            d,
            &g.name,
            &names::group_workgroup(&g.name),
            &names::group_role(&g.name),
            &trusted,
            &d.group_reads(&g.name),
            paths,
        )?;
        units.push(unit(format!("group:{}", g.name), resources, value).map(ReaderUnit::Group));
    }
    let (resources, open) = group(
        d,
        "open",
        names::OPEN_WORKGROUP,
        names::OPEN_READER_ROLE,
        &open_trust,
        &BTreeSet::new(),
        paths,
    )?;
    Ok(
        assemble(vec![unit("open".into(), resources, open).map(ReaderUnit::Group)], units)
            .into_iter()
            .map(|(index, values)| {
                let mut ctx = CentralContext {
                    common: common(d, central, Part::Central, paths, index),
                    catalogs: Vec::new(),
                    groups: Vec::new(),
                    readers: Vec::new(),
                };
                for v in values {
                    match v {
                        ReaderUnit::Catalog(c) => ctx.catalogs.push(c),
                        ReaderUnit::Group(g) => ctx.groups.push(g),
                        ReaderUnit::Service(r) => ctx.readers.push(r),
                    }
                }
                StackPlan::new(central, Part::Central, index, Context::Central(ctx))
            })
            .collect(),
    )
}
