//! Carrying out a plan, in order: the manifest's waves one after the other
//! (baseline → products → consumer and central → identity), the accounts of a
//! wave in parallel (bounded by `--concurrency`), an account's stacks of a
//! wave in dependency order, its Glue resource policy right after its
//! products stack — but a policy deletion after every wave, so the Lake
//! Formation grants that replace it (switching to `lakeformation`) exist
//! first —, and stack deletions last (identity first, baseline last).
//!
//! When a stack fails, the stacks already running finish, nothing new starts,
//! and later phases are skipped; the report says what completed, failed and
//! was skipped. Running the deploy again picks up from there, since each
//! stack is planned afresh against what is deployed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::stream::{self, StreamExt};

use super::manifest::{order_within, Synthesis};
use super::planned::{Exec, Plan, PolicyPlan, PolicyStatus, StackPlan, StackStatus, WaitOptions};
use super::progress::Progress;
use super::session::Connector;
use super::stack_exec::{self, Outcome};

/// How to execute.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExecOptions {
    /// How many accounts to work on at once within a phase.
    pub(crate) concurrency: usize,
    pub(crate) wait: WaitOptions,
}

/// How one step (a stack, or an account's catalog policy) ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StepStatus {
    Created,
    Updated,
    Deleted,
    /// A Glue resource policy put in place.
    Applied,
    /// Only the stack's guards were set (stack policy, termination protection).
    Guarded,
    /// Nothing to do.
    Unchanged,
    Failed {
        /// The stack's final status, when it got that far.
        status: Option<String>,
        reason: String,
    },
    /// Not started, because something failed first.
    Skipped,
}

/// One step of a deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    pub(crate) account: String,
    /// The stack's name, or `glue-resource-policy`.
    pub(crate) name: String,
    pub(crate) status: StepStatus,
}

/// What a deploy did, step by step, sorted by (account, name).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct DeployReport {
    pub(crate) steps: Vec<Step>,
}

impl DeployReport {
    pub(crate) fn is_success(&self) -> bool {
        !self
            .steps
            .iter()
            .any(|s| matches!(s.status, StepStatus::Failed { .. } | StepStatus::Skipped))
    }

    /// Steps with the given status kind (`Failed` matches any failure).
    pub(crate) fn with(&self, pick: fn(&StepStatus) -> bool) -> Vec<&Step> {
        self.steps.iter().filter(|s| pick(&s.status)).collect()
    }
}

/// The name policies go by in reports.
pub(crate) const POLICY_STEP: &str = "glue-resource-policy";

enum Work<'p> {
    Stack(&'p StackPlan),
    Policy(&'p PolicyPlan),
}

impl Work<'_> {
    fn is_noop(&self) -> bool {
        match self {
            Work::Stack(s) => s.exec == Exec::Nothing,
            Work::Policy(p) => p.status == PolicyStatus::NoChanges,
        }
    }

    fn step(&self, status: StepStatus) -> Step {
        let (account, name) = match self {
            Work::Stack(s) => (s.account.clone(), s.name.clone()),
            Work::Policy(p) => (p.account.clone(), POLICY_STEP.to_owned()),
        };
        Step { account, name, status }
    }
}

/// An account's work within one phase, done in order.
struct Group<'p> {
    account: String,
    region: String,
    work: Vec<Work<'p>>,
}

struct Phase<'p> {
    label: String,
    groups: Vec<Group<'p>>,
}

/// `mesh-products-2` → `products`.
fn part(stack: &str) -> &str {
    let rest = stack.strip_prefix("mesh-").unwrap_or(stack);
    match rest.rsplit_once('-') {
        Some((base, n)) if n.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => rest,
    }
}

/// Deletion order: what depends on others goes first.
fn deletion_rank(stack: &str) -> u8 {
    match part(stack) {
        "identity" => 0,
        "central" | "consumer" => 1,
        "products" => 2,
        "baseline" => 3,
        _ => 0,
    }
}

