//! `meshsynth synth` end to end: the committed golden output, focused snapshots per
//! stack part and access mode, cfn-lint over real and generated orgs, invariants of
//! the grants over generated orgs, determinism, and the output folder's behaviour.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use common::{gen_org, meshsynth, repo};

/// Runs `synth` and asserts success; returns stderr.
fn synth(topology: &Path, out: &Path) -> String {
    let o = meshsynth(&repo())
        .args(["-t"])
        .arg(topology)
        .args(["synth", "--out"])
        .arg(out)
        .output()
        .expect("run meshsynth");
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "synth failed: {stderr}");
    stderr
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// Every file under `dir` by relative path.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).expect("read dir") {
            let e = e.expect("entry");
            if e.file_type().expect("type").is_dir() {
                walk(base, &e.path(), out);
            } else {
                let rel = e
                    .path()
                    .strip_prefix(base)
                    .expect("under base")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(e.path()).expect("read file"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Rewrites a generated `org.json` with `f`.
fn edit_json(path: &Path, f: impl FnOnce(&mut Value)) {
    let mut v = read_json(path);
    f(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).expect("serialise")).expect("write");
}

// --- the golden output -------------------------------------------------------------------

#[test]
fn committed_out_is_up_to_date() {
    let o = meshsynth(&repo())
        .args(["-q", "synth", "--check"])
        .output()
        .expect("run meshsynth");
    assert_eq!(
        o.status.code(),
        Some(0),
        "out/ is stale; run `cargo run --release -- synth` and commit out/:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn check_reports_what_differs_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let topo = repo().join("tests/fixtures/synth/iam.yaml");
    synth(&topo, &out);
    let before = tree(&out);
    let policy = out.join("444444444444/glue-resource-policy.json");
    std::fs::write(&policy, "{}\n").expect("write");
    std::fs::remove_file(out.join("111111111111/mesh-identity.template.json")).expect("remove");
    std::fs::create_dir_all(out.join("999999999999")).expect("mkdir");
    std::fs::write(out.join("999999999999/mesh-baseline.template.json"), "{}\n").expect("write");
    let edited = tree(&out);
    let o = meshsynth(&repo())
        .arg("-t")
        .arg(&topo)
        .args(["synth", "--check", "--out"])
        .arg(&out)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let listing = "  \
added    111111111111/mesh-identity.template.json
  changed  444444444444/glue-resource-policy.json
  removed  999999999999/mesh-baseline.template.json
";
    assert!(stderr.starts_with(listing), "{stderr}");
    assert!(
        stderr.contains("is not what synth would write: 1 added, 1 changed, 1 removed"),
        "{stderr}"
    );
    assert_eq!(tree(&out), edited, "--check must write nothing");
    synth(&topo, &out);
    assert_eq!(tree(&out), before);
}

#[test]
fn unchanged_resynth_rewrites_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let topo = repo().join("tests/fixtures/synth/iam.yaml");
    synth(&topo, &out);
    let mtimes = |dir: &Path| -> BTreeMap<String, std::time::SystemTime> {
        tree(dir)
            .keys()
            .map(|k| {
                (
                    k.clone(),
                    std::fs::metadata(dir.join(k))
                        .and_then(|m| m.modified())
                        .expect("mtime"),
                )
            })
            .collect()
    };
    let before = mtimes(&out);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let stderr = synth(&topo, &out);
    assert!(stderr.contains("0 added, 0 changed, 0 removed"), "{stderr}");
    assert_eq!(mtimes(&out), before);
    // No temporary folder is left beside the output.
    let beside: Vec<_> = std::fs::read_dir(tmp.path()).expect("read").collect();
    assert_eq!(beside.len(), 1);
}

/// Writes `<bp>/<name>.json.hbs`: the built-in blueprint with `from` replaced by `to` (which must change it).
fn override_blueprint(bp: &Path, name: &str, from: &str, to: &str) {
    let builtin = std::fs::read_to_string(repo().join(format!("blueprints/{name}.json.hbs"))).expect("read");
    let changed = builtin.replace(from, to);
    assert_ne!(changed, builtin, "`{from}` is not in blueprints/{name}.json.hbs");
    std::fs::write(bp.join(format!("{name}.json.hbs")), changed).expect("write");
}

#[test]
fn a_broken_blueprint_names_blueprint_stack_and_line_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bp = tmp.path().join("bp");
    std::fs::create_dir_all(&bp).expect("mkdir");
    override_blueprint(
        &bp,
        "identity",
        "\"TargetType\": \"AWS_ACCOUNT\",",
        "\"TargetType\" \"AWS_ACCOUNT\",",
    );
    let out = tmp.path().join("out");
    let o = meshsynth(&repo())
        .arg("-t")
        .arg(repo().join("tests/fixtures/synth/iam.yaml"))
        .args(["-q", "synth", "--out"])
        .arg(&out)
        .arg("--blueprints")
        .arg(&bp)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.starts_with(
            "error: blueprint `identity` rendered invalid JSON for stack `111111111111/mesh-identity` at line "
        ),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing may be written when rendering fails");
}

