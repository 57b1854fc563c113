//! The `access` part (access mode lakeformation): in each account that reads,
//! a resource link per product version it may read, and the grants on it and on
//! the producer's tables to each of its reader roles that may read the version.
//! What is linked and granted is decided in `lakeformation`. Pure: no IO.

use schemars::JsonSchema;
use serde::Serialize;

use super::access::Decisions;
use super::context::{assemble, common, unit, Common};
use super::{lakeformation, Context, Part, StackPlan};
use crate::model::{AccountId, ServiceRole};

/// The context of `access.json.hbs`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AccessContext {
    #[serde(flatten)]
    pub common: Common,
    /// A resource link per product version of another account that a reader here may read.
    pub links: Vec<Link>,
}

/// A resource link to a producer's database, and its grants.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Link {
    /// Logical id of the link.
    pub id: String,
    /// The link's name, the same as the producer's database.
    pub name: String,
    /// The producer account.
    pub producer: String,
    pub description: String,
    /// One per reader role of the account that may read the version.
    pub grants: Vec<LinkGrant>,
}

/// A reader role's grants through a link: DESCRIBE on the link, SELECT on the tables.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LinkGrant {
    /// Logical id of the DESCRIBE grant on the link.
    pub link_id: String,
    /// Logical id of the grant on every table (used when `tables` is null).
    pub tables_id: String,
    /// The reader role's ARN.
    pub principal: String,
    /// Null: every table and column; else per table the columns it leaves out.
    pub tables: Option<Vec<TableGrant>>,
}

/// A grant on one table that leaves some (sensitive) columns out.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TableGrant {
    /// Logical id of the grant.
    pub id: String,
    /// The table.
    pub name: String,
    /// The columns left out.
    pub excluded: Vec<String>,
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
                common: common(d, account, Part::Access, false, index),
                links,
            };
            StackPlan::new(account, Part::Access, index, Context::Access(ctx))
        })
        .collect()
}
