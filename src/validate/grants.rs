//! The grants of restricted products (format v2): checked against the accounts,
//! service roles and access groups they name, then judged against the requests
//! (`model::access`) for the warnings a steward and a consumer need: pending
//! requests, unused grants, grants that expired or expire soon.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::{loc, owned_items, Cx};
use crate::model::access::{resolve, Requester};
use crate::model::date::Date;
use crate::model::raw::{RawGrant, RawTeam, S};
use crate::model::{
    Access, AccessGroup, Account, AccountId, Classification, Diagnostic, Grant, Grantee, Product, ProductId,
    ServiceRole, Team, Topology,
};

/// A grant expiring within this many days warns.
pub(crate) const EXPIRY_WARNING_DAYS: i64 = 30;

type Known<'a> = (
    &'a BTreeMap<AccountId, Account>,
    &'a [ServiceRole],
    &'a BTreeMap<String, AccessGroup>,
);

/// Checks every grant (each product's on every core) and attaches the valid ones to their products.
pub(super) fn validate(
    cx: &mut Cx,
    raw_teams: &[(PathBuf, S<RawTeam>)],
    teams: &BTreeMap<String, Team>,
    products: &mut BTreeMap<ProductId, Product>,
    known: Known<'_>,
) {
    let entries = owned_items(teams, raw_teams, |t| &t.products);
    let checked = {
        let products = &*products;
        cx.check_all(&entries, 512, |cx, &(file, owner, p)| {
            let list = p.grants.as_ref()?;
            let id = ProductId {
                domain: owner.domain.clone(),
                name: p.name.value.clone(),
            };
            let product = products.get(&id).filter(|pr| pr.team == owner.name)?;
            if product.classification == Classification::Open {
                cx.error(
                    file,
                    list,
                    format!("`grants` on open product `{id}`"),
                    "open products are readable by the whole organisation; remove `grants`, or make the product `classification: restricted`",
                );
                return None;
            }
            let grants: Vec<Grant> = list
                .value
                .iter()
                .filter_map(|g| grant(cx, file, owner, product, g, known))
                .collect();
            Some((id, grants))
        })
    };
    for (id, grants) in checked.into_iter().flatten().flatten() {
        if let Some(product) = products.get_mut(&id) {
            product.grants = grants;
        }
    }
}

fn grant(
    cx: &mut Cx,
    file: &std::path::Path,
    owner: &Team,
    product: &Product,
    g: &S<RawGrant>,
    known: Known<'_>,
) -> Option<Grant> {
    let (accounts, roles, groups) = known;
    let raw = &g.value;
    let id = &product.id;
    let mut ok = true;
    match &owner.steward {
        Some(steward) if *steward == raw.approved_by.value => {}
        Some(steward) => {
            cx.error(
                file,
                &raw.approved_by,
                format!(
                    "grant on `{id}` is approved by `{}`, but the data steward of team `{}` is `{steward}`",
                    raw.approved_by.value, owner.name
                ),
                "only the producing team's steward approves access to its restricted products",
            );
            ok = false;
        }
        // The missing steward is its own error (restricted products need one).
        None => ok = false,
    }
    let to = grantee(cx, file, product, g, accounts, groups)?;
    let role_names = match &raw.roles {
        Some(list) => grant_roles(cx, file, id, list, &to, roles, &mut ok),
        None => BTreeSet::new(),
    };
    let versions = raw
        .versions
        .as_ref()
        .map(|list| grant_versions(cx, file, product, list, &mut ok));
    let expires = match &raw.expires {
        None => None,
        Some(e) => match Date::parse(e.value.trim()) {
            Some(d) => Some(d),
            None => {
                cx.error(
                    file,
                    e,
                    format!("`expires: {}` is not a date", e.value),
                    "write the day as a quoted \"YYYY-MM-DD\", e.g. \"2027-06-30\"",
                );
                ok = false;
                None
            }
        },
    };
    let all_columns = match &raw.columns {
        None => false,
        Some(c) if c.value == "all" => true,
        Some(c) => {
            cx.error(
                file,
                c,
                format!("`columns: {}` on a grant of `{id}`", c.value),
                "write `columns: all` to let the grantee read the sensitive columns too, or leave it out",
            );
            ok = false;
            false
        }
    };
    ok.then(|| Grant {
        to,
        roles: role_names,
        versions,
        approved_by: raw.approved_by.value.clone(),
        all_columns,
        reason: raw.reason.as_ref().map(|r| r.value.clone()),
        expires,
        loc: loc(file, g),
    })
}

