//! Raw topology → validated model.
//!
//! Every rule of `spec/topology.md` lives here. Validation never stops at the
//! first problem: it collects every error (and every warning), each pointing at
//! the file, line and column of the value at fault, sorted by place. Nothing
//! downstream re-checks these rules; it relies on them.

mod grants;
pub(crate) mod v1;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::model::load::RawInput;
use crate::model::raw::{RawColumn, RawTeam, S};
use crate::model::{
    is_ident, is_name, Access, AccessGroup, AccessMode, Account, AccountId, Classification, Column, Consume,
    Diagnostic, Domain, Environment, IdentityCenter, Loc, Org, Product, ProductId, ServiceRole, Slo, Table, Team,
    Topology, Version, VersionStatus,
};

#[path = "validate_catalog.rs"]
mod catalog;
mod owners;

/// The outcome of validation: the model and its warnings, or every error.
pub type Validated = Result<(Topology, Vec<Diagnostic>), Vec<Diagnostic>>;

/// Collects diagnostics while walking the raw input.
struct Cx {
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

/// The validated team a raw team of `file` became, or `None` when it did not (a duplicate name
/// declared elsewhere, or a team that failed validation): later passes skip such teams.
fn file_owner<'a>(teams: &'a BTreeMap<String, Team>, file: &Path, t: &RawTeam) -> Option<&'a Team> {
    teams
        .get(&t.name.value)
        .filter(|o| o.loc.file == file && o.loc.line == t.name.line.max(1))
}

fn loc<T>(file: &Path, s: &S<T>) -> Loc {
    Loc {
        file: file.to_owned(),
        line: s.line.max(1),
        col: s.col.max(1),
    }
}

impl Cx {
    fn error<T>(&mut self, file: &Path, at: &S<T>, message: impl Into<String>, hint: impl Into<String>) {
        let hint = hint.into();
        self.errors.push(Diagnostic {
            loc: loc(file, at),
            message: message.into(),
            hint: (!hint.is_empty()).then_some(hint),
        });
    }

    fn warn<T>(&mut self, file: &Path, at: &S<T>, message: impl Into<String>, hint: impl Into<String>) {
        let hint = hint.into();
        self.warnings.push(Diagnostic {
            loc: loc(file, at),
            message: message.into(),
            hint: (!hint.is_empty()).then_some(hint),
        });
    }

    /// Checks a `[a-z0-9-]` name; returns it when it is one.
    fn name(&mut self, file: &Path, s: &S<String>, what: &str) -> bool {
        if is_name(&s.value) {
            true
        } else {
            self.error(
                file,
                s,
                format!("{what} `{}` is not a valid name", s.value),
                "use lowercase letters, digits and `-`, at most 63 characters, not starting or ending with `-`",
            );
            false
        }
    }

    fn account_id(&mut self, file: &Path, s: &S<String>) -> Option<AccountId> {
        let id = AccountId::parse(&s.value);
        if id.is_none() {
            self.error(
                file,
                s,
                format!("`{}` is not an AWS account id", s.value),
                "write the 12 digits as a quoted string, e.g. \"012345678901\"",
            );
        }
        id
    }
}

const ENVIRONMENTS: &str = "prod, staging, dev or sandbox";

/// Validates a topology as read by `model::load`.
pub fn validate(input: RawInput) -> Validated {
    validate_ref(&input)
}

