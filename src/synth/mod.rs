//! Synthesis: the validated topology → one plan per stack (and per Glue catalog policy).
//!
//! Decides which stacks every account gets, what each holds, how a part that
//! would pass CloudFormation's limits splits, and in which wave each stack
//! deploys. Each plan carries a `serde_json` context for its blueprint.
//! Pure: no IO, no AWS, no templates — `render` turns plans into files.
//!
//! Which account gets which stack:
//! - `baseline`: every team-owned account, and the central account even when no
//!   team owns it (its workgroups need a results bucket). The management account
//!   gets one only when a team owns it.
//! - `products`: accounts that publish products.
//! - `consumer`: accounts other than the central one that consume a product or
//!   declare a service role.
//! - `central`: the central account, always.
//! - `identity`: the management account, when the org has Identity Center and access groups.

pub(crate) mod access;
pub mod alarms;
pub(crate) mod compliance;
pub mod decisions;
pub(crate) mod lakeformation;
pub(crate) mod names;
pub(crate) mod par;
pub(crate) mod policy;
pub(crate) mod projection;
pub(crate) mod split;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use petgraph::graph::{DiGraph, NodeIndex};
use serde_json::{json, Map, Value};

use crate::model::{Access, AccessMode, AccountId, Column, Product, ServiceRole, Topology, VersionStatus};
use access::{Decisions, Pv};
use split::Unit;

/// The kinds of stack, in the order a reader meets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    Baseline,
    Products,
    Consumer,
    Central,
    Identity,
    /// Access mode lakeformation: resource links and the account's own grants to its readers.
    Access,
}

impl Part {
    /// The part's name: in stack names (`mesh-<part>`) and blueprint file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Baseline => "baseline",
            Part::Products => "products",
            Part::Consumer => "consumer",
            Part::Central => "central",
            Part::Identity => "identity",
            Part::Access => "access",
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One CloudFormation stack to render.
#[derive(Debug, Clone)]
pub struct StackPlan {
    pub account: AccountId,
    pub part: Part,
    /// `mesh-<part>`, or `mesh-<part>-<n>` for the n-th stack of a split part.
    pub name: String,
    /// `<account>/<stack>` of the stacks that must exist first (same account; identity: central).
    pub depends_on: Vec<String>,
    /// Deployment wave, from a topological sort of the stack graph (1 first).
    pub wave: u32,
    /// The blueprint's context.
    pub context: Value,
}

impl StackPlan {
    /// `<account>/<stack>`: the stack's id in the manifest and in `depends_on`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.account, self.name)
    }
}

/// A Glue Data Catalog resource policy to write beside an account's stacks (`access_mode: iam`).
#[derive(Debug, Clone)]
pub struct PolicyPlan {
    pub account: AccountId,
    /// The context of the `glue-resource-policy` blueprint (`policy`: the document).
    pub context: Value,
}

/// Everything one synthesis produces, sorted by (account, stack name).
#[derive(Debug, Clone)]
pub struct Synthesis {
    pub org: String,
    pub region: String,
    pub stacks: Vec<StackPlan>,
    pub policies: Vec<PolicyPlan>,
}

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("stack dependencies form a cycle: {}", nodes.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" -> "))]
    Cycle { nodes: Vec<String> },
    /// A policy document that AWS would refuse at deploy time for its size.
    #[error("{what} needs {detail} ({hint})")]
    PolicyTooLarge { what: String, detail: String, hint: String },
}

impl SynthError {
    fn too_large(what: String, e: policy::TooLarge, hint: &str) -> SynthError {
        SynthError::PolicyTooLarge {
            what,
            detail: e.detail,
            hint: hint.to_owned(),
        }
    }
}

/// What to do when a reader's policy passes IAM's limits.
const READER_HINT: &str = "the policy names every restricted version this reader may read and every other restricted \
     version its account reaches; split the access group or service role into smaller ones, grant fewer restricted \
     versions to this account, or retire old restricted versions";