/// Files are staged account by account while others still render: when one account fails
/// after the others' changed templates are staged, the existing output keeps every byte
/// and nothing is left beside it.
#[test]
fn a_failure_after_other_accounts_are_staged_changes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let topology = repo().join("tests/fixtures/synth/iam.yaml");
    let out = tmp.path().join("out");
    synth(&topology, &out);
    let before = tree(&out);
    let bp = tmp.path().join("bp");
    std::fs::create_dir_all(&bp).expect("mkdir");
    // Every account's baseline changes (so it is staged) …
    override_blueprint(
        &bp,
        "_bucket",
        "\"VersioningConfiguration\"",
        "\"LoggingConfiguration\": {\"LogFilePrefix\": \"changed/\"},\n    \"VersioningConfiguration\"",
    );
    // … and one account's identity stack fails.
    override_blueprint(
        &bp,
        "identity",
        "\"TargetType\": \"AWS_ACCOUNT\",",
        "\"TargetType\" \"AWS_ACCOUNT\",",
    );
    let o = meshsynth(&repo())
        .arg("-t")
        .arg(&topology)
        .args(["-q", "synth", "--out"])
        .arg(&out)
        .arg("--blueprints")
        .arg(&bp)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        String::from_utf8_lossy(&o.stderr).starts_with("error: blueprint `identity` rendered invalid JSON"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(tree(&out) == before, "the output changed although synth failed");
    let mut beside: Vec<String> = std::fs::read_dir(tmp.path())
        .expect("read")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    beside.sort();
    assert_eq!(beside, ["bp", "out"], "no staging folder is left beside the output");
}

#[test]
fn blueprints_can_be_overridden_per_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bp = tmp.path().join("bp");
    std::fs::create_dir_all(&bp).expect("mkdir");
    override_blueprint(
        &bp,
        "_bucket",
        "\"VersioningConfiguration\"",
        "\"LoggingConfiguration\": {\"LogFilePrefix\": {{json (concat \"s3/\" name \"/\")}}},\n    \"VersioningConfiguration\"",
    );
    let out = tmp.path().join("out");
    let o = meshsynth(&repo())
        .arg("-t")
        .arg(repo().join("tests/fixtures/synth/iam.yaml"))
        .args(["-q", "synth", "--out"])
        .arg(&out)
        .arg("--blueprints")
        .arg(&bp)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let t = read_json(&out.join("333333333333/mesh-baseline.template.json"));
    assert_eq!(
        t["Resources"]["DataBucket"]["Properties"]["LoggingConfiguration"]["LogFilePrefix"],
        "s3/tiny-333333333333-eu-west-1-mesh/"
    );
}

// --- focused snapshots: one per stack part and access mode ------------------------------------

