//! Synthesis: the validated topology → one plan per stack (and per Glue catalog policy).
//!
//! Decides which stacks every account gets, what each holds, how a part that
//! would pass CloudFormation's limits splits, and in which wave each stack
//! deploys. Each plan carries the typed context of its blueprint ([`Context`]),
//! built by the part's own module (`baseline`, `products`, `consumer`,
//! `central`, `identity`, `links` for the part `access`) and never edited after.
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
pub(crate) mod alarms;
pub(crate) mod baseline;
pub(crate) mod central;
pub(crate) mod compliance;
pub(crate) mod consumer;
pub(crate) mod context;
pub(crate) mod decisions;
pub(crate) mod doc;
pub(crate) mod fit;
pub(crate) mod identity;
pub(crate) mod lakeformation;
pub(crate) mod links;
pub(crate) mod names;
pub(crate) mod par;
pub(crate) mod policy;
pub(crate) mod policy_doc;
pub(crate) mod products;
pub(crate) mod projection;
pub(crate) mod reader;
pub(crate) mod reader_policy;
mod size;
pub(crate) mod split;
mod waves;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use crate::model::{AccountId, Product, ServiceRole, Topology};
use access::Decisions;
use context::Paths;

/// The kinds of stack, in the order a reader meets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Part {
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
    pub(crate) fn as_str(self) -> &'static str {
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

/// The context of a stack's blueprint: one type per part.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per stack, replaced by `Rendered` once rendered; boxing would add an allocation per stack for no memory gain"
)]
pub(crate) enum Context {
    Baseline(baseline::BaselineContext),
    Products(products::ProductsContext),
    Consumer(consumer::ConsumerContext),
    Central(central::CentralContext),
    Identity(identity::IdentityContext),
    Access(links::AccessContext),
    /// What a plan holds once `render` has taken its context (so that each context is freed
    /// as soon as its template is rendered, not after the whole org is).
    Rendered,
}

/// The JSON Schema of the context of a blueprint (a part's name, or `glue-resource-policy`).
pub(crate) fn context_schema(blueprint: &str) -> Option<schemars::Schema> {
    Some(match blueprint {
        "baseline" => schemars::schema_for!(baseline::BaselineContext),
        "products" => schemars::schema_for!(products::ProductsContext),
        "consumer" => schemars::schema_for!(consumer::ConsumerContext),
        "central" => schemars::schema_for!(central::CentralContext),
        "identity" => schemars::schema_for!(identity::IdentityContext),
        "access" => schemars::schema_for!(links::AccessContext),
        "glue-resource-policy" => schemars::schema_for!(products::GluePolicyContext),
        _ => return None,
    })
}

/// One CloudFormation stack to render.
#[derive(Debug, Clone)]
pub(crate) struct StackPlan {
    pub(crate) account: AccountId,
    pub(crate) part: Part,
    /// `mesh-<part>`, or `mesh-<part>-<n>` for the n-th stack of a split part.
    pub(crate) name: String,
    /// `<account>/<stack>` of the stacks that must exist first (same account; identity: central).
    pub(crate) depends_on: Vec<String>,
    /// Deployment wave, from a topological sort of the stack graph (1 first).
    pub(crate) wave: u32,
    /// The blueprint's context.
    pub(crate) context: Context,
}

impl StackPlan {
    /// Stack `index` (1-based) of a part, before waves are assigned.
    pub(crate) fn new(account: &AccountId, part: Part, index: usize, context: Context) -> StackPlan {
        StackPlan {
            account: account.clone(),
            part,
            name: context::stack_name(part, index),
            depends_on: Vec::new(),
            wave: 0,
            context,
        }
    }

    /// `<account>/<stack>`: the stack's id in the manifest and in `depends_on`.
    pub(crate) fn id(&self) -> String {
        format!("{}/{}", self.account, self.name)
    }
}

/// A Glue Data Catalog resource policy to write beside an account's stacks (`access_mode: iam`).
#[derive(Debug, Clone)]
pub(crate) struct PolicyPlan {
    pub(crate) account: AccountId,
    /// The context of the `glue-resource-policy` blueprint.
    pub(crate) context: products::GluePolicyContext,
}

