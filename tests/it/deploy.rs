//! `plan` and `deploy` end to end against the AWS emulator (moto server
//! through `scripts/local-aws`, on a free loopback port), checked from the
//! outside with the AWS SDK: assume the deploy role in each account and look.
//!
//! Each test starts one emulator and runs its scenarios in order, resetting
//! the emulator (`POST /moto-api/reset`) between them rather than restarting
//! it. Fault injection that moto cannot do (throttling, a failure at a chosen
//! moment) is in the unit tests of `src/deploy/fake.rs`.

use crate::common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use common::{copy_dir, repo, Moto};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const MANAGEMENT: &str = "111111111111";
const CENTRAL: &str = "222222222222";
const PRODUCER: &str = "333333333333";
const CONSUMER: &str = "444444444444";

/// A temp copy of the small deploy fixture: `topology.yaml` and its `out/`.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn fixture() -> Workspace {
        let dir = tempfile::tempdir().expect("create a temp dir");
        let fixture = repo().join("tests/fixtures/deploy");
        std::fs::copy(fixture.join("topology.yaml"), dir.path().join("topology.yaml")).expect("copy the topology");
        copy_dir(&fixture.join("out"), &dir.path().join("out"));
        Workspace { dir }
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    fn manifest(&self) -> Value {
        read_json(&self.out().join("manifest.json"))
    }

    /// Edits a template (or removes the stack with `None`), then rehashes.
    fn edit_stack(&self, account: &str, stack: &str, edit: impl FnOnce(&mut Value) -> bool) {
        let path = self.out().join(format!("{account}/{stack}.template.json"));
        let mut template = read_json(&path);
        if edit(&mut template) {
            write_json(&path, &template);
        } else {
            std::fs::remove_file(&path).expect("remove the template");
            let mut manifest = self.manifest();
            let stacks = manifest["stacks"].as_array_mut().expect("stacks");
            stacks.retain(|s| !(s["account"] == account && s["name"] == stack));
            let gone = json!(format!("{account}/{stack}"));
            for s in stacks.iter_mut() {
                s["depends_on"]
                    .as_array_mut()
                    .expect("depends_on")
                    .retain(|d| *d != gone);
            }
            write_json(&self.out().join("manifest.json"), &manifest);
        }
        self.rehash();
    }

    fn remove_policy(&self, account: &str) {
        let mut manifest = self.manifest();
        let policies = manifest["policies"].as_array_mut().expect("policies");
        policies.retain(|p| p["account"] != account);
        write_json(&self.out().join("manifest.json"), &manifest);
    }

    /// Recomputes every sha256 of the manifest, as `synth` would.
    fn rehash(&self) {
        let mut manifest = self.manifest();
        for key in ["stacks", "policies"] {
            for entry in manifest[key].as_array_mut().expect("a list") {
                let file = entry
                    .get("template")
                    .or_else(|| entry.get("file"))
                    .and_then(Value::as_str)
                    .expect("a file")
                    .to_owned();
                let bytes = std::fs::read(self.out().join(file)).expect("read");
                entry["sha256"] = json!(hex(&Sha256::digest(&bytes)));
            }
        }
        write_json(&self.out().join("manifest.json"), &manifest);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read JSON")).expect("parse JSON")
}

fn write_json(path: &Path, value: &Value) {
    let mut text = serde_json::to_string_pretty(value).expect("serialise");
    text.push('\n');
    std::fs::write(path, text).expect("write JSON");
}