fn snapshot_fixture(mode: &str) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    synth(&repo().join(format!("tests/fixtures/synth/{mode}.yaml")), &out);
    let files = tree(&out);
    let names: Vec<&String> = files.keys().collect();
    insta::assert_yaml_snapshot!(format!("{mode}_files"), names);
    for (name, path) in [
        ("manifest", "manifest.json"),
        ("access", "access.json"),
        ("baseline", "333333333333/mesh-baseline.template.json"),
        ("products", "333333333333/mesh-products.template.json"),
        ("products_restricted", "444444444444/mesh-products.template.json"),
        ("consumer", "333333333333/mesh-consumer.template.json"),
        ("central", "222222222222/mesh-central.template.json"),
        ("identity", "111111111111/mesh-identity.template.json"),
        ("glue_resource_policy", "444444444444/glue-resource-policy.json"),
    ] {
        let Some(bytes) = files.get(path) else {
            assert_eq!(mode, "lakeformation", "{path} is missing");
            assert_eq!(name, "glue_resource_policy", "only the Glue policy is iam-only");
            continue;
        };
        insta::assert_snapshot!(format!("{mode}_{name}"), String::from_utf8_lossy(bytes));
    }
}

#[test]
fn snapshots_access_mode_iam() {
    snapshot_fixture("iam");
}

#[test]
fn snapshots_access_mode_lakeformation() {
    snapshot_fixture("lakeformation");
}

// --- cfn-lint ---------------------------------------------------------------------------------

/// Runs cfn-lint once over every template under `out` (its start-up costs seconds).
fn cfn_lint(out: &Path) {
    let templates: Vec<String> = tree(out)
        .keys()
        .filter(|k| k.ends_with(".template.json"))
        .cloned()
        .collect();
    assert!(!templates.is_empty());
    let o = match Command::new("cfn-lint")
        .current_dir(out)
        .args(["--format", "parseable"])
        .args(&templates)
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!("cfn-lint is not installed ({e}): pip install cfn-lint"),
    };
    let report = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && report.trim().is_empty(),
        "cfn-lint found problems in {} templates:\n{report}{}",
        templates.len(),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn cfn_lint_example_org() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    synth(&repo().join("accounts"), &out);
    cfn_lint(&out);
}

#[test]
fn cfn_lint_generated_org_iam() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let topo = gen_org(&tmp.path().join("org"), &GEN_SMALL, "json");
    let out = tmp.path().join("out");
    synth(&topo, &out);
    cfn_lint(&out);
}

#[test]
fn cfn_lint_generated_org_lakeformation() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let topo = gen_org(&tmp.path().join("org"), &GEN_SMALL, "json");
    edit_json(&topo, |v| v["org"]["access_mode"] = "lakeformation".into());
    let out = tmp.path().join("out");
    synth(&topo, &out);
    cfn_lint(&out);
    // The fixtures' snapshots are linted too (they are small; one more invocation is cheap enough).
}

const GEN_SMALL: [&str; 10] = [
    "--teams",
    "20",
    "--accounts-per-team",
    "3",
    "--products",
    "60",
    "--consumes",
    "300",
    "--seed",
    "1",
];

// --- invariants over generated orgs -----------------------------------------------------------

/// What a generated topology says about one product.
struct ProductFacts {
    account: String,
    restricted: bool,
    /// version → status
    versions: BTreeMap<u64, String>,
}

struct Facts {
    org_id: String,
    products: BTreeMap<String, ProductFacts>,
    /// (account, product, version)
    consumes: Vec<(String, String, u64)>,
    /// (product, version) → the principal ARNs that may read it (format v2: a request met by a
    /// grant), worked out here from the topology independently of meshsynth's model.
    readers: BTreeMap<(String, u64), BTreeSet<String>>,
}