/// Plans every stack of a validated topology.
pub fn plan(t: &Topology) -> Result<Synthesis, SynthError> {
    let d = Decisions::new(t);
    let org = &t.org;
    let iam = org.access_mode == AccessMode::Iam;

    let mut by_account: BTreeMap<&AccountId, Vec<&Product>> = BTreeMap::new();
    for p in t.products.values() {
        by_account.entry(&p.account).or_default().push(p);
    }
    let mut roles_by_account: BTreeMap<&AccountId, Vec<&ServiceRole>> = BTreeMap::new();
    for r in &t.service_roles {
        roles_by_account.entry(&r.account).or_default().push(r);
    }
    let mut reads: BTreeMap<&AccountId, BTreeSet<&AccountId>> = BTreeMap::new();
    for c in &t.consumes {
        if let Some(p) = t.products.get(&c.product) {
            reads.entry(&c.account).or_default().insert(&p.account);
        }
    }

    let mut baseline_accounts: BTreeSet<&AccountId> = t.accounts.keys().collect();
    baseline_accounts.insert(&org.central_account);

    let mut consumers: BTreeSet<&AccountId> = reads.keys().copied().collect();
    consumers.extend(roles_by_account.keys().copied());
    consumers.remove(&org.central_account);

    // Every job is independent of the others: plan them in parallel, in a fixed order.
    enum Job<'a> {
        Baseline(&'a AccountId),
        Products(&'a AccountId),
        Consumer(&'a AccountId),
        Central,
        Identity,
        Access(&'a AccountId),
    }
    let mut access_accounts: BTreeSet<&AccountId> = BTreeSet::new();
    if !iam {
        access_accounts.extend(consumers.iter().copied());
        access_accounts.insert(&org.central_account);
    }
    let mut jobs: Vec<Job<'_>> = baseline_accounts.iter().map(|a| Job::Baseline(a)).collect();
    jobs.extend(by_account.keys().map(|a| Job::Products(a)));
    jobs.extend(consumers.iter().map(|a| Job::Consumer(a)));
    jobs.push(Job::Central);
    if org.identity_center.is_some() && !t.access_groups.is_empty() {
        jobs.push(Job::Identity);
    }
    jobs.extend(access_accounts.iter().map(|a| Job::Access(a)));
    let no_products: Vec<&Product> = Vec::new();
    let no_roles: Vec<&ServiceRole> = Vec::new();
    let no_reads = BTreeSet::new();
    let producers: BTreeSet<&AccountId> = by_account.keys().copied().collect();
    type Planned = Result<(Vec<StackPlan>, Option<PolicyPlan>), SynthError>;
    let planned = par::map(jobs, |_, job| -> Planned {
        Ok(match job {
            Job::Baseline(a) => {
                let products = by_account.get(a).unwrap_or(&no_products);
                let roles = roles_by_account.get(a).unwrap_or(&no_roles);
                (vec![baseline(&d, a, products, roles, iam)?], None)
            }
            Job::Products(a) => {
                let products = by_account.get(a).unwrap_or(&no_products);
                let policy = if iam {
                    policy::glue_resource_policy(&d, products)
                        .map(|doc| {
                            policy::check_size(&doc, policy::GLUE_POLICY_MAX).map_err(|e| {
                                SynthError::too_large(
                                    format!("the Glue catalog resource policy of account {a}"),
                                    e,
                                    "it grants each product version of the account to its readers; move products \
                                     to another account of the team, or retire old versions",
                                )
                            })?;
                            Ok(PolicyPlan {
                                account: a.clone(),
                                context: json!({"account": a, "org": org.name, "policy": doc}),
                            })
                        })
                        .transpose()?
                } else {
                    None
                };
                (products_stacks(&d, a, products, iam), policy)
            }
            Job::Consumer(a) => {
                let catalogs = reads.get(a).unwrap_or(&no_reads);
                let roles = roles_by_account.get(a).unwrap_or(&no_roles);
                (consumer_stacks(&d, a, catalogs, roles, iam)?, None)
            }
            Job::Central => {
                let roles = roles_by_account.get(&org.central_account).unwrap_or(&no_roles);
                (central_stacks(&d, &producers, roles, iam)?, None)
            }
            Job::Identity => (identity_stacks(&d, iam)?, None),
            Job::Access(a) => {
                let roles = roles_by_account.get(a).unwrap_or(&no_roles);
                (access_stacks(&d, a, roles), None)
            }
        })
    });
    let mut stacks: Vec<StackPlan> = Vec::new();
    let mut policies = Vec::new();
    // The first error in job order, so the message does not depend on thread timing.
    for planned in planned {
        let (s, p) = planned?;
        stacks.extend(s);
        policies.extend(p);
    }

    stacks.sort_by(|a, b| (&a.account, &a.name).cmp(&(&b.account, &b.name)));
    let links: BTreeMap<&AccountId, BTreeSet<&AccountId>> = access_accounts
        .iter()
        .map(|a| {
            let roles = roles_by_account.get(a).unwrap_or(&no_roles);
            (*a, lakeformation::linked_producers(&d, a, roles))
        })
        .collect();
    assign_waves(&mut stacks, &reads, &links, &org.central_account)?;
    Ok(Synthesis {
        org: org.name.clone(),
        region: org.region.clone(),
        stacks,
        policies,
    })
}

/// Tags of an account's resources: the org's tags, then meshsynth's (which win).
fn account_tags(t: &Topology, account: &AccountId) -> Vec<(String, String)> {
    let mut tags: BTreeMap<String, String> = t.org.tags.clone();
    tags.insert("meshsynth:org".into(), t.org.name.clone());
    if let Some(a) = t.accounts.get(account) {
        tags.insert("meshsynth:team".into(), a.team.clone());
        if let Some(team) = t.teams.get(&a.team) {
            tags.insert("meshsynth:domain".into(), team.domain.clone());
        }
    }
    tags.into_iter().collect()
}

fn tag_list(tags: &[(String, String)]) -> Value {
    Value::Array(tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect())
}

/// The context fields every stack of an account shares.
fn base(d: &Decisions<'_>, account: &AccountId, part: Part, iam: bool) -> Map<String, Value> {
    let org = &d.t.org;
    let mut m = Map::new();
    m.insert("org".into(), json!(org.name));
    m.insert("organization_id".into(), json!(org.organization_id));
    m.insert("region".into(), json!(org.region));
    m.insert("account".into(), json!(account));
    m.insert("part".into(), json!(part.as_str()));
    m.insert("iam".into(), json!(iam));
    m.insert("lakeformation".into(), json!(!iam));
    m.insert("data_bucket".into(), json!(names::data_bucket(org, account)));
    m.insert("staging_bucket".into(), json!(names::staging_bucket(org, account)));
    m.insert("log_bucket".into(), json!(names::log_bucket(org, account)));
    m.insert("access_logs".into(), json!(org.access_logs));
    m.insert("key_alias".into(), json!(names::key_alias(org)));
    m.insert("tags".into(), tag_list(&account_tags(d.t, account)));
    m
}

fn stack_name(part: Part, index: usize) -> String {
    if index == 1 {
        format!("mesh-{part}")
    } else {
        format!("mesh-{part}-{index}")
    }
}

/// Builds the stacks of a part from its units: stack 1 also holds `fixed`.
fn assemble(
    d: &Decisions<'_>,
    account: &AccountId,
    part: Part,
    iam: bool,
    kinds: &[&'static str],
    fixed: Vec<Unit>,
    units: Vec<Unit>,
) -> Vec<StackPlan> {
    let fixed_r = fixed.iter().map(|u| u.resources).sum();
    let fixed_b = fixed.iter().map(|u| u.bytes).sum();
    let mut parts = split::split(units, fixed_r, fixed_b);
    if let Some(first) = parts.first_mut() {
        let mut all = fixed;
        all.append(first);
        *first = all;
    }
    parts
        .into_iter()
        .enumerate()
        // An empty stack is not deployable; skipping it keeps the later stacks' names.
        .filter(|(i, units)| *i == 0 || !units.is_empty())
        .map(|(i, units)| {
            let name = stack_name(part, i + 1);
            let mut m = base(d, account, part, iam);
            m.insert("stack".into(), json!(name));
            m.insert("first".into(), json!(i == 0));
            let mut arrays: BTreeMap<&str, Vec<Value>> = kinds.iter().map(|k| (*k, Vec::new())).collect();
            for u in units {
                arrays.entry(u.kind).or_default().push(u.value);
            }
            for (k, v) in arrays {
                m.insert(k.into(), Value::Array(v));
            }
            StackPlan {
                account: account.clone(),
                part,
                name,
                depends_on: Vec::new(),
                wave: 0,
                context: Value::Object(m),
            }
        })
        .collect()
}

/// A rough size of a value rendered as pretty JSON inside a template.
fn approx_bytes(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) | Value::Number(_) => 24,
        Value::String(s) => s.len() + 24,
        Value::Array(a) => 24 + a.iter().map(approx_bytes).sum::<usize>(),
        Value::Object(o) => 24 + o.iter().map(|(k, v)| k.len() + 8 + approx_bytes(v)).sum::<usize>(),
    }
}

fn unit(kind: &'static str, key: String, resources: usize, value: Value) -> Unit {
    // Blueprints add boilerplate per resource (types, SerDe names, policies' fixed parts).
    let bytes = approx_bytes(&value) + 1_200 * resources;
    Unit {
        kind,
        key,
        resources,
        bytes,
        value,
    }
}

/// The readers of an account whose query results are theirs alone: restricted service roles'
/// reader roles and, in the central account, restricted access groups.
fn private_results(d: &Decisions<'_>, account: &AccountId, roles: &[&ServiceRole]) -> Vec<policy::PrivateResults> {
    let t = d.t;
    let mut out: Vec<policy::PrivateResults> = roles
        .iter()
        .filter(|r| r.access == Access::Restricted)
        .map(|r| policy::PrivateResults {
            workgroup: names::service_workgroup(&r.name),
            principals: access::service_principals(account, &r.name)
                .into_iter()
                .map(|(_, arn)| arn)
                .collect(),
        })
        .collect();
    if *account == t.org.central_account {
        for g in t.access_groups.values().filter(|g| g.access == Access::Restricted) {
            out.push(policy::PrivateResults {
                workgroup: names::group_workgroup(&g.name),
                principals: access::group_principals(account, &g.name)
                    .into_iter()
                    .map(|(_, arn)| arn)
                    .collect(),
            });
        }
    }
    out.sort_by(|a, b| a.workgroup.cmp(&b.workgroup));
    out
}

fn baseline(
    d: &Decisions<'_>,
    account: &AccountId,
    products: &[&Product],
    roles: &[&ServiceRole],
    iam: bool,
) -> Result<StackPlan, SynthError> {
    let org = &d.t.org;
    let name = stack_name(Part::Baseline, 1);
    let mut m = base(d, account, Part::Baseline, iam);
    m.insert("stack".into(), json!(name));
    m.insert("first".into(), json!(true));
    m.insert("workgroup".into(), json!(names::BASELINE_WORKGROUP));
    m.insert("query_results_days".into(), json!(org.query_results_days));
    // Lake Formation: the deploy role (it grants) and the org's named administrators.
    let admins: Vec<String> = std::iter::once(&org.deploy_role)
        .chain(&org.data_lake_admins)
        .map(|r| names::role_arn(account, r))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    m.insert("data_lake_admins".into(), json!(admins));
    let key_policy = policy::key_policy(d, account, products, iam);
    policy::check_size(&key_policy, policy::KEY_POLICY_MAX).map_err(|e| {
        SynthError::too_large(
            format!("the KMS key policy of account {account}"),
            e,
            "it names every account approved to read the account's restricted versions; move products to another \
             account of the team",
        )
    })?;
    m.insert("key_policy".into(), key_policy);
    let bucket = names::data_bucket(org, account);
    let bucket_policy = policy::data_bucket_policy(d, &bucket, products, iam);
    policy::check_size(&bucket_policy, policy::BUCKET_POLICY_MAX).map_err(|e| {
        SynthError::too_large(
            format!("the bucket policy of `{bucket}` (account {account})"),
            e,
            "it grants each product version of the account to its readers; move products to another account of \
             the team, or retire old versions",
        )
    })?;
    m.insert("data_bucket_policy".into(), bucket_policy);
    let staging = names::staging_bucket(org, account);
    let staging_policy = policy::staging_bucket_policy(&staging, &private_results(d, account, roles));
    policy::check_size(&staging_policy, policy::BUCKET_POLICY_MAX).map_err(|e| {
        SynthError::too_large(
            format!("the bucket policy of `{staging}` (account {account})"),
            e,
            "it closes every restricted reader's query results to other principals; declare fewer restricted \
             service roles in this account",
        )
    })?;
    m.insert("staging_bucket_policy".into(), staging_policy);
    if org.access_logs {
        let sources = [bucket.clone(), names::staging_bucket(org, account)];
        let log_policy = policy::log_bucket_policy(&names::log_bucket(org, account), account, &sources);
        m.insert("log_bucket_policy".into(), log_policy);
    }
    Ok(StackPlan {
        account: account.clone(),
        part: Part::Baseline,
        name,
        depends_on: Vec::new(),
        wave: 0,
        context: Value::Object(m),
    })
}

/// Glue column lists in CloudFormation's shape. Glue caps comments at 255 characters.
fn columns(cols: &[Column]) -> Value {
    Value::Array(
        cols.iter()
            .map(|c| {
                let mut o = Map::new();
                o.insert("Name".into(), json!(c.name));
                o.insert("Type".into(), json!(c.ty));
                if let Some(comment) = &c.comment {
                    o.insert("Comment".into(), json!(truncate(comment, 255)));
                }
                Value::Object(o)
            })
            .collect(),
    )
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn products_stacks(d: &Decisions<'_>, account: &AccountId, products: &[&Product], iam: bool) -> Vec<StackPlan> {
    let t = d.t;
    let org = &t.org;
    let bucket = names::data_bucket(org, account);
    let org_principal = format!(
        "arn:aws:organizations::{}:organization/{}",
        org.management_account, org.organization_id
    );
    let mut units = Vec::new();
    for p in products {
        let team = t.teams.get(&p.team);
        // A retired version has no Glue resources: its database and tables leave the stack
        // (a destructive change `diff`, `plan` and `deploy` flag); its data in S3 stays.
        for v in p.versions.values().filter(|v| v.status != VersionStatus::Retired) {
            let pv: Pv<'_> = (&p.id, v.number);
            let db_id = names::glue_db_id(&p.id, v.number);
            let prefix = names::version_prefix(&p.id, v.number);
            let mut params: BTreeMap<&str, String> = BTreeMap::new();
            params.insert("meshsynth:org", org.name.clone());
            params.insert("meshsynth:domain", p.id.domain.clone());
            params.insert("meshsynth:product", p.id.to_string());
            params.insert("meshsynth:version", v.number.to_string());
            params.insert("meshsynth:status", v.status.as_str().to_owned());
            params.insert("meshsynth:classification", p.classification.as_str().to_owned());
            params.insert("meshsynth:team", p.team.clone());
            if let Some(s) = team.and_then(|t| t.steward.clone()) {
                params.insert("meshsynth:steward", s);
            }
            if let Some(c) = team.and_then(|t| t.contact.clone()) {
                params.insert("meshsynth:contact", c);
            }
            if let Some(slo) = &p.slo {
                if let Some(f) = &slo.freshness {
                    params.insert("meshsynth:slo-freshness", f.clone());
                }
                if let Some(a) = &slo.available_by {
                    params.insert("meshsynth:slo-available-by", a.clone());
                }
            }
            let tables: Vec<Value> = v
                .tables
                .iter()
                .map(|tb| {
                    let location = format!("s3://{bucket}/{prefix}{}/", tb.name);
                    let mut parameters = projection::table_parameters(tb, &location);
                    parameters.insert("meshsynth:classification".into(), p.classification.as_str().into());
                    json!({
                        "id": names::glue_table_id(&p.id, v.number, &tb.name),
                        "name": tb.name,
                        "description": truncate(tb.description.as_deref().unwrap_or(""), 2048),
                        "location": location,
                        "columns": columns(&tb.columns),
                        "partition_keys": columns(&tb.partition_keys),
                        "classification": p.classification.as_str(),
                        "parameters": parameters,
                    })
                })
                .collect();
            let mut lf = Vec::new();
            let mut lf_resources = 0;
            if !iam {
                // (id suffix, principal, whether it reads the sensitive columns too)
                let mut principals: Vec<(String, String, bool)> = Vec::new();
                if d.is_open(pv) {
                    principals.push(("Org".into(), org_principal.clone(), false));
                } else if let Some(readers) = d.readers(pv) {
                    let accounts: BTreeSet<&AccountId> = readers.iter().map(|(a, _)| a).collect();
                    principals.extend(accounts.iter().map(|a| {
                        let all = lakeformation::account_reads_all_columns(d, a, pv);
                        (format!("Acct{a}"), a.to_string(), all)
                    }));
                }
                for (suffix, principal, all) in principals {
                    let stem = format!("{}V{}{suffix}", p.id.camel(), v.number);
                    let tables = lakeformation::table_grants(
                        &format!("LfTable{stem}"),
                        lakeformation::exclusions(p, v.number, all),
                    );
                    lf_resources += 1 + tables.as_array().map_or(1, Vec::len);
                    lf.push(json!({"db_id": format!("LfDb{stem}"), "tables_id": format!("LfTables{stem}"), "principal": principal, "tables": tables}));
                }
            }
            let description = p.description.clone().unwrap_or_default();
            let freshness = alarms::version_alarms(t, p, v);
            let resources = 1 + tables.len() + lf_resources + 2 * freshness.len();
            let value = json!({
                "db_id": db_id,
                "db_name": names::glue_database(&p.id, v.number),
                "description": truncate(&format!("{} (version {}, {})", description.trim(), v.number, v.status.as_str()), 2048),
                "location": format!("s3://{bucket}/{prefix}"),
                "parameters": params,
                "tables": tables,
                "table_ids": v.tables.iter().map(|tb| names::glue_table_id(&p.id, v.number, &tb.name)).collect::<Vec<_>>(),
                "lf_grants": lf,
                "alarms": freshness,
            });
            units.push(unit("versions", format!("{}@{}", p.id, v.number), resources, value));
        }
    }
    let mut fixed = Vec::new();
    if let Some(topic) = alarms::alert_topic(t, account, products) {
        let resources = 2 + topic["emails"].as_array().map_or(0, Vec::len);
        fixed.push(unit("alert_topic", "alert-topic".into(), resources, topic));
    }
    if !iam {
        let key_arn = format!("arn:aws:kms:{}:{account}:key/*", org.region);
        let role = json!({
            "role_name": names::bounded("mesh-lakeformation-", &org.name, 64),
            "key_arn": key_arn,
            "via_s3": format!("s3.{}.amazonaws.com", org.region),
        });
        fixed.push(unit("lakeformation_location", "lakeformation".into(), 2, role));
    }
    assemble(
        d,
        account,
        Part::Products,
        iam,
        &["versions", "lakeformation_location", "alert_topic"],
        fixed,
        units,
    )
}

fn catalog_unit(d: &Decisions<'_>, producer: &AccountId) -> Unit {
    let value = json!({
        "id": format!("DataCatalog{producer}"),
        "name": names::athena_catalog(&d.t.org, producer),
        "catalog_id": producer,
    });
    unit("catalogs", format!("catalog:{producer}"), 1, value)
}

/// The logical id of the n-th managed policy of a reader role (never a role's id: those start
/// with `ReaderRole`).
fn managed_policy_id(role_id: &str, n: usize) -> String {
    format!("ReadPolicy{n}{role_id}")
}

/// A reader role's policies in context form: the inline document, and the managed policies
/// (`id`, `n`, `description`, `policy`) its statements overflow into past IAM's inline limit.
fn role_policies(
    role_id: &str,
    role_name: &str,
    account: &AccountId,
    doc: Value,
) -> Result<(Value, Vec<Value>), SynthError> {
    let fitted = policy::fit_role_policies(doc).map_err(|e| {
        SynthError::too_large(
            format!("the reader role `{role_name}` in account {account}"),
            e,
            READER_HINT,
        )
    })?;
    let managed = fitted
        .managed
        .into_iter()
        .enumerate()
        .map(|(i, doc)| {
            json!({
                "id": managed_policy_id(role_id, i + 1),
                "n": i + 1,
                "description": format!(
                    "meshsynth: part {} of the read policy of role {role_name} (past IAM's inline policy limit)",
                    i + 1
                ),
                "policy": doc,
            })
        })
        .collect();
    Ok((fitted.inline, managed))
}

/// A reader role for a declared service role, with its own workgroup.
fn service_reader(d: &Decisions<'_>, role: &ServiceRole, iam: bool) -> Result<Unit, SynthError> {
    let workgroup = &names::service_workgroup(&role.name);
    let allowed = d.service_role_reads(role);
    let denied = d.denied(&role.account, &allowed);
    let reader = policy::Reader {
        account: &role.account,
        workgroup,
        allowed: &allowed,
        denied: &denied,
        assume: None,
    };
    let access = match role.access {
        Access::Open => "open",
        Access::Restricted => "restricted",
    };
    let frag = names::id_fragment(&role.name);
    let id = format!("ReaderRole{frag}");
    let role_name = names::service_reader_role(&role.name);
    let (inline, managed) = role_policies(&id, &role_name, &role.account, policy::reader_policy(d, &reader, iam))?;
    let resources = 2 + managed.len();
    let value = json!({
        "id": id,
        "role_name": role_name,
        "description": format!("Reads mesh data ({access}) for service role {}", role.name),
        "trust": policy::trust_policy(&role.account, &[names::role_arn_at(&role.account, &role.path, &role.name)]),
        "policy": inline,
        "managed_policies": managed,
        "workgroup_id": format!("ServiceWorkgroup{frag}"),
        "workgroup": workgroup,
        "workgroup_description": format!("Queries of service role {} ({access}), with results only it can read", role.name),
    });
    Ok(unit("readers", format!("service:{}", role.name), resources, value))
}

fn consumer_stacks(
    d: &Decisions<'_>,
    account: &AccountId,
    producers: &BTreeSet<&AccountId>,
    roles: &[&ServiceRole],
    iam: bool,
) -> Result<Vec<StackPlan>, SynthError> {
    let mut units: Vec<Unit> = producers.iter().map(|p| catalog_unit(d, p)).collect();
    for r in roles {
        units.push(service_reader(d, r, iam)?);
    }
    dedupe_ids(&mut units);
    Ok(assemble(
        d,
        account,
        Part::Consumer,
        iam,
        &["catalogs", "readers"],
        Vec::new(),
        units,
    ))
}

/// Two service role names can map to one logical id (`a-b`, `a.b`): suffix those with a hash.
fn dedupe_ids(units: &mut [Unit]) {
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for u in units.iter() {
        if let Some(id) = u.value.get("id").and_then(Value::as_str) {
            *count.entry(id.to_owned()).or_default() += 1;
        }
    }
    for u in units.iter_mut() {
        let Some(id) = u.value.get("id").and_then(Value::as_str).map(str::to_owned) else {
            continue;
        };
        if count.get(&id).copied().unwrap_or(0) > 1 {
            let hash = names::short_hash(&u.key);
            let id = format!("{id}H{hash}");
            if let Some(wg) = u.value.get("workgroup_id").and_then(Value::as_str).map(str::to_owned) {
                u.value["workgroup_id"] = json!(format!("{wg}H{hash}"));
            }
            if let Some(Value::Array(managed)) = u.value.get_mut("managed_policies") {
                for m in managed {
                    let n = m["n"].as_u64().unwrap_or(0) as usize;
                    m["id"] = json!(managed_policy_id(&id, n));
                }
            }
            u.value["id"] = json!(id);
        }
    }
}

fn central_group(
    d: &Decisions<'_>,
    key: &str,
    workgroup: &str,
    role: &str,
    trusted: Vec<String>,
    allowed: &BTreeSet<Pv<'_>>,
    iam: bool,
) -> Result<Value, SynthError> {
    let central = &d.t.org.central_account;
    let denied = d.denied(central, allowed);
    let reader = policy::Reader {
        account: central,
        workgroup,
        allowed,
        denied: &denied,
        assume: None,
    };
    let frag = names::id_fragment(key);
    let role_id = format!("ReaderRole{frag}");
    let (inline, managed) = role_policies(&role_id, role, central, policy::reader_policy(d, &reader, iam))?;
    Ok(json!({
        "workgroup_id": format!("Workgroup{frag}"),
        "workgroup": workgroup,
        "role_id": role_id,
        "role_name": role,
        "description": format!("Reads mesh data for access `{key}` in the central account"),
        "workgroup_description": format!("Queries of access `{key}` in the central account, with encrypted results"),
        "trust": policy::trust_policy(central, &trusted),
        "policy": inline,
        "managed_policies": managed,
    }))
}

/// Resources of a central group unit: its workgroup, its role and the role's managed policies.
fn group_resources(value: &Value) -> usize {
    2 + value["managed_policies"].as_array().map_or(0, Vec::len)
}

fn central_stacks(
    d: &Decisions<'_>,
    producers: &BTreeSet<&AccountId>,
    roles: &[&ServiceRole],
    iam: bool,
) -> Result<Vec<StackPlan>, SynthError> {
    let t = d.t;
    let central = &t.org.central_account;
    let mut units: Vec<Unit> = producers.iter().map(|p| catalog_unit(d, p)).collect();
    // Open service roles of the central account use the open reader role; restricted ones get their own.
    let mut open_trust = vec![names::sso_role_pattern(central, names::OPEN_PERMISSION_SET)];
    for r in roles {
        match r.access {
            Access::Open => open_trust.push(names::role_arn_at(central, &r.path, &r.name)),
            Access::Restricted => units.push(service_reader(d, r, iam)?),
        }
    }
    for g in t.access_groups.values().filter(|g| g.access == Access::Restricted) {
        let allowed = d.group_reads(&g.name);
        let ps = names::group_permission_set(&g.name);
        let value = central_group(
            d,
            &g.name,
            &names::group_workgroup(&g.name),
            &names::group_role(&g.name),
            vec![names::sso_role_pattern(central, &ps)],
            &allowed,
            iam,
        )?;
        units.push(unit(
            "groups",
            format!("group:{}", g.name),
            group_resources(&value),
            value,
        ));
    }
    let open = central_group(
        d,
        "open",
        names::OPEN_WORKGROUP,
        names::OPEN_READER_ROLE,
        open_trust,
        &BTreeSet::new(),
        iam,
    )?;
    dedupe_ids(&mut units);
    let fixed = vec![unit("groups", "open".into(), group_resources(&open), open)];
    Ok(assemble(
        d,
        central,
        Part::Central,
        iam,
        &["catalogs", "groups", "readers"],
        fixed,
        units,
    ))
}

/// Access mode lakeformation: an account's resource links and the grants to its reader roles.
fn access_stacks(d: &Decisions<'_>, account: &AccountId, roles: &[&ServiceRole]) -> Vec<StackPlan> {
    let units: Vec<Unit> = lakeformation::links(d, account, roles)
        .into_iter()
        .map(|(key, resources, value)| unit("links", key, resources, value))
        .collect();
    if units.is_empty() {
        return Vec::new();
    }
    assemble(d, account, Part::Access, false, &["links"], Vec::new(), units)
}

fn identity_stacks(d: &Decisions<'_>, iam: bool) -> Result<Vec<StackPlan>, SynthError> {
    let t = d.t;
    let org = &t.org;
    let central = &org.central_account;
    let mut open_groups = Vec::new();
    let mut units = Vec::new();
    let empty = BTreeSet::new();
    let permission_set = |name: String,
                          key: &str,
                          workgroup: String,
                          role: String,
                          allowed: &BTreeSet<Pv<'_>>,
                          groups: Vec<(&str, &str)>| {
        let denied = d.denied(central, allowed);
        let reader = policy::Reader {
            account: central,
            workgroup: &workgroup,
            allowed,
            denied: &denied,
            assume: Some(names::role_arn(central, &role)),
        };
        let frag = names::id_fragment(key);
        let policy = policy::reader_policy(d, &reader, iam);
        policy::check_size(&policy, policy::PERMISSION_SET_INLINE_MAX)
            .map_err(|e| SynthError::too_large(format!("the permission set `{name}`"), e, READER_HINT))?;
        let assignments: Vec<Value> = groups
            .iter()
            .map(|(g, id)| json!({"id": format!("Assignment{}", names::id_fragment(g)), "group": g, "group_id": id}))
            .collect();
        let value = json!({
            "id": format!("PermissionSet{frag}"),
            "name": name,
            "description": format!("Mesh data access `{key}` in the central account"),
            "policy": policy,
            "assignments": assignments,
        });
        Ok(unit("permission_sets", format!("ps:{key}"), 1 + groups.len(), value))
    };
    for g in t.access_groups.values() {
        match g.access {
            Access::Open => open_groups.push((g.name.as_str(), g.group_id.as_str())),
            Access::Restricted => {
                let allowed = d.group_reads(&g.name);
                units.push(permission_set(
                    names::group_permission_set(&g.name),
                    &g.name,
                    names::group_workgroup(&g.name),
                    names::group_role(&g.name),
                    &allowed,
                    vec![(g.name.as_str(), g.group_id.as_str())],
                )?);
            }
        }
    }
    let open = permission_set(
        names::OPEN_PERMISSION_SET.to_owned(),
        "open",
        names::OPEN_WORKGROUP.to_owned(),
        names::OPEN_READER_ROLE.to_owned(),
        &empty,
        open_groups,
    )?;
    let mut stacks = assemble(
        d,
        &org.management_account,
        Part::Identity,
        iam,
        &["permission_sets"],
        vec![open],
        units,
    );
    let ic = org.identity_center.as_ref();
    for s in &mut stacks {
        s.context["instance_arn"] = json!(ic.map(|i| i.instance_arn.clone()).unwrap_or_default());
        s.context["central_account"] = json!(central);
        s.context["session_duration"] = json!("PT8H");
    }
    Ok(stacks)
}

/// Fills `depends_on` and `wave`: a topological sort over the stack graph, whose edges are each
/// stack's `depends_on` plus "reads" edges (a consumer or central stack after the products
/// stacks of the accounts it reads). A stack's wave is one more than the highest wave it follows.
fn assign_waves(
    stacks: &mut [StackPlan],
    reads: &BTreeMap<&AccountId, BTreeSet<&AccountId>>,
    links: &BTreeMap<&AccountId, BTreeSet<&AccountId>>,
    central: &AccountId,
) -> Result<(), SynthError> {
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..stacks.len()).map(|i| graph.add_node(i)).collect();
    let mut by_part: BTreeMap<(&AccountId, Part), Vec<usize>> = BTreeMap::new();
    for (i, s) in stacks.iter().enumerate() {
        by_part.entry((&s.account, s.part)).or_default().push(i);
    }
    let mut products_of: BTreeMap<&AccountId, Vec<usize>> = BTreeMap::new();
    for ((a, part), ix) in &by_part {
        if *part == Part::Products {
            products_of.insert(a, ix.clone());
        }
    }
    let mut depends: Vec<Vec<usize>> = vec![Vec::new(); stacks.len()];
    let mut follows: Vec<Vec<usize>> = vec![Vec::new(); stacks.len()];
    for (i, s) in stacks.iter().enumerate() {
        let baseline = by_part.get(&(&s.account, Part::Baseline)).cloned().unwrap_or_default();
        match s.part {
            Part::Baseline => {}
            Part::Products | Part::Consumer => depends[i] = baseline,
            Part::Central => {
                depends[i] = baseline;
                follows[i] = products_of.values().flatten().copied().collect();
            }
            Part::Identity => depends[i] = by_part.get(&(central, Part::Central)).cloned().unwrap_or_default(),
            // Links and grants to the account's reader roles: after the roles, and after the
            // producers' cross-account grants they build on.
            Part::Access => {
                let mut d: Vec<usize> = [Part::Consumer, Part::Central]
                    .iter()
                    .flat_map(|p| by_part.get(&(&s.account, *p)).cloned().unwrap_or_default())
                    .collect();
                d.sort_unstable();
                depends[i] = d;
                for producer in links.get(&s.account).into_iter().flatten() {
                    follows[i].extend(products_of.get(producer).into_iter().flatten());
                }
            }
        }
        if s.part == Part::Consumer {
            for producer in reads.get(&s.account).into_iter().flatten() {
                follows[i].extend(products_of.get(producer).into_iter().flatten());
            }
        }
    }
    for i in 0..stacks.len() {
        for &j in depends[i].iter().chain(&follows[i]) {
            graph.add_edge(nodes[j], nodes[i], ());
        }
    }
    let order = petgraph::algo::toposort(&graph, None).map_err(|cycle| {
        let sccs = petgraph::algo::tarjan_scc(&graph);
        let members = sccs
            .into_iter()
            .find(|c| c.contains(&cycle.node_id()))
            .unwrap_or_else(|| vec![cycle.node_id()]);
        let mut nodes: Vec<String> = members.iter().map(|n| stacks[graph[*n]].id()).collect();
        nodes.sort();
        SynthError::Cycle { nodes }
    })?;
    let mut wave = vec![1u32; stacks.len()];
    for n in order {
        let i = graph[n];
        let w = graph
            .neighbors_directed(n, petgraph::Direction::Incoming)
            .map(|m| wave[graph[m]] + 1)
            .max()
            .unwrap_or(1);
        wave[i] = w;
    }
    let ids: Vec<String> = stacks.iter().map(StackPlan::id).collect();
    for (i, s) in stacks.iter_mut().enumerate() {
        s.wave = wave[i];
        let mut deps: Vec<String> = depends[i].iter().map(|j| ids[*j].clone()).collect();
        deps.sort();
        s.depends_on = deps;
    }
    Ok(())
}

/// The day the example org's grants are judged on in tests (one grant expires soon after).
#[cfg(test)]
pub(crate) const EXAMPLE_TODAY: &str = "2026-12-02";

/// The example org in `accounts/`, for the unit tests of synth's modules.
#[cfg(test)]
pub(crate) fn example_topology() -> Topology {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("accounts");
    std::env::set_var(crate::model::date::TODAY_VAR, EXAMPLE_TODAY);
    crate::validate::read_topology(&dir)
        .expect("the example org is valid")
        .0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Topology {
        example_topology()
    }

    #[test]
    fn waves_follow_the_parts_and_the_reads() {
        let s = plan(&example()).expect("plans");
        let mut waves: BTreeMap<Part, BTreeSet<u32>> = BTreeMap::new();
        for st in &s.stacks {
            waves.entry(st.part).or_default().insert(st.wave);
            match st.part {
                Part::Baseline => assert!(st.depends_on.is_empty()),
                Part::Identity => assert_eq!(st.depends_on, vec!["307870227078/mesh-central".to_owned()]),
                _ => assert_eq!(st.depends_on, vec![format!("{}/mesh-baseline", st.account)]),
            }
        }
        assert_eq!(waves[&Part::Baseline], BTreeSet::from([1]));
        assert_eq!(waves[&Part::Products], BTreeSet::from([2]));
        assert_eq!(waves[&Part::Central], BTreeSet::from([3]));
        assert_eq!(waves[&Part::Identity], BTreeSet::from([4]));
        assert!(waves[&Part::Consumer].contains(&3));
        let sorted = s
            .stacks
            .windows(2)
            .all(|w| (&w[0].account, &w[0].name) < (&w[1].account, &w[1].name));
        assert!(sorted, "plans are sorted by (account, stack name)");
    }

    #[test]
    fn planning_is_deterministic() {
        let t = example();
        let a = plan(&t).expect("plans");
        let b = plan(&t).expect("plans");
        let ids = |s: &Synthesis| {
            s.stacks
                .iter()
                .map(|p| (p.id(), p.context.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&a), ids(&b));
    }
}
