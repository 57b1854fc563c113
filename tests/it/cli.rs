//! The binary end to end: validate, graph, impact, schema, and an exit code each.

use crate::common;

use std::fs;

use common::{example_workspace, meshsynth, repo};

const MINIMAL: &str = "tests/fixtures/valid/minimal.yaml";

#[test]
fn validate_example_org_passes_with_its_deprecation_and_access_warnings() {
    let out = meshsynth(&repo()).args(["validate"]).output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "\
warning: accounts/teams/ads-delivery.yaml:139:14: team `ads-delivery` (account `493764701522`) consumes deprecated `podcasts.episodes@1` (move to podcasts.episodes@2; producer team `shows`, contact #team-shows)
warning: accounts/teams/billing.yaml:65:9: the grant to access group sales-ops on `finance.invoices` expires on 2026-12-20, in 18 days (the steward billing-steward@example.com renews it by moving `expires`, or lets it lapse)
warning: accounts/teams/billing.yaml:119:14: team `billing` (account `119378347708`) consumes deprecated `advertising.impressions@2` (move to advertising.impressions@3; producer team `ads-delivery`, contact #team-ads-delivery)
warning: accounts/teams/insights.yaml:88:14: team `insights` (account `689856076538`) consumes deprecated `finance.ad-revenue@1` (move to finance.ad-revenue@2; producer team `billing`, contact #team-billing)
warning: accounts/teams/insights.yaml:99:14: pending: account `689856076538` asks for restricted `finance.payouts@1`, and no grant covers it (it reads nothing until one does) (ask the data steward payouts-steward@example.com to add a grant for account \"689856076538\" to `finance.payouts` in accounts/teams/payouts.yaml)
accounts is valid: 14 teams, 36 accounts, 8 domains, 33 products, 101 consume entries
"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn quiet_validate_prints_nothing() {
    let out = meshsynth(&repo()).args(["-q", "validate"]).output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty() && out.stdout.is_empty());
}

#[test]
fn exit_0_valid_topology() {
    let out = meshsynth(&repo())
        .args(["-t", MINIMAL, "validate"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "tests/fixtures/valid/minimal.yaml is valid: 3 teams, 5 accounts, 2 domains, 2 products, 2 consume entries\n"
    );
}

#[test]
fn exit_1_invalid_topology() {
    let out = meshsynth(&repo())
        .args(["-t", "tests/fixtures/invalid/bad-region.yaml", "validate"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn exit_2_missing_topology() {
    let out = meshsynth(&repo())
        .args(["-t", "no/such/dir", "validate"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: cannot read `no/such/dir`: no such file or directory\n"
    );
}

#[test]
fn exit_2_usage_error() {
    let out = meshsynth(&repo())
        .args(["validate", "--no-such-flag"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: unexpected argument '--no-such-flag'"));
}

#[test]
fn help_lists_the_exit_codes() {
    let out = meshsynth(&repo()).arg("--help").output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Exit codes:\n  0  success"), "{text}");
    assert!(
        text.contains("  2  usage error, unreadable input, no credentials, AWS unreachable"),
        "{text}"
    );
}

#[test]
fn directory_without_org_yaml_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = meshsynth(dir.path())
        .args(["-t", ".", "validate"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: cannot read `.`: no `org.yaml` in this directory (a topology directory holds `org.yaml` and `teams/*.yaml`)\n"
    );
}

/// Writes a directory-form topology from (relative path, text) pairs.
fn topology_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in files {
        let p = dir.path().join("t").join(path);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, text).expect("write");
    }
    dir
}

/// Runs `validate` on the topology directory `t` written by `topology_dir`.
fn validate_topology_dir(dir: &tempfile::TempDir) -> (Option<i32>, String) {
    let out = meshsynth(dir.path())
        .args(["-t", "t", "validate"])
        .output()
        .expect("run");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

const ORG: &str = "version: 2
org:
  name: tiny
  organization_id: o-a1b2c3d4e5
  management_account: \"111111111111\"
  central_account: \"222222222222\"
  region: eu-west-1
domains:
  - name: podcasts
";

#[test]
fn directory_form_reports_every_file_sorted() {
    let dir = topology_dir(&[
        ("org.yaml", ORG),
        ("teams/b.yaml", "name: b\ndomain: podcasts\naccounts:\n  - { id: \"333333333333\", name: b, environment: prod }\n  - { id: nope, name: b2, environment: prod }\n"),
        ("teams/a.yaml", "name: a\ndomain: podcasts\nacounts: []\n"),
        ("teams/c.yml", "name: c\n  domain: [\n"),
        ("teams/notes.txt", "not a team file"),
    ]);
    let (code, stderr) = validate_topology_dir(&dir);
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr,
        "\
error: t/teams/a.yaml:3:1: unknown field `acounts`, expected one of name, domain, steward, contact, owners, accounts, products, consumes, service_roles, alerts (see `meshsynth schema` for the format)
error: t/teams/c.yml:2:9: mapping values are not allowed in this context (see `meshsynth schema` for the format)
"
    );
}

#[test]
fn directory_form_semantic_errors_name_each_file() {
    let dir = topology_dir(&[
        ("org.yaml", ORG),
        (
            "teams/a.yaml",
            "name: shows\ndomain: podcasts\naccounts:\n  - { id: \"333333333333\", name: a, environment: prod }\n",
        ),
        (
            "teams/b.yaml",
            "name: shows\ndomain: podcasts\naccounts:\n  - { id: \"333333333333\", name: b, environment: prod }\n",
        ),
    ]);
    let (code, stderr) = validate_topology_dir(&dir);
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr,
        "error: t/teams/b.yaml:1:7: team `shows` is declared twice, also at t/teams/a.yaml:1:7 (team names are unique across the org)\n"
    );
}

#[test]
fn teams_do_not_belong_in_org_yaml() {
    let dir = topology_dir(&[("org.yaml", &format!("{ORG}teams: []\n"))]);
    let (code, stderr) = validate_topology_dir(&dir);
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr,
        "error: t/org.yaml:10:8: `teams` does not belong in `org.yaml` of a topology directory (move each team to its own file under `teams/`)\n"
    );
}

#[test]
fn directory_and_single_file_forms_print_the_same_graph() {
    let ws = example_workspace();
    let from_dir = meshsynth(ws.path())
        .args(["graph", "--format", "json"])
        .output()
        .expect("run");
    // Build the single-file form by hand from the directory.
    let mut single = fs::read_to_string(ws.path().join("accounts/org.yaml")).expect("org.yaml");
    single.push_str("\nteams:\n");
    let mut files: Vec<_> = fs::read_dir(ws.path().join("accounts/teams"))
        .expect("teams")
        .map(|e| e.expect("e").path())
        .collect();
    files.sort();
    files.reverse(); // file order must not matter
    for f in files {
        let text = fs::read_to_string(&f).expect("team");
        let mut first = true;
        for line in text.lines() {
            if line.trim_start().starts_with('#') || line.trim().is_empty() {
                continue;
            }
            single.push_str(if first { "  - " } else { "    " });
            single.push_str(line);
            single.push('\n');
            first = false;
        }
    }
    fs::write(ws.path().join("single.yaml"), single).expect("write");
    let from_file = meshsynth(ws.path())
        .args(["-t", "single.yaml", "graph", "--format", "json"])
        .output()
        .expect("run");
    assert_eq!(
        from_file.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&from_file.stderr)
    );
    assert_eq!(from_dir.stdout, from_file.stdout);
}

#[test]
fn graph_json_has_one_consumes_edge_per_consume_entry() {
    let out = meshsynth(&repo())
        .args(["-q", "graph", "--format", "json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let graph: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let edges = graph["edges"].as_array().expect("edges");
    let consumes = edges.iter().filter(|e| e["kind"] == "consumes").count();
    // Count consume entries in the YAML itself, independently of meshsynth's model.
    let mut entries = 0;
    for f in fs::read_dir(repo().join("accounts/teams")).expect("teams") {
        let text = fs::read_to_string(f.expect("f").path()).expect("read");
        entries += text
            .lines()
            .filter(|l| l.trim_start().starts_with("- product:"))
            .count();
    }
    assert_eq!(entries, 101);
    assert_eq!(consumes, entries);
    assert_eq!(graph["format"], 1);
    for e in edges.iter().filter(|e| e["kind"] == "consumes") {
        assert!(e["from"].as_str().is_some_and(|f| f.starts_with("product:")));
        assert!(e["to"].as_str().is_some_and(|t| t.starts_with("account:")));
        assert!(e["version"].as_u64().is_some());
    }
}

#[test]
fn graph_formats_of_the_minimal_org() {
    for format in ["json", "dot", "mermaid"] {
        let out = meshsynth(&repo())
            .args(["-t", MINIMAL, "graph", "--format", format])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(0));
        insta::assert_snapshot!(format!("graph_minimal_{format}"), String::from_utf8_lossy(&out.stdout));
    }
}

#[test]
fn graph_around_one_product() {
    let out = meshsynth(&repo())
        .args([
            "-t",
            MINIMAL,
            "graph",
            "--format",
            "mermaid",
            "--product",
            "finance.payouts",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}

#[test]
fn graph_of_an_unknown_product_is_a_finding() {
    let out = meshsynth(&repo())
        .args(["-t", MINIMAL, "graph", "--product", "finance.nope"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: product `finance.nope` is not in the topology\n"
    );
}

#[test]
fn impact_lists_consumers_and_whom_to_notify() {
    let out = meshsynth(&repo())
        .args(["-t", MINIMAL, "impact", "podcasts.episodes"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "\
podcasts.episodes (open), produced by team shows in account 333333333333 — contact #team-shows

v1 deprecated — 0 consumers; can be retired now
  SLO daily, available by 06:00Z; no alarm (only active versions have one)
  read by the whole organisation (o-a1b2c3d4e5)

v2 active — 1 consumer; cannot be retired while consumed
  SLO daily, available by 06:00Z; alarm `mesh-late-podcasts-episodes-v2` after 24 hours without a new object under s3://tiny-333333333333-eu-west-1-mesh/podcasts/episodes/v2/ → arn:aws:sns:eu-west-1:333333333333:mesh-alerts
  team payouts              account 444444444444 (payouts-prod)  notify #team-payouts  — Revenue per episode
  read by the whole organisation (o-a1b2c3d4e5)
"
    );
}

#[test]
fn impact_of_a_deprecated_version_still_consumed_in_the_example_org() {
    let out = meshsynth(&repo())
        .args(["-q", "impact", "podcasts.episodes@1", "--format", "json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["versions"][0]["version"], 1);
    assert_eq!(v["versions"][0]["status"], "deprecated");
    assert_eq!(v["versions"][0]["can_retire"], false);
    assert_eq!(v["versions"][0]["consumers"][0]["team"], "ads-delivery");
    assert_eq!(v["producer"]["contact"], "#team-shows");
}

#[test]
fn impact_of_an_unknown_version_is_a_finding() {
    let out = meshsynth(&repo())
        .args(["-t", MINIMAL, "impact", "podcasts.episodes@9"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: product `podcasts.episodes` has no version 9\n"
    );
}

#[test]
fn schema_is_json_schema_of_every_section() {
    let out = meshsynth(&repo()).arg("schema").output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let props: Vec<&String> = schema["properties"].as_object().expect("properties").keys().collect();
    assert_eq!(props, ["version", "org", "domains", "access_groups", "teams"]);
    assert_eq!(schema["additionalProperties"], false);
    let team = meshsynth(&repo()).args(["schema", "--team"]).output().expect("run");
    let team: serde_json::Value = serde_json::from_slice(&team.stdout).expect("json");
    assert_eq!(team["required"], serde_json::json!(["name", "domain"]));
}

/// `blueprint-context` prints what synth gives a blueprint: for each part of the example org,
/// the schema names exactly the fields the contexts have, and the context holds what the
/// committed template was rendered from.
// See: issue 9, item 1 (typed blueprint contexts)
#[test]
fn blueprint_context_matches_its_schema_and_the_rendered_templates() {
    let json = |args: &[&str]| -> serde_json::Value {
        let out = meshsynth(&repo()).arg("-q").args(args).output().expect("run");
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("json")
    };
    for part in [
        "baseline",
        "products",
        "consumer",
        "central",
        "identity",
        "glue-resource-policy",
    ] {
        let schema = json(&["blueprint-context", part, "--schema"]);
        assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
        let mut fields: Vec<&String> = schema["properties"].as_object().expect("properties").keys().collect();
        fields.sort();
        let contexts = json(&["blueprint-context", part]);
        let contexts = contexts.as_object().expect("by stack id");
        assert!(!contexts.is_empty(), "{part}: the example org has some");
        for (id, context) in contexts {
            let mut keys: Vec<&String> = context.as_object().expect("object").keys().collect();
            keys.sort();
            assert_eq!(keys, fields, "{part}: {id}");
        }
    }
    let baseline = json(&["blueprint-context", "baseline", "--account", "307870227078"]);
    let ids: Vec<&String> = baseline.as_object().expect("by stack id").keys().collect();
    assert_eq!(ids, ["307870227078/mesh-baseline"]);
    let template: serde_json::Value = serde_json::from_slice(
        &fs::read(repo().join("out/307870227078/mesh-baseline.template.json")).expect("committed output"),
    )
    .expect("json");
    let context = &baseline["307870227078/mesh-baseline"];
    assert_eq!(
        template["Resources"]["DataBucketPolicy"]["Properties"]["PolicyDocument"],
        context["data_bucket_policy"]
    );
    assert_eq!(template["Resources"]["MeshKey"]["Properties"]["Tags"], context["tags"]);
}

#[test]
fn blueprint_context_of_an_account_without_that_part_is_a_usage_error() {
    let out = meshsynth(&repo())
        .args(["-q", "blueprint-context", "products", "--account", "307870227078"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: account `307870227078` has no `products` blueprint in this topology: it has only `mesh-baseline`, `mesh-central`\n"
    );
    assert!(out.stdout.is_empty());
}

// Hostile input: each gets a clear error in bounded time, never a panic.

fn validate_file(name: &str, bytes: &[u8]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join(name), bytes).expect("write");
    let out = meshsynth(dir.path())
        .args(["-t", name, "validate"])
        .output()
        .expect("run");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn hostile_empty_file() {
    let (code, err) = validate_file("empty.yaml", b"");
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "error: empty.yaml:1:1: file is empty (a topology file is a YAML mapping; see `meshsynth schema`)\n"
    );
}

#[test]
fn hostile_non_utf8_bytes() {
    let (code, err) = validate_file("bytes.yaml", b"version: 2\norg:\n  name: \xff\xfe\n");
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "error: bytes.yaml:3:9: file is not valid UTF-8 (save the file as UTF-8)\n"
    );
}

#[test]
fn hostile_deep_nesting() {
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let (code, err) = validate_file("deep.yaml", deep.as_bytes());
    assert_eq!(code, Some(1));
    assert!(
        err.starts_with("error: deep.yaml:1:") && err.contains("recursion limit exceeded"),
        "{err}"
    );
    let deep_maps = format!("{}1{}", "{a: ".repeat(200_000), "}".repeat(200_000));
    let (code, err) = validate_file("deep-maps.yaml", deep_maps.as_bytes());
    assert_eq!(code, Some(1));
    assert!(err.contains("recursion limit exceeded"), "{err}");
}

#[test]
fn hostile_alias_bomb() {
    // The billion laughs: 10 levels of 10 aliases each, in a place the schema accepts.
    let mut text = String::from("version: 2\norg: {name: a, organization_id: o-a1b2c3d4e5, management_account: \"111111111111\", central_account: \"222222222222\", region: eu-west-1}\n");
    text.push_str("domains:\n  - &d0 {name: a}\n");
    text.push_str("x0: &l0 [*d0, *d0, *d0, *d0, *d0, *d0, *d0, *d0, *d0, *d0]\n");
    for i in 1..10 {
        let refs = vec![format!("*l{}", i - 1); 10].join(", ");
        text.push_str(&format!("x{i}: &l{i} [{refs}]\n"));
    }
    let (code, err) = validate_file("bomb.yaml", text.as_bytes());
    assert_eq!(code, Some(1));
    assert!(err.starts_with("error: bomb.yaml:"), "{err}");
    // As the value of a real section too.
    let mut text = String::from("version: 2\norg: {name: a, organization_id: o-a1b2c3d4e5, management_account: \"111111111111\", central_account: \"222222222222\", region: eu-west-1}\n");
    text.push_str("domains: &l0 [{name: a}, {name: b}]\n");
    for i in 1..10 {
        let refs = vec![format!("*l{}", i - 1); 10].join(", ");
        text.push_str(&format!("access_groups: &l{i} [{refs}]\n"));
    }
    let (code, err) = validate_file("bomb2.yaml", text.as_bytes());
    assert_eq!(code, Some(1));
    assert!(err.starts_with("error: bomb2.yaml:"), "{err}");
}

#[test]
fn hostile_fifty_megabytes() {
    let mut text = String::from("version: 2\ndomains:\n");
    let entry = format!("  - name: d\n    description: \"{}\"\n", "y".repeat(90));
    while text.len() < 50 * 1024 * 1024 {
        text.push_str(&entry);
    }
    let (code, err) = validate_file("big.yaml", text.as_bytes());
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "error: big.yaml:2:1: missing field `org` (see `meshsynth schema` for the format)\n"
    );
}

#[test]
fn hostile_nul_bytes() {
    let (code, err) = validate_file("nul.yaml", b"\0\0\0");
    assert_eq!(code, Some(1));
    assert!(err.starts_with("error: nul.yaml:1:1: "), "{err}");
}

#[test]
fn impact_of_a_restricted_product_lists_readers_grants_and_pending_requests() {
    let out = meshsynth(&repo())
        .args(["-q", "impact", "finance.payouts"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "\
finance.payouts (restricted), produced by team payouts in account 951456798605 — contact #team-payouts

v1 active — 2 consumers; cannot be retired while consumed
  SLO daily, available by 09:00Z; alarm `mesh-late-finance-payouts-v1` after 24 hours without a new object under s3://acast-951456798605-eu-west-1-mesh/finance/payouts/v1/ → arn:aws:sns:eu-west-1:951456798605:mesh-alerts
  team platform             account 307870227078 (data-central)  notify #team-data-platform  — dbt-runner revenue models
  team insights             account 689856076538 (insights-prod)  notify #team-insights  — Creator earnings index (DATA-412)
  read by service role dbt-runner in account 307870227078 (granted by payouts-steward@example.com)
  read by access group finance-analysts in account 307870227078 (granted by payouts-steward@example.com)
  grant to account 307870227078 (roles dbt-runner): approved by payouts-steward@example.com — Creator revenue models (DATA-131)
  grant to access group finance-analysts: approved by payouts-steward@example.com
  pending: account 689856076538 asks, no grant covers it (requested at accounts/teams/insights.yaml:99:14)
"
    );
}

#[test]
fn an_expired_grant_gives_no_access_and_says_so() {
    // One day after the sales-ops grant on finance.invoices ran out.
    let out = meshsynth(&repo())
        .env("MESHSYNTH_TODAY", "2026-12-21")
        .args(["impact", "finance.invoices", "--format", "json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: accounts/teams/billing.yaml:65:9: the grant to access group sales-ops on `finance.invoices` expired on 2026-12-20: it gives no access (renew it with a new `expires`, or remove it)\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: accounts/org.yaml:99:11: pending: access group `sales-ops` lists restricted `finance.invoices`, and no grant covers it"),
        "{stderr}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let readers: Vec<String> = v["versions"][0]["readers"]
        .as_array()
        .expect("readers")
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["kind"].as_str().unwrap_or(""),
                r["name"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(readers, ["service_role dbt-runner", "access_group finance-analysts"]);
    let expired: Vec<&serde_json::Value> = v["versions"][0]["grants"]
        .as_array()
        .expect("grants")
        .iter()
        .filter(|g| g["live"] == false)
        .collect();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["to"]["access_group"], "sales-ops");
}

#[test]
fn migrate_moves_every_approval_of_a_version_1_org_into_the_producers_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    common::copy_dir(&repo().join("tests/fixtures/v1/org"), &dir.path().join("accounts"));
    // A version-1 org is refused, with the grant each approval becomes.
    let refused = meshsynth(dir.path()).arg("validate").output().expect("run");
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.starts_with("error: accounts/org.yaml:29:10: format version 1 is no longer read"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: accounts/teams/insights.yaml:90:18: `approved_by` moves to the producer of `finance.ad-revenue` (remove it here and add under `grants:` of product `ad-revenue` in accounts/teams/billing.yaml: - { account: \"689856076538\", versions: [1], approved_by: billing-steward@example.com })\n"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("moves to the producer").count(), 14);
    let out = meshsynth(dir.path()).arg("migrate").output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with(
            "migrated `accounts` to format version 2: 14 approvals moved into 21 grants, 10 files rewritten\n"
        ),
        "{stdout}"
    );
    let valid = meshsynth(dir.path()).arg("validate").output().expect("run");
    assert_eq!(
        valid.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&valid.stderr)
    );
    let billing = fs::read_to_string(dir.path().join("accounts/teams/billing.yaml")).expect("read");
    assert!(billing.contains(
        "      - account: \"689856076538\"\n        versions: [1]\n        approved_by: billing-steward@example.com\n"
    ));
    assert_eq!(billing.matches("\n    grants:\n").count(), 2);
    let insights = fs::read_to_string(dir.path().join("accounts/teams/insights.yaml")).expect("read");
    assert!(!insights.contains("approved_by"));
    // Comments survive, and a second run has nothing to do.
    assert!(insights.contains("# Still on ad-revenue v1 (deprecated)"));
    let again = meshsynth(dir.path()).arg("migrate").output().expect("run");
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        "`accounts` is format version 2: nothing to migrate\n"
    );
}

#[test]
fn migrate_rewrites_a_single_file_org_and_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let yaml = dir.path().join("org.yaml");
    fs::copy(repo().join("tests/fixtures/invalid/version-1.yaml"), &yaml).expect("copy");
    let out = meshsynth(dir.path())
        .args(["-t", "org.yaml", "migrate"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let valid = meshsynth(dir.path())
        .args(["-t", "org.yaml", "validate"])
        .output()
        .expect("run");
    assert_eq!(
        valid.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&valid.stderr)
    );
    // The same org as JSON.
    let text = fs::read_to_string(repo().join("tests/fixtures/invalid/version-1.yaml")).expect("read");
    let value: serde_json::Value = serde_saphyr_free_yaml(&text);
    let json = dir.path().join("org.json");
    fs::write(&json, serde_json::to_string_pretty(&value).expect("json")).expect("write");
    let out = meshsynth(dir.path())
        .args(["-t", "org.json", "migrate"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let migrated: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).expect("read")).expect("json");
    assert_eq!(migrated["version"], 2);
    assert_eq!(
        migrated["teams"][2]["products"][0]["grants"][2],
        serde_json::json!({"account": "333333333333", "versions": [1], "approved_by": "finance-steward@example.com"})
    );
    let valid = meshsynth(dir.path())
        .args(["-t", "org.json", "validate"])
        .output()
        .expect("run");
    assert_eq!(
        valid.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&valid.stderr)
    );
}

/// The YAML fixture as JSON, through python3's yaml module (already needed by cfn-lint).
fn serde_saphyr_free_yaml(text: &str) -> serde_json::Value {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write as _;
            c.stdin.take().expect("stdin").write_all(text.as_bytes())?;
            c.wait_with_output()
        })
        .expect("python3 with PyYAML (installed with cfn-lint)");
    serde_json::from_slice(&out.stdout).expect("json")
}