/// Whether a grant (a topology JSON object) covers version `v` and admits `role` (any when `None`).
fn grant_covers(g: &Value, v: u64, role: Option<&str>) -> bool {
    let versions_ok = g["versions"]
        .as_array()
        .is_none_or(|vs| vs.iter().any(|x| x.as_u64() == Some(v)));
    let role_ok = match (role, g["roles"].as_array()) {
        (Some(r), Some(rs)) => rs.iter().any(|x| x.as_str() == Some(r)),
        _ => true,
    };
    versions_ok && role_ok && g["expires"].is_null()
}

fn facts(topology: &Value) -> Facts {
    let mut products = BTreeMap::new();
    let mut consumes = Vec::new();
    for team in topology["teams"].as_array().expect("teams") {
        let domain = team["domain"].as_str().expect("domain");
        for p in team["products"].as_array().into_iter().flatten() {
            let versions = p["versions"]
                .as_array()
                .expect("versions")
                .iter()
                .map(|v| {
                    (
                        v["version"].as_u64().expect("n"),
                        v["status"].as_str().expect("s").to_owned(),
                    )
                })
                .collect();
            products.insert(
                format!("{domain}.{}", p["name"].as_str().expect("name")),
                ProductFacts {
                    account: p["account"].as_str().expect("account").to_owned(),
                    restricted: p["classification"] == "restricted",
                    versions,
                },
            );
        }
        for c in team["consumes"].as_array().into_iter().flatten() {
            let (id, v) = c["product"].as_str().expect("ref").split_once('@').expect("@");
            consumes.push((
                c["account"].as_str().expect("account").to_owned(),
                id.to_owned(),
                v.parse().expect("version"),
            ));
        }
    }
    let central = topology["org"]["central_account"].as_str().expect("central").to_owned();
    let mut grants: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut roles: Vec<(String, String, Vec<String>)> = Vec::new();
    for team in topology["teams"].as_array().expect("teams") {
        let domain = team["domain"].as_str().expect("domain");
        for p in team["products"].as_array().into_iter().flatten() {
            let id = format!("{domain}.{}", p["name"].as_str().expect("name"));
            grants.insert(id, p["grants"].as_array().cloned().unwrap_or_default());
        }
        for r in team["service_roles"].as_array().into_iter().flatten() {
            if r["access"] == "restricted" {
                roles.push((
                    r["account"].as_str().expect("account").to_owned(),
                    r["name"].as_str().expect("name").to_owned(),
                    list(&r["products"]),
                ));
            }
        }
    }
    let mut readers: BTreeMap<(String, u64), BTreeSet<String>> = BTreeMap::new();
    for (account, role, listed) in &roles {
        for (c_account, id, v) in &consumes {
            let restricted = products.get(id).is_some_and(|p: &ProductFacts| p.restricted);
            if c_account != account || !listed.contains(id) || !restricted {
                continue;
            }
            let granted = grants[id]
                .iter()
                .any(|g| g["account"].as_str() == Some(account.as_str()) && grant_covers(g, *v, Some(role.as_str())));
            if granted {
                readers
                    .entry((id.clone(), *v))
                    .or_default()
                    .insert(format!("arn:aws:iam::{account}:role/mesh-service-{role}"));
            }
        }
    }
    for g in topology["access_groups"].as_array().into_iter().flatten() {
        if g["access"] != "restricted" {
            continue;
        }
        let name = g["name"].as_str().expect("name");
        for id in list(&g["products"]) {
            let Some(p) = products.get(&id).filter(|p| p.restricted) else {
                continue;
            };
            for (v, status) in &p.versions {
                let granted = grants[&id]
                    .iter()
                    .any(|gr| gr["access_group"].as_str() == Some(name) && grant_covers(gr, *v, None));
                if status != "retired" && granted {
                    let set = readers.entry((id.clone(), *v)).or_default();
                    set.insert(format!("arn:aws:iam::{central}:role/mesh-group-{name}"));
                    set.insert(format!(
                        "arn:aws:iam::{central}:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_{name}_*"
                    ));
                }
            }
        }
    }
    Facts {
        org_id: topology["org"]["organization_id"].as_str().expect("org id").to_owned(),
        products,
        consumes,
        readers,
    }
}

