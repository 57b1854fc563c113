//! Who may read what: the access decisions every grant and reader policy is built from.
//!
//! Pure functions of the topology. Open product versions are readable by the
//! whole organisation; restricted ones only by the accounts a steward approved
//! (their consume entries) and by the central account when a restricted access
//! group lists the product. Retired versions are readable by nobody. Grants name
//! accounts, never roles in other accounts, so a grant never depends on a role
//! that does not exist yet.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Access, AccountId, Classification, ProductId, ServiceRole, Topology, VersionStatus};

/// A product version: the unit of every grant.
pub(crate) type Pv<'t> = (&'t ProductId, u32);

/// The access decisions of a topology.
pub(crate) struct Decisions<'t> {
    pub(crate) t: &'t Topology,
    /// Restricted, non-retired versions → the accounts granted read.
    pub(crate) restricted_readers: BTreeMap<Pv<'t>, BTreeSet<&'t AccountId>>,
    /// Per account: the restricted versions its principals could reach through
    /// a grant to the account (or because the account produces them).
    reach: BTreeMap<&'t AccountId, BTreeSet<Pv<'t>>>,
    /// Approved consumes by account: (product, version).
    approved: BTreeMap<&'t AccountId, BTreeSet<Pv<'t>>>,
}

impl<'t> Decisions<'t> {
    pub(crate) fn new(t: &'t Topology) -> Decisions<'t> {
        let mut restricted_readers: BTreeMap<Pv<'t>, BTreeSet<&'t AccountId>> = BTreeMap::new();
        let mut approved: BTreeMap<&'t AccountId, BTreeSet<Pv<'t>>> = BTreeMap::new();
        for c in &t.consumes {
            let Some(p) = t.products.get(&c.product) else { continue };
            let readable = p
                .versions
                .get(&c.version)
                .is_some_and(|v| v.status != VersionStatus::Retired);
            if p.classification == Classification::Restricted && c.approved_by.is_some() && readable {
                restricted_readers
                    .entry((&p.id, c.version))
                    .or_default()
                    .insert(&c.account);
                approved.entry(&c.account).or_default().insert((&p.id, c.version));
            }
        }
        // A restricted access group reads its products in the central account: every live version.
        for g in t.access_groups.values().filter(|g| g.access == Access::Restricted) {
            for id in &g.products {
                let Some(p) = t.products.get(id) else { continue };
                if p.classification != Classification::Restricted {
                    continue;
                }
                for v in p.versions.values().filter(|v| v.status != VersionStatus::Retired) {
                    restricted_readers
                        .entry((&p.id, v.number))
                        .or_default()
                        .insert(&t.org.central_account);
                }
            }
        }
        let mut reach: BTreeMap<&'t AccountId, BTreeSet<Pv<'t>>> = BTreeMap::new();
        for (pv, accounts) in &restricted_readers {
            for a in accounts {
                reach.entry(a).or_default().insert(*pv);
            }
        }
        // Principals of the producing account read its bucket through IAM alone.
        for p in t
            .products
            .values()
            .filter(|p| p.classification == Classification::Restricted)
        {
            for v in p.versions.keys() {
                reach.entry(&p.account).or_default().insert((&p.id, *v));
            }
        }
        Decisions {
            t,
            restricted_readers,
            reach,
            approved,
        }
    }

    /// Whether a version is readable by the whole organisation.
    pub(crate) fn is_open(&self, pv: Pv<'_>) -> bool {
        self.t.products.get(pv.0).is_some_and(|p| {
            p.classification == Classification::Open
                && p.versions
                    .get(&pv.1)
                    .is_some_and(|v| v.status != VersionStatus::Retired)
        })
    }

    /// The accounts granted read of a restricted version (empty for open or retired ones).
    pub(crate) fn readers(&self, pv: Pv<'t>) -> Option<&BTreeSet<&'t AccountId>> {
        self.restricted_readers.get(&pv)
    }

    /// The restricted versions an account's principals could reach, less those in `allowed`.
    pub(crate) fn denied(&self, account: &AccountId, allowed: &BTreeSet<Pv<'t>>) -> BTreeSet<Pv<'t>> {
        self.reach
            .get(account)
            .map(|r| r.difference(allowed).copied().collect())
            .unwrap_or_default()
    }

    /// The restricted versions a service role may read: its listed products, in the
    /// versions its account consumes with approval.
    pub(crate) fn service_role_reads(&self, role: &ServiceRole) -> BTreeSet<Pv<'t>> {
        if role.access == Access::Open {
            return BTreeSet::new();
        }
        self.approved
            .get(&role.account)
            .into_iter()
            .flatten()
            .filter(|(p, _)| role.products.contains(*p))
            .copied()
            .collect()
    }

    /// The restricted versions a restricted access group reads in the central account.
    pub(crate) fn group_reads(&self, products: &BTreeSet<ProductId>) -> BTreeSet<Pv<'t>> {
        let central = &self.t.org.central_account;
        self.reach
            .get(central)
            .into_iter()
            .flatten()
            .filter(|(p, _)| products.contains(*p))
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Topology {
        crate::synth::example_topology()
    }

    #[test]
    fn restricted_versions_go_to_approved_accounts_and_listed_central() {
        let t = example();
        let d = Decisions::new(&t);
        let payouts = ProductId::parse("finance.payouts").expect("id");
        let readers = d.readers((&payouts, 1)).expect("payouts v1 is granted");
        assert!(readers.contains(&t.org.central_account));
        for c in t.consumes.iter().filter(|c| c.product == payouts) {
            assert!(readers.contains(&c.account));
        }
        assert!(!d.is_open((&payouts, 1)));
    }
}
