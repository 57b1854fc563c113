//! The `consumer` part: in an account (other than the central one) that consumes
//! products or declares service roles, a data catalog per producer account it
//! reads and a reader role with its own workgroup per declared service role. Pure: no IO.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::Serialize;

use super::access::Decisions;
use super::context::{assemble, common, Common, Paths};
use super::reader::{self, Catalog, ServiceReader};
use super::split::Unit;
use super::{Context, Part, StackPlan, SynthError};
use crate::model::{AccountId, ServiceRole};

/// The context of `consumer.json.hbs`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ConsumerContext {
    #[serde(flatten)]
    pub(crate) common: Common,
    /// A data catalog per producer account the account reads (`{{> catalog}}`).
    pub(crate) catalogs: Vec<Catalog>,
    /// A reader per declared service role of the account.
    pub(crate) readers: Vec<ServiceReader>,
}

/// A unit of a consumer or central stack.
#[allow(
    clippy::large_enum_variant,
    reason = "short-lived: built and rendered once per unit; boxing would add an allocation per unit for no memory gain"
)]
pub(crate) enum ReaderUnit<G> {
    Catalog(Catalog),
    Group(G),
    Service(ServiceReader),
}

/// Units of the catalogs of `producers`.
pub(crate) fn catalog_units<G>(d: &Decisions<'_>, producers: &BTreeSet<&AccountId>) -> Vec<Unit<ReaderUnit<G>>> {
    producers
        .iter()
        .map(|p| reader::catalog(d, p).map(ReaderUnit::Catalog))
        .collect()
}

/// Units of the readers of service roles.
pub(crate) fn service_units<G>(
    d: &Decisions<'_>,
    roles: &[&ServiceRole],
    paths: Paths,
) -> Result<Vec<Unit<ReaderUnit<G>>>, SynthError> {
    let suffixes = reader::id_suffixes(roles);
    roles
        .iter()
        .map(|r| {
            let suffix = suffixes.get(r.name.as_str()).map_or("", String::as_str);
            Ok(reader::service_reader(d, r, paths, suffix)?.map(ReaderUnit::Service))
        })
        .collect()
}

pub(crate) fn stacks(
    d: &Decisions<'_>,
    account: &AccountId,
    producers: &BTreeSet<&AccountId>,
    roles: &[&ServiceRole],
    paths: Paths,
) -> Result<Vec<StackPlan>, SynthError> {
    let mut units: Vec<Unit<ReaderUnit<()>>> = catalog_units(d, producers);
    units.extend(service_units(d, roles, paths)?);
    Ok(assemble(Vec::new(), units)
        .into_iter()
        .map(|(index, values)| {
            let mut ctx = ConsumerContext {
                common: common(d, account, Part::Consumer, paths, index),
                catalogs: Vec::new(),
                readers: Vec::new(),
            };
            for v in values {
                match v {
                    ReaderUnit::Catalog(c) => ctx.catalogs.push(c),
                    ReaderUnit::Service(r) => ctx.readers.push(r),
                    ReaderUnit::Group(()) => {}
                }
            }
            StackPlan::new(account, Part::Consumer, index, Context::Consumer(ctx))
        })
        .collect())
}
