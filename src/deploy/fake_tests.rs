//! Fault injection through the fakes: throttling is retried by our wrapper,
//! a stack failing mid-wave stops later waves with a clear message, and the
//! next run resumes.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::FakeConnector;
use crate::deploy::execute::{execute, DeployReport, ExecOptions, StepStatus};
use crate::deploy::manifest::{Manifest, ManifestStack, Synthesis, Template};
use crate::deploy::plan::{plan, Plan, PlanOptions, WaitOptions};
use crate::deploy::planned::{PolicyStatus, StackStatus};
use crate::deploy::preview::render_report;
use crate::deploy::progress::Progress;
use crate::render::manifest::ManifestPolicy;

const A: &str = "333333333333"; // producer
const B: &str = "444444444444"; // consumer of A
const C: &str = "555555555555"; // another producer
const M: &str = "111111111111"; // management (identity)

fn bucket(name: &str) -> Value {
    json!({"Type": "AWS::S3::Bucket", "Properties": {"BucketName": name}})
}

fn database(name: &str) -> Value {
    json!({"Type": "AWS::Glue::Database", "Properties": {"CatalogId": {"Ref": "AWS::AccountId"}, "DatabaseInput": {"Name": name}}})
}

fn role(name: &str) -> Value {
    json!({"Type": "AWS::IAM::Role", "Properties": {"RoleName": name, "AssumeRolePolicyDocument": {}}})
}

/// (account, stack, wave, depends_on, resources)
type Spec<'a> = (&'a str, &'a str, u32, &'a [&'a str], Value);

fn synthesis(specs: Vec<Spec<'_>>) -> Synthesis {
    let mut stacks = Vec::new();
    let mut templates = BTreeMap::new();
    for (account, name, wave, deps, resources) in specs {
        let json = json!({ "Resources": resources });
        let text = serde_json::to_string_pretty(&json).expect("serialisable");
        let sha: String = Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        stacks.push(ManifestStack {
            name: name.to_owned(),
            account: account.to_owned(),
            region: "eu-west-1".to_owned(),
            template: format!("{account}/{name}.template.json"),
            depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
            wave,
            resources: 1,
            sha256: sha,
            upload: None,
        });
        templates.insert((account.to_owned(), name.to_owned()), Template { text, json });
    }
    let policy = json!({"Version": "2012-10-17", "Statement": []}).to_string();
    Synthesis {
        manifest: Manifest {
            format: 1,
            org: "tiny".to_owned(),
            region: "eu-west-1".to_owned(),
            stacks,
            policies: vec![ManifestPolicy {
                account: A.to_owned(),
                file: format!("{A}/glue-resource-policy.json"),
                sha256: String::new(),
            }],
        },
        templates,
        policies: BTreeMap::from([(A.to_owned(), policy)]),
    }
}

fn org() -> Vec<Spec<'static>> {
    vec![
        (A, "mesh-baseline", 0, &[], json!({"Data": bucket("a-data")})),
        (B, "mesh-baseline", 0, &[], json!({"Data": bucket("b-data")})),
        (C, "mesh-baseline", 0, &[], json!({"Data": bucket("c-data")})),
        (
            A,
            "mesh-products",
            1,
            &["333333333333/mesh-baseline"],
            json!({"GlueDbEpisodesV1": database("episodes_v1")}),
        ),
        (
            C,
            "mesh-products",
            1,
            &["555555555555/mesh-baseline"],
            json!({"GlueDbAdsV1": database("ads_v1")}),
        ),
        (
            B,
            "mesh-consumer",
            2,
            &["333333333333/mesh-products"],
            json!({"Reader": role("b-reader")}),
        ),
        (M, "mesh-identity", 3, &[], json!({"Reader": role("m-reader")})),
    ]
}

fn options() -> PlanOptions {
    PlanOptions {
        accounts: [A, B, C, M]
            .iter()
            .map(|a| ((*a).to_owned(), format!("acct-{a}")))
            .collect(),
        region_override: None,
        concurrency: 4,
        wait: WaitOptions {
            timeout: Duration::from_secs(5),
            poll_initial: Duration::from_millis(1),
            poll_max: Duration::from_millis(5),
        },
    }
}

async fn plan_with(fakes: &FakeConnector, synth: &Synthesis) -> Plan {
    plan(fakes, synth, &options(), &Progress::hidden())
        .await
        .expect("the plan succeeds")
}

async fn deploy(fakes: &FakeConnector, synth: &Synthesis, plan: &Plan) -> DeployReport {
    let exec = ExecOptions {
        concurrency: 4,
        wait: options().wait,
    };
    execute(fakes, plan, synth, &exec, &Progress::hidden()).await
}

