//! Random valid orgs (format v2) for property tests, as proptest strategies that shrink.
//!
//! A generated [`OrgSpec`] is a tree of small choices (counts, `Index`es, masks)
//! and [`build`] turns it into an org section and team files that always
//! validate: choices that would be invalid (consuming one's own product or a
//! retired version, a duplicate consume, a grant role the account does not
//! declare) are dropped rather than rejected, so shrinking only ever removes
//! or simplifies. Restricted products get grants from their steward, to
//! consuming accounts and to the restricted access group `analysts`, some
//! narrowed to `roles` or `versions`, some expired or expiring relative to
//! [`TODAY`], and some requests get no grant at all (pending).
#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use meshsynth::model::Topology;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Value};

/// The day generated orgs are judged on (grant expiry).
pub const TODAY: &str = "2026-12-02";

const ENVIRONMENTS: [&str; 4] = ["prod", "staging", "dev", "sandbox"];

const STATUSES: [&str; 3] = ["active", "deprecated", "retired"];

const TYPES: &[&str] = &[
    "string",
    "int",
    "bigint",
    "double",
    "decimal(18,2)",
    "array<string>",
    "map<string,int>",
    "struct<a:int,b:string>",
    "timestamp",
    "boolean",
];

/// When a grant expires, relative to [`TODAY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Never,
    /// Already expired: the grant gives no access.
    Past,
    /// Within 30 days: live, with a warning.
    Soon,
    Later,
}

impl Expiry {
    fn date(self) -> Option<&'static str> {
        match self {
            Expiry::Never => None,
            Expiry::Past => Some("2026-11-01"),
            Expiry::Soon => Some("2026-12-20"),
            Expiry::Later => Some("2027-06-30"),
        }
    }
}

/// A steward's grant, before it knows what it may name.
#[derive(Debug, Clone)]
pub struct GrantSpec {
    /// Narrow to those of the account's restricted roles whose bit is set (none set: no `roles`).
    pub roles: Option<u8>,
    /// Narrow to the product's versions whose bit is set (none set: no `versions`).
    pub versions: Option<u8>,
    pub expiry: Expiry,
}

#[derive(Debug, Clone)]
pub struct VersionSpec {
    /// Index into active/deprecated/retired (the product's `active` one is always active).
    pub status: usize,
    pub columns: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct ProductSpec {
    pub account: Index,
    pub restricted: bool,
    pub versions: Vec<VersionSpec>,
    pub active: Index,
}

#[derive(Debug, Clone)]
pub struct ConsumeSpec {
    pub product: Index,
    pub account: Index,
    pub version: Index,
    /// The producer's grant to the consuming account (restricted products); `None`: pending.
    pub grant: Option<GrantSpec>,
}

#[derive(Debug, Clone)]
pub struct RoleSpec {
    pub account: Index,
    /// Lists those of the account's consumed restricted products whose bit is set.
    pub products: u8,
}

#[derive(Debug, Clone)]
pub struct TeamSpec {
    pub domain: Index,
    pub accounts: usize,
    pub products: Vec<ProductSpec>,
    pub consumes: Vec<ConsumeSpec>,
    pub restricted_roles: Vec<RoleSpec>,
}

#[derive(Debug, Clone)]
pub struct OrgSpec {
    pub domains: usize,
    pub teams: Vec<TeamSpec>,
    /// The group's grants, one per restricted product in turn (`None`: pending).
    pub group_grants: Vec<Option<GrantSpec>>,
}

fn grant_strategy() -> impl Strategy<Value = GrantSpec> {
    (
        option::weighted(0.3, any::<u8>()),
        option::weighted(0.3, any::<u8>()),
        prop_oneof![
            4 => Just(Expiry::Never),
            1 => Just(Expiry::Past),
            1 => Just(Expiry::Soon),
            1 => Just(Expiry::Later),
        ],
    )
        .prop_map(|(roles, versions, expiry)| GrantSpec {
            roles,
            versions,
            expiry,
        })
}

fn product_strategy() -> impl Strategy<Value = ProductSpec> {
    (
        any::<Index>(),
        prop::bool::weighted(0.4),
        vec(
            (0usize..3, vec(0..TYPES.len(), 1..4)).prop_map(|(status, columns)| VersionSpec { status, columns }),
            1..4,
        ),
        any::<Index>(),
    )
        .prop_map(|(account, restricted, versions, active)| ProductSpec {
            account,
            restricted,
            versions,
            active,
        })
}

fn team_strategy() -> impl Strategy<Value = TeamSpec> {
    (
        any::<Index>(),
        1usize..4,
        vec(product_strategy(), 0..4),
        vec(
            (
                any::<Index>(),
                any::<Index>(),
                any::<Index>(),
                option::weighted(0.75, grant_strategy()),
            )
                .prop_map(|(product, account, version, grant)| ConsumeSpec {
                    product,
                    account,
                    version,
                    grant,
                }),
            0..6,
        ),
        vec(
            (any::<Index>(), any::<u8>()).prop_map(|(account, products)| RoleSpec { account, products }),
            0..3,
        ),
    )
        .prop_map(|(domain, accounts, products, consumes, restricted_roles)| TeamSpec {
            domain,
            accounts,
            products,
            consumes,
            restricted_roles,
        })
}

/// Random orgs of up to `max_teams` teams.
pub fn org_strategy(max_teams: usize) -> impl Strategy<Value = OrgSpec> {
    (
        1usize..4,
        vec(team_strategy(), 1..max_teams.max(2)),
        vec(option::weighted(0.75, grant_strategy()), 1..4),
    )
        .prop_map(|(domains, teams, group_grants)| OrgSpec {
            domains,
            teams,
            group_grants,
        })
}

/// The items of `all` whose bit is set in `mask` (bit i for item i, cycling past 8).
fn pick<T: Clone>(all: &[T], mask: u8) -> Vec<T> {
    all.iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << (i % 8)) != 0)
        .map(|(_, x)| x.clone())
        .collect()
}

