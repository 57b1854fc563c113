//! The `access` part (access mode lakeformation): in each account that reads,
//! a resource link per product version it may read, and the grants on it and on
//! the producer's tables to each of its reader roles that may read the version.
//! What is linked and granted is decided in `lakeformation`. Pure: no IO.

use schemars::JsonSchema;
use serde::Serialize;

use super::access::Decisions;
use super::context::{assemble, common, unit, Common, Paths};
use super::{lakeformation, Context, Part, StackPlan};
use crate::model::{AccountId, ServiceRole};

/// The context of `access.json.hbs`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct AccessContext {
    #[serde(flatten)]
    pub(crate) common: Common,
    /// A resource link per product version of another account that a reader here may read.
    pub(crate) links: Vec<Link>,
}

/// A resource link to a producer's database, and its grants.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Link {
    /// Logical id of the link.
    pub(crate) id: String,
    /// The link's name, the same as the producer's database.
    pub(crate) name: String,
    /// The producer account.
    pub(crate) producer: String,
    pub(crate) description: String,
    /// One per reader role of the account that may read the version.
    pub(crate) grants: Vec<LinkGrant>,
}

/// A reader role's grants through a link: DESCRIBE on the link, SELECT on the tables.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct LinkGrant {
    /// Logical id of the DESCRIBE grant on the link.
    pub(crate) link_id: String,
    /// Logical id of the grant on every table (used when `tables` is null).
    pub(crate) tables_id: String,
    /// The reader role's ARN.
    pub(crate) principal: String,
    /// Null: every table and column; else per table the columns it leaves out.
    pub(crate) tables: Option<Vec<TableGrant>>,
}

/// A grant on one table that leaves some (sensitive) columns out.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct TableGrant {
    /// Logical id of the grant.
    pub(crate) id: String,
    /// The table.
    pub(crate) name: String,
    /// The columns left out.
    pub(crate) excluded: Vec<String>,
}

pub(crate) fn stacks(d: &Decisions<'_>, account: &AccountId, roles: &[&ServiceRole]) -> Vec<StackPlan> {
    let units: Vec<_> = lakeformation::links(d, account, roles)
        .into_iter()
        .map(|(key, resources, value)| unit(key, resources, value))
        .collect();
    if units.is_empty() {
        return Vec::new();
    }
    assemble(Vec::new(), units)
        .into_iter()
        .map(|(index, links)| {
            let ctx = AccessContext {
                common: common(d, account, Part::Access, Paths::of(&d.t.org), index),
                links,
            };
            StackPlan::new(account, Part::Access, index, Context::Access(ctx))
        })
        .collect()
}