fn status<'r>(report: &'r DeployReport, account: &str, name: &str) -> &'r StepStatus {
    &report
        .steps
        .iter()
        .find(|s| s.account == account && s.name == name)
        .unwrap_or_else(|| panic!("no step {account}/{name} in {report:#?}"))
        .status
}

#[tokio::test]
async fn throttling_is_retried_by_our_wrapper() {
    let fakes = FakeConnector::new(&[A, B, C, M]);
    for a in [A, B, C, M] {
        fakes.cfn(a).throttle_next.store(3, Ordering::SeqCst);
    }
    let synth = synthesis(org());
    let plan = plan_with(&fakes, &synth).await;
    assert!(plan.stacks.iter().all(|s| s.status == StackStatus::Create), "{plan:#?}");
    for a in [A, B, C, M] {
        assert_eq!(fakes.cfn(a).throttled.load(Ordering::SeqCst), 3, "account {a}");
        fakes.cfn(a).throttle_next.store(2, Ordering::SeqCst);
    }
    let report = deploy(&fakes, &synth, &plan).await;
    assert!(report.is_success(), "{report:#?}");
    assert_eq!(
        fakes.cfn(B).status_of("mesh-consumer").as_deref(),
        Some("CREATE_COMPLETE")
    );
    assert_eq!(fakes.cfn(B).throttled.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn throttling_beyond_the_retry_budget_is_a_clear_error() {
    let mut fakes = FakeConnector::new(&[A, B, C, M]);
    fakes.retry.max_attempts = 3;
    fakes.cfn(C).throttle_next.store(10, Ordering::SeqCst);
    let synth = synthesis(org());
    let err = plan(&fakes, &synth, &options(), &Progress::hidden())
        .await
        .expect_err("throttled past the budget");
    let message = err.to_string();
    assert!(message.starts_with("account 555555555555"), "{message}");
    assert!(message.contains("Throttling: Rate exceeded"), "{message}");
    // Three calls gave up (two stacks and the stale-stack scan), after 3 attempts each.
    assert_eq!(fakes.cfn(C).throttled.load(Ordering::SeqCst), 9);
}

#[tokio::test]
async fn a_stack_failing_mid_wave_stops_later_waves_and_the_next_run_resumes() {
    let fakes = FakeConnector::new(&[A, B, C, M]);
    let synth = synthesis(org());
    let first = plan_with(&fakes, &synth).await;
    // A's products fail after a while; C's products, started meanwhile in the
    // same wave, run to the end.
    fakes
        .cfn(A)
        .fail
        .lock()
        .expect("lock")
        .insert("mesh-products".into(), "GlueDbEpisodesV1".into());
    fakes
        .cfn(A)
        .delay
        .lock()
        .expect("lock")
        .insert("mesh-products".into(), Duration::from_millis(50));
    fakes
        .cfn(C)
        .delay
        .lock()
        .expect("lock")
        .insert("mesh-products".into(), Duration::from_millis(100));
    let report = deploy(&fakes, &synth, &first).await;

    assert!(!report.is_success());
    assert_eq!(status(&report, A, "mesh-baseline"), &StepStatus::Created);
    assert_eq!(
        status(&report, A, "mesh-products"),
        &StepStatus::Failed {
            status: Some("ROLLBACK_COMPLETE".into()),
            reason:
                "GlueDbEpisodesV1 (AWS::Glue::Database) CREATE_FAILED: AlreadyExistsException: Database already exists"
                    .into(),
        }
    );
    assert_eq!(status(&report, C, "mesh-products"), &StepStatus::Created);
    assert_eq!(status(&report, A, "glue-resource-policy"), &StepStatus::Skipped);
    assert_eq!(status(&report, B, "mesh-consumer"), &StepStatus::Skipped);
    assert_eq!(status(&report, M, "mesh-identity"), &StepStatus::Skipped);
    let log = fakes.log();
    assert!(!log.contains("execute 444444444444/mesh-consumer"), "{log:?}");
    assert!(!log.contains("execute 111111111111/mesh-identity"), "{log:?}");
    assert_eq!(
        render_report(&report, false, false),
        "Deploy failed: 4 created, 0 updated, 0 deleted, 0 policies applied, 0 unchanged, 1 failed, 3 skipped

Failed (1):
  333333333333 mesh-products  ROLLBACK_COMPLETE: GlueDbEpisodesV1 (AWS::Glue::Database) CREATE_FAILED: AlreadyExistsException: Database already exists

Skipped (3):
  111111111111 mesh-identity
  333333333333 glue-resource-policy
  444444444444 mesh-consumer

Completed (4):
  333333333333 mesh-baseline  created
  444444444444 mesh-baseline  created
  555555555555 mesh-baseline  created
  555555555555 mesh-products  created
"
    );

    // Run again: the failed creation is deleted and recreated, the rest goes on.
    let second = plan_with(&fakes, &synth).await;
    let statuses: Vec<(&str, &str, StackStatus)> = second
        .stacks
        .iter()
        .map(|s| (s.account.as_str(), s.name.as_str(), s.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (M, "mesh-identity", StackStatus::Create),
            (A, "mesh-baseline", StackStatus::NoChanges),
            (A, "mesh-products", StackStatus::Create),
            (B, "mesh-baseline", StackStatus::NoChanges),
            (B, "mesh-consumer", StackStatus::Create),
            (C, "mesh-baseline", StackStatus::NoChanges),
            (C, "mesh-products", StackStatus::NoChanges),
        ]
    );
    let report = deploy(&fakes, &synth, &second).await;
    assert!(report.is_success(), "{report:#?}");
    assert_eq!(status(&report, A, "glue-resource-policy"), &StepStatus::Applied);
    assert_eq!(
        fakes.cfn(A).status_of("mesh-products").as_deref(),
        Some("CREATE_COMPLETE")
    );
    assert!(fakes.log().iter().any(|l| l.starts_with("delete 333333333333/arn:")));

    let third = plan_with(&fakes, &synth).await;
    assert!(third.is_unchanged(), "{third:#?}");
}

#[tokio::test]
async fn stacks_no_longer_synthesised_are_deleted_last() {
    let fakes = FakeConnector::new(&[A, B, C, M]);
    let synth = synthesis(org());
    let first = plan_with(&fakes, &synth).await;
    assert!(deploy(&fakes, &synth, &first).await.is_success());

    // C's last product is gone, and B reads something new.
    let mut specs = org();
    specs.retain(|s| !(s.0 == C && s.1 == "mesh-products"));
    for s in &mut specs {
        if s.0 == B && s.1 == "mesh-consumer" {
            s.4 = json!({"Reader": role("b-reader"), "Reader2": role("b-reader-2")});
        }
    }
    let synth = synthesis(specs);
    let second = plan_with(&fakes, &synth).await;
    let deletion = second
        .stacks
        .iter()
        .find(|s| s.account == C && s.name == "mesh-products")
        .expect("the stale stack is planned");
    assert_eq!(deletion.status, StackStatus::Delete);
    assert_eq!(deletion.changes.len(), 1);
    assert!(deletion.changes[0].destructive);
    assert_eq!(second.destructive(), 1);
    assert_eq!(second.deletions(), 1);

    let report = deploy(&fakes, &synth, &second).await;
    assert!(report.is_success(), "{report:#?}");
    assert_eq!(status(&report, C, "mesh-products"), &StepStatus::Deleted);
    assert_eq!(status(&report, B, "mesh-consumer"), &StepStatus::Updated);
    let log = fakes.cfn(B).log();
    assert_eq!(
        log.last().map(String::as_str),
        Some("execute 444444444444/mesh-consumer")
    );
    assert_eq!(fakes.cfn(C).log().last().map(|l| l.starts_with("delete")), Some(true));
    assert_eq!(
        fakes.cfn(C).status_of("mesh-products").as_deref(),
        Some("DELETE_COMPLETE")
    );
}

#[tokio::test]
async fn planning_twice_replaces_the_change_sets_of_the_first_plan() {
    let fakes = FakeConnector::new(&[A, B, C, M]);
    let synth = synthesis(org());
    let first = plan_with(&fakes, &synth).await;
    // The second plan meets the first one's change sets (same names) and
    // stacks in REVIEW_IN_PROGRESS, and plans the same.
    let second = plan_with(&fakes, &synth).await;
    assert_eq!(first, second);
    assert!(deploy(&fakes, &synth, &second).await.is_success());
}

#[tokio::test]
async fn an_unchanged_plan_reads_templates_and_makes_no_change_set() {
    let fakes = FakeConnector::new(&[A, B, C, M]);
    let synth = synthesis(org());
    let first = plan_with(&fakes, &synth).await;
    assert!(deploy(&fakes, &synth, &first).await.is_success());
    let before = fakes.calls();
    let again = plan_with(&fakes, &synth).await;
    assert!(again.is_unchanged(), "{again:#?}");
    let after = fakes.calls();
    let more = |op: &str| after.get(op).copied().unwrap_or(0) - before.get(op).copied().unwrap_or(0);
    // Per account one listing (DescribeStacks without a name) and one
    // catalog policy; per stack one template.
    assert_eq!(more("cloudformation:DescribeStacks"), 4);
    assert_eq!(more("glue:GetResourcePolicy"), 4);
    assert_eq!(more("cloudformation:GetTemplate"), 7);
    for op in [
        "cloudformation:CreateChangeSet",
        "cloudformation:DescribeChangeSet",
        "cloudformation:DeleteChangeSet",
    ] {
        assert_eq!(more(op), 0, "{op}: {after:?}");
    }
    // Sessions are reused: one AssumeRole per account for the whole run.
    assert_eq!(after.get("sts:AssumeRole"), Some(&4));
}

#[tokio::test]
async fn stacks_holding_data_get_a_stack_policy_and_termination_protection() {
    let fakes = FakeConnector::new(&[A, B, C, M]);
    let synth = synthesis(org());
    assert!(deploy(&fakes, &synth, &plan_with(&fakes, &synth).await)
        .await
        .is_success());
    let protective = crate::deploy::guards::stack_policy(&Default::default());
    for (account, stack) in [(A, "mesh-baseline"), (A, "mesh-products"), (C, "mesh-products")] {
        assert_eq!(
            fakes.cfn(account).guards_of(stack),
            Some((Some(protective.clone()), true)),
            "{account}/{stack}"
        );
    }
    // A role holds no data: no guards.
    assert_eq!(fakes.cfn(B).guards_of("mesh-consumer"), Some((None, false)));

    // A stack deployed before the guards existed (or stripped by hand) gets
    // them on the next deploy, without any change to its template.
    fakes.cfn(C).deployed(
        "mesh-baseline",
        &synth.templates[&(C.to_owned(), "mesh-baseline".to_owned())].text,
        false,
    );
    let planned = plan_with(&fakes, &synth).await;
    assert!(!planned.is_unchanged());
    let unguarded = planned
        .stacks
        .iter()
        .find(|s| s.account == C && s.name == "mesh-baseline")
        .expect("C's baseline");
    assert_eq!(unguarded.status, StackStatus::NoChanges);
    assert_eq!(
        unguarded.note.as_deref(),
        Some("no termination protection: deploy sets it and the stack policy")
    );
    let report = deploy(&fakes, &synth, &planned).await;
    assert_eq!(status(&report, C, "mesh-baseline"), &StepStatus::Guarded);
    assert_eq!(
        fakes.cfn(C).guards_of("mesh-baseline"),
        Some((Some(protective.clone()), true))
    );
    assert!(plan_with(&fakes, &synth).await.is_unchanged());

    // An allowed destructive update runs under a policy lifting exactly the
    // database it removes; the protective policy is back afterwards.
    let mut specs = org();
    for s in &mut specs {
        if s.0 == A && s.1 == "mesh-products" {
            s.4 = json!({"GlueDbEpisodesV2": database("episodes_v2")});
        }
    }
    let retired = synthesis(specs);
    let planned = plan_with(&fakes, &retired).await;
    let before = fakes.cfn(A).log().len();
    assert!(deploy(&fakes, &retired, &planned).await.is_success());
    assert_eq!(
        fakes.cfn(A).log()[before..].to_vec(),
        vec![
            "policy 333333333333/mesh-products",
            "execute 333333333333/mesh-products",
            "policy 333333333333/mesh-products",
            "policy 333333333333/mesh-products",
            "protect=true 333333333333/mesh-products",
        ]
    );
    assert_eq!(fakes.cfn(A).guards_of("mesh-products"), Some((Some(protective), true)));
}

/// A writer the test reads back (progress lines).
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn without_a_terminal_each_stack_has_its_lines_and_a_slow_wave_a_heartbeat() {
    let fakes = FakeConnector::new(&[A, B, C, M]);
    let synth = synthesis(org());
    let planned = plan_with(&fakes, &synth).await;
    fakes
        .cfn(C)
        .delay
        .lock()
        .expect("lock")
        .insert("mesh-products".into(), Duration::from_millis(120));
    let captured = Captured::default();
    let progress = Progress::lines(Box::new(captured.clone()), Duration::from_millis(40));
    let exec = ExecOptions {
        concurrency: 4,
        wait: options().wait,
    };
    let report = execute(&fakes, &planned, &synth, &exec, &progress).await;
    assert!(report.is_success(), "{report:#?}");
    let text = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "wave 0 (baseline): 3 to deploy", "{text}");
    assert!(lines.contains(&"  start    555555555555 mesh-products"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  done     555555555555 mesh-products (") && l.ends_with(" s): created")),
        "{text}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("  waiting  ")
            && l.contains(" running: ")
            && l.contains("555555555555 mesh-products (")),
        "{text}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("  start ")).count(),
        8,
        "7 stacks and 1 catalog policy: {text}"
    );
}

// The Glue catalog policies beside the stacks: deleted, not overwritten, and in order.
#[path = "fake_policy_tests.rs"]
mod policies;