fn list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(list).collect(),
        _ => Vec::new(),
    }
}

fn statements(doc: &Value) -> Vec<&Value> {
    doc["Statement"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// Every `Allow` to principal `*` anywhere in `v` carries an `aws:PrincipalOrgID` condition.
fn assert_no_open_allow(v: &Value, at: &str) {
    match v {
        Value::Object(o) => {
            if o.get("Effect") == Some(&Value::from("Allow")) {
                let p = o.get("Principal").cloned().unwrap_or(Value::Null);
                let star = p == "*" || p.get("AWS").is_some_and(|a| list(a).iter().any(|s| s == "*"));
                if star {
                    let cond = o.get("Condition").map(Value::to_string).unwrap_or_default();
                    assert!(
                        cond.contains("aws:PrincipalOrgID"),
                        "{at}: Allow to * without an org condition: {v}"
                    );
                }
            }
            for (k, item) in o {
                assert_no_open_allow(item, &format!("{at}/{k}"));
            }
        }
        Value::Array(a) => a.iter().for_each(|item| assert_no_open_allow(item, at)),
        _ => {}
    }
}

/// Whether a statement names a version's data (S3 objects) or its Glue database.
fn names_version(st: &Value, objects: &str, database: &str) -> bool {
    list(&st["Resource"]).iter().any(|r| r == objects || r == database)
}

fn principals(st: &Value) -> Vec<String> {
    if st["Principal"] == "*" {
        return vec!["*".into()];
    }
    list(&st["Principal"]["AWS"])
}

/// The principals a role-scoped statement admits: its `aws:PrincipalArn` values, after checking
/// that its `Principal` names exactly the roots of their accounts.
fn scoped_principals(st: &Value) -> Vec<String> {
    let arns = list(&st["Condition"]["ArnLike"]["aws:PrincipalArn"]);
    assert!(
        !arns.is_empty(),
        "a grant of restricted data without an aws:PrincipalArn condition: {st}"
    );
    let roots: BTreeSet<String> = arns
        .iter()
        .map(|a| format!("arn:aws:iam::{}:root", a.split(':').nth(4).expect("account")))
        .collect();
    assert_eq!(principals(st).into_iter().collect::<BTreeSet<_>>(), roots, "{st}");
    arns
}

/// The account id of an IAM ARN.
fn arn_account(arn: &str) -> String {
    arn.split(':').nth(4).expect("account").to_owned()
}

/// Checks the grants of an iam-mode output against the topology it came from.
fn check_iam_grants(f: &Facts, out: &Path) {
    let mut policies: BTreeMap<String, (Value, Option<Value>)> = BTreeMap::new();
    for p in f.products.values() {
        if policies.contains_key(&p.account) {
            continue;
        }
        let baseline = read_json(&out.join(format!("{}/mesh-baseline.template.json", p.account)));
        let bucket = baseline["Resources"]["DataBucketPolicy"]["Properties"]["PolicyDocument"].clone();
        let glue_path = out.join(format!("{}/glue-resource-policy.json", p.account));
        let glue = glue_path.exists().then(|| read_json(&glue_path));
        policies.insert(p.account.clone(), (bucket, glue));
    }
    for (id, p) in &f.products {
        let (domain, name) = id.split_once('.').expect("id");
        for (v, status) in &p.versions {
            let objects = format!("arn:aws:s3:::acast-{}-eu-west-1-mesh/{domain}/{name}/v{v}/*", p.account);
            let database = format!(
                "arn:aws:glue:eu-west-1:{}:database/{}_{}_v{v}",
                p.account,
                domain.replace('-', "_"),
                name.replace('-', "_")
            );
            let (bucket, glue) = &policies[&p.account];
            let docs: Vec<&Value> = std::iter::once(bucket).chain(glue.as_ref()).collect();
            let mut allowed = BTreeSet::new();
            for doc in &docs {
                for st in statements(doc).into_iter().filter(|s| s["Effect"] == "Allow") {
                    if names_version(st, &objects, &database) {
                        let ps = principals(st);
                        if p.restricted {
                            assert!(
                                !ps.contains(&"*".to_owned()) && !st.to_string().contains("aws:PrincipalOrgID"),
                                "restricted {id}@{v} meets the org condition: {st}"
                            );
                            allowed.extend(scoped_principals(st));
                            continue;
                        }
                        allowed.extend(ps);
                    }
                }
            }
            if status == "retired" {
                assert!(allowed.is_empty(), "retired {id}@{v} is still granted to {allowed:?}");
                continue;
            }
            if p.restricted {
                let expected = f.readers.get(&(id.clone(), *v)).cloned().unwrap_or_default();
                assert_eq!(
                    allowed, expected,
                    "restricted {id}@{v}: the principals granted differ from the granted readers"
                );
            } else {
                assert_eq!(
                    allowed,
                    BTreeSet::from(["*".to_owned()]),
                    "open {id}@{v} is not granted to the org"
                );
            }
        }
    }
    // The generated orgs do grant restricted data: the check above is not vacuous.
    assert!(
        f.readers.values().any(|r| !r.is_empty()),
        "no restricted version has a reader"
    );
    assert!(f.consumes.iter().any(|(_, id, _)| f.products[id].restricted));
}

/// Checks the Lake Formation grants of a lakeformation-mode output.
fn check_lakeformation_grants(f: &Facts, out: &Path, management: &str) {
    let org_principal = format!("arn:aws:organizations::{management}:organization/{}", f.org_id);
    let mut granted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, bytes) in tree(out) {
        if !path.contains("/mesh-products") {
            continue;
        }
        let t: Value = serde_json::from_slice(&bytes).expect("json");
        for r in t["Resources"].as_object().expect("resources").values() {
            if r["Type"] != "AWS::LakeFormation::PrincipalPermissions" {
                continue;
            }
            let db_ref = &r["Properties"]["Resource"]["Table"]["DatabaseName"]["Ref"];
            if let Some(db_id) = db_ref.as_str() {
                let db = t["Resources"][db_id]["Properties"]["DatabaseInput"]["Name"]
                    .as_str()
                    .expect("db name");
                let principal = r["Properties"]["Principal"]["DataLakePrincipalIdentifier"]
                    .as_str()
                    .expect("p");
                granted.entry(db.to_owned()).or_default().insert(principal.to_owned());
            }
        }
    }
    for (id, p) in &f.products {
        let (domain, name) = id.split_once('.').expect("id");
        for (v, status) in &p.versions {
            let db = format!("{}_{}_v{v}", domain.replace('-', "_"), name.replace('-', "_"));
            let got = granted.get(&db).cloned().unwrap_or_default();
            if status == "retired" {
                assert!(got.is_empty(), "retired {db} granted");
            } else if p.restricted {
                assert!(!got.contains(&org_principal), "restricted {db} granted to the org");
                let expected: BTreeSet<String> = f
                    .readers
                    .get(&(id.clone(), *v))
                    .into_iter()
                    .flatten()
                    .map(|arn| arn_account(arn))
                    .collect();
                assert_eq!(got, expected, "{db}");
            } else {
                assert_eq!(got, BTreeSet::from([org_principal.clone()]), "{db}");
            }
        }
    }
}

fn check_everywhere(out: &Path) {
    for (path, bytes) in tree(out) {
        let v: Value = serde_json::from_slice(&bytes).expect("every output file is JSON");
        assert_no_open_allow(&v, &path);
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("/tmp") && !text.contains("/home/"),
            "{path} holds an absolute path"
        );
    }
}

