//! The consumes pass: each entry names a live version of an existing product,
//! through an account of the consuming team, once.

use std::collections::{BTreeMap, BTreeSet};

use foldhash::HashMap;
use std::path::Path;

use rayon::prelude::*;

use super::{loc, owned_items, Cx, Validator};
use crate::model::raw::{RawConsume, S};
use crate::model::{AccountId, Consume, Diagnostic, Product, ProductId, Team, VersionStatus};

/// What a consume entry is checked against.
struct Known<'v> {
    products: &'v BTreeMap<ProductId, Product>,
    /// Consume entries look products up 200,000 times in a large org: a hash
    /// index (lookups only; it never reaches output) is much cheaper than the
    /// ordered map. Its numbers follow the map's order, so sorting by them
    /// sorts by product id.
    index: HashMap<&'v ProductId, (u32, &'v Product)>,
    declared: &'v BTreeSet<ProductId>,
    teams: &'v BTreeMap<String, Team>,
}

impl Validator<'_> {
    /// Every team's consume entries, then duplicates across them.
    pub(super) fn consumes(&mut self) {
        let input = self.input;
        let known = Known {
            products: &self.products,
            index: self
                .products
                .values()
                .enumerate()
                .map(|(i, p)| (&p.id, (u32::try_from(i).unwrap_or(u32::MAX), p)))
                .collect(),
            declared: &self.declared,
            teams: &self.teams,
        };
        let entries = owned_items(&self.teams, &input.teams, |t| &t.consumes);
        // On every core; the valid entries in file and line order.
        let checked = self.cx.check_all(&entries, 4096, |cx, &(file, owner, c)| {
            consume(cx, file, owner, c, &known)
        });
        // Reserved first: `flatten` gives no size hint, and growing a list of 200,000 entries
        // by doubling copies it (into fresh pages) several times.
        self.consumes.reserve(checked.iter().map(Vec::len).sum());
        for chunk in checked {
            self.consumes.extend(chunk.into_iter().flatten());
        }
        // Sorted, a duplicate consume entry sits right after the one it repeats.
        // Entries are pushed in file and line order, and the sort is stable, so the
        // first of two duplicates is the one written first. Integer keys keep the
        // sort cheap; they order exactly as (account id, product id, version).
        self.consumes.par_sort_by_cached_key(|c| {
            (
                c.account.as_str().parse::<u64>().unwrap_or(u64::MAX),
                known.index.get(&c.product).map_or(u32::MAX, |(i, _)| *i),
                c.version,
            )
        });
        for pair in self.consumes.windows(2) {
            let (first, dup) = (&pair[0], &pair[1]);
            if (&first.account, &first.product, first.version) == (&dup.account, &dup.product, dup.version) {
                self.cx.errors.push(Diagnostic {
                    loc: dup.loc.clone(),
                    message: format!(
                        "account `{}` already consumes `{}@{}` at {}",
                        dup.account, dup.product, dup.version, first.loc
                    ),
                    hint: Some("remove the duplicate entry".to_owned()),
                });
            }
        }
    }
}

