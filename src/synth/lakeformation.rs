//! Access mode `lakeformation`: the consumer half of the grants, and column-level control.
//!
//! A producer's cross-account grant (products stack) lands with the consuming
//! account's data lake administrator, who must grant it on to the principals
//! that query, through a resource link in the account's own catalog. This
//! module decides, per account that reads, which product versions it links and
//! which of its reader roles get `DESCRIBE` on the link and `SELECT` on the
//! producer's tables — the same decisions as access mode `iam` (`access`):
//! open versions to every reader of the account (in a consumer account, those
//! its account consumes; in the central account, every live one), restricted
//! ones to the granted readers. Sensitive columns are left out of every grant
//! unless the reader's grant says `columns: all`. Pure: no IO.

use std::collections::{BTreeMap, BTreeSet};

use super::access::{Decisions, Pv};
use super::links::{Link, LinkGrant, TableGrant};
use super::names;
use crate::model::access::Reader;
use crate::model::{camel, Access, AccountId, Classification, Product, ServiceRole, VersionStatus};

/// The tables of a version whose grant must name columns: (table, excluded columns).
pub(crate) fn exclusions(p: &Product, version: u32, include_sensitive: bool) -> Option<Vec<(String, Vec<String>)>> {
    let v = p.versions.get(&version)?;
    let any = v.tables.iter().any(|t| t.columns.iter().any(|c| c.sensitive));
    if include_sensitive || !any {
        return None;
    }
    Some(
        v.tables
            .iter()
            .map(|t| {
                (
                    t.name.clone(),
                    t.columns
                        .iter()
                        .filter(|c| c.sensitive)
                        .map(|c| c.name.clone())
                        .collect(),
                )
            })
            .collect(),
    )
}

/// Whether `reader` reads `pv` through a grant that includes the sensitive columns.
pub(crate) fn reads_all_columns(d: &Decisions<'_>, reader: &Reader, pv: Pv<'_>) -> bool {
    let key = (reader.clone(), (pv.0.clone(), pv.1));
    match (d.resolution.through.get(&key), d.t.products.get(pv.0)) {
        (Some(i), Some(p)) => p.grants.get(*i).is_some_and(|g| g.all_columns),
        _ => false,
    }
}

/// Whether any reader in `account` reads `pv` with its sensitive columns (so the producer's
/// cross-account grant to that account must include them).
pub(crate) fn account_reads_all_columns(d: &Decisions<'_>, account: &AccountId, pv: Pv<'_>) -> bool {
    d.resolution
        .readers_of(&(pv.0.clone(), pv.1))
        .into_iter()
        .any(|(reader, _)| {
            let in_account = match reader {
                Reader::Service { account: a, .. } => a == account,
                Reader::Group(_) => *account == d.t.org.central_account,
            };
            in_account && reads_all_columns(d, reader, pv)
        })
}

/// The `tables` context of one Lake Formation grant: `null` for every table and column
/// (`TableWildcard`), else one entry per table with the columns it leaves out.
pub(crate) fn table_grants(stem: &str, excluded: Option<Vec<(String, Vec<String>)>>) -> Option<Vec<TableGrant>> {
    excluded.map(|tables| {
        tables
            .into_iter()
            .map(|(t, excluded)| TableGrant {
                id: format!("{stem}{}", camel(&t)),
                name: t,
                excluded,
            })
            .collect()
    })
}

/// One reader role of an account and the versions it may read there.
struct LfReader<'t> {
    reader: Option<Reader>,
    arn: String,
    reads: BTreeSet<Pv<'t>>,
}

fn live_open<'t>(d: &Decisions<'t>) -> BTreeSet<Pv<'t>> {
    d.t.products
        .values()
        .filter(|p| p.classification == Classification::Open)
        .flat_map(|p| {
            p.versions
                .values()
                .filter(|v| v.status != VersionStatus::Retired)
                .map(move |v| (&p.id, v.number))
        })
        .collect()
}