struct Built {
    account: String,
    id: String,
    /// (version number, status)
    versions: Vec<(u32, &'static str)>,
    restricted: bool,
    team: usize,
    index: usize,
}

fn grant_json(g: &GrantSpec, to: Value, steward: &str, versions: &[(u32, &str)], roles: &[String]) -> Value {
    let mut grant = to;
    grant["approved_by"] = json!(steward);
    if let Some(mask) = g.roles {
        let named = pick(roles, mask);
        if !named.is_empty() {
            grant["roles"] = json!(named);
        }
    }
    if let Some(mask) = g.versions {
        let numbers: Vec<u32> = versions.iter().map(|(v, _)| *v).collect();
        let named = pick(&numbers, mask);
        if !named.is_empty() {
            grant["versions"] = json!(named);
        }
    }
    if let Some(date) = g.expiry.date() {
        grant["expires"] = json!(date);
    }
    grant
}

/// The org: (org section without teams, team files, number of consume entries).
pub fn build(spec: &OrgSpec) -> (Value, Vec<Value>, usize) {
    let domains: Vec<String> = (0..spec.domains).map(|i| format!("dom-{i}")).collect();
    let mut teams = Vec::new();
    let mut products: Vec<Built> = Vec::new();
    let mut team_accounts: Vec<Vec<String>> = Vec::new();
    for (t, ts) in spec.teams.iter().enumerate() {
        let domain = ts.domain.get(&domains).clone();
        let mut accounts = Vec::new();
        if t == 0 {
            accounts.push("111111111111".to_owned());
            accounts.push("222222222222".to_owned());
        }
        for i in 0..ts.accounts {
            accounts.push(format!("{}", 300_000_000_000_u64 + 1_000 * t as u64 + i as u64));
        }
        let producing: Vec<String> = accounts
            .iter()
            .filter(|a| !a.starts_with("111") && !a.starts_with("222"))
            .cloned()
            .collect();
        let mut team_products = Vec::new();
        for (p, ps) in ts.products.iter().enumerate() {
            let account = ps.account.get(&producing).clone();
            let active = ps.active.index(ps.versions.len());
            let mut versions = Vec::new();
            let mut vs = Vec::new();
            for (v, vspec) in ps.versions.iter().enumerate() {
                let status = if v == active {
                    "active"
                } else {
                    STATUSES[vspec.status % 3]
                };
                let columns: Vec<Value> = vspec
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(c, ty)| json!({"name": format!("col_{c}"), "type": TYPES[*ty % TYPES.len()]}))
                    .collect();
                versions.push(json!({
                    "version": v + 1,
                    "status": status,
                    "tables": [{"name": format!("tab_{p}"), "columns": columns, "partition_keys": [{"name": "dt", "type": "date"}]}],
                }));
                vs.push((u32::try_from(v + 1).expect("small"), status));
            }
            let name = format!("prod-{t}-{p}");
            let classification = if ps.restricted { "restricted" } else { "open" };
            team_products.push(
                json!({"name": name, "account": account, "classification": classification, "versions": versions}),
            );
            products.push(Built {
                account,
                id: format!("{domain}.{name}"),
                versions: vs,
                restricted: ps.restricted,
                team: t,
                index: p,
            });
        }
        team_accounts.push(accounts.clone());
        teams.push(json!({
            "name": format!("team-{t}"),
            "domain": domain,
            "steward": format!("steward-{t}@example.com"),
            "contact": format!("#team-{t}"),
            "accounts": accounts.iter().enumerate().map(|(i, a)| json!({"id": a, "name": format!("acct-{t}-{i}"), "environment": ENVIRONMENTS[i % 4]})).collect::<Vec<_>>(),
            "products": team_products,
        }));
    }
    // Consumes: never the product's own account, never a retired version, no duplicates.
    let mut n_consumes = 0;
    let mut seen = BTreeSet::new();
    // (product index, consuming account) → the grant spec of its first consume that has one.
    let mut wanted: BTreeMap<(usize, String), GrantSpec> = BTreeMap::new();
    // Restricted service roles per account: (name, products listed).
    let mut restricted_roles: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (t, ts) in spec.teams.iter().enumerate() {
        let mut consumes = Vec::new();
        // Restricted products each account of this team consumes.
        let mut consumed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for cs in &ts.consumes {
            if products.is_empty() {
                break;
            }
            let pi = cs.product.index(products.len());
            let p = &products[pi];
            let account = cs.account.get(&team_accounts[t]).clone();
            let (v, status) = *cs.version.get(&p.versions);
            if account == p.account || status == "retired" || !seen.insert((account.clone(), p.id.clone(), v)) {
                continue;
            }
            consumes.push(json!({"product": format!("{}@{v}", p.id), "account": account, "purpose": "analysis"}));
            n_consumes += 1;
            if p.restricted {
                consumed.entry(account.clone()).or_default().insert(p.id.clone());
                if let Some(g) = &cs.grant {
                    wanted.entry((pi, account.clone())).or_insert_with(|| g.clone());
                }
            }
        }
        teams[t]["consumes"] = Value::Array(consumes);
        // Service roles: an open one, and restricted ones over this team's restricted consumes.
        let mut roles = vec![json!({"name": "etl-open", "account": team_accounts[t][0], "access": "open"})];
        for (k, rs) in ts.restricted_roles.iter().enumerate() {
            let account = rs.account.get(&team_accounts[t]).clone();
            let candidates: Vec<String> = consumed.get(&account).into_iter().flatten().cloned().collect();
            let listed = pick(&candidates, rs.products);
            if listed.is_empty() {
                continue;
            }
            let name = format!("etl-r{k}");
            restricted_roles.entry(account.clone()).or_default().push(name.clone());
            roles.push(json!({"name": name, "account": account, "access": "restricted", "products": listed}));
        }
        teams[t]["service_roles"] = Value::Array(roles);
    }
    for ((pi, account), g) in &wanted {
        let p = &products[*pi];
        let roles = restricted_roles.get(account).cloned().unwrap_or_default();
        let grant = grant_json(
            g,
            json!({"account": account}),
            &format!("steward-{}@example.com", p.team),
            &p.versions,
            &roles,
        );
        push_grant(&mut teams, p, grant);
    }
    let restricted: Vec<&Built> = products.iter().filter(|p| p.restricted).collect();
    for (i, p) in restricted.iter().enumerate() {
        if let Some(g) = &spec.group_grants[i % spec.group_grants.len()] {
            let grant = grant_json(
                g,
                json!({"access_group": "analysts"}),
                &format!("steward-{}@example.com", p.team),
                &p.versions,
                &[],
            );
            push_grant(&mut teams, p, grant);
        }
    }
    let mut groups = vec![json!({"name": "everyone", "group_id": "g-open", "access": "open"})];
    if !restricted.is_empty() {
        let ids: Vec<&String> = restricted.iter().map(|p| &p.id).collect();
        groups.push(json!({"name": "analysts", "group_id": "g-restricted", "access": "restricted", "products": ids}));
    }
    let org = json!({
        "version": 2,
        "org": {
            "name": "prop",
            "organization_id": "o-a1b2c3d4e5",
            "management_account": "111111111111",
            "central_account": "222222222222",
            "region": "eu-west-1",
            "identity_center": {"instance_arn": "arn:aws:sso:::instance/ssoins-0123456789abcdef", "identity_store_id": "d-0123456789"},
        },
        "domains": domains.iter().map(|d| json!({"name": d})).collect::<Vec<_>>(),
        "access_groups": groups,
    });
    (org, teams, n_consumes)
}

