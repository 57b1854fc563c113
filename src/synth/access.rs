//! Who may read what: the access decisions every grant and reader policy is built from.
//!
//! Pure functions of the topology. Open product versions are readable by the
//! whole organisation; restricted ones only by the reader principals whose
//! request a steward's grant meets (`model::access::resolve`): the reader role
//! of a service role, and a restricted access group's role and Identity Center
//! roles in the central account. Resource policies name each reader's account
//! root narrowed by `aws:PrincipalArn` to exactly those principals, so a grant
//! never depends on a role that does not exist yet and no other principal of a
//! granted account reads restricted data. Retired versions are readable by nobody.

use std::collections::BTreeSet;

// foldhash: looked up, never iterated into output; keyed by short ids, very often.
use foldhash::{HashMap, HashMapExt};

use super::names;
use crate::model::access::{resolve, Pv as OwnedPv, Resolution};
use crate::model::{AccountId, Classification, Product, ProductId, ServiceRole, Topology, VersionStatus};

/// A product version: the unit of every grant.
pub(crate) type Pv<'t> = (&'t ProductId, u32);

/// A principal that reads restricted data: its account and its ARN (or ARN pattern).
pub(crate) type Principal = (AccountId, String);

/// The access decisions of a topology.
pub(crate) struct Decisions<'t> {
    pub(crate) t: &'t Topology,
    pub(crate) resolution: Resolution,
    /// Restricted, non-retired versions → the principals granted read.
    restricted_readers: HashMap<Pv<'t>, BTreeSet<Principal>>,
    /// Per account: the restricted and the retired versions it produces, which its own
    /// principals could reach through IAM alone (no resource policy needed in-account).
    reach: HashMap<&'t AccountId, BTreeSet<Pv<'t>>>,
    /// Per producer account: the other accounts that consume one of its products.
    consuming_accounts: AccountSets<'t, &'t AccountId>,
    /// Per account: the versions it consumes (one pass over the consume
    /// entries, so that no part scans all of them once per account).
    consumed: AccountSets<'t, Pv<'t>>,
    /// Per consuming account, the producer accounts it reads.
    reads: AccountSets<'t, &'t AccountId>,
}

/// Per account, an ordered set (the map is looked up; only the sets are iterated in order).
pub(crate) type AccountSets<'t, T> = HashMap<&'t AccountId, BTreeSet<T>>;

/// What one pass over the consume entries finds.
type ConsumePass<'t> = (
    AccountSets<'t, &'t AccountId>,
    AccountSets<'t, Pv<'t>>,
    AccountSets<'t, &'t AccountId>,
);

/// The principals of a service role's reader role.
pub(crate) fn service_principals(account: &AccountId, name: &str) -> Vec<Principal> {
    vec![(
        account.clone(),
        names::role_arn(account, &names::service_reader_role(name)),
    )]
}

/// The principals of a restricted access group: its role and its permission set's Identity Center roles.
pub(crate) fn group_principals(central: &AccountId, group: &str) -> Vec<Principal> {
    vec![
        (central.clone(), names::role_arn(central, &names::group_role(group))),
        (
            central.clone(),
            names::sso_role_pattern(central, &names::group_permission_set(group)),
        ),
    ]
}