fn phases<'p>(plan: &'p Plan, synth: &Synthesis) -> Vec<Phase<'p>> {
    let mut waves: BTreeMap<u32, BTreeMap<&str, Vec<&StackPlan>>> = BTreeMap::new();
    let mut deletions: BTreeMap<u8, BTreeMap<&str, Vec<&StackPlan>>> = BTreeMap::new();
    for s in &plan.stacks {
        match (s.status, s.wave) {
            (StackStatus::Delete, _) | (_, None) => deletions
                .entry(deletion_rank(&s.name))
                .or_default()
                .entry(&s.account)
                .or_default()
                .push(s),
            (_, Some(w)) => waves.entry(w).or_default().entry(&s.account).or_default().push(s),
        }
    }
    // An account's policy goes right after its (last) products stack.
    let mut policy_wave: BTreeMap<&str, u32> = BTreeMap::new();
    for s in plan.stacks.iter().filter(|s| part(&s.name) == "products") {
        if let Some(w) = s.wave {
            let e = policy_wave.entry(&s.account).or_insert(w);
            *e = (*e).max(w);
        }
    }
    let mut orphan_policies = Vec::new();
    let mut policies: BTreeMap<(u32, &str), &PolicyPlan> = BTreeMap::new();
    for p in &plan.policies {
        match policy_wave.get(p.account.as_str()) {
            // Readers of other accounts may rely on it until their grants, in later waves, exist.
            _ if p.status == PolicyStatus::Delete => orphan_policies.push(p),
            Some(w) => {
                policies.insert((*w, &p.account), p);
            }
            None => orphan_policies.push(p),
        }
    }

    let region_of = |stacks: &[&StackPlan]| stacks.first().map_or(plan.region.clone(), |s| s.region.clone());
    let mut out = Vec::new();
    for (wave, accounts) in waves {
        let parts: BTreeSet<&str> = accounts.values().flatten().map(|s| part(&s.name)).collect();
        let mut groups = Vec::new();
        for (account, stacks) in accounts {
            let entries: Vec<_> = stacks
                .iter()
                .filter_map(|s| synth.stack(&(s.account.clone(), s.name.clone())))
                .collect();
            let ordered: Vec<&StackPlan> = match order_within(&entries) {
                Some(order) if entries.len() == stacks.len() => order.into_iter().map(|i| stacks[i]).collect(),
                _ => stacks.clone(),
            };
            let mut work: Vec<Work<'p>> = ordered.into_iter().map(Work::Stack).collect();
            if let Some(p) = policies.get(&(wave, account)) {
                work.push(Work::Policy(p));
            }
            groups.push(Group {
                account: account.to_owned(),
                region: region_of(&stacks),
                work,
            });
        }
        out.push(Phase {
            label: format!("wave {wave} ({})", parts.into_iter().collect::<Vec<_>>().join(", ")),
            groups,
        });
    }
    if !orphan_policies.is_empty() {
        out.push(Phase {
            label: "catalog policies".to_owned(),
            groups: orphan_policies
                .into_iter()
                .map(|p| Group {
                    account: p.account.clone(),
                    region: p.region.clone(),
                    work: vec![Work::Policy(p)],
                })
                .collect(),
        });
    }
    for (_, accounts) in deletions {
        let parts: BTreeSet<&str> = accounts.values().flatten().map(|s| part(&s.name)).collect();
        out.push(Phase {
            label: format!("delete ({})", parts.into_iter().collect::<Vec<_>>().join(", ")),
            groups: accounts
                .into_iter()
                .map(|(account, stacks)| Group {
                    account: account.to_owned(),
                    region: region_of(&stacks),
                    work: stacks.into_iter().map(Work::Stack).collect(),
                })
                .collect(),
        });
    }
    out
}

/// Executes `plan` (see the module docs). Never fails as a whole: every
/// problem is a failed step of the report.
pub(crate) async fn execute(
    connector: &dyn Connector,
    plan: &Plan,
    synth: &Synthesis,
    options: &ExecOptions,
    progress: &Progress,
) -> DeployReport {
    let stop = AtomicBool::new(false);
    let mut steps = Vec::new();
    for phase in phases(plan, synth) {
        let active = phase
            .groups
            .iter()
            .flat_map(|g| &g.work)
            .filter(|w| !w.is_noop())
            .count();
        let bar = progress.bar(active as u64, &phase.label);
        progress.phase(&phase.label, active);
        let work = stream::iter(phase.groups)
            .map(|group| run_group(connector, group, synth, options, &stop, &bar, progress))
            .buffer_unordered(options.concurrency.max(1))
            .collect::<Vec<Vec<Step>>>();
        let done = match progress.heartbeat_every() {
            None => work.await,
            Some(every) => {
                // A CI log shows what is still running while a wave waits.
                tokio::pin!(work);
                let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                loop {
                    tokio::select! {
                        done = &mut work => break done,
                        _ = tick.tick() => progress.heartbeat(),
                    }
                }
            }
        };
        bar.finish_and_clear();
        steps.extend(done.into_iter().flatten());
    }
    steps.sort_by(|a, b| (&a.account, &a.name).cmp(&(&b.account, &b.name)));
    DeployReport { steps }
}