fn push_grant(teams: &mut [Value], p: &Built, grant: Value) {
    let product = &mut teams[p.team]["products"][p.index];
    if product.get("grants").is_none() {
        product["grants"] = json!([]);
    }
    product["grants"].as_array_mut().expect("grants is a list").push(grant);
}

/// The org as one JSON file.
pub fn single_file(org: &Value, teams: &[Value]) -> String {
    let mut all = org.clone();
    all["teams"] = Value::Array(teams.to_vec());
    serde_json::to_string_pretty(&all).expect("json")
}

/// Loads and validates a generated org, judged on [`TODAY`].
pub fn topology(org: &Value, teams: &[Value]) -> Topology {
    let text = single_file(org, teams);
    let raw = meshsynth::model::load::from_str(&PathBuf::from("org.json"), &text).expect("loads");
    let (mut t, _warnings) = meshsynth::validate::validate(raw).unwrap_or_else(|e| panic!("invalid: {e:?}\n{text}"));
    t.today = meshsynth::model::date::Date::parse(TODAY).expect("a date");
    t
}

/// A random org in access mode `lakeformation`: the org, which columns are sensitive (bit
/// `k % 64` for the k-th column written) and which restricted grants say `columns: all`
/// (bit `j % 8` for the j-th grant).
#[derive(Debug, Clone)]
pub struct LfOrgSpec {
    pub org: OrgSpec,
    pub sensitive: u64,
    pub all_columns: u8,
}

