//! `meshsynth drift`: what changed in AWS outside meshsynth, and putting
//! the synthesis back.
//!
//! Two independent checks per account of the synthesis:
//! - **CloudFormation drift** of every deployed stack: `DetectStackDrift`,
//!   polled with `DescribeStackDriftDetectionStatus`, then the MODIFIED and
//!   DELETED resources with `DescribeStackResourceDrifts`. Where the endpoint
//!   does not offer drift detection (an emulator), the report says so and
//!   the stack counts as not checked, not as an error.
//! - **The access surface** (`drift_surface`): each bucket policy, key
//!   policy, IAM role, permission set and the Glue catalog policy as it is
//!   live, compared statement by statement with the synthesis.
//!
//! Accounts are worked on `concurrency` at a time, the stacks of one account
//! together, through the same assumed-role sessions and throttling retry as
//! `plan` and `deploy`. [`repair`] puts the synthesised documents back and
//! reverts drifted stacks (a `REVERT_DRIFT` change set of the stack's own
//! template). Nothing here prints.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use futures_util::future::join_all;
use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::Value;

use super::account::AccountWork;
use super::api::{ApiError, ApiErrorKind};

use super::drift_api::{DriftApis, DriftConnector, ResourceDrift, StackResource};
use super::drift_check::SurfaceCheck;
use super::drift_status::{DetectionState, ReportedDrift, StackDriftState};
use super::drift_surface::{self as surface, StatementChange};
use super::manifest::{ManifestStack, Synthesis, Template};
use super::plan::WaitOptions;
use super::progress::Progress;

/// What to check and how.
#[derive(Debug, Clone)]
pub(crate) struct DriftOptions {
    /// The accounts to check (id → name).
    pub(crate) accounts: BTreeMap<String, String>,
    /// Replaces every stack's region (`--region`).
    pub(crate) region_override: Option<String>,
    /// How many accounts to work on at once.
    pub(crate) concurrency: usize,
    /// How long to wait for a drift detection (and, repairing, a stack update).
    pub(crate) wait: WaitOptions,
}

/// A stack's CloudFormation drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct StackDrift {
    pub(crate) account: String,
    pub(crate) stack: String,
    pub(crate) region: String,
    /// Drifted, not deployed, or not checked (see `note`). In-sync stacks are not listed.
    pub(crate) status: ReportedDrift,
    /// The MODIFIED and DELETED resources, by logical id.
    pub(crate) resources: Vec<ResourceDrift>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) note: Option<String>,
}

/// How to put one document back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fix {
    BucketPolicy {
        bucket: String,
        policy: String,
    },
    KeyPolicy {
        key_id: String,
        policy: String,
    },
    /// `None`: delete the policy. `hash`: the live policy's, so only it is replaced.
    CatalogPolicy {
        policy: Option<String>,
        hash: Option<String>,
    },
    RoleTrust {
        role: String,
        policy: String,
    },
    /// `None`: delete the inline policy.
    RolePolicy {
        role: String,
        name: String,
        policy: Option<String>,
    },
    RoleAttachments {
        role: String,
        attach: Vec<String>,
        detach: Vec<String>,
    },
    /// `None`: remove the inline policy.
    PermissionSet {
        instance: String,
        arn: String,
        policy: Option<String>,
    },
    /// What is missing cannot be given a policy: deploy recreates it.
    Missing,
}

/// A document of the access surface that is not what the synthesis says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct AccessDrift {
    pub(crate) account: String,
    pub(crate) region: String,
    /// The stack that sets it; `None` for the catalog policy.
    pub(crate) stack: Option<String>,
    /// `bucket-policy`, `key-policy`, `catalog-policy`, `role-trust`,
    /// `role-policy`, `role-managed-policies`, `permission-set-policy`.
    pub(crate) kind: &'static str,
    /// How the resource reads in a sentence: ``bucket acast-…-mesh``.
    pub(crate) resource: String,
    /// Set when the resource itself is gone (then `changes` lists every synthesised statement).
    pub(crate) missing: bool,
    pub(crate) changes: Vec<StatementChange>,
    #[serde(skip)]
    pub(crate) fix: Fix,
}