/// Validates a topology without taking it: the caller decides when (and on
/// which thread) the large raw input is freed.
pub fn validate_ref(input: &RawInput) -> Validated {
    let mut cx = Cx {
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let RawInput {
        org_file,
        top,
        teams: raw_teams,
    } = input;
    let of = org_file.as_path();

    match top.version.value {
        2 => {}
        1 => return Err(v1::refuse(input)),
        other => cx.error(
            of,
            &top.version,
            format!("unsupported topology version `{other}`"),
            "this meshsynth reads `version: 2`",
        ),
    }

    let org = validate_org(&mut cx, of, &top.org);

    // Domains.
    let mut domains = BTreeMap::new();
    for d in &top.domains {
        let d = &d.value;
        if !cx.name(of, &d.name, "domain") {
            continue;
        }
        if domains.contains_key(&d.name.value) {
            cx.error(
                of,
                &d.name,
                format!("domain `{}` is declared twice", d.name.value),
                "remove one of them",
            );
            continue;
        }
        domains.insert(
            d.name.value.clone(),
            Domain {
                name: d.name.value.clone(),
                description: d.description.as_ref().map(|s| s.value.clone()),
            },
        );
    }

    // Every product id that some team declares, valid or not: a reference to one
    // that failed validation is not reported again (its own error says why).
    let declared: BTreeSet<ProductId> = raw_teams
        .iter()
        .flat_map(|(_, t)| {
            let domain = t.value.domain.value.clone();
            t.value.products.iter().map(move |p| ProductId {
                domain: domain.clone(),
                name: p.value.name.value.clone(),
            })
        })
        .collect();

    // Teams and their accounts.
    let mut teams: BTreeMap<String, Team> = BTreeMap::new();
    let mut accounts: BTreeMap<AccountId, Account> = BTreeMap::new();
    let mut account_loc: BTreeMap<AccountId, Loc> = BTreeMap::new();
    for (file, team) in raw_teams {
        let t = &team.value;
        let file = file.as_path();
        if !cx.name(file, &t.name, "team") {
            continue;
        }
        if let Some(other) = teams.get(&t.name.value) {
            let other = other.loc.clone();
            cx.error(
                file,
                &t.name,
                format!("team `{}` is declared twice, also at {other}", t.name.value),
                "team names are unique across the org",
            );
            continue;
        }
        if !domains.contains_key(&t.domain.value) {
            cx.error(
                file,
                &t.domain,
                format!(
                    "team `{}` names domain `{}`, which is not declared",
                    t.name.value, t.domain.value
                ),
                "declare it under `domains` in org.yaml, or fix the spelling",
            );
        }
        for w in [&t.steward, &t.contact].into_iter().flatten() {
            if w.value.trim().is_empty() {
                cx.error(
                    file,
                    w,
                    "empty steward or contact",
                    "name a person or channel, or leave the key out",
                );
            }
        }
        let mut owned = BTreeSet::new();
        for a in &t.accounts {
            let a = &a.value;
            let Some(id) = cx.account_id(file, &a.id) else {
                continue;
            };
            if let Some(prev) = account_loc.get(&id) {
                let owner = accounts.get(&id).map(|a| a.team.clone()).unwrap_or_default();
                cx.error(
                    file,
                    &a.id,
                    format!("account `{id}` is already declared by team `{owner}` at {prev}"),
                    "one account belongs to one team",
                );
                continue;
            }
            if a.name.value.trim().is_empty() {
                cx.error(
                    file,
                    &a.name,
                    "account name is empty",
                    "give the account its AWS account name",
                );
            }
            let environment = match a.environment.value.as_str() {
                "prod" => Environment::Prod,
                "staging" => Environment::Staging,
                "dev" => Environment::Dev,
                "sandbox" => Environment::Sandbox,
                other => {
                    cx.error(
                        file,
                        &a.environment,
                        format!("unknown environment `{other}`"),
                        format!("use {ENVIRONMENTS}"),
                    );
                    // Still owned by this team, so that references to it are not reported too.
                    Environment::Dev
                }
            };
            account_loc.insert(id.clone(), loc(file, &a.id));
            accounts.insert(
                id.clone(),
                Account {
                    id: id.clone(),
                    name: a.name.value.clone(),
                    environment,
                    team: t.name.value.clone(),
                },
            );
            owned.insert(id);
        }
        teams.insert(
            t.name.value.clone(),
            Team {
                name: t.name.value.clone(),
                domain: t.domain.value.clone(),
                steward: t.steward.as_ref().map(|s| s.value.clone()),
                contact: t.contact.as_ref().map(|s| s.value.clone()),
                owners: owners::validate_owners(&mut cx, file, t.owners.as_ref()),
                accounts: owned,
                loc: loc(file, &t.name),
                alerts: catalog::alerts(&mut cx, file, t.alerts.as_ref()),
            },
        );
    }

    // Products.
    let mut products: BTreeMap<ProductId, Product> = BTreeMap::new();
    let mut product_loc: BTreeMap<ProductId, Loc> = BTreeMap::new();
    for (file, team) in raw_teams {
        let t = &team.value;
        let Some(owner) = file_owner(&teams, file, t) else {
            continue;
        };
        let owner = owner.clone();
        for p in &t.products {
            if let Some((id, product)) = validate_product(&mut cx, file, &owner, org.as_ref(), &p.value) {
                if let Some(prev) = product_loc.get(&id) {
                    cx.error(
                        file,
                        &p.value.name,
                        format!("product `{id}` is declared twice, also at {prev}"),
                        "product ids `<domain>.<name>` are unique across the org",
                    );
                    continue;
                }
                product_loc.insert(id.clone(), loc(file, &p.value.name));
                products.insert(id, product);
            }
        }
    }

    // Logical ids derive from names with separators dropped; two products must not share one.
    let mut camel_ids: BTreeMap<String, ProductId> = BTreeMap::new();
    for id in products.keys() {
        if let Some(first) = camel_ids.get(&id.camel()) {
            if let Some(l) = product_loc.get(id) {
                cx.errors.push(Diagnostic {
                    loc: l.clone(),
                    message: format!("product `{id}` would share CloudFormation logical ids with `{first}`"),
                    hint: Some("rename one of them: names that differ only in `-` or `_` collide".to_owned()),
                });
            }
        } else {
            camel_ids.insert(id.camel(), id.clone());
        }
    }

    // Consume entries look products up 200,000 times in a large org: a hash index
    // (lookups only; it never reaches output) is much cheaper than the ordered map.
    // Its numbers follow the map's order, so sorting by them sorts by product id.
    let product_index: HashMap<&ProductId, (u32, &Product)> = products
        .values()
        .enumerate()
        .map(|(i, p)| (&p.id, (u32::try_from(i).unwrap_or(u32::MAX), p)))
        .collect();

    // IAM cannot hide a column: in access mode iam, sensitive columns need a restricted product.
    if org.as_ref().is_some_and(|o| o.access_mode == AccessMode::Iam) {
        for p in products.values().filter(|p| p.classification == Classification::Open) {
            let sensitive = p
                .versions
                .values()
                .flat_map(|v| &v.tables)
                .flat_map(|t| {
                    t.columns
                        .iter()
                        .filter(|c| c.sensitive)
                        .map(move |c| format!("{}.{}", t.name, c.name))
                })
                .next();
            if let (Some(col), Some(l)) = (sensitive, product_loc.get(&p.id)) {
                cx.errors.push(Diagnostic {
                    loc: l.clone(),
                    message: format!(
                        "open product `{}` has a sensitive column (`{col}`), which access mode iam cannot hide",
                        p.id
                    ),
                    hint: Some(
                        "make the product `classification: restricted`, or set `org.access_mode: lakeformation` so org-wide grants leave sensitive columns out".into(),
                    ),
                });
            }
        }
    }

    // Restricted products need a steward to approve access.
    for p in products.values() {
        if p.classification == Classification::Restricted {
            if let Some(team) = teams.get(&p.team) {
                if team.steward.is_none() {
                    if let Some(l) = product_loc.get(&p.id) {
                        cx.errors.push(Diagnostic {
                            loc: l.clone(),
                            message: format!(
                                "restricted product `{}` belongs to team `{}`, which has no steward",
                                p.id, p.team
                            ),
                            hint: Some(
                                "add `steward:` to the team: the steward approves access to restricted data".into(),
                            ),
                        });
                    }
                }
            }
        }
    }

    // Consumes and service roles.
    let mut consumes = Vec::new();
    let mut service_roles = Vec::new();
    for (file, team) in raw_teams {
        let t = &team.value;
        let Some(owner) = file_owner(&teams, file, t) else {
            continue;
        };
        let owner = owner.clone();
        for c in &t.consumes {
            let c = &c.value;
            let Some((pid, version)) = parse_consume_ref(&mut cx, file, &c.product) else {
                continue;
            };
            let Some(account) = cx.account_id(file, &c.account) else {
                continue;
            };
            let mut ok = true;
            if !owner.accounts.contains(&account) {
                cx.error(
                    file,
                    &c.account,
                    format!(
                        "team `{}` consumes through account `{account}`, which it does not own",
                        owner.name
                    ),
                    owned_hint(&owner),
                );
                ok = false;
            }
            let Some(&(_, product)) = product_index.get(&pid) else {
                if declared.contains(&pid) {
                    continue;
                }
                cx.error(
                    file,
                    &c.product,
                    format!("consumed product `{pid}` does not exist"),
                    closest_product(&products, &pid),
                );
                continue;
            };
            let Some(v) = product.versions.get(&version) else {
                let known: Vec<String> = product.versions.keys().map(|v| format!("@{v}")).collect();
                cx.error(
                    file,
                    &c.product,
                    format!("product `{pid}` has no version {version}"),
                    format!("its versions are {}", known.join(", ")),
                );
                continue;
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
                    let producer = teams.get(&product.team);
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
                // Format v2 moved approval to the producer: a consumer cannot approve itself.
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
                    a,
                    "`approved_by` on a consume entry is not format v2: a consumer cannot approve its own access",
                    format!(
                        "remove it, and ask {steward} to add a grant for account `{account}` to `{pid}` in {producer_file}"
                    ),
                );
            }
            if ok {
                consumes.push(Consume {
                    team: owner.name.clone(),
                    account,
                    product: pid,
                    version,
                    purpose: c.purpose.as_ref().map(|p| p.value.clone()),
                    loc: loc(file, &c.product),
                });
            }
        }
    }
    // Sorted, a duplicate consume entry sits right after the one it repeats.
    // Entries are pushed in file and line order, and the sort is stable, so the
    // first of two duplicates is the one written first. Integer keys keep the
    // sort cheap; they order exactly as (account id, product id, version).
    consumes.sort_by_cached_key(|c| {
        (
            c.account.as_str().parse::<u64>().unwrap_or(u64::MAX),
            product_index.get(&c.product).map_or(u32::MAX, |(i, _)| *i),
            c.version,
        )
    });
    for pair in consumes.windows(2) {
        let (first, dup) = (&pair[0], &pair[1]);
        if (&first.account, &first.product, first.version) == (&dup.account, &dup.product, dup.version) {
            cx.errors.push(Diagnostic {
                loc: dup.loc.clone(),
                message: format!(
                    "account `{}` already consumes `{}@{}` at {}",
                    dup.account, dup.product, dup.version, first.loc
                ),
                hint: Some("remove the duplicate entry".to_owned()),
            });
        }
    }
    // Service roles need the consumes of every team (a role's products must be consumed by its account).
    let consumed: BTreeSet<(&AccountId, &ProductId)> = consumes.iter().map(|c| (&c.account, &c.product)).collect();
    let mut seen_roles: BTreeMap<(AccountId, String), Loc> = BTreeMap::new();
    for (file, team) in raw_teams {
        let t = &team.value;
        let Some(owner) = file_owner(&teams, file, t) else {
            continue;
        };
        let owner = owner.clone();
        validate_service_roles(
            &mut cx,
            file,
            &owner,
            t,
            (&products, &declared),
            &consumed,
            &mut seen_roles,
            &mut service_roles,
        );
    }

    // Access groups (they name products, so they come last).
    let mut access_groups = BTreeMap::new();
    for g in &top.access_groups {
        let g = &g.value;
        if !cx.name(of, &g.name, "access group") {
            continue;
        }
        if access_groups.contains_key(&g.name.value) {
            cx.error(
                of,
                &g.name,
                format!("access group `{}` is declared twice", g.name.value),
                "remove one of them",
            );
            continue;
        }
        if g.group_id.value.trim().is_empty() {
            cx.error(
                of,
                &g.group_id,
                "`group_id` is empty",
                "copy the group's id from the Identity Center identity store",
            );
        }
        let Some(access) = parse_access(&mut cx, of, &g.access) else {
            continue;
        };
        let listed = check_product_list(
            &mut cx,
            of,
            access,
            g.products.as_ref(),
            &products,
            &declared,
            "access group",
        );
        access_groups.insert(
            g.name.value.clone(),
            AccessGroup {
                name: g.name.value.clone(),
                group_id: g.group_id.value.clone(),
                access,
                products: listed,
                loc: loc(of, &g.name),
            },
        );
    }
    if !access_groups.is_empty() {
        if let Some(org) = &org {
            if org.identity_center.is_none() {
                cx.error(
                    of,
                    &top.org,
                    "access groups are declared but `org.identity_center` is not",
                    "add `identity_center: { instance_arn, identity_store_id }` so permission sets can be assigned",
                );
            }
        }
    }

    // Accounts with special roles hold no products.
    if let Some(org) = &org {
        for p in products.values() {
            let role = if p.account == org.management_account {
                Some("management")
            } else if p.account == org.central_account {
                Some("central")
            } else {
                None
            };
            if let (Some(role), Some(l)) = (role, product_loc.get(&p.id)) {
                cx.errors.push(Diagnostic {
                    loc: l.clone(),
                    message: format!("product `{}` lives in the {role} account `{}`", p.id, p.account),
                    hint: Some(format!(
                        "the {role} account holds no products; publish from one of the team's other accounts"
                    )),
                });
            }
        }
        if org.management_account == org.central_account {
            cx.error(
                of,
                &top.org.value.central_account,
                "the central account is also the management account",
                "keep Identity Center (management) and the data platform (central) in separate accounts",
            );
        }
    }

    // Grants name accounts, roles and access groups: they come after all of those.
    let today = crate::model::date::Date::today();
    grants::validate(
        &mut cx,
        raw_teams,
        &teams,
        &mut products,
        (&accounts, &service_roles, &access_groups),
    );

    match org {
        Some(org) if cx.errors.is_empty() => {
            service_roles.sort_by(|a: &ServiceRole, b| (&a.account, &a.name).cmp(&(&b.account, &b.name)));
            let topology = Topology {
                org,
                domains,
                access_groups,
                teams,
                accounts,
                products,
                consumes,
                service_roles,
                today,
            };
            grants::warn(&mut cx, &topology);
            cx.warnings.sort();
            cx.warnings.dedup();
            Ok((topology, cx.warnings))
        }
        _ => {
            cx.errors.sort();
            cx.errors.dedup();
            Err(cx.errors)
        }
    }
}

