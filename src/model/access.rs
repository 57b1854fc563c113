//! Effective access to restricted data: requests met by grants (format v2).
//!
//! A consumer *requests* a restricted product version with a consume entry
//! plus a restricted service role (or, in the central account, a restricted
//! access group) that lists the product; the producer's data steward *grants*
//! it in the producer's file. Access is the meeting of the two, on the day the
//! topology is judged (`Topology::today`): a request without a live grant is
//! pending, a grant nobody's request meets is unused. This is the one place
//! that decides who reads restricted data; validation warns from it, synth
//! builds every policy from it, `impact` prints it. Pure: no IO.
//!
//! Its types are `pub`, like the rest of the resolved model (see `model`'s
//! docs): the integration tests' access oracle reads them.

use std::collections::{BTreeMap, BTreeSet};

// foldhash: these maps are looked up, never iterated into output, and hash short ids
// hundreds of thousands of times in a large org (SipHash was a visible share of a run).
use foldhash::{HashMap, HashMapExt, HashSet};

use rayon::prelude::*;

use super::{
    Access, AccountId, Classification, Consume, Grant, Grantee, Loc, Product, ProductId, Topology, VersionStatus,
};

/// A product version.
pub type Pv = (ProductId, u32);

/// Who asked for access.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Requester {
    /// A consume entry of the account (no grant to the account covers it).
    Account(AccountId),
    /// A service role whose account is granted the version, but not to this role.
    Role { account: AccountId, name: String },
    /// A restricted access group that lists the product.
    Group(String),
}

/// A request that no live grant meets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pending {
    /// Where the request was written (consume entry, service role or access group).
    pub loc: Loc,
    pub requester: Requester,
    pub product: ProductId,
    /// The version asked for; `None` for a group (it asks for every live version).
    pub version: Option<u32>,
}

/// The access decisions of a topology.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    /// Restricted versions each service role reads, by (account, role name).
    pub service: BTreeMap<(AccountId, String), BTreeSet<Pv>>,
    /// Restricted versions each restricted access group reads in the central account.
    pub groups: BTreeMap<String, BTreeSet<Pv>>,
    /// Which grant (product, index in `Product::grants`) lets each reader read each version.
    pub through: BTreeMap<(Reader, Pv), usize>,
    /// Requests that no live grant meets, sorted by place.
    pub pending: Vec<Pending>,
    /// Grants (product, index) that some reader reads through.
    pub used: BTreeSet<(ProductId, usize)>,
}

/// A principal that reads restricted data.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reader {
    /// The reader role of a service role.
    Service { account: AccountId, name: String },
    /// A restricted access group (its role and its Identity Center roles, in the central account).
    Group(String),
}

fn live(p: &Product, v: u32) -> bool {
    p.versions.get(&v).is_some_and(|v| v.status != VersionStatus::Retired)
}

/// The first live grant of `p` to `to` that covers `v` and admits `role` (any role when `None`).
fn find_grant(p: &Product, to: &Grantee, v: u32, role: Option<&str>, today: super::date::Date) -> Option<usize> {
    find_grant_where(p, |g| g == to, v, role, today)
}

/// `find_grant` of a grantee `is_to` accepts (so a caller need not build one to compare).
fn find_grant_where(
    p: &Product,
    is_to: impl Fn(&Grantee) -> bool,
    v: u32,
    role: Option<&str>,
    today: super::date::Date,
) -> Option<usize> {
    p.grants
        .iter()
        .position(|g: &Grant| is_to(&g.to) && g.is_live(today) && g.covers(v) && role.is_none_or(|r| g.admits_role(r)))
}