impl<'t> Decisions<'t> {
    /// Three independent passes (the grants, the producers' own reach, the consume entries),
    /// run side by side: on a large org each takes a few hundred milliseconds.
    pub(crate) fn new(t: &'t Topology) -> Decisions<'t> {
        let ((resolution, restricted_readers), (reach, (consuming_accounts, consumed, reads))) = rayon::join(
            || Self::readers_of_grants(t),
            || rayon::join(|| Self::reach(t), || Self::consumers(t)),
        );
        Decisions {
            t,
            resolution,
            restricted_readers,
            reach,
            consuming_accounts,
            consumed,
            reads,
        }
    }

    /// Per consuming account, the producer accounts whose products it consumes (its own too).
    pub(crate) fn reads(&self) -> &AccountSets<'t, &'t AccountId> {
        &self.reads
    }

    fn readers_of_grants(t: &'t Topology) -> (Resolution, HashMap<Pv<'t>, BTreeSet<Principal>>) {
        let resolution = resolve(t);
        let borrow = |pv: &OwnedPv| -> Option<Pv<'t>> { t.products.get_key_value(&pv.0).map(|(id, _)| (id, pv.1)) };
        let mut restricted_readers: HashMap<Pv<'t>, BTreeSet<Principal>> = HashMap::new();
        for ((account, name), pvs) in &resolution.service {
            for pv in pvs.iter().filter_map(borrow) {
                restricted_readers
                    .entry(pv)
                    .or_default()
                    .extend(service_principals(account, name));
            }
        }
        for (group, pvs) in &resolution.groups {
            for pv in pvs.iter().filter_map(borrow) {
                restricted_readers
                    .entry(pv)
                    .or_default()
                    .extend(group_principals(&t.org.central_account, group));
            }
        }
        (resolution, restricted_readers)
    }

    fn reach(t: &'t Topology) -> HashMap<&'t AccountId, BTreeSet<Pv<'t>>> {
        let mut reach: HashMap<&'t AccountId, BTreeSet<Pv<'t>>> = HashMap::new();
        for p in t.products.values() {
            for (n, v) in &p.versions {
                // Retired open versions too: their objects stay in the bucket, and the org-wide
                // naming pattern of reader policies would reach them in their own account.
                if p.classification == Classification::Restricted || v.status == VersionStatus::Retired {
                    reach.entry(&p.account).or_default().insert((&p.id, *n));
                }
            }
        }
        reach
    }

    /// One pass over the consume entries: (consuming accounts, consumed versions, reads).
    /// A large org has 200,000 of them: each is looked up once in a hash index, and each
    /// account's versions are sorted as integers (a product's number follows the products'
    /// order, so the order is that of (product id, version)) before any ordered set is built.
    fn consumers(t: &'t Topology) -> ConsumePass<'t> {
        let products: Vec<(&'t ProductId, &'t Product)> = t.products.iter().collect();
        let number: HashMap<&ProductId, u32> = (0u32..).zip(&products).map(|(i, (id, _))| (*id, i)).collect();
        let mut by_consumer: HashMap<&'t AccountId, Vec<(u32, u32)>> = HashMap::new();
        for c in &t.consumes {
            if let Some(&i) = number.get(&c.product) {
                by_consumer.entry(&c.account).or_default().push((i, c.version));
            }
        }
        let mut pass = ConsumePass::default();
        for (account, mut versions) in by_consumer {
            versions.sort_unstable();
            versions.dedup();
            let of = |i: u32| products[i as usize];
            let producers: BTreeSet<&'t AccountId> = versions.iter().map(|&(i, _)| &of(i).1.account).collect();
            for &producer in producers.iter().filter(|&&p| p != account) {
                pass.0.entry(producer).or_default().insert(account);
            }
            pass.1
                .insert(account, versions.iter().map(|&(i, v)| (of(i).0, v)).collect());
            pass.2.insert(account, producers);
        }
        pass
    }

    /// The other accounts that consume a product of `producer`.
    pub(crate) fn consuming_accounts(&self, producer: &AccountId) -> Option<&BTreeSet<&'t AccountId>> {
        self.consuming_accounts.get(producer)
    }

    /// The versions `account` consumes.
    pub(crate) fn consumed_by(&self, account: &AccountId) -> Option<&BTreeSet<Pv<'t>>> {
        self.consumed.get(account)
    }

    fn borrow(&self, pvs: Option<&BTreeSet<OwnedPv>>) -> BTreeSet<Pv<'t>> {
        let t = self.t;
        pvs.into_iter()
            .flatten()
            .filter_map(|pv| t.products.get_key_value(&pv.0).map(|(id, _)| (id, pv.1)))
            .collect()
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

    /// The principals granted read of a restricted version (none for open or retired ones).
    pub(crate) fn readers(&self, pv: Pv<'t>) -> Option<&BTreeSet<Principal>> {
        self.restricted_readers.get(&pv)
    }

    /// The restricted and retired versions an account's own principals could reach, less those in `allowed`.
    pub(crate) fn denied(&self, account: &AccountId, allowed: &BTreeSet<Pv<'t>>) -> BTreeSet<Pv<'t>> {
        self.reach
            .get(account)
            .map(|r| r.difference(allowed).copied().collect())
            .unwrap_or_default()
    }

    /// The restricted versions a service role reads: its request met by a grant.
    pub(crate) fn service_role_reads(&self, role: &ServiceRole) -> BTreeSet<Pv<'t>> {
        self.borrow(self.resolution.service.get(&(role.account.clone(), role.name.clone())))
    }

    /// The restricted versions a restricted access group reads in the central account.
    pub(crate) fn group_reads(&self, group: &str) -> BTreeSet<Pv<'t>> {
        self.borrow(self.resolution.groups.get(group))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Topology {
        crate::synth::example_topology()
    }

    #[test]
    fn restricted_versions_go_to_granted_roles_only() {
        let t = example();
        let d = Decisions::new(&t);
        let payouts = ProductId::parse("finance.payouts").expect("id");
        let readers = d.readers((&payouts, 1)).expect("payouts v1 is granted");
        assert!(!d.is_open((&payouts, 1)));
        // Every reader is a role (or Identity Center role pattern), never an account root.
        for (account, arn) in readers {
            assert!(arn.starts_with(&format!("arn:aws:iam::{account}:role/")), "{arn}");
        }
        // Each reader is backed by a live grant to its account or group.
        let p = &t.products[&payouts];
        for (reader, i) in d.resolution.readers_of(&(payouts.clone(), 1)) {
            let g = &p.grants[i];
            assert!(g.is_live(t.today) && g.covers(1), "{reader:?} reads through {g:?}");
        }
    }
}