#[test]
fn invariants_hold_over_generated_orgs() {
    for seed in ["2", "3", "4"] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let args = [
            "--teams",
            "12",
            "--accounts-per-team",
            "3",
            "--products",
            "50",
            "--consumes",
            "250",
            "--seed",
            seed,
        ];
        let topo = gen_org(&tmp.path().join("org"), &args, "json");
        let facts = facts(&read_json(&topo));
        let out = tmp.path().join("out");
        synth(&topo, &out);
        check_everywhere(&out);
        check_iam_grants(&facts, &out);

        edit_json(&topo, |v| v["org"]["access_mode"] = "lakeformation".into());
        let lf_out = tmp.path().join("lf-out");
        synth(&topo, &lf_out);
        check_everywhere(&lf_out);
        let management = read_json(&topo)["org"]["management_account"]
            .as_str()
            .expect("m")
            .to_owned();
        check_lakeformation_grants(&facts, &lf_out, &management);
        assert!(!tree(&lf_out).keys().any(|k| k.ends_with("glue-resource-policy.json")));
    }
}

#[test]
fn invariants_hold_for_the_fixtures_and_the_example_org() {
    for topo in [
        "tests/fixtures/synth/iam.yaml",
        "tests/fixtures/synth/lakeformation.yaml",
        "accounts",
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        synth(&repo().join(topo), &out);
        check_everywhere(&out);
    }
}