/// Whom a grant is to: an account of the topology other than the producer's,
/// or a restricted access group.
fn grantee(
    cx: &mut Cx,
    file: &std::path::Path,
    product: &Product,
    g: &S<RawGrant>,
    accounts: &BTreeMap<AccountId, Account>,
    groups: &BTreeMap<String, AccessGroup>,
) -> Option<Grantee> {
    let raw = &g.value;
    let id = &product.id;
    let to = match (&raw.account, &raw.access_group) {
        (Some(_), Some(_)) | (None, None) => {
            cx.error(
                file,
                g,
                format!(
                    "a grant on `{id}` names {} of `account` and `access_group`",
                    if raw.account.is_some() { "both" } else { "neither" }
                ),
                "write one grant per consuming account or access group",
            );
            return None;
        }
        (Some(a), None) => {
            let account = cx.account_id(file, a)?;
            if account == product.account {
                cx.error(
                    file,
                    a,
                    format!("a grant on `{id}` names account `{account}`, which produces it"),
                    "principals of the producing account need no grant; remove it",
                );
                return None;
            }
            if !accounts.contains_key(&account) {
                cx.error(
                    file,
                    a,
                    format!("a grant on `{id}` names account `{account}`, which no team owns"),
                    "grant to a consuming account of the topology, or fix the id",
                );
                return None;
            }
            Grantee::Account(account)
        }
        (None, Some(name)) => match groups.get(&name.value) {
            Some(group) if group.access == Access::Restricted => Grantee::Group(name.value.clone()),
            Some(_) => {
                cx.error(
                    file,
                    name,
                    format!("a grant on `{id}` names access group `{}`, which is open", name.value),
                    "open access groups read open products only; grant to a restricted access group",
                );
                return None;
            }
            None => {
                let known: Vec<&str> = groups
                    .values()
                    .filter(|g| g.access == Access::Restricted)
                    .map(|g| g.name.as_str())
                    .collect();
                cx.error(
                    file,
                    name,
                    format!(
                        "a grant on `{id}` names access group `{}`, which is not declared",
                        name.value
                    ),
                    if known.is_empty() {
                        "declare it under `access_groups` in org.yaml with `access: restricted`".to_owned()
                    } else {
                        format!("restricted access groups: {}", known.join(", "))
                    },
                );
                return None;
            }
        },
    };
    Some(to)
}

/// The service roles a grant to an account narrows to: restricted roles the
/// account declares; `ok` turns false when one is not.
fn grant_roles(
    cx: &mut Cx,
    file: &std::path::Path,
    id: &ProductId,
    list: &S<Vec<S<String>>>,
    to: &Grantee,
    roles: &[ServiceRole],
    ok: &mut bool,
) -> BTreeSet<String> {
    let mut role_names = BTreeSet::new();
    match to {
        Grantee::Group(_) => {
            cx.error(
                file,
                list,
                format!("a grant on `{id}` to an access group names `roles`"),
                "`roles` narrows a grant to an account; remove it",
            );
            *ok = false;
        }
        Grantee::Account(account) => {
            for r in &list.value {
                let declared = roles.iter().find(|s| s.account == *account && s.name == r.value);
                match declared {
                    Some(s) if s.access == Access::Restricted => {
                        role_names.insert(r.value.clone());
                    }
                    Some(_) => {
                        cx.error(
                            file,
                            r,
                            format!("a grant on `{id}` names service role `{}`, which is open", r.value),
                            "open service roles read open products only; name a restricted service role",
                        );
                        *ok = false;
                    }
                    None => {
                        let known: Vec<&str> = roles
                            .iter()
                            .filter(|s| s.account == *account && s.access == Access::Restricted)
                            .map(|s| s.name.as_str())
                            .collect();
                        cx.error(
                            file,
                            r,
                            format!(
                                "a grant on `{id}` names service role `{}`, which account `{account}` does not declare",
                                r.value
                            ),
                            if known.is_empty() {
                                format!("account `{account}` declares no restricted service role")
                            } else {
                                format!("restricted service roles of account `{account}`: {}", known.join(", "))
                            },
                        );
                        *ok = false;
                    }
                }
            }
        }
    }
    role_names
}