fn owned_hint(team: &Team) -> String {
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

fn closest_product(products: &BTreeMap<ProductId, Product>, wanted: &ProductId) -> String {
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

fn parse_access(cx: &mut Cx, file: &Path, s: &S<String>) -> Option<Access> {
    match s.value.as_str() {
        "open" => Some(Access::Open),
        "restricted" => Some(Access::Restricted),
        other => {
            cx.error(file, s, format!("unknown access `{other}`"), "use open or restricted");
            None
        }
    }
}

/// Checks the `products` list of an access group or service role against its access level.
fn check_product_list(
    cx: &mut Cx,
    file: &Path,
    access: Access,
    list: Option<&S<Vec<S<String>>>>,
    products: &BTreeMap<ProductId, Product>,
    declared: &BTreeSet<ProductId>,
    what: &str,
) -> BTreeSet<ProductId> {
    let mut out = BTreeSet::new();
    match (access, list) {
        (Access::Open, Some(list)) if !list.value.is_empty() => {
            cx.error(
                file,
                list,
                format!("an open {what} lists no products (it reads every open product)"),
                "remove `products`, or make it `access: restricted`",
            );
        }
        (Access::Restricted, None) => {}
        (Access::Restricted, Some(list)) if list.value.is_empty() => {}
        (Access::Open, _) => return out,
        (Access::Restricted, Some(list)) => {
            for item in &list.value {
                let Some(id) = ProductId::parse(&item.value) else {
                    cx.error(
                        file,
                        item,
                        format!("`{}` is not a product id", item.value),
                        "write `<domain>.<product>`, e.g. finance.payouts",
                    );
                    continue;
                };
                if !products.contains_key(&id) {
                    if !declared.contains(&id) {
                        cx.error(
                            file,
                            item,
                            format!("product `{id}` does not exist"),
                            closest_product(products, &id),
                        );
                    }
                    continue;
                }
                if !out.insert(id.clone()) {
                    cx.error(
                        file,
                        item,
                        format!("product `{id}` is listed twice"),
                        "remove the duplicate",
                    );
                }
            }
            return out;
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn validate_service_roles(
    cx: &mut Cx,
    file: &Path,
    owner: &Team,
    t: &RawTeam,
    (products, declared): (&BTreeMap<ProductId, Product>, &BTreeSet<ProductId>),
    consumed: &BTreeSet<(&AccountId, &ProductId)>,
    seen: &mut BTreeMap<(AccountId, String), Loc>,
    out: &mut Vec<ServiceRole>,
) {
    for r in &t.service_roles {
        let r = &r.value;
        if !is_role_name(&r.name.value) {
            cx.error(
                file,
                &r.name,
                format!("service role `{}` is not a valid IAM role name", r.name.value),
                "use letters, digits and `+=,.@_-`, at most 64 characters",
            );
            continue;
        }
        let Some(account) = cx.account_id(file, &r.account) else {
            continue;
        };
        if !owner.accounts.contains(&account) {
            cx.error(
                file,
                &r.account,
                format!(
                    "service role `{}` is in account `{account}`, which team `{}` does not own",
                    r.name.value, owner.name
                ),
                owned_hint(owner),
            );
            continue;
        }
        let Some(access) = parse_access(cx, file, &r.access) else {
            continue;
        };
        if access == Access::Restricted && r.products.as_ref().is_none_or(|l| l.value.is_empty()) {
            cx.error(
                file,
                &r.access,
                format!("restricted service role `{}` lists no products", r.name.value),
                "list the restricted products it reads, or make it `access: open`",
            );
            continue;
        }
        let listed = check_product_list(
            cx,
            file,
            access,
            r.products.as_ref(),
            products,
            declared,
            "service role",
        );
        if let Some(list) = &r.products {
            for item in &list.value {
                let Some(id) = ProductId::parse(&item.value) else {
                    continue;
                };
                if listed.contains(&id) && !consumed.contains(&(&account, &id)) {
                    cx.error(
                        file,
                        item,
                        format!(
                            "service role `{}` reads `{id}`, but account `{account}` does not consume it",
                            r.name.value
                        ),
                        format!("add a consume of `{id}@<version>` by account `{account}`"),
                    );
                }
            }
        }
        let key = (account.clone(), r.name.value.clone());
        if let Some(prev) = seen.get(&key) {
            cx.error(
                file,
                &r.name,
                format!(
                    "service role `{}` is declared twice in account `{account}` (also at {prev})",
                    r.name.value
                ),
                "role names are unique within an account",
            );
            continue;
        }
        let path = match &r.path {
            None => "/".to_owned(),
            Some(p) if is_role_path(&p.value) => p.value.clone(),
            Some(p) => {
                cx.error(
                    file,
                    p,
                    format!("`{}` is not an IAM path", p.value),
                    "write `/` or `/name/…/`: letters, digits and `+=,.@_-` between slashes, at most 512 characters",
                );
                continue;
            }
        };
        seen.insert(key, loc(file, &r.name));
        out.push(ServiceRole {
            team: owner.name.clone(),
            name: r.name.value.clone(),
            path,
            account,
            access,
            products: listed,
            loc: loc(file, &r.name),
        });
    }
}

/// An IAM path: `/`, or `/a/b/` with role-name characters between the slashes.
fn is_role_path(s: &str) -> bool {
    s.len() <= 512
        && s.starts_with('/')
        && s.ends_with('/')
        && s.split('/').all(|seg| {
            seg.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
        })
        && (s == "/" || !s.contains("//"))
}

fn is_role_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
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

fn validate_org(cx: &mut Cx, of: &Path, org: &S<crate::model::raw::RawOrg>) -> Option<Org> {
    let o = &org.value;
    let mut ok = cx.name(of, &o.name, "org name");
    let valid_org_id = o.organization_id.value.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if !valid_org_id {
        cx.error(
            of,
            &o.organization_id,
            format!("`{}` is not an AWS Organizations id", o.organization_id.value),
            "it looks like o-a1b2c3d4e5; see `aws organizations describe-organization`",
        );
        ok = false;
    }
    let management = cx.account_id(of, &o.management_account);
    let central = cx.account_id(of, &o.central_account);
    if !is_region(&o.region.value) {
        cx.error(
            of,
            &o.region,
            format!("`{}` is not an AWS region", o.region.value),
            "e.g. eu-west-1",
        );
        ok = false;
    }
    // The staging bucket has the longest bucket name, and it must fit S3's limit.
    if ok && o.name.value.len() > crate::model::physical::max_org_name_len(&o.region.value) {
        cx.error(
            of,
            &o.name,
            format!(
                "org name `{}` is too long for S3 bucket names in {}",
                o.name.value, o.region.value
            ),
            format!(
                "use at most {} characters",
                crate::model::physical::max_org_name_len(&o.region.value)
            ),
        );
        ok = false;
    }
    let deploy_role = match &o.deploy_role {
        Some(r) if !is_role_name(&r.value) => {
            cx.error(
                of,
                r,
                format!("`{}` is not an IAM role name", r.value),
                "e.g. OrganizationAccountAccessRole",
            );
            ok = false;
            String::new()
        }
        Some(r) => r.value.clone(),
        None => "OrganizationAccountAccessRole".to_owned(),
    };
    let access_mode = match o.access_mode.as_ref().map(|m| m.value.as_str()) {
        None | Some("iam") => AccessMode::Iam,
        Some("lakeformation") => AccessMode::LakeFormation,
        Some(other) => {
            if let Some(m) = &o.access_mode {
                cx.error(
                    of,
                    m,
                    format!("unknown access mode `{other}`"),
                    "use iam or lakeformation",
                );
            }
            ok = false;
            AccessMode::Iam
        }
    };
    let identity_center = o.identity_center.as_ref().map(|ic| {
        let ic = &ic.value;
        if !ic.instance_arn.value.starts_with("arn:aws:sso:::instance/ssoins-") {
            cx.error(
                of,
                &ic.instance_arn,
                format!("`{}` is not an Identity Center instance ARN", ic.instance_arn.value),
                "it looks like arn:aws:sso:::instance/ssoins-0123456789abcdef",
            );
        }
        if !ic.identity_store_id.value.starts_with("d-") || ic.identity_store_id.value.len() < 4 {
            cx.error(
                of,
                &ic.identity_store_id,
                format!("`{}` is not an identity store id", ic.identity_store_id.value),
                "it looks like d-0123456789",
            );
        }
        IdentityCenter {
            instance_arn: ic.instance_arn.value.clone(),
            identity_store_id: ic.identity_store_id.value.clone(),
        }
    });
    let owners = owners::validate_owners(cx, of, o.owners.as_ref());
    let mut tags = BTreeMap::new();
    if let Some(t) = &o.tags {
        for (k, v) in &t.value {
            let valid = !k.is_empty() && k.len() <= 128 && v.len() <= 256 && !k.starts_with("aws:");
            if !valid {
                cx.error(
                    of,
                    t,
                    format!("tag `{k}` is not a valid AWS tag"),
                    "keys are 1-128 characters and may not start with `aws:`; values at most 256",
                );
            }
            tags.insert(k.clone(), v.clone());
        }
    }
    let query_results_days = match &o.query_results_days {
        None => 30,
        Some(d) => match u32::try_from(d.value).ok().filter(|d| (1..=3650).contains(d)) {
            Some(d) => d,
            None => {
                cx.error(
                    of,
                    d,
                    format!("`query_results_days: {}` is out of range", d.value),
                    "give a number of days from 1 to 3650; the default is 30",
                );
                ok = false;
                30
            }
        },
    };
    let mut data_lake_admins = Vec::new();
    for r in o.data_lake_admins.iter().flat_map(|l| &l.value) {
        if is_role_name(&r.value) {
            data_lake_admins.push(r.value.clone());
        } else {
            cx.error(
                of,
                r,
                format!("`{}` is not an IAM role name", r.value),
                "name a role that exists in every account, e.g. DataLakeAdmin",
            );
            ok = false;
        }
    }
    let (Some(management_account), Some(central_account)) = (management, central) else {
        return None;
    };
    ok.then(|| Org {
        name: o.name.value.clone(),
        organization_id: o.organization_id.value.clone(),
        management_account,
        central_account,
        region: o.region.value.clone(),
        deploy_role,
        access_mode,
        identity_center,
        owners,
        tags,
        query_results_days,
        data_lake_admins,
        access_logs: o.access_logs.as_ref().is_none_or(|a| a.value),
    })
}

fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.len() <= 4
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok()
}

fn validate_product(
    cx: &mut Cx,
    file: &Path,
    owner: &Team,
    org: Option<&Org>,
    p: &crate::model::raw::RawProduct,
) -> Option<(ProductId, Product)> {
    let _ = org;
    if !cx.name(file, &p.name, "product") {
        return None;
    }
    let id = ProductId {
        domain: owner.domain.clone(),
        name: p.name.value.clone(),
    };
    let account = cx.account_id(file, &p.account)?;
    let mut ok = true;
    if !owner.accounts.contains(&account) {
        cx.error(
            file,
            &p.account,
            format!(
                "product `{id}` is published from account `{account}`, which team `{}` does not own",
                owner.name
            ),
            owned_hint(owner),
        );
        ok = false;
    }
    let classification = match p.classification.value.as_str() {
        "open" => Classification::Open,
        "restricted" => Classification::Restricted,
        other => {
            cx.error(
                file,
                &p.classification,
                format!("unknown classification `{other}`"),
                "use open or restricted",
            );
            return None;
        }
    };
    if owner.contact.is_none() {
        cx.error(
            file,
            &p.name,
            format!("product `{id}` belongs to team `{}`, which has no contact", owner.name),
            "add `contact:` to the team: consumers are notified there when versions change",
        );
    }
    let slo = p.slo.as_ref().map(|slo| {
        let s = &slo.value;
        if let Some(f) = &s.freshness {
            if !matches!(f.value.as_str(), "hourly" | "daily" | "weekly") {
                cx.error(
                    file,
                    f,
                    format!("unknown freshness `{}`", f.value),
                    "use hourly, daily or weekly",
                );
            }
        }
        if let Some(a) = &s.available_by {
            if !is_time_of_day(&a.value) {
                cx.error(
                    file,
                    a,
                    format!("`{}` is not a time of day", a.value),
                    "write HH:MMZ in UTC, e.g. \"06:00Z\"",
                );
            }
        }
        Slo {
            freshness: s.freshness.as_ref().map(|f| f.value.clone()),
            available_by: s.available_by.as_ref().map(|a| a.value.clone()),
        }
    });
    let mut versions = BTreeMap::new();
    for v in &p.versions.value {
        let v = &v.value;
        let number = match u32::try_from(v.version.value) {
            Ok(n) if (1..=9999).contains(&n) => n,
            _ => {
                cx.error(
                    file,
                    &v.version,
                    format!("version `{}` of `{id}` is not a positive integer", v.version.value),
                    "versions are numbered 1, 2, 3, … up to 9999",
                );
                ok = false;
                continue;
            }
        };
        if versions.contains_key(&number) {
            cx.error(
                file,
                &v.version,
                format!("version {number} of `{id}` is declared twice"),
                "each version number appears once; add a new number for a new version",
            );
            ok = false;
            continue;
        }
        let status = match v.status.value.as_str() {
            "active" => VersionStatus::Active,
            "deprecated" => VersionStatus::Deprecated,
            "retired" => VersionStatus::Retired,
            other => {
                cx.error(
                    file,
                    &v.status,
                    format!("unknown version status `{other}`"),
                    "use active, deprecated or retired",
                );
                ok = false;
                continue;
            }
        };
        let tables = validate_tables(cx, file, &id, number, status, &v.tables);
        versions.insert(number, Version { number, status, tables });
    }
    if p.versions.value.is_empty() {
        cx.error(
            file,
            &p.versions,
            format!("product `{id}` has no versions"),
            "declare at least one `active` version",
        );
        ok = false;
    } else if ok && !versions.values().any(|v| v.status == VersionStatus::Active) {
        cx.error(
            file,
            &p.versions,
            format!("product `{id}` has no active version"),
            "mark the current version `status: active`",
        );
        ok = false;
    }
    ok.then(|| {
        (
            id.clone(),
            Product {
                id,
                team: owner.name.clone(),
                account,
                classification,
                description: p.description.as_ref().map(|d| d.value.clone()),
                slo,
                versions,
                grants: Vec::new(),
            },
        )
    })
}

fn is_time_of_day(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 6
        && b[2] == b':'
        && b[5] == b'Z'
        && s[0..2].parse::<u8>().is_ok_and(|h| h < 24)
        && s[3..5].parse::<u8>().is_ok_and(|m| m < 60)
        && b[0..2].iter().chain(&b[3..5]).all(u8::is_ascii_digit)
}

fn validate_tables(
    cx: &mut Cx,
    file: &Path,
    id: &ProductId,
    version: u32,
    status: VersionStatus,
    tables: &[S<crate::model::raw::RawTable>],
) -> Vec<Table> {
    let mut out: Vec<Table> = Vec::new();
    let mut names = BTreeSet::new();
    let mut camels = BTreeSet::new();
    for t in tables {
        let t = &t.value;
        if !is_ident(&t.name.value) {
            cx.error(
                file,
                &t.name,
                format!("table `{}` is not a valid name", t.name.value),
                "use lowercase letters, digits and `_`",
            );
            continue;
        }
        if !camels.insert(crate::model::camel(&t.name.value)) && !names.contains(&t.name.value) {
            cx.error(
                file,
                &t.name,
                format!(
                    "table `{}` would share a CloudFormation logical id with another table of `{id}@{version}`",
                    t.name.value
                ),
                "rename it: names that differ only in `_` collide",
            );
            continue;
        }
        if !names.insert(t.name.value.clone()) {
            cx.error(
                file,
                &t.name,
                format!("table `{}` appears twice in `{id}@{version}`", t.name.value),
                "table names are unique within a version",
            );
            continue;
        }
        if t.columns.is_empty() && status != VersionStatus::Retired {
            cx.error(
                file,
                &t.name,
                format!("table `{}` has no columns", t.name.value),
                "declare its `columns`",
            );
        }
        let mut cols = BTreeSet::new();
        let mut check = |c: &RawColumn, key: bool, cx: &mut Cx| -> Option<Column> {
            if !is_ident(&c.name.value) {
                cx.error(
                    file,
                    &c.name,
                    format!("column `{}` is not a valid name", c.name.value),
                    "use lowercase letters, digits and `_`",
                );
                return None;
            }
            if !cols.insert(c.name.value.clone()) {
                cx.error(
                    file,
                    &c.name,
                    format!("column `{}` appears twice in table `{}`", c.name.value, t.name.value),
                    "column and partition key names are unique within a table",
                );
                return None;
            }
            match crate::model::types::normalise(&c.ty.value) {
                Ok(ty) => Some(Column {
                    projection: catalog::projection(cx, file, c, &ty, key),
                    name: c.name.value.clone(),
                    ty,
                    comment: c.comment.as_ref().map(|x| x.value.clone()),
                    sensitive: c.sensitive.as_ref().is_some_and(|s| s.value),
                }),
                Err(why) => {
                    cx.error(
                        file,
                        &c.ty,
                        format!("`{}` is not a Glue column type: {why}", c.ty.value),
                        "use string, boolean, tinyint, smallint, int, bigint, float, double, decimal(p,s), date, timestamp, binary, array<T>, map<K,V> or struct<a:T,...>",
                    );
                    None
                }
            }
        };
        let columns: Vec<Column> = t.columns.iter().filter_map(|c| check(&c.value, false, cx)).collect();
        let partition_keys: Vec<Column> = t
            .partition_keys
            .iter()
            .filter_map(|c| check(&c.value, true, cx))
            .collect();
        for k in &t.partition_keys {
            if let Some(s) = k.value.sensitive.as_ref().filter(|s| s.value) {
                cx.error(
                    file,
                    s,
                    format!("partition key `{}` is marked sensitive", k.value.name.value),
                    "partition keys name where data lives and every reader needs them; mark columns instead",
                );
            }
        }
        out.push(Table {
            name: t.name.value.clone(),
            description: t.description.as_ref().map(|d| d.value.clone()),
            columns,
            partition_keys,
        });
    }
    out
}

/// The file a diagnostic points at, for sorting and messages.
pub fn files_of(diags: &[Diagnostic]) -> BTreeSet<PathBuf> {
    diags.iter().map(|d| d.loc.file.clone()).collect()
}
