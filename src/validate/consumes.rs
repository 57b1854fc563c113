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

/// How consume entries sort: (account, product, version), as integers. Account ids are 12
/// digits, so their numbers order as their text does; product numbers follow the products'
/// map, so they order as product ids do.
type Key = (u64, u32, u32);

/// A chunk of valid entries in file and line order (each taken once), and their order by key.
type Chunk = (Vec<Option<Consume>>, Vec<(Key, u32)>);

impl Validator<'_> {
    /// Every team's consume entries, sorted by (account, product, version), then duplicates
    /// across them. Reads only: it runs beside the product passes (see `run`).
    pub(super) fn consumes(&self) -> (Vec<Consume>, Cx) {
        let input = self.input;
        let mut cx = Cx::default();
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
        // On every core: each chunk's valid entries in file and line order, and their order by
        // key (stable: of two duplicates, the one written first comes first).
        let checked = cx.check_all(&entries, 4096, |cx, &(file, owner, c)| {
            consume(cx, file, owner, c, &known)
        });
        let chunks: Vec<Chunk> = checked
            .into_par_iter()
            .map(|chunk| {
                let mut order = Vec::with_capacity(chunk.len());
                let items = chunk
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .map(|(i, (key, c))| {
                        order.push((key, u32::try_from(i).unwrap_or(u32::MAX)));
                        Some(c)
                    })
                    .collect();
                order.sort_by_key(|&(key, _)| key);
                (items, order)
            })
            .collect();
        let consumes = merge(chunks, |first, dup| {
            cx.errors.push(Diagnostic {
                loc: dup.loc.clone(),
                message: format!(
                    "account `{}` already consumes `{}@{}` at {}",
                    dup.account, dup.product, dup.version, first.loc
                ),
                hint: Some("remove the duplicate entry".to_owned()),
            });
        });
        (consumes, cx)
    }
}

/// The entries of every chunk in key order (ties in chunk order, so in file and line order):
/// one move of each entry, with `duplicate(first, repeat)` for each entry whose key the entry
/// before it has too.
fn merge(mut chunks: Vec<Chunk>, mut duplicate: impl FnMut(&Consume, &Consume)) -> Vec<Consume> {
    use std::cmp::Reverse;
    let mut all = Vec::with_capacity(chunks.iter().map(|(_, order)| order.len()).sum());
    // (next key, chunk, position in the chunk's order), smallest first.
    let mut heads: std::collections::BinaryHeap<Reverse<(Key, usize, usize)>> = chunks
        .iter()
        .enumerate()
        .filter_map(|(c, (_, order))| order.first().map(|&(key, _)| Reverse((key, c, 0))))
        .collect();
    let mut last: Option<Key> = None;
    while let Some(Reverse((key, c, at))) = heads.pop() {
        let (items, order) = &mut chunks[c];
        let item = usize::try_from(order[at].1)
            .ok()
            .and_then(|i| items.get_mut(i))
            .and_then(Option::take);
        if let Some(&(next, _)) = order.get(at + 1) {
            heads.push(Reverse((next, c, at + 1)));
        }
        let Some(item) = item else { continue };
        if last == Some(key) {
            if let Some(first) = all.last() {
                duplicate(first, &item);
            }
        }
        last = Some(key);
        all.push(item);
    }
    all
}

/// One consume entry of team `owner`, when it is valid.
fn consume(cx: &mut Cx, file: &Path, owner: &Team, c: &RawConsume, known: &Known<'_>) -> Option<(Key, Consume)> {
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
    let Some(&(number, product)) = known.index.get(&pid) else {
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
    let key = (account.as_str().parse().unwrap_or(u64::MAX), number, version);
    ok.then(|| {
        let consume = Consume {
            team: owner.name.clone(),
            account,
            product: pid,
            version,
            purpose: c.purpose.as_ref().map(|p| p.value.clone()),
            loc: loc(file, &c.product),
        };
        (key, consume)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Loc;

    fn entry(account: u64, product: u32, version: u32, line: u32) -> (Key, Consume) {
        let consume = Consume {
            team: "t".into(),
            account: AccountId::parse(&format!("{account:012}")).expect("12 digits"),
            product: ProductId {
                domain: "d".into(),
                name: format!("p{product}"),
            },
            version,
            purpose: None,
            loc: Loc {
                file: "t.yaml".into(),
                line,
                col: 1,
            },
        };
        ((account, product, version), consume)
    }

    fn chunk(entries: Vec<(Key, Consume)>) -> Chunk {
        let mut order: Vec<(Key, u32)> = entries.iter().zip(0..).map(|((k, _), i)| (*k, i)).collect();
        order.sort_by_key(|&(k, _)| k);
        (entries.into_iter().map(|(_, c)| Some(c)).collect(), order)
    }

    /// Chunks merge in key order; of equal keys the earlier chunk (file and line order) comes
    /// first, and each later one is reported against the one right before it.
    #[test]
    fn merge_sorts_across_chunks_and_finds_repeats() {
        let chunks = vec![
            chunk(vec![entry(2, 0, 1, 1), entry(1, 5, 2, 2), entry(1, 5, 1, 3)]),
            chunk(vec![entry(1, 5, 2, 4), entry(3, 0, 1, 5)]),
            chunk(vec![]),
            chunk(vec![entry(1, 5, 2, 6), entry(1, 0, 9, 7)]),
        ];
        let mut repeats = Vec::new();
        let merged = merge(chunks, |first, dup| repeats.push((first.loc.line, dup.loc.line)));
        let lines: Vec<u32> = merged.iter().map(|c| c.loc.line).collect();
        assert_eq!(lines, [7, 3, 2, 4, 6, 1, 5]);
        assert_eq!(repeats, [(2, 4), (4, 6)]);
    }
}