/// One consume entry of team `owner`, when it is valid.
fn consume(cx: &mut Cx, file: &Path, owner: &Team, c: &RawConsume, known: &Known<'_>) -> Option<Consume> {
    let (pid, version) = parse_consume_ref(cx, file, &c.product)?;
    let account = cx.account_id(file, &c.account)?;
    let mut ok = true;
    if !owner.accounts.contains(&account) {
        cx.error(
            file,
            &c.account,
            format!(
                "team `{}` consumes through account `{account}`, which it does not own",
                owner.name
            ),
            owned_hint(owner),
        );
        ok = false;
    }
    let Some(&(_, product)) = known.index.get(&pid) else {
        if !known.declared.contains(&pid) {
            cx.error(
                file,
                &c.product,
                format!("consumed product `{pid}` does not exist"),
                closest_product(known.products, &pid),
            );
        }
        return None;
    };
    let Some(v) = product.versions.get(&version) else {
        let versions: Vec<String> = product.versions.keys().map(|v| format!("@{v}")).collect();
        cx.error(
            file,
            &c.product,
            format!("product `{pid}` has no version {version}"),
            format!("its versions are {}", versions.join(", ")),
        );
        return None;
    };
    if ok && product.account == account {
        cx.error(
            file,
            &c.account,
            format!("account `{account}` consumes `{pid}`, which it produces itself"),
            "reading your own product is not a cross-account grant; remove this entry",
        );
        ok = false;
    }
    match v.status {
        VersionStatus::Retired => {
            cx.error(
                file,
                &c.product,
                format!(
                    "`{pid}@{version}` is retired and can no longer be consumed, but team `{}` (account `{account}`) still consumes it",
                    owner.name
                ),
                active_hint(product),
            );
            ok = false;
        }
        VersionStatus::Deprecated => {
            let producer = known.teams.get(&product.team);
            let contact = producer
                .and_then(|t| t.contact.clone())
                .unwrap_or_else(|| "the producing team (no contact given)".to_owned());
            cx.warn(
                file,
                &c.product,
                format!(
                    "team `{}` (account `{account}`) consumes deprecated `{pid}@{version}`",
                    owner.name
                ),
                format!(
                    "{}; producer team `{}`, contact {contact}",
                    active_hint(product),
                    product.team
                ),
            );
        }
        VersionStatus::Active => {}
    }
    if let Some(a) = &c.approved_by {
        refuse_approval(cx, file, a, product, &account, &pid, known.teams);
    }
    ok.then(|| Consume {
        team: owner.name.clone(),
        account,
        product: pid,
        version,
        purpose: c.purpose.as_ref().map(|p| p.value.clone()),
        loc: loc(file, &c.product),
    })
}

/// Format v2 moved approval to the producer: a consumer cannot approve itself.
fn refuse_approval(
    cx: &mut Cx,
    file: &Path,
    at: &S<String>,
    product: &Product,
    account: &AccountId,
    pid: &ProductId,
    teams: &BTreeMap<String, Team>,
) {
    let steward = teams
        .get(&product.team)
        .and_then(|t| t.steward.clone())
        .unwrap_or_else(|| "the producing team's steward".to_owned());
    let producer_file = teams
        .get(&product.team)
        .map(|t| t.loc.file.display().to_string())
        .unwrap_or_default();
    cx.error(
        file,
        at,
        "`approved_by` on a consume entry is not format v2: a consumer cannot approve its own access",
        format!("remove it, and ask {steward} to add a grant for account `{account}` to `{pid}` in {producer_file}"),
    );
}

pub(super) fn owned_hint(team: &Team) -> String {
    if team.accounts.is_empty() {
        "the team declares no accounts".to_owned()
    } else {
        let ids: Vec<&str> = team.accounts.iter().map(AccountId::as_str).collect();
        format!("the team's accounts are {}", ids.join(", "))
    }
}

fn active_hint(product: &Product) -> String {
    let active: Vec<String> = product
        .versions
        .values()
        .filter(|v| v.status == VersionStatus::Active)
        .map(|v| format!("@{}", v.number))
        .collect();
    if active.is_empty() {
        "move to an active version".to_owned()
    } else {
        format!("move to {}{}", product.id, active.join(" or "))
    }
}

pub(super) fn closest_product(products: &BTreeMap<ProductId, Product>, wanted: &ProductId) -> String {
    let same_name: Vec<String> = products
        .keys()
        .filter(|p| p.name == wanted.name)
        .map(ToString::to_string)
        .collect();
    if !same_name.is_empty() {
        return format!("did you mean {}?", same_name.join(" or "));
    }
    let same_domain: Vec<String> = products
        .keys()
        .filter(|p| p.domain == wanted.domain)
        .map(ToString::to_string)
        .take(5)
        .collect();
    if same_domain.is_empty() {
        format!("no product is declared in domain `{}`", wanted.domain)
    } else {
        format!(
            "products of domain `{}` include {}",
            wanted.domain,
            same_domain.join(", ")
        )
    }
}

/// Parses `<domain>.<product>@<version>`.
fn parse_consume_ref(cx: &mut Cx, file: &Path, s: &S<String>) -> Option<(ProductId, u32)> {
    let parsed = s.value.split_once('@').and_then(|(id, v)| {
        let id = ProductId::parse(id)?;
        let v: u32 = v.parse().ok().filter(|v| *v > 0)?;
        Some((id, v))
    });
    if parsed.is_none() {
        cx.error(
            file,
            s,
            format!("`{}` is not a product version reference", s.value),
            "write `<domain>.<product>@<version>`, e.g. podcasts.episodes@2",
        );
    }
    parsed
}
