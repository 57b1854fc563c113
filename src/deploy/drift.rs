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
use super::cfn::{ChangeSetState, NewChangeSet, StackState, TemplateSource};
use super::drift_api::{DriftApis, DriftConnector, ResourceDrift, StackResource};
use super::drift_surface::{self as surface, StatementChange};
use super::manifest::{ManifestStack, Synthesis, Template};
use super::plan::WaitOptions;
use super::progress::Progress;

/// What to check and how.
#[derive(Debug, Clone)]
pub struct DriftOptions {
    /// The accounts to check (id → name).
    pub accounts: BTreeMap<String, String>,
    /// Replaces every stack's region (`--region`).
    pub region_override: Option<String>,
    /// How many accounts to work on at once.
    pub concurrency: usize,
    /// How long to wait for a drift detection (and, repairing, a stack update).
    pub wait: WaitOptions,
}

/// A stack's CloudFormation drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackDrift {
    pub account: String,
    pub stack: String,
    pub region: String,
    /// `DRIFTED`, `NOT_DEPLOYED`, or `NOT_CHECKED` (see `note`). In-sync stacks are not listed.
    pub status: String,
    /// The MODIFIED and DELETED resources, by logical id.
    pub resources: Vec<ResourceDrift>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
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
pub struct AccessDrift {
    pub account: String,
    pub region: String,
    /// The stack that sets it; `None` for the catalog policy.
    pub stack: Option<String>,
    /// `bucket-policy`, `key-policy`, `catalog-policy`, `role-trust`,
    /// `role-policy`, `role-managed-policies`, `permission-set-policy`.
    pub kind: &'static str,
    /// How the resource reads in a sentence: ``bucket acast-…-mesh``.
    pub resource: String,
    /// Set when the resource itself is gone (then `changes` lists every synthesised statement).
    pub missing: bool,
    pub changes: Vec<StatementChange>,
    #[serde(skip)]
    pub(crate) fix: Fix,
}

/// A check that could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftError {
    pub account: String,
    pub stack: Option<String>,
    pub message: String,
}

/// Counts, for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DriftSummary {
    pub accounts: usize,
    pub stacks_checked: usize,
    pub stacks_drifted: usize,
    pub stacks_not_checked: usize,
    pub documents_checked: usize,
    pub documents_drifted: usize,
    pub statements_added: usize,
    pub statements_removed: usize,
    pub errors: usize,
}

/// What `drift` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftReport {
    /// The version of this JSON shape.
    pub format: u32,
    pub org: String,
    pub summary: DriftSummary,
    /// Stacks that drifted, are not deployed, or could not be checked; by (account, stack).
    pub stacks: Vec<StackDrift>,
    /// By account, then resource.
    pub access: Vec<AccessDrift>,
    pub errors: Vec<DriftError>,
}

impl DriftReport {
    /// Whether anything differs from the synthesis.
    pub fn drifted(&self) -> bool {
        !self.access.is_empty() || self.stacks.iter().any(|s| s.status != "NOT_CHECKED")
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
        if status.status != "DETECTION_IN_PROGRESS" {
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
    let drift = |status: &str, resources: Vec<ResourceDrift>, note: Option<String>| StackDrift {
        account: account.to_owned(),
        stack: stack.name.clone(),
        region: region.to_owned(),
        status: status.to_owned(),
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
                    "NOT_DEPLOYED",
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
                Some(drift("NOT_CHECKED", Vec::new(), Some(note))),
                None,
            );
        }
        Err(e) => return (Some(resources), None, Some(error(e.to_string()))),
    };
    let status = match wait_detection(apis, &id, wait).await {
        Ok(s) => s,
        Err(message) => return (Some(resources), None, Some(error(message))),
    };
    if status.status == "DETECTION_FAILED" {
        // A failed detection may still have checked most resources; what it
        // found is reported, and the failure too.
        let message = format!(
            "drift detection failed: {}",
            status.reason.as_deref().unwrap_or("no reason given")
        );
        if status.stack_drift_status.as_deref() != Some("DRIFTED") {
            return (Some(resources), None, Some(error(message)));
        }
    }
    match status.stack_drift_status.as_deref() {
        Some("DRIFTED") => match apis.drift.resource_drifts(&stack.name).await {
            Ok(mut found) => {
                found.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
                let note = (status.status == "DETECTION_FAILED").then(|| {
                    format!(
                        "detection did not finish: {}",
                        status.reason.as_deref().unwrap_or("no reason given")
                    )
                });
                (Some(resources), Some(drift("DRIFTED", found, note)), None)
            }
            Err(e) => (Some(resources), None, Some(error(e.to_string()))),
        },
        _ => (Some(resources), None, None),
    }
}