async fn run_group(
    connector: &dyn Connector,
    group: Group<'_>,
    synth: &Synthesis,
    options: &ExecOptions,
    stop: &AtomicBool,
    bar: &indicatif::ProgressBar,
    progress: &Progress,
) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut apis = None;
    for work in &group.work {
        if work.is_noop() {
            steps.push(work.step(StepStatus::Unchanged));
            continue;
        }
        // Let running work finish, but start nothing new after a failure.
        if stop.load(Ordering::SeqCst) {
            steps.push(work.step(StepStatus::Skipped));
            continue;
        }
        if apis.is_none() {
            match connector.account(&group.account, &group.region).await {
                Ok(a) => apis = Some(a),
                Err(e) => {
                    stop.store(true, Ordering::SeqCst);
                    steps.push(work.step(StepStatus::Failed {
                        status: None,
                        reason: e.to_string(),
                    }));
                    continue;
                }
            }
        }
        let Some(apis) = apis.as_deref() else { continue };
        let name = work.step(StepStatus::Skipped).name;
        bar.set_message(format!("{} {name}", group.account));
        progress.started(&group.account, &name);
        let status = match work {
            Work::Stack(plan) => {
                let key = (plan.account.clone(), plan.name.clone());
                match stack_exec::execute_stack(apis, plan, synth.stack(&key), synth.templates.get(&key), &options.wait)
                    .await
                {
                    Ok(Outcome::Created) => StepStatus::Created,
                    Ok(Outcome::Updated) => StepStatus::Updated,
                    Ok(Outcome::Deleted) => StepStatus::Deleted,
                    Ok(Outcome::Unchanged) => StepStatus::Unchanged,
                    Ok(Outcome::Guarded) => StepStatus::Guarded,
                    Err(f) => StepStatus::Failed {
                        status: f.status,
                        reason: f.reason,
                    },
                }
            }
            Work::Policy(policy) => {
                let hash = policy.deployed_hash.as_deref();
                let done = match &policy.document {
                    // Sent compact: Glue caps `PolicyInJson` at 10,240 characters, whitespace
                    // included (synth checks the compact size).
                    Some(document) => apis
                        .glue
                        .put_resource_policy(&compact_json(document), hash)
                        .await
                        .map(|()| StepStatus::Applied),
                    None => apis
                        .glue
                        .delete_resource_policy(hash)
                        .await
                        .map(|()| StepStatus::Deleted),
                };
                done.unwrap_or_else(|e| StepStatus::Failed {
                    status: None,
                    reason: if e.is_code("ConcurrentModificationException") {
                        format!("the catalog policy changed since it was planned (run deploy again to review the change): {e}")
                    } else {
                        e.to_string()
                    },
                })
            }
        };
        progress.finished(&group.account, &name, &outcome(&status));
        if matches!(status, StepStatus::Failed { .. }) {
            stop.store(true, Ordering::SeqCst);
        }
        steps.push(work.step(status));
        bar.inc(1);
    }
    steps
}

/// How a step ended, in a word (and why, for a failure).
fn outcome(status: &StepStatus) -> String {
    match status {
        StepStatus::Created => "created".to_owned(),
        StepStatus::Updated => "updated".to_owned(),
        StepStatus::Deleted => "deleted".to_owned(),
        StepStatus::Applied => "applied".to_owned(),
        StepStatus::Guarded => "guards set".to_owned(),
        StepStatus::Unchanged => "unchanged".to_owned(),
        StepStatus::Skipped => "skipped".to_owned(),
        StepStatus::Failed { status, reason } => match status {
            Some(s) => format!("failed: {s}: {reason}"),
            None => format!("failed: {reason}"),
        },
    }
}

/// A JSON document without whitespace (as it was, if it is not JSON).
fn compact_json(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text).map_or_else(|_| text.to_owned(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::part;

    #[test]
    fn parts_drop_the_prefix_and_the_split_number() {
        assert_eq!(part("mesh-products"), "products");
        assert_eq!(part("mesh-products-2"), "products");
        assert_eq!(part("mesh-baseline"), "baseline");
    }
}