/// A check that could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct DriftError {
    pub(crate) account: String,
    pub(crate) stack: Option<String>,
    pub(crate) message: String,
}

/// Counts, for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct DriftSummary {
    pub(crate) accounts: usize,
    pub(crate) stacks_checked: usize,
    pub(crate) stacks_drifted: usize,
    pub(crate) stacks_not_checked: usize,
    pub(crate) documents_checked: usize,
    pub(crate) documents_drifted: usize,
    pub(crate) statements_added: usize,
    pub(crate) statements_removed: usize,
    pub(crate) errors: usize,
}

/// What `drift` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct DriftReport {
    /// The version of this JSON shape.
    pub(crate) format: u32,
    pub(crate) org: String,
    pub(crate) summary: DriftSummary,
    /// Stacks that drifted, are not deployed, or could not be checked; by (account, stack).
    pub(crate) stacks: Vec<StackDrift>,
    /// By account, then resource.
    pub(crate) access: Vec<AccessDrift>,
    pub(crate) errors: Vec<DriftError>,
}

impl DriftReport {
    /// Whether anything differs from the synthesis.
    pub(crate) fn drifted(&self) -> bool {
        !self.access.is_empty() || self.stacks.iter().any(|s| s.status != ReportedDrift::NotChecked)
    }
}

/// One account's findings.
#[derive(Default)]
struct AccountDrift {
    stacks: Vec<StackDrift>,
    access: Vec<AccessDrift>,
    errors: Vec<DriftError>,
    stacks_checked: usize,
    documents_checked: usize,
}

/// What the endpoint answers when it has no drift detection at all.
fn not_offered(e: &ApiError) -> bool {
    [
        "InvalidAction",
        "NotImplemented",
        "UnsupportedOperation",
        "UnknownOperationException",
    ]
    .iter()
    .any(|c| e.is_code(c))
}

fn is_missing_stack(e: &ApiError) -> bool {
    e.kind == ApiErrorKind::Service && e.is_code("ValidationError") && e.message.contains("does not exist")
}