/// Random lakeformation-mode orgs of up to `max_teams` teams, with sensitive columns.
pub fn lf_org_strategy(max_teams: usize) -> impl Strategy<Value = LfOrgSpec> {
    (org_strategy(max_teams), any::<u64>(), any::<u8>()).prop_map(|(org, sensitive, all_columns)| LfOrgSpec {
        org,
        sensitive,
        all_columns,
    })
}

/// [`build`], switched to access mode `lakeformation`, with sensitive columns (never
/// partition keys) and `columns: all` on some grants.
pub fn build_lf(spec: &LfOrgSpec) -> (Value, Vec<Value>, usize) {
    let (mut org, mut teams, n) = build(&spec.org);
    org["org"]["access_mode"] = json!("lakeformation");
    let mut k = 0;
    let mut j = 0;
    for team in &mut teams {
        for product in team["products"].as_array_mut().into_iter().flatten() {
            for version in product["versions"].as_array_mut().into_iter().flatten() {
                for table in version["tables"].as_array_mut().into_iter().flatten() {
                    for column in table["columns"].as_array_mut().into_iter().flatten() {
                        if spec.sensitive & (1 << (k % 64)) != 0 {
                            column["sensitive"] = json!(true);
                        }
                        k += 1;
                    }
                }
            }
            for grant in product["grants"].as_array_mut().into_iter().flatten() {
                if spec.all_columns & (1 << (j % 8)) != 0 {
                    grant["columns"] = json!("all");
                }
                j += 1;
            }
        }
    }
    (org, teams, n)
}
