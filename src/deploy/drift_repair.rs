//! `meshsynth drift --repair`: puts the synthesis back where `drift` found
//! it changed. A drifted stack gets a `REVERT_DRIFT` change set of its own
//! template (a redeploy of an unchanged template would change nothing);
//! every drifted document is written back with its own API call. Nothing
//! here prints.

use std::collections::BTreeMap;
use std::time::Instant;

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use super::api::{ApiError, ApiErrorKind};
use super::cfn::{ChangeSetState, NewChangeSet, StackState, TemplateSource};
use super::drift::{AccessDrift, DriftOptions, DriftReport, Fix, StackDrift};
use super::drift_api::{DriftApis, DriftConnector};
use super::drift_status::ReportedDrift;
use super::manifest::{ManifestStack, Synthesis, Template};
use super::plan::WaitOptions;
use super::progress::Progress;

/// One repair and how it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Repaired {
    pub(crate) account: String,
    /// The stack reverted, or the resource whose document was put back.
    pub(crate) what: String,
    /// `None` when it worked; the reason otherwise.
    pub(crate) error: Option<String>,
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
pub(crate) async fn repair(
    connector: &dyn DriftConnector,
    synth: &Synthesis,
    report: &DriftReport,
    options: &DriftOptions,
    progress: &Progress,
) -> Vec<Repaired> {
    let mut by_account: BTreeMap<&str, (Vec<&StackDrift>, Vec<&AccessDrift>)> = BTreeMap::new();
    for s in report.stacks.iter().filter(|s| s.status == ReportedDrift::Drifted) {
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