/// The readers of `account` in lakeformation mode, each with what it may read.
fn readers<'t>(d: &Decisions<'t>, account: &AccountId, roles: &[&'t ServiceRole]) -> Vec<LfReader<'t>> {
    let t = d.t;
    let central = account == &t.org.central_account;
    // Open versions: every live one in the central account, those the account consumes elsewhere.
    let open: BTreeSet<Pv<'t>> = if central {
        live_open(d)
    } else {
        let all = live_open(d);
        d.consumed_by(account)
            .into_iter()
            .flatten()
            .filter(|pv| all.contains(*pv))
            .copied()
            .collect()
    };
    let mut out = Vec::new();
    if central {
        out.push(LfReader {
            reader: None,
            arn: names::role_arn(account, names::OPEN_READER_ROLE),
            reads: open.clone(),
        });
        for g in t.access_groups.values().filter(|g| g.access == Access::Restricted) {
            let mut reads = open.clone();
            reads.extend(d.group_reads(&g.name));
            out.push(LfReader {
                reader: Some(Reader::Group(g.name.clone())),
                arn: names::role_arn(account, &names::group_role(&g.name)),
                reads,
            });
        }
    }
    for r in roles {
        // The central account's open service roles read through the open reader role.
        if central && r.access == Access::Open {
            continue;
        }
        let mut reads = open.clone();
        reads.extend(d.service_role_reads(r));
        out.push(LfReader {
            reader: Some(Reader::Service {
                account: r.account.clone(),
                name: r.name.clone(),
            }),
            arn: names::role_arn(account, &names::service_reader_role(&r.name)),
            reads,
        });
    }
    out
}

/// The linked versions of an account: one context value per version, with its link and the
/// grants to each reader role that may read it (resources: 1 + 2 per reader, or per table).
pub(crate) fn links<'t>(
    d: &Decisions<'t>,
    account: &AccountId,
    roles: &[&'t ServiceRole],
) -> Vec<(String, usize, Link)> {
    let t = d.t;
    let readers = readers(d, account, roles);
    let mut by_pv: BTreeMap<Pv<'t>, Vec<&LfReader<'t>>> = BTreeMap::new();
    for r in &readers {
        for pv in &r.reads {
            by_pv.entry(*pv).or_default().push(r);
        }
    }
    let mut out = Vec::new();
    for (pv, rs) in by_pv {
        let Some(p) = t.products.get(pv.0) else { continue };
        if p.account == *account {
            continue;
        }
        let stem = format!("{}V{}", pv.0.camel(), pv.1);
        let db = names::glue_database(pv.0, pv.1);
        let mut resources = 1;
        let grants: Vec<LinkGrant> = rs
            .iter()
            .map(|r| {
                let frag = names::id_fragment(r.arn.rsplit('/').next().unwrap_or(&r.arn));
                let all = r.reader.as_ref().is_some_and(|reader| reads_all_columns(d, reader, pv));
                let tables = table_grants(&format!("LfSelect{stem}{frag}"), exclusions(p, pv.1, all));
                resources += 1 + tables.as_ref().map_or(1, Vec::len);
                LinkGrant {
                    link_id: format!("LfLink{stem}{frag}"),
                    tables_id: format!("LfSelect{stem}{frag}"),
                    principal: r.arn.clone(),
                    tables,
                }
            })
            .collect();
        let value = Link {
            id: format!("Link{stem}"),
            name: db,
            producer: p.account.to_string(),
            description: format!(
                "meshsynth: resource link to {} v{} in account {}",
                p.id, pv.1, p.account
            ),
            grants,
        };
        out.push((format!("{}@{}", pv.0, pv.1), resources, value));
    }
    out
}

/// The producer accounts whose databases an account links (its access stack follows their products).
pub(crate) fn linked_producers<'t>(
    d: &Decisions<'t>,
    account: &AccountId,
    roles: &[&'t ServiceRole],
) -> BTreeSet<&'t AccountId> {
    readers(d, account, roles)
        .iter()
        .flat_map(|r| r.reads.iter())
        .filter_map(|pv| d.t.products.get(pv.0).map(|p| &p.account))
        .filter(|a| *a != account)
        .collect()
}