/// Wipes every account of the emulator (and so every assumed role).
fn reset(moto: &Moto, aws: &Aws) {
    aws.accounts.borrow_mut().clear();
    let mut s = TcpStream::connect(("127.0.0.1", moto.port)).expect("connect to the emulator");
    s.write_all(b"POST /moto-api/reset HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
        .expect("reset");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read the reset answer");
    assert!(
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
}

/// API calls the emulator served since it started or was last reset, by
/// action (`CreateChangeSet`, `AWSGlue.GetResourcePolicy`, ...).
fn calls(moto: &Moto) -> BTreeMap<String, u64> {
    let mut s = TcpStream::connect(("127.0.0.1", moto.port)).expect("connect to the emulator");
    s.write_all(b"GET /moto-api/meshsynth/calls HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .expect("ask for the calls");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read the calls");
    let body = answer.split("\r\n\r\n").nth(1).expect("a body");
    serde_json::from_str(body).expect("the calls as JSON")
}

/// How many more times `action` was called in `after` than in `before`.
fn more(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>, action: &str) -> u64 {
    after.get(action).copied().unwrap_or(0) - before.get(action).copied().unwrap_or(0)
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(moto: &Moto, ws: &Workspace, args: &[&str]) -> Run {
    let out = moto
        .meshsynth(ws.dir.path())
        .args(["-t", "topology.yaml"])
        .args(args)
        .output()
        .expect("run meshsynth");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn plan_json(moto: &Moto, ws: &Workspace) -> Value {
    let r = run(moto, ws, &["plan", "--format", "json"]);
    assert_eq!(r.code, Some(0), "plan failed: {}", r.stderr);
    serde_json::from_str(&r.stdout).expect("the plan is JSON")
}

/// `account/stack` → the value of `field`, for every stack of a plan or manifest.
fn by_stack(doc: &Value, field: &str) -> BTreeMap<String, String> {
    doc["stacks"]
        .as_array()
        .expect("stacks")
        .iter()
        .map(|s| {
            (
                format!(
                    "{}/{}",
                    s["account"].as_str().unwrap_or(""),
                    s["name"].as_str().unwrap_or("")
                ),
                s[field].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// `account/stack` → status, of every stack in a JSON plan.
fn statuses(plan: &Value) -> BTreeMap<String, String> {
    by_stack(plan, "status")
}

/// Looks at the emulator the way an operator would: the deploy role assumed
/// in each account, through the AWS SDK.
struct Aws {
    rt: tokio::runtime::Runtime,
    base: aws_config::SdkConfig,
    /// One assumed role per account, as meshsynth does.
    accounts: std::cell::RefCell<BTreeMap<String, aws_config::SdkConfig>>,
}

impl Aws {
    fn new(moto: &Moto) -> Aws {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let base = rt.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .region(Region::new("eu-west-1"))
                .endpoint_url(moto.url())
                .credentials_provider(Credentials::new("test", "test", None, None, "test"))
                .load(),
        );
        Aws {
            rt,
            base,
            accounts: std::cell::RefCell::default(),
        }
    }

    fn account(&self, account: &str) -> aws_config::SdkConfig {
        if let Some(config) = self.accounts.borrow().get(account) {
            return config.clone();
        }
        let sts = aws_sdk_sts::Client::new(&self.base);
        let out = self
            .rt
            .block_on(
                sts.assume_role()
                    .role_arn(format!("arn:aws:iam::{account}:role/OrganizationAccountAccessRole"))
                    .role_session_name("meshsynth-test")
                    .send(),
            )
            .expect("assume the deploy role");
        let c = out.credentials().expect("credentials");
        let config = self
            .base
            .to_builder()
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
                Credentials::new(
                    c.access_key_id(),
                    c.secret_access_key(),
                    Some(c.session_token().to_owned()),
                    None,
                    "test",
                ),
            ))
            .build();
        self.accounts.borrow_mut().insert(account.to_owned(), config.clone());
        config
    }

    /// Stack name → status, of the stacks that are not deleted.
    fn stacks(&self, account: &str) -> BTreeMap<String, String> {
        let cfn = aws_sdk_cloudformation::Client::new(&self.account(account));
        let out = self.rt.block_on(cfn.list_stacks().send()).expect("list stacks");
        out.stack_summaries()
            .iter()
            .filter(|s| s.stack_status().map(|st| st.as_str()) != Some("DELETE_COMPLETE"))
            .map(|s| {
                (
                    s.stack_name().unwrap_or_default().to_owned(),
                    s.stack_status().map(|st| st.as_str().to_owned()).unwrap_or_default(),
                )
            })
            .collect()
    }

    /// The stack's id in its own account (the ARN names the account).
    fn stack_id(&self, account: &str, stack: &str) -> String {
        let cfn = aws_sdk_cloudformation::Client::new(&self.account(account));
        let out = self
            .rt
            .block_on(cfn.describe_stacks().stack_name(stack).send())
            .expect("describe the stack");
        out.stacks()[0].stack_id().unwrap_or_default().to_owned()
    }

    fn template(&self, account: &str, stack: &str) -> Value {
        let cfn = aws_sdk_cloudformation::Client::new(&self.account(account));
        let out = self
            .rt
            .block_on(cfn.get_template().stack_name(stack).send())
            .expect("get the template");
        serde_json::from_str(out.template_body().unwrap_or_default()).expect("a JSON template")
    }

    /// Termination protection and the stack policy of a stack.
    fn guards(&self, account: &str, stack: &str) -> (bool, Option<Value>) {
        let cfn = aws_sdk_cloudformation::Client::new(&self.account(account));
        let described = self
            .rt
            .block_on(cfn.describe_stacks().stack_name(stack).send())
            .expect("describe the stack");
        let protected = described.stacks()[0].enable_termination_protection().unwrap_or(false);
        let policy = self
            .rt
            .block_on(cfn.get_stack_policy().stack_name(stack).send())
            .expect("get the stack policy");
        let policy = policy
            .stack_policy_body()
            .filter(|b| !b.is_empty())
            .map(|b| serde_json::from_str(b).expect("a JSON stack policy"));
        (protected, policy)
    }

    /// `aws cloudformation delete-stack`, as someone might run it by hand.
    fn delete_by_hand(&self, account: &str, stack: &str) -> Result<(), String> {
        let cfn = aws_sdk_cloudformation::Client::new(&self.account(account));
        self.rt
            .block_on(cfn.delete_stack().stack_name(stack).send())
            .map(|_| ())
            .map_err(|e| aws_smithy_types::error::display::DisplayErrorContext(&e).to_string())
    }

    fn glue_policy(&self, account: &str) -> Option<Value> {
        let glue = aws_sdk_glue::Client::new(&self.account(account));
        match self.rt.block_on(glue.get_resource_policy().send()) {
            Ok(out) => out
                .policy_in_json()
                .map(|p| serde_json::from_str(p).expect("a JSON policy")),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_entity_not_found_exception()) => None,
            Err(e) => panic!(
                "get the resource policy: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            ),
        }
    }

    /// Everything deployed: every account's stacks and catalog policy.
    fn snapshot(&self) -> BTreeMap<String, (BTreeMap<String, String>, Option<Value>)> {
        [MANAGEMENT, CENTRAL, PRODUCER, CONSUMER]
            .iter()
            .map(|a| ((*a).to_owned(), (self.stacks(a), self.glue_policy(a))))
            .collect()
    }
}

fn complete(names: &[&str]) -> BTreeMap<String, String> {
    names
        .iter()
        .map(|n| ((*n).to_owned(), "CREATE_COMPLETE".to_owned()))
        .collect()
}

#[test]
fn deploy_plan_again_and_refuse_destructive_changes() {
    let moto = Moto::start();
    let aws = Aws::new(&moto);

    // Scenario 1: deploy everything, then a plan shows nothing to do.
    let ws = Workspace::fixture();
    let r = run(&moto, &ws, &["deploy", "--yes"]);
    assert_eq!(r.code, Some(0), "deploy failed:\n{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .ends_with("Deployed: 7 created, 0 updated, 0 deleted, 1 policy applied, 0 unchanged\n"),
        "{}",
        r.stdout
    );
    assert_eq!(aws.stacks(MANAGEMENT), complete(&["mesh-identity"]));
    assert_eq!(aws.stacks(CENTRAL), complete(&["mesh-baseline", "mesh-central"]));
    assert_eq!(aws.stacks(PRODUCER), complete(&["mesh-baseline", "mesh-products"]));
    assert_eq!(aws.stacks(CONSUMER), complete(&["mesh-baseline", "mesh-consumer"]));
    assert!(aws
        .stack_id(CONSUMER, "mesh-consumer")
        .contains(":444444444444:stack/mesh-consumer/"));
    let policy = read_json(&ws.out().join("333333333333/glue-resource-policy.json"));
    assert_eq!(aws.glue_policy(PRODUCER), Some(policy));
    assert_eq!(aws.glue_policy(CONSUMER), None);

    let before = calls(&moto);
    let plan = plan_json(&moto, &ws);
    assert!(statuses(&plan).values().all(|s| s == "no_changes"), "{plan:#}");
    assert_eq!(statuses(&plan).len(), 7);
    // Unchanged stacks are recognised by their deployed template: no change set.
    let after = calls(&moto);
    assert_eq!(more(&before, &after, "CreateChangeSet"), 0, "{after:?}");
    assert_eq!(more(&before, &after, "GetTemplate"), 7, "{after:?}");
    // One listing per account (DescribeStacks without a name), no per-stack describe.
    assert_eq!(more(&before, &after, "DescribeStacks"), 4, "{after:?}");
    assert_eq!(
        plan["policies"],
        json!([{"account": PRODUCER, "kind": "glue-resource-policy", "status": "no_changes", "changes": []}])
    );
    assert_eq!(plan["destructive"], 0);

    // CloudFormation's own guards: stacks holding data are protected from
    // deletion, and their policy denies replacing or deleting stateful
    // resources; a stack of roles only has neither.
    let (protected, policy) = aws.guards(PRODUCER, "mesh-products");
    assert!(protected);
    let policy = policy.expect("a stack policy");
    assert_eq!(
        policy["Statement"][1]["Action"],
        json!(["Update:Replace", "Update:Delete"])
    );
    assert_eq!(policy["Statement"][1]["Resource"], "*");
    assert!(aws.guards(PRODUCER, "mesh-baseline").0);
    assert_eq!(aws.guards(CONSUMER, "mesh-consumer"), (false, None));
    let by_hand = aws.delete_by_hand(PRODUCER, "mesh-baseline").expect_err("protected");
    assert!(
        by_hand.contains("cannot be deleted while TerminationProtection is enabled"),
        "{by_hand}"
    );
    assert_eq!(aws.stacks(PRODUCER)["mesh-baseline"], "CREATE_COMPLETE");

    let again = run(&moto, &ws, &["deploy", "--yes"]);
    assert_eq!(again.code, Some(0));
    assert!(again.stdout.ends_with("Nothing to deploy.\n"), "{}", again.stdout);

    // Scenario 2: a version retired: its Glue database leaves a stack that stays.
    let deployed = aws.snapshot();
    ws.edit_stack(PRODUCER, "mesh-products", |t| {
        let resources = t["Resources"].as_object_mut().expect("resources");
        resources.remove("GlueDbPodcastsEpisodesV1");
        resources.remove("GlueTablePodcastsEpisodesV1Episodes");
        resources.insert(
            "GlueDbPodcastsEpisodesV2".into(),
            json!({"Type": "AWS::Glue::Database", "Properties": {"CatalogId": {"Ref": "AWS::AccountId"},
                   "DatabaseInput": {"Name": "podcasts_episodes_v2"}}}),
        );
        true
    });
    let plan = plan_json(&moto, &ws);
    let products = plan["stacks"]
        .as_array()
        .expect("stacks")
        .iter()
        .find(|s| s["account"] == PRODUCER && s["name"] == "mesh-products")
        .expect("the products stack");
    assert_eq!(products["status"], "update");
    assert_eq!(
        products["changes"],
        json!([
            {"action": "Remove", "logical_id": "GlueDbPodcastsEpisodesV1", "type": "AWS::Glue::Database",
             "replacement": null, "stateful": true, "destructive": true},
            {"action": "Remove", "logical_id": "GlueTablePodcastsEpisodesV1Episodes", "type": "AWS::Glue::Table",
             "replacement": null, "stateful": true, "destructive": true},
            {"action": "Add", "logical_id": "GlueDbPodcastsEpisodesV2", "type": "AWS::Glue::Database",
             "replacement": null, "stateful": true, "destructive": false},
        ])
    );
    assert_eq!(plan["destructive"], 2);
    let refused = run(&moto, &ws, &["deploy", "--yes"]);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert_eq!(
        refused.stderr,
        "error: refusing to deploy 2 destructive changes and 0 stack deletions; nothing was executed \
         (review them, then run again with --allow-destructive, or allow them one by one with the values \
         the plan lists)\n"
    );
    assert!(refused
        .stdout
        .contains("! 333333333333 mesh-products  Remove GlueDbPodcastsEpisodesV1 (AWS::Glue::Database)"));
    assert_eq!(aws.snapshot(), deployed);
    assert!(aws.template(PRODUCER, "mesh-products")["Resources"]["GlueDbPodcastsEpisodesV1"].is_object());

    // Granular approval: the plan names the exact values; allowing the
    // retired database alone still refuses the table (nothing runs), and a
    // value that allows nothing is refused as a likely typo.
    let db = "333333333333/mesh-products/GlueDbPodcastsEpisodesV1";
    let table = "333333333333/mesh-products/GlueTablePodcastsEpisodesV1Episodes";
    assert_eq!(plan["allow_destructive"], json!([db, table]));
    assert!(
        refused.stdout.contains(&format!(
            "To allow exactly these, pass to deploy:\n  --allow-destructive {db}\n  --allow-destructive {table}\n"
        )),
        "{}",
        refused.stdout
    );
    let one = run(&moto, &ws, &["deploy", "--yes", "--allow-destructive", db]);
    assert_eq!(one.code, Some(1), "{}", one.stderr);
    assert_eq!(
        one.stderr,
        format!(
            "error: refusing to deploy: 1 destructive change is not allowed: `{table}`; nothing was executed \
             (review, then add --allow-destructive VALUE for each)\n"
        )
    );
    let typo = run(
        &moto,
        &ws,
        &[
            "deploy",
            "--yes",
            "--allow-destructive",
            db,
            "--allow-destructive",
            &format!("{table}s"),
        ],
    );
    assert_eq!(typo.code, Some(1), "{}", typo.stderr);
    assert_eq!(
        typo.stderr,
        format!(
            "error: --allow-destructive `{table}s` allows nothing in this plan; nothing was executed \
             (the plan lists the values to pass)\n"
        )
    );
    let malformed = run(
        &moto,
        &ws,
        &["deploy", "--yes", "--allow-destructive", "GlueDbPodcastsEpisodesV1"],
    );
    assert_eq!(malformed.code, Some(2), "{}", malformed.stderr);
    assert_eq!(
        malformed.stderr,
        "error: --allow-destructive `GlueDbPodcastsEpisodesV1` is not ACCOUNT/STACK/LOGICAL_ID or \
         ACCOUNT/STACK (plan prints the values to pass)\n"
    );
    assert_eq!(aws.snapshot(), deployed, "a refused deploy changed what is deployed");

    let allowed = run(
        &moto,
        &ws,
        &[
            "deploy",
            "--yes",
            "--allow-destructive",
            db,
            "--allow-destructive",
            table,
        ],
    );
    assert_eq!(allowed.code, Some(0), "{}\n{}", allowed.stdout, allowed.stderr);
    assert!(
        allowed
            .stdout
            .ends_with("Deployed: 0 created, 1 updated, 0 deleted, 0 policies applied, 7 unchanged\n"),
        "{}",
        allowed.stdout
    );
    let resources = aws.template(PRODUCER, "mesh-products")["Resources"].clone();
    assert!(resources.get("GlueDbPodcastsEpisodesV1").is_none() && resources["GlueDbPodcastsEpisodesV2"].is_object());
    assert_eq!(
        aws.stacks(PRODUCER),
        complete(&["mesh-baseline", "mesh-products"])
            .into_iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if k == "mesh-products" {
                        "UPDATE_COMPLETE".to_owned()
                    } else {
                        v
                    },
                )
            })
            .collect()
    );

    // Scenario 3: the producer's last product goes, and its products stack
    // leaves the manifest: a stack deletion, refused, then allowed.
    reset(&moto, &aws);
    let ws = Workspace::fixture();
    assert_eq!(run(&moto, &ws, &["deploy", "--yes"]).code, Some(0));
    let deployed = aws.snapshot();
    ws.edit_stack(CONSUMER, "mesh-consumer", |t| {
        t["Resources"]["ReaderRole"]["Properties"]["Policies"] = json!([]);
        true
    });
    ws.edit_stack(PRODUCER, "mesh-products", |_| false);
    ws.remove_policy(PRODUCER);
    let plan = plan_json(&moto, &ws);
    let s = statuses(&plan);
    assert_eq!(s["333333333333/mesh-products"], "delete");
    assert_eq!(s["444444444444/mesh-consumer"], "update");
    assert_eq!(s.values().filter(|v| *v == "no_changes").count(), 5);
    assert_eq!(plan["destructive"], 2);
    let refused = run(&moto, &ws, &["deploy", "--yes"]);
    assert_eq!(refused.code, Some(1));
    assert_eq!(
        refused.stderr,
        "error: refusing to deploy 2 destructive changes and 1 stack deletion; nothing was executed \
         (review them, then run again with --allow-destructive, or allow them one by one with the values \
         the plan lists)\n"
    );
    assert_eq!(aws.snapshot(), deployed);
    let allowed = run(&moto, &ws, &["deploy", "--yes", "--allow-destructive"]);
    assert_eq!(allowed.code, Some(0), "{}\n{}", allowed.stdout, allowed.stderr);
    assert!(
        allowed.stdout.ends_with(
            "Deployed: 0 created, 1 updated, 1 deleted, 0 policies applied, 1 policy deleted, 5 unchanged\n"
        ),
        "{}",
        allowed.stdout
    );
    assert_eq!(aws.stacks(PRODUCER), complete(&["mesh-baseline"]));
    // The producer grants nothing any more: its catalog policy is gone too.
    assert_eq!(aws.glue_policy(PRODUCER), None);
    let plan = plan_json(&moto, &ws);
    assert!(statuses(&plan).values().all(|s| s == "no_changes"), "{plan:#}");
}

#[test]
fn a_failed_stack_stops_later_waves_and_deploy_resumes() {
    let moto = Moto::start();
    let aws = Aws::new(&moto);
    let ws = Workspace::fixture();
    // The consumer stack (wave 2) wants a bucket whose name the producer's
    // baseline (wave 0) already took: it fails, and identity (wave 3) waits.
    ws.edit_stack(CONSUMER, "mesh-consumer", |t| {
        t["Resources"]["Clash"] =
            json!({"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "tiny-data-333333333333"}});
        true
    });
    let r = run(&moto, &ws, &["deploy", "--yes"]);
    assert_eq!(r.code, Some(1), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .ends_with("error: deploy failed: 1 failed, 1 skipped (fix the cause, then run deploy again to resume)\n"),
        "{}",
        r.stderr
    );
    // Without a terminal, a CI log follows every stack: started, done or failed.
    assert!(r.stderr.starts_with("wave 0 (baseline): 3 to deploy\n"), "{}", r.stderr);
    assert!(
        r.stderr
            .lines()
            .any(|l| l.starts_with("  FAILED   444444444444 mesh-consumer (")
                && l.contains(" s): failed: ROLLBACK_COMPLETE: Clash (AWS::S3::Bucket) CREATE_FAILED: ")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .lines()
            .any(|l| l.starts_with("  done     333333333333 mesh-baseline (") && l.ends_with(" s): created")),
        "{}",
        r.stderr
    );
    let report = &r.stdout[r.stdout.find("Deploy failed:").expect("a report")..];
    assert!(report.starts_with(
        "Deploy failed: 5 created, 0 updated, 0 deleted, 1 policy applied, 0 unchanged, 1 failed, 1 skipped\n\nFailed (1):\n  444444444444 mesh-consumer  ROLLBACK_COMPLETE: Clash (AWS::S3::Bucket) CREATE_FAILED: "
    ), "{report}");
    assert!(
        report.contains("\n\nSkipped (1):\n  111111111111 mesh-identity\n"),
        "{report}"
    );
    // Planned (a change set waits in REVIEW_IN_PROGRESS) but not executed.
    assert_eq!(
        aws.stacks(MANAGEMENT),
        BTreeMap::from([("mesh-identity".to_owned(), "REVIEW_IN_PROGRESS".to_owned())])
    );
    assert_eq!(aws.stacks(CONSUMER)["mesh-consumer"], "ROLLBACK_COMPLETE");

    // The plan says the failed stack will be recreated.
    let plan = plan_json(&moto, &ws);
    let s = statuses(&plan);
    assert_eq!(s["444444444444/mesh-consumer"], "create");
    assert_eq!(s["111111111111/mesh-identity"], "create");

    // Fixed and run again: the deploy picks up where it stopped.
    ws.edit_stack(CONSUMER, "mesh-consumer", |t| {
        t["Resources"].as_object_mut().expect("resources").remove("Clash");
        true
    });
    let r = run(&moto, &ws, &["deploy", "--yes"]);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .ends_with("Deployed: 2 created, 0 updated, 0 deleted, 0 policies applied, 6 unchanged\n"),
        "{}",
        r.stdout
    );
    assert_eq!(aws.stacks(CONSUMER), complete(&["mesh-baseline", "mesh-consumer"]));
    assert_eq!(aws.stacks(MANAGEMENT), complete(&["mesh-identity"]));
}

#[test]
fn plan_formats_and_account_filter() {
    let moto = Moto::start();
    let ws = Workspace::fixture();
    let r = run(&moto, &ws, &["plan", "--account", PRODUCER]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    // The access section is the whole org's, `--account` or not; nothing is in force yet.
    assert_eq!(
        r.stdout,
        "\
Access changes (1):
  + podcasts.episodes v1 becomes readable org-wide

Plan for tiny (eu-west-1), 1 account

333333333333 shows-prod
  mesh-baseline  create  +4 ~0 -0
  mesh-products  create  +2 ~0 -0
    note: change set made during deploy, once staging bucket `tiny-staging-333333333333` exists
  glue resource policy  create
    + `MeshConsumers`: grants arn:aws:iam::222222222222:root, arn:aws:iam::444444444444:root on database podcasts_episodes_v1

Summary
  stacks     2 to create, 0 to update, 0 to delete, 0 unchanged
  resources  +6 ~0 -0, 0 destructive
  policies   1 to create, 0 to update, 0 to delete, 0 unchanged
"
    );
    let md = run(&moto, &ws, &["plan", "--format", "markdown", "--account", CONSUMER]);
    assert_eq!(md.code, Some(0));
    assert!(md
        .stdout
        .contains("<details><summary><code>444444444444</code> ads-prod: 2 stacks to change</summary>"));

    let unknown = run(&moto, &ws, &["plan", "--account", "999999999999"]);
    assert_eq!(unknown.code, Some(2));
    assert_eq!(
        unknown.stderr,
        "error: --account 999999999999 is not an account of the topology\n"
    );
}

#[test]
fn exit_codes_without_aws() {
    let ws = Workspace::fixture();
    // No terminal and no --yes: refused before any AWS call.
    let out = common::meshsynth(ws.dir.path())
        .args(["-t", "topology.yaml", "deploy"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: not a terminal, so there is no one to confirm the deploy (pass --yes to deploy without asking)\n"
    );

    // Nothing listens on the endpoint: AWS unreachable.
    let port = common::free_port();
    let out = common::meshsynth(ws.dir.path())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .args([
            "-t",
            "topology.yaml",
            "--endpoint-url",
            &format!("http://127.0.0.1:{port}"),
        ])
        .args(["plan", "--call-timeout", "5"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: cannot assume role `arn:aws:iam::"),
        "{stderr}"
    );

    // A template edited after synthesis: stale output, a finding.
    let path = ws.out().join("444444444444/mesh-consumer.template.json");
    let text = std::fs::read_to_string(&path)
        .expect("read")
        .replace("tiny-reader", "tiny-reader-2");
    std::fs::write(&path, text).expect("write");
    let out = common::meshsynth(ws.dir.path())
        .args(["-t", "topology.yaml", "plan"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: `out/444444444444/mesh-consumer.template.json` does not match its sha256 in manifest.json \
         (edited after synthesis? run `meshsynth synth`)\n"
    );

    // No synthesis at all.
    std::fs::remove_dir_all(ws.out()).expect("remove out/");
    let out = common::meshsynth(ws.dir.path())
        .args(["-t", "topology.yaml", "plan"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: cannot read `out/manifest.json`: No such file or directory (os error 2) (run `meshsynth synth` first)\n"
    );
}

/// The example org (`accounts/`), synthesised by `meshsynth synth`.
struct Example {
    dir: tempfile::TempDir,
}

impl Example {
    fn new() -> Example {
        let dir = common::example_workspace();
        let ex = Example { dir };
        ex.synth();
        ex
    }

    fn synth(&self) {
        let out = common::meshsynth(self.dir.path())
            .args(["-q", "synth", "--out", "out"])
            .output()
            .expect("run synth");
        assert_eq!(
            out.status.code(),
            Some(0),
            "synth failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn manifest(&self) -> Value {
        read_json(&self.dir.path().join("out/manifest.json"))
    }

    fn edit(&self, team: &str, from: &str, to: &str) {
        let path = self.dir.path().join(format!("accounts/teams/{team}.yaml"));
        let text = std::fs::read_to_string(&path).expect("read the team file");
        assert!(text.contains(from), "`{from}` is not in {team}.yaml");
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write the team file");
    }

    fn run(&self, moto: &Moto, args: &[&str]) -> Run {
        let out = moto
            .meshsynth(self.dir.path())
            .arg("-q")
            .args(args)
            .output()
            .expect("run meshsynth");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn plan(&self, moto: &Moto) -> Value {
        let r = self.run(moto, &["plan", "--format", "json"]);
        assert_eq!(r.code, Some(0), "plan failed: {}", r.stderr);
        serde_json::from_str(&r.stdout).expect("the plan is JSON")
    }
}

/// `account/stack` → sha256 of every stack, and `account` → sha256 of every policy.
fn hashes(manifest: &Value) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let stacks = by_stack(manifest, "sha256");
    let policies = manifest["policies"]
        .as_array()
        .expect("policies")
        .iter()
        .map(|p| {
            (
                p["account"].as_str().unwrap_or("").to_owned(),
                p["sha256"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    (stacks, policies)
}

/// What the synthesis says should change between two manifests: stacks
/// added, changed or gone, and policies added or changed.
fn expected_changes(old: &Value, new: &Value) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let ((old_stacks, old_policies), (new_stacks, new_policies)) = (hashes(old), hashes(new));
    let mut stacks = created_or_updated(&old_stacks, &new_stacks);
    for k in old_stacks.keys().filter(|k| !new_stacks.contains_key(*k)) {
        stacks.insert(k.clone(), "delete".to_owned());
    }
    (stacks, created_or_updated(&old_policies, &new_policies))
}

/// Every key of `new` that `old` lacks (`create`) or hashes differently (`update`).
fn created_or_updated(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    new.iter()
        .filter_map(|(k, sha)| match old.get(k) {
            None => Some((k.clone(), "create".to_owned())),
            Some(o) if o != sha => Some((k.clone(), "update".to_owned())),
            _ => None,
        })
        .collect()
}

/// The plan's stacks and policies that change, with their status.
fn planned_changes(plan: &Value) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let stacks = statuses(plan).into_iter().filter(|(_, s)| s != "no_changes").collect();
    let policies = plan["policies"]
        .as_array()
        .expect("policies")
        .iter()
        .filter(|p| p["status"] != "no_changes")
        .map(|p| {
            (
                p["account"].as_str().unwrap_or("").to_owned(),
                p["status"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    (stacks, policies)
}

impl Aws {
    /// Every stack of the manifest's accounts, with its status and template,
    /// and every catalog policy: what "deployed state" means for the tests.
    fn deployed(&self, manifest: &Value) -> BTreeMap<String, Value> {
        let mut accounts: Vec<String> = manifest["stacks"]
            .as_array()
            .expect("stacks")
            .iter()
            .map(|s| s["account"].as_str().unwrap_or("").to_owned())
            .collect();
        accounts.sort();
        accounts.dedup();
        let mut state = BTreeMap::new();
        for a in accounts {
            for (name, status) in self.stacks(&a) {
                let template = self.template(&a, &name);
                state.insert(format!("{a}/{name}"), json!({"status": status, "template": template}));
            }
            state.insert(format!("{a}/policy"), json!(self.glue_policy(&a)));
        }
        state
    }
}

#[test]
fn the_example_org_deploys_replans_clean_and_refuses_destructive_changes() {
    let moto = Moto::start();
    let aws = Aws::new(&moto);
    let ex = Example::new();
    let manifest = ex.manifest();

    // Every stack in its own account, every producer's catalog policy.
    let r = ex.run(&moto, &["deploy", "--yes"]);
    assert_eq!(r.code, Some(0), "deploy failed:\n{}", r.stderr);
    let mut by_account: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for s in manifest["stacks"].as_array().expect("stacks") {
        let account = s["account"].as_str().expect("account").to_owned();
        by_account.entry(account).or_default().insert(
            s["name"].as_str().expect("name").to_owned(),
            "CREATE_COMPLETE".to_owned(),
        );
    }
    for (account, stacks) in &by_account {
        assert_eq!(&aws.stacks(account), stacks, "account {account}");
    }
    let first = manifest["stacks"][0].clone();
    let id = aws.stack_id(
        first["account"].as_str().expect("account"),
        first["name"].as_str().expect("name"),
    );
    assert!(
        id.contains(&format!(":{}:stack/", first["account"].as_str().expect("account"))),
        "{id}"
    );
    let policies = manifest["policies"].as_array().expect("policies");
    assert!(!policies.is_empty());
    for p in policies {
        let account = p["account"].as_str().expect("account");
        let file = read_json(&ex.dir.path().join("out").join(p["file"].as_str().expect("file")));
        assert_eq!(aws.glue_policy(account), Some(file), "the catalog policy of {account}");
    }

    // A second plan: nothing to do anywhere.
    let plan = ex.plan(&moto);
    assert_eq!(statuses(&plan).len(), manifest["stacks"].as_array().map_or(0, Vec::len));
    assert_eq!(planned_changes(&plan), (BTreeMap::new(), BTreeMap::new()), "{plan:#}");
    // The deploy recorded the access it put in force, and the plan compares with that record.
    assert_eq!(plan["access"], json!([]), "{plan:#}");
    assert_eq!(plan.get("access_unknown"), None, "{plan:#}");

    // One consumer more: only the stacks whose templates changed are planned.
    ex.edit(
        "supporters",
        "consumes:\n",
        // A product of an account supporters did not read from before.
        "consumes:\n  - product: marketplace.auctions@1\n    account: \"131173508690\"\n    purpose: Auction prices on the supporter pages\n",
    );
    ex.synth();
    let added = ex.manifest();
    let expected = expected_changes(&manifest, &added);
    assert!(expected.0.contains_key("131173508690/mesh-consumer"), "{expected:?}");
    assert!(
        expected.0.len() < 5,
        "adding one consumer changes few stacks: {expected:?}"
    );
    assert_eq!(planned_changes(&ex.plan(&moto)), expected);
    let r = ex.run(&moto, &["deploy", "--yes"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);

    // A version retired by its status (its last consumer moved on; it stays in
    // the topology): its Glue database leaves a stack that stays.
    ex.edit(
        "ads-delivery",
        "product: podcasts.episodes@1",
        "product: podcasts.episodes@2",
    );
    ex.edit(
        "shows",
        "      - version: 1\n        status: deprecated",
        "      - version: 1\n        status: retired",
    );
    ex.synth();
    let retired = ex.manifest();
    let plan = ex.plan(&moto);
    let (stacks, _) = planned_changes(&plan);
    assert_eq!(
        stacks.get("578575860272/mesh-products").map(String::as_str),
        Some("update"),
        "{stacks:?}"
    );
    let products = plan["stacks"]
        .as_array()
        .expect("stacks")
        .iter()
        .find(|s| s["account"] == "578575860272" && s["name"] == "mesh-products")
        .expect("the shows products stack");
    let removed: Vec<&str> = products["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["destructive"] == true)
        .map(|c| c["type"].as_str().unwrap_or(""))
        .collect();
    assert!(removed.contains(&"AWS::Glue::Database"), "{products:#}");
    assert!(plan["destructive"].as_u64() > Some(0));
    let before = aws.deployed(&retired);
    let refused = ex.run(&moto, &["deploy", "--yes"]);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.starts_with("error: refusing to deploy "),
        "{}",
        refused.stderr
    );
    assert_eq!(
        aws.deployed(&retired),
        before,
        "a refused deploy changed what is deployed"
    );
    let r = ex.run(&moto, &["deploy", "--yes", "--allow-destructive"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        aws.template("578575860272", "mesh-products")["Resources"]
            .as_object()
            .is_some_and(|r| { r.keys().all(|k| !k.contains("EpisodesV1")) }),
        "episodes v1 is still deployed"
    );

    // An account's last product goes: its products stack leaves the manifest.
    let text = std::fs::read_to_string(ex.dir.path().join("accounts/teams/insights.yaml")).expect("read");
    let products = &text[text.find("products:\n").expect("products")..text.find("consumes:\n").expect("consumes")];
    ex.edit("insights", products, "");
    ex.synth();
    let gone = ex.manifest();
    let expected = expected_changes(&retired, &gone);
    assert_eq!(
        expected.0.get("689856076538/mesh-products").map(String::as_str),
        Some("delete")
    );
    let plan = ex.plan(&moto);
    assert_eq!(planned_changes(&plan).0, expected.0);
    let before = aws.deployed(&gone);
    let refused = ex.run(&moto, &["deploy", "--yes"]);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains(" and 1 stack deletion; nothing was executed"),
        "{}",
        refused.stderr
    );
    assert_eq!(aws.deployed(&gone), before, "a refused deploy changed what is deployed");
    let r = ex.run(&moto, &["deploy", "--yes", "--allow-destructive"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(!aws.stacks("689856076538").contains_key("mesh-products"));
    // Everything converged: one more plan finds nothing to do.
    assert_eq!(planned_changes(&ex.plan(&moto)), (BTreeMap::new(), BTreeMap::new()));
}

/// Runs meshsynth on a pseudo-terminal (util-linux `script`), typing `answer`
/// at its prompt: deploy asks only when stdin and stderr are terminals.
fn run_on_terminal(moto: &Moto, ws: &Workspace, args: &str, answer: &str) -> (Option<i32>, String) {
    use std::process::{Command, Stdio};
    let bin = assert_cmd::cargo::cargo_bin("meshsynth");
    let cmd = format!(
        "{} -t topology.yaml --endpoint-url {} {args}",
        bin.display(),
        moto.url()
    );
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(ws.dir.path())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("NO_COLOR", "1")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run `script` (util-linux) to give meshsynth a terminal");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(answer.as_bytes())
        .expect("type the answer");
    let out = child.wait_with_output().expect("wait for meshsynth");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn deploy_asks_on_a_terminal_and_declining_executes_nothing() {
    let moto = Moto::start();
    let ws = Workspace::fixture();
    let args = format!("deploy --account {PRODUCER}");

    let (code, screen) = run_on_terminal(&moto, &ws, &args, "n\n");
    assert_eq!(code, Some(1), "{screen}");
    assert!(screen.contains("Deploy these changes? [y/N]"), "{screen}");
    assert!(
        screen.contains("error: deploy cancelled; nothing was executed"),
        "{screen}"
    );
    let plan = plan_json(&moto, &ws);
    let producer: Vec<&Value> = plan["stacks"]
        .as_array()
        .expect("stacks")
        .iter()
        .filter(|s| s["account"] == PRODUCER)
        .collect();
    assert!(!producer.is_empty());
    assert!(producer.iter().all(|s| s["status"] == "create"), "{plan}");

    let (code, screen) = run_on_terminal(&moto, &ws, &args, "y\n");
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("Deploy these changes? [y/N]"), "{screen}");
    let plan = plan_json(&moto, &ws);
    let producer: Vec<&Value> = plan["stacks"]
        .as_array()
        .expect("stacks")
        .iter()
        .filter(|s| s["account"] == PRODUCER)
        .collect();
    assert!(producer.iter().all(|s| s["status"] == "no_changes"), "{plan}");
}

/// Versions as contracts in `plan`: a live version's column retyped after it
/// was deployed is flagged from the deployed Glue table, with the consumers
/// `contracts.json` lists (issue 11).
#[test]
fn plan_flags_a_breaking_change_to_a_deployed_live_version() {
    let moto = Moto::start();
    let ws = Workspace::fixture();
    let synth = run(&moto, &ws, &["synth"]);
    assert_eq!(synth.code, Some(0), "{}", synth.stderr);
    let r = run(&moto, &ws, &["deploy", "--yes"]);
    assert_eq!(r.code, Some(0), "deploy failed:\n{}\n{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("Breaking"), "{}", r.stdout);

    let topology = ws.dir.path().join("topology.yaml");
    let text = std::fs::read_to_string(&topology).expect("read the topology");
    let column = "- { name: episode_id, type: string }";
    assert_eq!(text.matches(column).count(), 1);
    std::fs::write(&topology, text.replace(column, "- { name: episode_id, type: bigint }")).expect("write");
    let synth = run(&moto, &ws, &["synth"]);
    assert_eq!(synth.code, Some(0), "{}", synth.stderr);

    let plan = plan_json(&moto, &ws);
    assert_eq!(
        plan["breaking"],
        json!([{
            "product": "podcasts.episodes",
            "version": 1,
            "status": "active",
            "changes": [{"kind": "column_retyped", "table": "episodes",
                         "detail": "column `episode_id` of table `episodes` changes type from string to bigint"}],
            "consumers": [{"team": "ads", "account": CONSUMER}],
            "suggested_version": 2
        }]),
        "{plan:#}"
    );
    let text = run(&moto, &ws, &["plan"]);
    assert!(
        text.stdout.starts_with(
            "Breaking changes to live versions (1):\n  podcasts.episodes@1 (active):\n    ! column `episode_id` of table `episodes` changes type from string to bigint\n    notify: team ads (account 444444444444)\n"
        ),
        "{}",
        text.stdout
    );
}

/// Warnings outside `validate`: one line per kind, and `--deny-warnings`
/// makes them fail a CI job (exit 1) before anything is written.
#[test]
fn warnings_are_grouped_and_can_fail_the_run() {
    let ex = common::example_workspace();
    let out = common::meshsynth(ex.path())
        .args(["synth", "--out", "out"])
        .output()
        .expect("run synth");
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines[0],
        "warning: 3 consumers are on deprecated versions: ads-delivery (podcasts.episodes@1), \
         billing (advertising.impressions@2), insights (finance.ad-revenue@1) (`meshsynth validate` lists \
         each with its replacement and whom to ask)"
    );
    // A kind with one warning is printed whole: the expiring grant and the pending request.
    assert!(
        lines[1].starts_with("warning: accounts/teams/billing.yaml:65:9: the grant to access group sales-ops"),
        "{stderr}"
    );
    assert!(
        lines[2].starts_with("warning: accounts/teams/insights.yaml:99:14: pending: "),
        "{stderr}"
    );
    assert_eq!(lines.len(), 4, "{stderr}");
    assert!(lines[3].starts_with("synth: "), "{stderr}");
    let denied = common::meshsynth(ex.path())
        .args(["--deny-warnings", "synth", "--out", "denied"])
        .output()
        .expect("run synth");
    assert_eq!(denied.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&denied.stderr).ends_with("error: 5 topology warnings and --deny-warnings\n"),
        "{}",
        String::from_utf8_lossy(&denied.stderr)
    );
    assert!(!ex.path().join("denied").exists());
    // -q keeps the error, drops the warnings.
    let quiet = common::meshsynth(ex.path())
        .args(["-q", "--deny-warnings", "validate"])
        .output()
        .expect("run validate");
    assert_eq!(quiet.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&quiet.stderr),
        "error: 5 topology warnings and --deny-warnings\n"
    );
}