/// Everything one synthesis produces, sorted by (account, stack name).
#[derive(Debug, Clone)]
pub struct Synthesis {
    pub(crate) org: String,
    pub(crate) region: String,
    pub(crate) stacks: Vec<StackPlan>,
    pub(crate) policies: Vec<PolicyPlan>,
    /// The access decisions behind the policies (`access.json`).
    pub(crate) access: decisions::AccessModel,
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

/// Plans every stack of a validated topology.
pub fn plan(t: &Topology) -> Result<Synthesis, SynthError> {
    plan_each(t, |_, _| Ok::<(), SynthError>(())).map(|(synthesis, _)| synthesis)
}

/// [`plan`], handing each job's stacks (one part of one account, with the account's Glue
/// policy for its products job) to `each` on the thread that planned them, as soon as they
/// are planned: `synth` renders them there while their contexts are fresh in the core's
/// cache, and frees the contexts (see `Context::Rendered`). Returns what `each` returned, in
/// job order. The error returned is the first in job order, planning's or `each`'s, so the
/// message does not depend on thread timing.
pub(crate) fn plan_each<R: Send, E: From<SynthError> + Send>(
    t: &Topology,
    each: impl Fn(&mut [StackPlan], Option<&PolicyPlan>) -> Result<R, E> + Sync,
) -> Result<(Synthesis, Vec<R>), E> {
    let d = Decisions::new(t);
    let org = &t.org;
    let paths = Paths::of(org);

    let mut by_account: BTreeMap<&AccountId, Vec<&Product>> = BTreeMap::new();
    for p in t.products.values() {
        by_account.entry(&p.account).or_default().push(p);
    }
    let mut roles_by_account: BTreeMap<&AccountId, Vec<&ServiceRole>> = BTreeMap::new();
    for r in &t.service_roles {
        roles_by_account.entry(&r.account).or_default().push(r);
    }
    let reads = d.reads();

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
    if paths.lakeformation {
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
    // The access record needs only the decisions: it is built beside the stacks.
    let (planned, access) = rayon::join(
        || {
            par::map(jobs, |_, job| {
                // A planning error becomes `E` (`?`), as `each`'s errors are.
                let (mut stacks, policy): (Vec<StackPlan>, Option<PolicyPlan>) = match job {
                    Job::Baseline(a) => {
                        let products = by_account.get(a).unwrap_or(&no_products);
                        let roles = roles_by_account.get(a).unwrap_or(&no_roles);
                        (vec![baseline::stack(&d, a, products, roles, paths)?], None)
                    }
                    Job::Products(a) => {
                        let products = by_account.get(a).unwrap_or(&no_products);
                        let policy = if paths.iam {
                            products::glue_policy(&d, a, products, paths.lakeformation)?
                        } else {
                            None
                        };
                        (products::stacks(&d, a, products, paths), policy)
                    }
                    Job::Consumer(a) => {
                        let catalogs = reads.get(a).unwrap_or(&no_reads);
                        let roles = roles_by_account.get(a).unwrap_or(&no_roles);
                        (consumer::stacks(&d, a, catalogs, roles, paths)?, None)
                    }
                    Job::Central => {
                        let roles = roles_by_account.get(&org.central_account).unwrap_or(&no_roles);
                        (central::stacks(&d, &producers, roles, paths)?, None)
                    }
                    Job::Identity => (identity::stacks(&d, paths)?, None),
                    Job::Access(a) => {
                        let roles = roles_by_account.get(a).unwrap_or(&no_roles);
                        (links::stacks(&d, a, roles), None)
                    }
                };
                let handed = each(&mut stacks, policy.as_ref())?;
                Ok::<_, E>((stacks, policy, handed))
            })
        },
        || decisions::model_of(&d),
    );
    let mut stacks: Vec<StackPlan> = Vec::new();
    let mut policies = Vec::new();
    let mut handed = Vec::with_capacity(planned.len());
    // The first error in job order, so the message does not depend on thread timing.
    for planned in planned {
        let (s, p, r) = planned?;
        stacks.extend(s);
        policies.extend(p);
        handed.push(r);
    }

    stacks.sort_by(|a, b| (&a.account, &a.name).cmp(&(&b.account, &b.name)));
    let links = linked_producers(&d, &access_accounts, &roles_by_account);
    waves::assign_waves(&mut stacks, reads, &links, &org.central_account)?;
    let synthesis = Synthesis {
        org: org.name.clone(),
        region: org.region.clone(),
        stacks,
        policies,
        access,
    };
    Ok((synthesis, handed))
}

/// Per account with an access stack, the producer accounts it links to (for the waves).
fn linked_producers<'t>(
    d: &Decisions<'t>,
    access_accounts: &BTreeSet<&'t AccountId>,
    roles_by_account: &BTreeMap<&AccountId, Vec<&'t ServiceRole>>,
) -> BTreeMap<&'t AccountId, BTreeSet<&'t AccountId>> {
    access_accounts
        .iter()
        .map(|a| {
            let roles = roles_by_account.get(a).map_or(&[][..], Vec::as_slice);
            (*a, lakeformation::linked_producers(d, a, roles))
        })
        .collect()
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
                .map(|p| (p.id(), serde_json::to_string(&p.context).expect("serialises")))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&a), ids(&b));
    }
}