/// Reads a live document as JSON; text that is not JSON compares as no statements.
fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn compact(v: &Value) -> String {
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
    let error = |message: String| DriftError {
        account: account.to_owned(),
        stack: Some(stack.to_owned()),
        message,
    };
    let mut found = Vec::new();
    let mut record = |kind: &'static str, resource: String, missing: bool, changes: Vec<StatementChange>, fix: Fix| {
        if !changes.is_empty() || missing {
            found.push(AccessDrift {
                account: account.to_owned(),
                region: region.to_owned(),
                stack: Some(stack.to_owned()),
                kind,
                resource,
                missing,
                changes,
                fix,
            });
        }
    };
    // Fills what only the deployed stack knows; a document that stays
    // unresolved cannot be compared, which is an error, not drift.
    let resolve = |doc: &Value, what: &str| -> Result<Value, String> {
        let mut doc = doc.clone();
        let unknown = surface::fill(&mut doc, account, region, resources);
        if unknown.is_empty() {
            Ok(doc)
        } else {
            Err(format!(
                "cannot work out the {what} from the template: {} unknown",
                unknown
                    .into_iter()
                    .map(|u| format!("`{u}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    };
    let physical = |logical: &str| {
        resources
            .iter()
            .find(|r| r.logical_id == logical)
            .map(|r| r.physical_id.clone())
    };
    let mut errors = Vec::new();
    let mut checked = 0;

    for (bucket, doc) in &s.buckets {
        let doc = match resolve(doc, &format!("policy of bucket {bucket}")) {
            Ok(d) => d,
            Err(e) => {
                errors.push(error(e));
                continue;
            }
        };
        checked += 1;
        let fix = Fix::BucketPolicy {
            bucket: bucket.clone(),
            policy: compact(&doc),
        };
        match apis.drift.bucket_policy(bucket).await {
            Ok(live) => {
                let live = live.as_deref().map(parse);
                record(
                    "bucket-policy",
                    format!("bucket {bucket}"),
                    false,
                    surface::compare_policies(Some(&doc), live.as_ref()),
                    fix,
                );
            }
            Err(e) if e.is_code("NoSuchBucket") => record(
                "bucket-policy",
                format!("bucket {bucket}"),
                true,
                surface::compare_policies(Some(&doc), None),
                Fix::Missing,
            ),
            Err(e) => errors.push(error(e.to_string())),
        }
    }
    for (logical, doc) in &s.keys {
        let Some(key_id) = physical(logical) else {
            errors.push(error(format!(
                "KMS key `{logical}` is not a resource of the deployed stack"
            )));
            continue;
        };
        let doc = match resolve(doc, &format!("policy of KMS key `{logical}`")) {
            Ok(d) => d,
            Err(e) => {
                errors.push(error(e));
                continue;
            }
        };
        checked += 1;
        let resource = format!("KMS key {logical} ({key_id})");
        match apis.drift.key_policy(&key_id).await {
            Ok(live) => record(
                "key-policy",
                resource,
                false,
                surface::compare_policies(Some(&doc), Some(&parse(&live))),
                Fix::KeyPolicy {
                    key_id,
                    policy: compact(&doc),
                },
            ),
            Err(e) if e.is_code("NotFoundException") => record(
                "key-policy",
                resource,
                true,
                surface::compare_policies(Some(&doc), None),
                Fix::Missing,
            ),
            Err(e) => errors.push(error(e.to_string())),
        }
    }
    for role in &s.roles {
        let name = match resolve(
            &Value::String(role.name.clone()),
            &format!("name of role `{}`", role.logical_id),
        ) {
            Ok(Value::String(n)) => n,
            Ok(_) => continue,
            Err(e) => {
                errors.push(error(e));
                continue;
            }
        };
        let trust = resolve(&role.trust, &format!("trust policy of role {name}"));
        let inline: Result<BTreeMap<String, Value>, String> = role
            .inline
            .iter()
            .map(|(p, d)| Ok((p.clone(), resolve(d, &format!("policy `{p}` of role {name}"))?)))
            .collect();
        let managed: Result<BTreeSet<String>, String> = role
            .managed
            .iter()
            .map(
                |a| match resolve(&Value::String(a.clone()), &format!("managed policies of role {name}"))? {
                    Value::String(s) => Ok(s),
                    other => Ok(other.to_string()),
                },
            )
            .collect();
        let (trust, inline, managed) = match (trust, inline, managed) {
            (Ok(t), Ok(i), Ok(m)) => (t, i, m),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                errors.push(error(e));
                continue;
            }
        };
        checked += 2 + inline.len();
        let live = match apis.drift.role(&name).await {
            Ok(live) => live,
            Err(e) => {
                errors.push(error(e.to_string()));
                continue;
            }
        };
        let Some(live) = live else {
            record(
                "role-trust",
                format!("role {name}"),
                true,
                surface::compare_policies(Some(&trust), None),
                Fix::Missing,
            );
            continue;
        };
        record(
            "role-trust",
            format!("role {name} trust policy"),
            false,
            surface::compare_policies(Some(&trust), Some(&parse(&live.trust))),
            Fix::RoleTrust {
                role: name.clone(),
                policy: compact(&trust),
            },
        );
        let names: BTreeSet<&String> = inline.keys().chain(live.inline.keys()).collect();
        for p in names {
            let want = inline.get(p);
            let have = live.inline.get(p).map(|t| parse(t));
            record(
                "role-policy",
                format!("role {name} inline policy {p}"),
                false,
                surface::compare_policies(want, have.as_ref()),
                Fix::RolePolicy {
                    role: name.clone(),
                    name: p.clone(),
                    policy: want.map(compact),
                },
            );
        }
        record(
            "role-managed-policies",
            format!("role {name}"),
            false,
            surface::compare_attachments(&managed, &live.managed),
            Fix::RoleAttachments {
                role: name.clone(),
                attach: managed.difference(&live.managed).cloned().collect(),
                detach: live.managed.difference(&managed).cloned().collect(),
            },
        );
    }
    for ps in &s.permission_sets {
        let Some(arn) = physical(&ps.logical_id) else {
            errors.push(error(format!(
                "permission set `{}` is not a resource of the deployed stack",
                ps.logical_id
            )));
            continue;
        };
        // CloudFormation's physical id of a permission set is its ARN (some
        // tools give `ARN|instance`).
        let arn = arn.split('|').next().unwrap_or(&arn).to_owned();
        let want = match ps
            .policy
            .as_ref()
            .map(|d| resolve(d, &format!("policy of permission set {}", ps.name)))
        {
            Some(Ok(d)) => Some(d),
            Some(Err(e)) => {
                errors.push(error(e));
                continue;
            }
            None => None,
        };
        checked += 1;
        match apis.drift.permission_set_policy(&ps.instance, &arn).await {
            Ok(live) => {
                let live = live.as_deref().map(parse);
                let changes = surface::compare_policies(want.as_ref(), live.as_ref());
                let fix = Fix::PermissionSet {
                    instance: ps.instance.clone(),
                    arn: arn.clone(),
                    policy: want.as_ref().map(compact),
                };
                record(
                    "permission-set-policy",
                    format!("permission set {}", ps.name),
                    false,
                    changes,
                    fix,
                );
            }
            Err(e) => errors.push(error(e.to_string())),
        }
    }
    out.access.extend(found);
    out.errors.extend(errors);
    out.documents_checked += checked;
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
pub async fn check(
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
    s.stacks_drifted = report.stacks.iter().filter(|x| x.status == "DRIFTED").count();
    s.stacks_not_checked = report.stacks.iter().filter(|x| x.status == "NOT_CHECKED").count();
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

/// One repair and how it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repaired {
    pub account: String,
    /// The stack reverted, or the resource whose document was put back.
    pub what: String,
    /// `None` when it worked; the reason otherwise.
    pub error: Option<String>,
}

/// Waits for a change set to be created, executes it, waits for the stack.
async fn revert_stack(
    apis: &DriftApis,
    stack: &ManifestStack,
    template: &Template,
    region: &str,
    wait: &WaitOptions,
) -> Result<(), String> {
    let cfn = &apis.base.cfn;
    let source = match &stack.upload {
        Some(u) => TemplateSource::Url(super::s3::template_url(region, &u.bucket, &u.key)),
        None => TemplateSource::Body(template.text.clone()),
    };
    let name = format!("meshsynth-revert-drift-{}", &stack.sha256[..12.min(stack.sha256.len())]);
    let request = NewChangeSet {
        stack_name: stack.name.clone(),
        change_set_name: name.clone(),
        change_set_type: super::cfn::ChangeSetType::Update,
        template: source,
    };
    apis.drift
        .create_revert_drift_change_set(&request)
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut pause = wait.poll_initial;
    let timeout = |what: &str| {
        format!(
            "gave up waiting for {what} after {} s (see --wait-timeout)",
            wait.timeout.as_secs()
        )
    };
    loop {
        let info = cfn
            .describe_change_set(&stack.name, &name)
            .await
            .map_err(|e| e.to_string())?;
        match info.status {
            ChangeSetState::Ready => break,
            ChangeSetState::Failed => {
                let reason = info.status_reason.unwrap_or_default();
                cfn.delete_change_set(&stack.name, &name)
                    .await
                    .map_err(|e| e.to_string())?;
                if reason.contains("didn't contain changes") || reason.contains("No updates") {
                    return Err(
                        "CloudFormation has nothing to revert (the drifted properties are not set by the template); \
                         fix them by hand"
                            .to_owned(),
                    );
                }
                return Err(format!("the revert-drift change set failed: {reason}"));
            }
            _ if started.elapsed() >= wait.timeout => return Err(timeout("the change set")),
            _ => {}
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(wait.poll_max);
    }
    cfn.execute_change_set(&stack.name, &name)
        .await
        .map_err(|e| e.to_string())?;
    let mut pause = wait.poll_initial;
    loop {
        let info = cfn
            .describe_stack(&stack.name)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "the stack is gone".to_owned())?;
        if !matches!(
            info.status,
            StackState::InProgress(_) | StackState::ReviewInProgress | StackState::DeleteInProgress
        ) {
            return if info.status == StackState::UpdateComplete {
                Ok(())
            } else {
                Err(format!(
                    "the stack ended {}{}",
                    info.status.as_str(),
                    info.status_reason.map(|r| format!(" ({r})")).unwrap_or_default()
                ))
            };
        }
        if started.elapsed() >= wait.timeout {
            return Err(timeout("the stack"));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(wait.poll_max);
    }
}

/// Puts one document back.
async fn apply(apis: &DriftApis, fix: &Fix) -> Result<(), ApiError> {
    let d = &apis.drift;
    match fix {
        Fix::BucketPolicy { bucket, policy } => d.put_bucket_policy(bucket, policy).await,
        Fix::KeyPolicy { key_id, policy } => d.put_key_policy(key_id, policy).await,
        Fix::CatalogPolicy { policy: Some(p), hash } => apis.base.glue.put_resource_policy(p, hash.as_deref()).await,
        Fix::CatalogPolicy { policy: None, hash } => apis.base.glue.delete_resource_policy(hash.as_deref()).await,
        Fix::RoleTrust { role, policy } => d.update_assume_role_policy(role, policy).await,
        Fix::RolePolicy {
            role,
            name,
            policy: Some(p),
        } => d.put_role_policy(role, name, p).await,
        Fix::RolePolicy {
            role,
            name,
            policy: None,
        } => d.delete_role_policy(role, name).await,
        Fix::RoleAttachments { role, attach, detach } => {
            for arn in attach {
                d.attach_role_policy(role, arn).await?;
            }
            for arn in detach {
                d.detach_role_policy(role, arn).await?;
            }
            Ok(())
        }
        Fix::PermissionSet { instance, arn, policy } => {
            d.put_permission_set_policy(instance, arn, policy.as_deref()).await
        }
        Fix::Missing => Err(ApiError::new(
            "meshsynth:Repair",
            ApiErrorKind::Other,
            None,
            "the resource is missing; `meshsynth deploy` recreates it",
        )),
    }
}

/// Puts the synthesis back where `report` found drift: drifted stacks first
/// (a `REVERT_DRIFT` change set each), then every drifted document. Accounts
/// `concurrency` at a time; within an account, one repair after the other.
pub async fn repair(
    connector: &dyn DriftConnector,
    synth: &Synthesis,
    report: &DriftReport,
    options: &DriftOptions,
    progress: &Progress,
) -> Vec<Repaired> {
    let mut by_account: BTreeMap<&str, (Vec<&StackDrift>, Vec<&AccessDrift>)> = BTreeMap::new();
    for s in report.stacks.iter().filter(|s| s.status == "DRIFTED") {
        by_account.entry(&s.account).or_default().0.push(s);
    }
    for a in &report.access {
        by_account.entry(&a.account).or_default().1.push(a);
    }
    let bar = progress.bar(by_account.len() as u64, "repairing");
    let wait = options.wait;
    let results: Vec<Vec<Repaired>> = stream::iter(by_account)
        .map(|(account, (stacks, docs))| {
            let bar = bar.clone();
            async move {
                let mut done = Vec::new();
                let mut clients: BTreeMap<String, Result<DriftApis, String>> = BTreeMap::new();
                let mut regions: Vec<&str> = stacks.iter().map(|s| s.region.as_str()).collect();
                regions.extend(docs.iter().map(|d| d.region.as_str()));
                for region in regions {
                    if !clients.contains_key(region) {
                        let c = connector
                            .drift_account(account, region)
                            .await
                            .map_err(|e| e.to_string());
                        clients.insert(region.to_owned(), c);
                    }
                }
                for s in stacks {
                    let key = (s.account.clone(), s.stack.clone());
                    let result = match (&clients[&s.region], synth.stack(&key), synth.templates.get(&key)) {
                        (Err(e), _, _) => Err(e.clone()),
                        (Ok(apis), Some(stack), Some(template)) => {
                            revert_stack(apis, stack, template, &s.region, &wait).await
                        }
                        _ => Err("the stack is not in the synthesis".to_owned()),
                    };
                    done.push(Repaired {
                        account: s.account.clone(),
                        what: format!("stack {}", s.stack),
                        error: result.err(),
                    });
                }
                for d in docs {
                    let result = match &clients[&d.region] {
                        Err(e) => Err(e.clone()),
                        Ok(apis) => apply(apis, &d.fix).await.map_err(|e| e.to_string()),
                    };
                    done.push(Repaired {
                        account: d.account.clone(),
                        what: d.resource.clone(),
                        error: result.err(),
                    });
                }
                bar.inc(1);
                done
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    bar.finish_and_clear();
    let mut all: Vec<Repaired> = results.into_iter().flatten().collect();
    all.sort_by(|a, b| (&a.account, &a.what).cmp(&(&b.account, &b.what)));
    all
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
