//! `meshsynth drift` end to end against the AWS emulator (moto server
//! through `scripts/local-aws`): the example org deployed, found clean, a
//! statement added to a data bucket policy by hand (S3 PutBucketPolicy
//! through the SDK, as an operator would), found, repaired, and found clean
//! again.
//!
//! The emulator has no CloudFormation drift detection (it answers
//! `InvalidAction`, as AWS does for an action it does not offer), so this
//! tests the access surface; CloudFormation drift (DRIFTED stacks, failed
//! detections, throttling) is tested against the fake in
//! `src/deploy/fake_drift_tests.rs`.

use crate::common;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use common::Moto;
use serde_json::{json, Value};

const PRODUCER: &str = "119378347708";
const BUCKET: &str = "acast-119378347708-eu-west-1-mesh";

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(moto: &Moto, dir: &std::path::Path, args: &[&str]) -> Run {
    let out = moto.meshsynth(dir).args(args).output().expect("run meshsynth");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The S3 client of `account`, through its deploy role, as an operator would use it.
fn s3(rt: &tokio::runtime::Runtime, moto: &Moto, account: &str) -> aws_sdk_s3::Client {
    let base = rt.block_on(
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .endpoint_url(moto.url())
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .load(),
    );
    let assumed = rt
        .block_on(
            aws_sdk_sts::Client::new(&base)
                .assume_role()
                .role_arn(format!("arn:aws:iam::{account}:role/OrganizationAccountAccessRole"))
                .role_session_name("by-hand")
                .send(),
        )
        .expect("assume the deploy role");
    let c = assumed.credentials().expect("credentials");
    let config = base
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            None,
            "by-hand",
        )))
        .build();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    )
}

#[test]
fn a_hand_made_bucket_policy_statement_is_found_and_repaired() {
    let moto = Moto::start();
    let ws = common::example_workspace();
    let dir = ws.path();
    let synth = run(&moto, dir, &["-q", "synth", "--out", "out"]);
    assert_eq!(synth.code, Some(0), "synth failed: {}", synth.stderr);
    let deploy = run(&moto, dir, &["-q", "deploy", "--yes"]);
    assert_eq!(
        deploy.code,
        Some(0),
        "deploy failed:\n{}\n{}",
        deploy.stdout,
        deploy.stderr
    );

    // Deployed as synthesised: nothing drifted. The emulator has no
    // CloudFormation drift detection, and the report says so.
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/manifest.json")).expect("manifest")).expect("JSON");
    let stacks = manifest["stacks"].as_array().map_or(0, Vec::len);
    let clean = run(&moto, dir, &["-q", "drift"]);
    assert_eq!(clean.code, Some(0), "drift:\n{}\n{}", clean.stdout, clean.stderr);
    assert!(
        clean.stdout.starts_with("No drift (")
            && clean
                .stdout
                .ends_with(&format!("; CloudFormation drift not checked for {stacks} stacks).\n")),
        "{}",
        clean.stdout
    );

    // A statement added by hand to a data bucket's policy.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let client = s3(&rt, &moto, PRODUCER);
    let live = rt
        .block_on(client.get_bucket_policy().bucket(BUCKET).send())
        .expect("the deployed bucket policy");
    let mut policy: Value = serde_json::from_str(live.policy().expect("a policy")).expect("JSON");
    policy["Statement"].as_array_mut().expect("statements").push(json!({
        "Sid": "ByHand", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
        "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{BUCKET}/*")
    }));
    rt.block_on(
        client
            .put_bucket_policy()
            .bucket(BUCKET)
            .policy(policy.to_string())
            .send(),
    )
    .expect("put the bucket policy by hand");

    let found = run(&moto, dir, &["drift"]);
    assert_eq!(found.code, Some(1), "drift:\n{}\n{}", found.stdout, found.stderr);
    let line = format!(
        "account {PRODUCER} bucket {BUCKET}: statement `ByHand` added: Allow s3:GetObject to \
         arn:aws:iam::999999999999:root on arn:aws:s3:::{BUCKET}/*"
    );
    assert_eq!(
        found
            .stdout
            .lines()
            .filter(|l| l.starts_with("account "))
            .collect::<Vec<_>>(),
        vec![line.as_str()],
        "{}",
        found.stdout
    );
    assert!(
        found
            .stdout
            .contains("\nDrift: 0 stacks drifted, 1 document with 1 statement added and 0 removed ("),
        "{}",
        found.stdout
    );

    // The same as JSON, and only for the accounts asked for.
    let json_run = run(&moto, dir, &["-q", "drift", "--format", "json", "--account", PRODUCER]);
    assert_eq!(json_run.code, Some(1), "{}", json_run.stderr);
    let report: Value = serde_json::from_str(&json_run.stdout).expect("a JSON report");
    assert_eq!(report["format"], 1);
    assert_eq!(report["summary"]["accounts"], 1);
    assert_eq!(report["access"][0]["kind"], "bucket-policy");
    assert_eq!(report["access"][0]["resource"], format!("bucket {BUCKET}"));
    assert_eq!(report["access"][0]["changes"][0]["change"], "added");
    assert_eq!(report["access"][0]["changes"][0]["sid"], "ByHand");

    // Repairing needs a terminal to ask on, or --yes.
    let refused = run(&moto, dir, &["drift", "--repair"]);
    assert_eq!(refused.code, Some(2), "{}", refused.stdout);
    assert_eq!(
        refused.stderr,
        "error: not a terminal, so there is no one to confirm the repair (pass --yes to repair without asking)\n"
    );

    let repaired = run(&moto, dir, &["-q", "drift", "--repair", "--yes"]);
    assert_eq!(
        repaired.code,
        Some(0),
        "repair:\n{}\n{}",
        repaired.stdout,
        repaired.stderr
    );
    assert!(
        repaired.stdout.contains(&format!(
            "account {PRODUCER} bucket {BUCKET}: repaired\n\nRepaired 1 of 1 finding.\n"
        )),
        "{}",
        repaired.stdout
    );
    let after = rt
        .block_on(client.get_bucket_policy().bucket(BUCKET).send())
        .expect("the repaired bucket policy");
    assert!(!after.policy().unwrap_or_default().contains("ByHand"));

    let again = run(&moto, dir, &["-q", "drift"]);
    assert_eq!(
        again.code,
        Some(0),
        "drift after repair:\n{}\n{}",
        again.stdout,
        again.stderr
    );
}