/// Polls a drift detection until it ends (`DETECTION_COMPLETE` or `_FAILED`).
async fn wait_detection(
    apis: &DriftApis,
    id: &str,
    wait: &WaitOptions,
) -> Result<super::drift_api::DetectionStatus, String> {
    let started = Instant::now();
    let mut pause = wait.poll_initial;
    loop {
        let status = apis.drift.drift_detection_status(id).await.map_err(|e| e.to_string())?;
        if status.status != DetectionState::InProgress {
            return Ok(status);
        }
        if started.elapsed() >= wait.timeout {
            return Err(format!(
                "gave up waiting for drift detection after {} s (see --wait-timeout)",
                wait.timeout.as_secs()
            ));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(wait.poll_max);
    }
}

/// One stack: its resources (so its physical ids), then drift detection.
/// `None` resources: the stack is not deployed.
async fn check_stack(
    apis: &DriftApis,
    account: &str,
    stack: &ManifestStack,
    region: &str,
    wait: &WaitOptions,
) -> (Option<Vec<StackResource>>, Option<StackDrift>, Option<DriftError>) {
    let drift = |status: ReportedDrift, resources: Vec<ResourceDrift>, note: Option<String>| StackDrift {
        account: account.to_owned(),
        stack: stack.name.clone(),
        region: region.to_owned(),
        status,
        resources,
        note,
    };
    let error = |message: String| DriftError {
        account: account.to_owned(),
        stack: Some(stack.name.clone()),
        message,
    };
    let resources = match apis.drift.stack_resources(&stack.name).await {
        Ok(r) => r,
        Err(e) if is_missing_stack(&e) => {
            return (
                None,
                Some(drift(
                    ReportedDrift::NotDeployed,
                    Vec::new(),
                    Some("not deployed (run `meshsynth deploy`)".to_owned()),
                )),
                None,
            )
        }
        Err(e) => return (None, None, Some(error(e.to_string()))),
    };
    let id = match apis.drift.detect_stack_drift(&stack.name).await {
        Ok(id) => id,
        Err(e) if not_offered(&e) => {
            let note = format!("CloudFormation drift detection is not offered here ({})", e.message);
            return (
                Some(resources),
                Some(drift(ReportedDrift::NotChecked, Vec::new(), Some(note))),
                None,
            );
        }
        Err(e) => return (Some(resources), None, Some(error(e.to_string()))),
    };
    let status = match wait_detection(apis, &id, wait).await {
        Ok(s) => s,
        Err(message) => return (Some(resources), None, Some(error(message))),
    };
    if status.status == DetectionState::Failed {
        // A failed detection may still have checked most resources; what it
        // found is reported, and the failure too.
        let message = format!(
            "drift detection failed: {}",
            status.reason.as_deref().unwrap_or("no reason given")
        );
        if status.stack_drift_status != Some(StackDriftState::Drifted) {
            return (Some(resources), None, Some(error(message)));
        }
    }
    match status.stack_drift_status {
        Some(StackDriftState::Drifted) => match apis.drift.resource_drifts(&stack.name).await {
            Ok(mut found) => {
                found.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
                let note = (status.status == DetectionState::Failed).then(|| {
                    format!(
                        "detection did not finish: {}",
                        status.reason.as_deref().unwrap_or("no reason given")
                    )
                });
                (Some(resources), Some(drift(ReportedDrift::Drifted, found, note)), None)
            }
            Err(e) => (Some(resources), None, Some(error(e.to_string()))),
        },
        _ => (Some(resources), None, None),
    }
}

/// Reads a live document as JSON; text that is not JSON compares as no statements.
pub(super) fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

pub(super) fn compact(v: &Value) -> String {
    v.to_string()
}

/// The access surface of one deployed stack, compared with what is live.
async fn check_surface(
    apis: &DriftApis,
    account: &str,
    region: &str,
    stack: &str,
    template: &Template,
    resources: &[StackResource],
    out: &mut AccountDrift,
) {
    let s = surface::stack_surface(account, &template.json);
    let mut check = SurfaceCheck::new(apis, account, region, stack, resources);
    for (bucket, doc) in &s.buckets {
        check.bucket(bucket, doc).await;
    }
    for (logical, doc) in &s.keys {
        check.key(logical, doc).await;
    }
    for role in &s.roles {
        check.role(role).await;
    }
    for ps in &s.permission_sets {
        check.permission_set(ps).await;
    }
    out.access.extend(check.found);
    out.errors.extend(check.errors);
    out.documents_checked += check.checked;
}

/// The account's Glue catalog policy against the synthesised one.
async fn check_catalog(
    apis: &DriftApis,
    account: &str,
    region: &str,
    synthesised: Option<&str>,
    out: &mut AccountDrift,
) {
    let live = match apis.base.glue.get_resource_policy().await {
        Ok(l) => l,
        Err(e) => {
            out.errors.push(DriftError {
                account: account.to_owned(),
                stack: None,
                message: e.to_string(),
            });
            return;
        }
    };
    if live.is_none() && synthesised.is_none() {
        return;
    }
    out.documents_checked += 1;
    let want = synthesised.map(parse);
    let have = live.as_ref().map(|l| parse(&l.text));
    let changes = surface::compare_policies(want.as_ref(), have.as_ref());
    if changes.is_empty() {
        return;
    }
    out.access.push(AccessDrift {
        account: account.to_owned(),
        region: region.to_owned(),
        stack: None,
        kind: "catalog-policy",
        resource: "Glue catalog policy".to_owned(),
        missing: false,
        changes,
        fix: Fix::CatalogPolicy {
            policy: synthesised.map(str::to_owned),
            hash: live.and_then(|l| l.hash),
        },
    });
}

async fn check_account(connector: &dyn DriftConnector, work: AccountWork<'_>, wait: &WaitOptions) -> AccountDrift {
    let mut out = AccountDrift::default();
    let regions: BTreeSet<&str> = work
        .stacks
        .iter()
        .map(|(_, _, r)| r.as_str())
        .chain([work.home_region.as_str()])
        .collect();
    let mut clients: BTreeMap<&str, DriftApis> = BTreeMap::new();
    for region in regions {
        match connector.drift_account(work.account, region).await {
            Ok(apis) => {
                clients.insert(region, apis);
            }
            Err(e) => {
                out.errors.push(DriftError {
                    account: work.account.to_owned(),
                    stack: None,
                    message: e.to_string(),
                });
                return out;
            }
        }
    }
    let checks = join_all(work.stacks.iter().map(|(stack, _, region)| {
        let apis = &clients[region.as_str()];
        check_stack(apis, work.account, stack, region, wait)
    }))
    .await;
    for ((stack, template, region), (resources, drift, error)) in work.stacks.iter().zip(checks) {
        out.stacks.extend(drift);
        out.errors.extend(error);
        if let Some(resources) = resources {
            out.stacks_checked += 1;
            let apis = &clients[region.as_str()];
            check_surface(apis, work.account, region, &stack.name, template, &resources, &mut out).await;
        }
    }
    check_catalog(
        &clients[work.home_region.as_str()],
        work.account,
        &work.home_region,
        work.policy,
        &mut out,
    )
    .await;
    out
}

/// Checks every stack and document of `synth` in `options.accounts`.
pub(crate) async fn check(
    connector: &dyn DriftConnector,
    synth: &Synthesis,
    options: &DriftOptions,
    progress: &Progress,
) -> DriftReport {
    let manifest = &synth.manifest;
    let work = super::plan::work_by_account(synth, &options.accounts, options.region_override.as_deref());
    let bar = progress.bar(work.len() as u64, "checking drift");
    let wait = options.wait;
    let results: Vec<AccountDrift> = stream::iter(work)
        .map(|w| {
            let bar = bar.clone();
            async move {
                let r = check_account(connector, w, &wait).await;
                bar.inc(1);
                r
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    bar.finish_and_clear();

    let mut report = DriftReport {
        format: 1,
        org: manifest.org.clone(),
        summary: DriftSummary {
            accounts: options.accounts.len(),
            ..DriftSummary::default()
        },
        stacks: Vec::new(),
        access: Vec::new(),
        errors: Vec::new(),
    };
    for r in results {
        report.summary.stacks_checked += r.stacks_checked;
        report.summary.documents_checked += r.documents_checked;
        report.stacks.extend(r.stacks);
        report.access.extend(r.access);
        report.errors.extend(r.errors);
    }
    report
        .stacks
        .sort_by(|a, b| (&a.account, &a.stack).cmp(&(&b.account, &b.stack)));
    report
        .access
        .sort_by(|a, b| (&a.account, &a.stack, &a.resource).cmp(&(&b.account, &b.stack, &b.resource)));
    report
        .errors
        .sort_by(|a, b| (&a.account, &a.stack, &a.message).cmp(&(&b.account, &b.stack, &b.message)));
    let s = &mut report.summary;
    s.stacks_drifted = report
        .stacks
        .iter()
        .filter(|x| x.status == ReportedDrift::Drifted)
        .count();
    s.stacks_not_checked = report
        .stacks
        .iter()
        .filter(|x| x.status == ReportedDrift::NotChecked)
        .count();
    s.documents_drifted = report.access.len();
    for a in &report.access {
        for c in &a.changes {
            match c.change {
                surface::Change::Added => s.statements_added += 1,
                surface::Change::Removed => s.statements_removed += 1,
            }
        }
    }
    s.errors = report.errors.len();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_actions_mean_no_drift_detection() {
        let e = ApiError::new(
            "cloudformation:DetectStackDrift",
            ApiErrorKind::Service,
            Some("InvalidAction"),
            "not valid",
        );
        assert!(not_offered(&e));
        assert!(!not_offered(&ApiError::throttled("cloudformation:DetectStackDrift")));
    }
}