#[test]
fn output_is_identical_whatever_the_form_and_order_of_the_topology() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let args = [
        "--teams",
        "10",
        "--accounts-per-team",
        "3",
        "--products",
        "40",
        "--consumes",
        "200",
        "--seed",
        "5",
    ];
    let mut outs = Vec::new();
    for format in ["dir", "yaml", "json"] {
        let dir = tmp.path().join(format!("org-{format}"));
        let topo = gen_org(&dir, &args, format);
        let out = tmp.path().join(format!("out-{format}"));
        synth(&topo, &out);
        outs.push(tree(&out));
    }
    // The same org with every list whose order carries no meaning reversed.
    let json = tmp.path().join("org-json/org.json");
    edit_json(&json, |v| {
        for key in ["teams", "domains", "access_groups"] {
            if let Some(a) = v.get_mut(key).and_then(Value::as_array_mut) {
                a.reverse();
            }
        }
        for team in v["teams"].as_array_mut().expect("teams") {
            for key in ["accounts", "products", "consumes", "service_roles"] {
                if let Some(a) = team.get_mut(key).and_then(Value::as_array_mut) {
                    a.reverse();
                }
            }
        }
    });
    let out = tmp.path().join("out-reversed");
    synth(&json, &out);
    outs.push(tree(&out));
    for other in &outs[1..] {
        assert!(outs[0] == *other, "outputs differ between topology forms or orders");
    }
}

