//! `org import` and `org check` against the AWS emulator (moto server on a
//! free loopback port). The organisation is set up with boto3 (`python3`):
//! moto chooses account ids at random, so they are read back and put into
//! the expected output.
//!
//! One emulator runs the scenarios in order: checking before any
//! organisation exists, importing a tagged organisation, checking the
//! import, then breaking things and checking again.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::Moto;
use serde_json::Value;

/// Runs a boto3 snippet against the emulator; `c` is an Organizations client.
/// The snippet prints one JSON value, returned here.
fn boto(moto: &Moto, body: &str) -> Value {
    let script = format!(
        "import boto3, json\n\
         c = boto3.client('organizations', endpoint_url='{}', region_name='us-east-1',\n\
         \x20   aws_access_key_id='test', aws_secret_access_key='test')\n\
         {body}\n",
        moto.url()
    );
    let o = Command::new("python3")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("run python3");
    assert!(
        o.status.success(),
        "boto3 failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("the snippet prints JSON")
}

/// Creates the organisation and its accounts; returns the org id and the account ids by name.
fn set_up_org(moto: &Moto) -> Value {
    boto(
        moto,
        "org = c.create_organization(FeatureSet='ALL')['Organization']\n\
         accounts = [('data-platform-central', [('team', 'Platform')]),\n\
         \x20           ('shows-prod', [('team', 'shows'), ('domain', 'podcasts')]),\n\
         \x20           ('shows-dev', [('team', 'shows')]),\n\
         \x20           ('ads-delivery-prod', [('team', 'Ads Delivery'), ('environment', 'prod')]),\n\
         \x20           ('legacy-sandbox', [])]\n\
         ids = {}\n\
         for name, tags in accounts:\n\
         \x20   r = c.create_account(AccountName=name, Email=name + '@example.com',\n\
         \x20                        Tags=[{'Key': k, 'Value': v} for k, v in tags])\n\
         \x20   ids[name] = r['CreateAccountStatus']['AccountId']\n\
         print(json.dumps({'org': org['Id'], 'management': org['MasterAccountId'], 'ids': ids}))",
    )
}

fn run(moto: &Moto, dir: &Path, args: &[&str]) -> (i32, String, String) {
    let o = moto.meshsynth(dir).args(args).output().expect("run meshsynth");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn org_import_and_check_against_the_emulator() {
    let moto = Moto::start();
    let ws = tempfile::tempdir().expect("temp dir");
    let dir = ws.path();

    // 1. No organisation yet: `org check` is a finding (exit 1), not a crash.
    common::copy_dir(&common::repo().join("accounts"), &dir.join("accounts"));
    let (code, stdout, stderr) = run(&moto, dir, &["-q", "org", "check"]);
    assert_eq!(
        (code, stdout.as_str(), stderr.as_str()),
        (
            1,
            "",
            "error: the caller's account is not in an AWS organisation (Organizations: `AWSOrganizationsNotInUseException`)\n"
        )
    );

    // 2. Import a tagged organisation.
    let org = set_up_org(&moto);
    let id = |name: &str| org["ids"][name].as_str().expect("account id").to_owned();
    let org_id = org["org"].as_str().expect("org id");
    let (code, stdout, stderr) = run(&moto, dir, &["org", "import", "--out", "draft", "--org-name", "acast"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "drafted `draft/org.yaml` and 3 team file(s) from organisation `{org_id}` (6 accounts)\n  \
             draft/teams/ads-delivery.yaml\n  draft/teams/platform.yaml\n  draft/teams/shows.yaml\n\
             next: review every `TODO` in these files, then `meshsynth -t draft validate`\n"
        )
    );
    assert_eq!(
        stderr,
        "note: tag `team=Ads Delivery` becomes team `ads-delivery`\nnote: tag `team=Platform` becomes team `platform`\n"
    );
    let org_yaml = std::fs::read_to_string(dir.join("draft/org.yaml")).expect("org.yaml");
    assert!(
        org_yaml.contains(&format!("  organization_id: {org_id}\n")),
        "{org_yaml}"
    );
    assert!(org_yaml.contains(&format!(
        "  management_account: \"{}\"\n",
        org["management"].as_str().expect("id")
    )));
    assert!(
        org_yaml.contains(&format!("  central_account: \"{}\"", id("data-platform-central"))),
        "{org_yaml}"
    );
    assert!(org_yaml.contains(&format!(
        "#   - id: \"{}\"  name: legacy-sandbox\n",
        id("legacy-sandbox")
    )));
    let shows = std::fs::read_to_string(dir.join("draft/teams/shows.yaml")).expect("shows.yaml");
    assert!(shows.contains("domain: podcasts\n"), "{shows}");
    assert!(shows.contains(&format!(
        "  - id: \"{}\"\n    name: \"shows-dev\"\n    environment: dev",
        id("shows-dev")
    )));
    let (code, _, stderr) = run(&moto, dir, &["-t", "draft", "validate"]);
    assert_eq!(code, 0, "the draft validates: {stderr}");

    // Importing again refuses, before calling AWS, and changes nothing.
    let (code, _, stderr) = run(&moto, dir, &["org", "import", "--out", "draft"]);
    assert_eq!(
        (code, stderr.as_str()),
        (
            1,
            "error: `draft/org.yaml` already exists (org import never overwrites a file)\n"
        )
    );

    // 3. The import matches the organisation.
    let (code, stdout, stderr) = run(&moto, dir, &["-t", "draft", "org", "check"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        stdout,
        format!(
            "organisation `{org_id}`\n5 topology accounts checked, 5 found and ACTIVE\nnotes:\n  \
             - 1 other account(s) of the organisation have no `team` tag and are not in the topology\n\
             the topology matches the organisation\n"
        )
    );

    // 3b. Access mode lakeformation: AWS RAM sharing with the organisation is checked too.
    let lf_yaml = org_yaml.replace("  access_mode: iam", "  access_mode: lakeformation");
    assert_ne!(lf_yaml, org_yaml);
    std::fs::write(dir.join("draft/org.yaml"), &lf_yaml).expect("write org.yaml");
    let prerequisites = |ram: &str| {
        format!(
            "Lake Formation prerequisites (access_mode: lakeformation):\n  \
             - AWS RAM sharing with the organisation: {ram}\n  \
             - cross-account version: 4, set in every account by its baseline stack \
             (`AWS::LakeFormation::DataLakeSettings`, `CROSS_ACCOUNT_VERSION`) when it deploys\n"
        )
    };
    let (code, stdout, stderr) = run(&moto, dir, &["-t", "draft", "org", "check"]);
    assert_eq!(
        (code, stderr.as_str()),
        (1, "error: the topology and AWS Organizations disagree (1 mismatch)\n")
    );
    assert_eq!(
        stdout,
        format!(
            "organisation `{org_id}`\n5 topology accounts checked, 5 found and ACTIVE\nmismatches (1):\n  \
             - AWS RAM sharing with the organisation is not enabled (no trusted access for `ram.amazonaws.com`), \
             which the organisation-wide Lake Formation grants of `access_mode: lakeformation` need \
             (run `aws ram enable-sharing-with-aws-organization` with credentials of the management account)\n{}\
             notes:\n  - 1 other account(s) of the organisation have no `team` tag and are not in the topology\n",
            prerequisites("NOT enabled")
        )
    );
    boto(
        &moto,
        "c.enable_aws_service_access(ServicePrincipal='ram.amazonaws.com')\nprint('null')",
    );
    let (code, stdout, stderr) = run(&moto, dir, &["-t", "draft", "org", "check"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        stdout,
        format!(
            "organisation `{org_id}`\n5 topology accounts checked, 5 found and ACTIVE\n{}notes:\n  \
             - 1 other account(s) of the organisation have no `team` tag and are not in the topology\n\
             the topology matches the organisation\n",
            prerequisites("enabled (trusted access for `ram.amazonaws.com`)")
        )
    );

    // 4. Break it: a wrong organisation id, an account that does not exist, a
    //    closed account, and a tagged account the topology lost.
    let org_yaml = org_yaml.replace(org_id, "o-0000000000");
    std::fs::write(dir.join("draft/org.yaml"), org_yaml).expect("write org.yaml");
    std::fs::remove_file(dir.join("draft/teams/ads-delivery.yaml")).expect("rm");
    let shows = shows.replace(
        "accounts:\n",
        "accounts:\n  - id: \"999999999999\"\n    name: shows-staging\n    environment: staging\n",
    );
    std::fs::write(dir.join("draft/teams/shows.yaml"), shows).expect("write shows.yaml");
    boto(
        &moto,
        &format!("c.close_account(AccountId='{}')\nprint('null')", id("shows-dev")),
    );
    let (code, stdout, stderr) = run(&moto, dir, &["-t", "draft", "org", "check"]);
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "error: the topology and AWS Organizations disagree (4 mismatches)\n"
    );
    let mut expected_mismatches = [
        format!("the organisation is `{org_id}`, but `org.organization_id` says `o-0000000000`"),
        "account `999999999999` (`shows-staging`, team `shows`) is not in the organisation".to_owned(),
        format!("account `{}` (`shows-dev`, team `shows`) is SUSPENDED, not ACTIVE", id("shows-dev")),
        format!(
            "account `{}` (`ads-delivery-prod`) is tagged `team=Ads Delivery` in Organizations but is not in the topology",
            id("ads-delivery-prod")
        ),
    ];
    // The report is sorted by kind, then account id.
    expected_mismatches[1..3].sort_by_key(|m| m.contains("SUSPENDED"));
    let expected = format!(
        "organisation `{org_id}`\n5 topology accounts checked, 3 found and ACTIVE\nmismatches (4):\n{}\
         notes:\n  - 1 other account(s) of the organisation have no `team` tag and are not in the topology\n",
        expected_mismatches
            .iter()
            .map(|m| format!("  - {m}\n"))
            .collect::<String>()
    );
    assert_eq!(stdout, expected);
}

#[test]
fn org_commands_without_an_emulator_exit_2() {
    // A closed port: AWS is unreachable, which is an environment problem.
    let ws = common::example_workspace();
    let port = common::free_port();
    let o = common::meshsynth(ws.path())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .args([
            "-q",
            "--endpoint-url",
            &format!("http://127.0.0.1:{port}"),
            "org",
            "check",
        ])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.starts_with("error: AWS Organizations `DescribeOrganization` failed: "),
        "{stderr}"
    );
}