/// The versions a grant names: versions the product has; `ok` turns false
/// when one is not.
fn grant_versions(
    cx: &mut Cx,
    file: &std::path::Path,
    product: &Product,
    list: &S<Vec<S<i64>>>,
    ok: &mut bool,
) -> BTreeSet<u32> {
    let id = &product.id;
    let mut set = BTreeSet::new();
    for v in &list.value {
        match u32::try_from(v.value).ok().filter(|n| product.versions.contains_key(n)) {
            Some(n) => {
                set.insert(n);
            }
            None => {
                let known: Vec<String> = product.versions.keys().map(u32::to_string).collect();
                cx.error(
                    file,
                    v,
                    format!("a grant on `{id}` names version {}, which it does not have", v.value),
                    format!("its versions are {}", known.join(", ")),
                );
                *ok = false;
            }
        }
    }
    set
}

/// The producing team's steward and file, for messages that say whom to ask.
fn producer_of(t: &Topology, id: &ProductId) -> (String, String) {
    let team = t.products.get(id).and_then(|p| t.teams.get(&p.team));
    (
        team.and_then(|tm| tm.steward.clone())
            .unwrap_or_else(|| "the producing team's steward".to_owned()),
        team.map(|tm| tm.loc.file.display().to_string()).unwrap_or_default(),
    )
}

/// Warnings of a valid topology: pending requests, expired, expiring and unused grants.
pub(super) fn warn(cx: &mut Cx, t: &Topology) {
    let r = resolve(t);
    for p in &r.pending {
        let (steward, file) = producer_of(t, &p.product);
        let version = p.version.map(|v| format!("@{v}")).unwrap_or_default();
        let (message, hint) = match &p.requester {
            Requester::Account(a) => (
                format!("pending: account `{a}` asks for restricted `{}{version}`, and no grant covers it (it reads nothing until one does)", p.product),
                format!("ask the data steward {steward} to add a grant for account \"{a}\" to `{}` in {file}", p.product),
            ),
            Requester::Role { account, name } => (
                format!("pending: service role `{name}` (account `{account}`) lists `{}{version}`, but the account's grant names other roles", p.product),
                format!("ask the data steward {steward} to add `{name}` to the grant's `roles` in {file}"),
            ),
            Requester::Group(g) => (
                format!("pending: access group `{g}` lists restricted `{}`, and no grant covers it (it reads nothing until one does)", p.product),
                format!("ask the data steward {steward} to add a grant for `access_group: {g}` to `{}` in {file}", p.product),
            ),
        };
        cx.warnings.push(Diagnostic {
            loc: p.loc.clone(),
            message,
            hint: Some(hint),
        });
    }
    // Products and the used grants, both in product order: walked side by side.
    let mut used = r.used.iter().peekable();
    for p in t.products.values() {
        while used.next_if(|(id, _)| *id < p.id).is_some() {}
        let mut used_here = BTreeSet::new();
        while let Some((_, i)) = used.next_if(|(id, _)| *id == p.id) {
            used_here.insert(*i);
        }
        for (i, g) in p.grants.iter().enumerate() {
            let (message, hint) = match g.expires.map(|e| (e, t.today.days_until(e))) {
                Some((e, days)) if days <= 0 => (
                    format!("the grant to {} on `{}` expired on {e}: it gives no access", g.to, p.id),
                    "renew it with a new `expires`, or remove it".to_owned(),
                ),
                Some((e, days)) if days <= EXPIRY_WARNING_DAYS => (
                    format!(
                        "the grant to {} on `{}` expires on {e}, in {days} day{}",
                        g.to,
                        p.id,
                        if days == 1 { "" } else { "s" }
                    ),
                    format!("the steward {} renews it by moving `expires`, or lets it lapse", g.approved_by),
                ),
                _ if !used_here.contains(&i) => (
                    format!("the grant to {} on `{}` is unused: no request meets it", g.to, p.id),
                    match &g.to {
                        Grantee::Account(_) => "the account needs a consume entry of a granted version and a restricted service role that lists the product (and is among `roles`); or remove the grant".to_owned(),
                        Grantee::Group(_) => "the access group must list the product and a live version be granted; or remove the grant".to_owned(),
                    },
                ),
                _ => continue,
            };
            cx.warnings.push(Diagnostic {
                loc: g.loc.clone(),
                message,
                hint: Some(hint),
            });
        }
    }
}