/// Access mode lakeformation end to end in one small org: the consumer half of the grants
/// (resource links, grants to exactly the reader roles) and sensitive columns.
#[test]
fn lakeformation_links_grant_readers_and_hide_sensitive_columns() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    synth(&repo().join("tests/fixtures/synth/lakeformation.yaml"), &out);
    let manifest = read_json(&out.join("manifest.json"));
    let stack = |id: &str| {
        manifest["stacks"]
            .as_array()
            .expect("stacks")
            .iter()
            .find(|s| {
                format!(
                    "{}/{}",
                    s["account"].as_str().unwrap_or(""),
                    s["name"].as_str().unwrap_or("")
                ) == id
            })
            .cloned()
            .unwrap_or_else(|| panic!("no stack {id}"))
    };
    // The access stack follows the account's roles and the producers' cross-account grants.
    let access = stack("222222222222/mesh-access");
    assert_eq!(access["depends_on"], serde_json::json!(["222222222222/mesh-central"]));
    let products_wave = stack("444444444444/mesh-products")["wave"].as_u64().expect("wave");
    assert!(access["wave"].as_u64().expect("wave") > products_wave);
    let t = read_json(&out.join("222222222222/mesh-access.template.json"));
    let resources = t["Resources"].as_object().expect("resources");
    let link = &resources["LinkFinancePayoutsV1"]["Properties"]["DatabaseInput"];
    assert_eq!(
        link["TargetDatabase"],
        serde_json::json!({"CatalogId": "444444444444", "DatabaseName": "finance_payouts_v1"})
    );
    // Restricted payouts: the two granted readers, nobody else (not the open reader role).
    let principals = |prefix: &str| -> BTreeSet<String> {
        resources
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, r)| {
                r["Properties"]["Principal"]["DataLakePrincipalIdentifier"]
                    .as_str()
                    .expect("p")
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(
        principals("LfLinkFinancePayoutsV1"),
        BTreeSet::from([
            "arn:aws:iam::222222222222:role/mesh-group-finance-analysts".to_owned(),
            "arn:aws:iam::222222222222:role/mesh-service-dbt-runner".to_owned(),
        ])
    );
    // dbt-runner's grant says `columns: all`; the group's does not.
    let select = |id: &str| resources[id]["Properties"]["Resource"].clone();
    assert_eq!(
        select("LfSelectFinancePayoutsV1MeshServiceDbtRunner"),
        serde_json::json!({"Table": {"CatalogId": "444444444444", "DatabaseName": "finance_payouts_v1", "TableWildcard": {}}})
    );
    assert_eq!(
        select("LfSelectFinancePayoutsV1MeshGroupFinanceAnalystsPayouts")["TableWithColumns"]["ColumnWildcard"],
        serde_json::json!({"ExcludedColumnNames": ["creator_tax_id"]})
    );
    // Open episodes v2 reaches every reader role of the central account, without `host_email`.
    assert_eq!(principals("LfSelectPodcastsEpisodesV2").len(), 3);
    for (k, r) in resources
        .iter()
        .filter(|(k, _)| k.starts_with("LfSelectPodcastsEpisodesV2"))
    {
        assert_eq!(
            r["Properties"]["Resource"]["TableWithColumns"]["ColumnWildcard"],
            serde_json::json!({"ExcludedColumnNames": ["host_email"]}),
            "{k}"
        );
    }
    // The producer's org-wide grant leaves the sensitive column out too; no org grant is a wildcard.
    let products = read_json(&out.join("333333333333/mesh-products.template.json"));
    let org_grants: Vec<&Value> = products["Resources"]
        .as_object()
        .expect("resources")
        .values()
        .filter(|r| {
            r["Properties"]["Principal"]["DataLakePrincipalIdentifier"]
                .as_str()
                .is_some_and(|p| p.contains(":organization/"))
        })
        .filter(|r| r["Properties"]["Resource"].get("Database").is_none())
        .collect();
    assert!(!org_grants.is_empty());
    for g in &org_grants {
        let res = &g["Properties"]["Resource"];
        let v2 = res.to_string().contains("GlueDbPodcastsEpisodesV2");
        if v2 {
            assert_eq!(
                res["TableWithColumns"]["ColumnWildcard"]["ExcludedColumnNames"],
                serde_json::json!(["host_email"])
            );
        }
    }
    // Every account's data lake settings name the deploy role as administrator, appending.
    let baseline = read_json(&out.join("444444444444/mesh-baseline.template.json"));
    let settings = &baseline["Resources"]["DataLakeSettings"]["Properties"];
    assert_eq!(settings["MutationType"], "APPEND");
    assert_eq!(
        settings["Admins"],
        serde_json::json!([{"DataLakePrincipalIdentifier": "arn:aws:iam::444444444444:role/OrganizationAccountAccessRole"}])
    );
    assert_eq!(settings["CreateTableDefaultPermissions"], serde_json::json!([]));
}