/// Works out who reads which restricted version, and which requests are pending.
pub fn resolve(t: &Topology) -> Resolution {
    let mut r = Resolution::default();
    // Hashed, and only the restricted products: a large org's 200,000 consume entries each
    // look one up, and most name open products.
    let restricted_products: HashMap<&ProductId, &Product> = t
        .products
        .iter()
        .filter(|(_, p)| p.classification == Classification::Restricted)
        .collect();
    let restricted = |id: &ProductId| restricted_products.get(id).copied();
    // Versions each account consumes, by restricted product, where a restricted service role
    // of the account lists the product (the only place they are looked up).
    let listed: HashSet<(&AccountId, &ProductId)> = t
        .service_roles
        .iter()
        .filter(|s| s.access == Access::Restricted)
        .flat_map(|s| s.products.iter().map(move |id| (&s.account, id)))
        .collect();
    // Each consume entry is looked at alone, on every core (200,000 of them in a large org);
    // what they yield is gathered in their order.
    enum Found<'t> {
        Consumed((&'t AccountId, &'t ProductId), u32),
        Pending(&'t Consume, &'t Product),
    }
    let found: Vec<Found<'_>> = t
        .consumes
        .par_iter()
        .flat_map_iter(|c| {
            let p = restricted(&c.product);
            let key = (&c.account, &c.product);
            let consumed = p
                .filter(|_| listed.contains(&key))
                .map(|_| Found::Consumed(key, c.version));
            // A request of the account, pending without a grant to it.
            let pending = p.filter(|p| {
                let to_account = |g: &Grantee| matches!(g, Grantee::Account(a) if *a == c.account);
                live(p, c.version) && find_grant_where(p, to_account, c.version, None, t.today).is_none()
            });
            consumed.into_iter().chain(pending.map(|p| Found::Pending(c, p)))
        })
        .collect();
    let mut consumed: HashMap<(&AccountId, &ProductId), BTreeSet<u32>> = HashMap::new();
    for f in found {
        match f {
            Found::Consumed(key, v) => {
                consumed.entry(key).or_default().insert(v);
            }
            Found::Pending(c, p) => r.pending.push(Pending {
                loc: c.loc.clone(),
                requester: Requester::Account(c.account.clone()),
                product: p.id.clone(),
                version: Some(c.version),
            }),
        }
    }
    for role in t.service_roles.iter().filter(|s| s.access == Access::Restricted) {
        for id in &role.products {
            let Some(p) = restricted(id) else { continue };
            let to = Grantee::Account(role.account.clone());
            let versions = consumed.get(&(&role.account, id)).cloned().unwrap_or_default();
            for v in versions.into_iter().filter(|v| live(p, *v)) {
                match find_grant(p, &to, v, Some(&role.name), t.today) {
                    Some(i) => {
                        let reader = Reader::Service {
                            account: role.account.clone(),
                            name: role.name.clone(),
                        };
                        r.service
                            .entry((role.account.clone(), role.name.clone()))
                            .or_default()
                            .insert((id.clone(), v));
                        r.through.insert((reader, (id.clone(), v)), i);
                        r.used.insert((id.clone(), i));
                    }
                    // The account's own request is pending already when nothing covers it at all.
                    None if find_grant(p, &to, v, None, t.today).is_some() => r.pending.push(Pending {
                        loc: role.loc.clone(),
                        requester: Requester::Role {
                            account: role.account.clone(),
                            name: role.name.clone(),
                        },
                        product: id.clone(),
                        version: Some(v),
                    }),
                    None => {}
                }
            }
        }
    }
    for g in t.access_groups.values().filter(|g| g.access == Access::Restricted) {
        for id in &g.products {
            let Some(p) = restricted(id) else { continue };
            let to = Grantee::Group(g.name.clone());
            let mut any = false;
            for v in p.versions.keys().copied().filter(|v| live(p, *v)) {
                if let Some(i) = find_grant(p, &to, v, None, t.today) {
                    any = true;
                    r.groups.entry(g.name.clone()).or_default().insert((id.clone(), v));
                    r.through.insert((Reader::Group(g.name.clone()), (id.clone(), v)), i);
                    r.used.insert((id.clone(), i));
                }
            }
            if !any {
                r.pending.push(Pending {
                    loc: g.loc.clone(),
                    requester: Requester::Group(g.name.clone()),
                    product: id.clone(),
                    version: None,
                });
            }
        }
    }
    r.pending.sort();
    r.pending.dedup();
    r
}

impl Resolution {
    /// Every restricted version's readers, with the grant each reads through (what `readers_of`
    /// gives for one version, for all of them in one pass).
    pub(crate) fn readers_by_version(&self) -> HashMap<(&ProductId, u32), Vec<(&Reader, usize)>> {
        let mut by_version: HashMap<(&ProductId, u32), Vec<(&Reader, usize)>> = HashMap::new();
        for ((reader, (id, n)), i) in &self.through {
            by_version.entry((id, *n)).or_default().push((reader, *i));
        }
        by_version
    }

    /// Every reader of a restricted version, with the grant it reads through.
    pub(crate) fn readers_of(&self, pv: &Pv) -> Vec<(&Reader, usize)> {
        self.through
            .iter()
            .filter(|((_, p), _)| p == pv)
            .map(|((reader, _), i)| (reader, *i))
            .collect()
    }
}
