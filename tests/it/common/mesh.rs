//! The access-relevant facts of one synthesis, read from its rendered files.
//!
//! Bucket and key policies come from `mesh-baseline`, the Glue catalog policy
//! from `glue-resource-policy.json`, Glue tables from `mesh-products`, reader
//! roles (inline and managed policies) from every template, permission sets and
//! their assignments from `mesh-identity`. Only the rendered JSON is read, never
//! the synth structs, so a blueprint edit that changes access is judged as
//! deployed. Intrinsics are resolved only as far as these documents use them
//! (`Ref`, `Fn::Sub`, `Fn::GetAtt … Arn`); anything else fails loudly.
#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::iam::{allowed, kms_allowed, Principal, Request};

/// The hex suffix of every Identity Center role tried (AWS picks 16 hex digits).
pub const SSO_SUFFIX: &str = "0123456789abcdef";

/// Everything of a synthesis the evaluator needs.
#[derive(Debug, Default)]
pub struct Mesh {
    pub org_id: String,
    pub region: String,
    /// Account folders of the output.
    pub accounts: BTreeSet<String>,
    /// Bucket name → (account, bucket policy, ARN of its default encryption key).
    pub buckets: BTreeMap<String, (String, Option<Value>, String)>,
    /// Key ARN → (account, key policy).
    pub keys: BTreeMap<String, (String, Value)>,
    /// Account → its Glue Data Catalog resource policy.
    pub glue_policies: BTreeMap<String, Value>,
    /// (account, database, table) of every Glue table.
    pub tables: BTreeSet<(String, String, String)>,
    /// Role ARN → the role as a principal (every IAM role of every template).
    pub roles: BTreeMap<String, Principal>,
    /// Permission set name → (inline policy, accounts it is assigned to).
    pub permission_sets: BTreeMap<String, (Value, BTreeSet<String>)>,
    /// (account, workgroup name) → its results location (`s3://…/`).
    pub workgroups: BTreeMap<(String, String), String>,
}

fn resource_of<'t>(tpl: &'t Value, id: &str) -> &'t Value {
    tpl.get("Resources")
        .and_then(|r| r.get(id))
        .unwrap_or_else(|| panic!("a reference to `{id}`, which the template does not hold"))
}

/// Resolves the intrinsics a policy document or name may hold, in one template of `account`.
fn resolve(v: &Value, tpl: &Value, account: &str, region: &str) -> Value {
    match v {
        Value::Object(map)
            if map.len() == 1 && map.keys().next().is_some_and(|k| k == "Ref" || k.starts_with("Fn::")) =>
        {
            let (k, arg) = map.iter().next().expect("one key");
            match k.as_str() {
                "Ref" => json!(ref_value(
                    arg.as_str().expect("Ref names a string"),
                    tpl,
                    account,
                    region
                )),
                "Fn::Sub" => {
                    let text = arg
                        .as_str()
                        .unwrap_or_else(|| panic!("the evaluator reads Fn::Sub in its string form only: {arg}"));
                    let mut out = String::new();
                    let mut rest = text;
                    while let Some(start) = rest.find("${") {
                        out.push_str(&rest[..start]);
                        let end = rest[start..].find('}').expect("a closed ${…}") + start;
                        out.push_str(&ref_value(&rest[start + 2..end], tpl, account, region));
                        rest = &rest[end + 1..];
                    }
                    out.push_str(rest);
                    json!(out)
                }
                "Fn::GetAtt" => {
                    let parts = strings_of(arg);
                    assert!(
                        parts.len() == 2 && parts[1] == "Arn",
                        "the evaluator reads Fn::GetAtt … Arn only: {arg}"
                    );
                    json!(arn_of(&parts[0], tpl, account, region))
                }
                other => panic!("the evaluator does not resolve {other}"),
            }
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, x)| (k.clone(), resolve(x, tpl, account, region)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| resolve(x, tpl, account, region)).collect()),
        other => other.clone(),
    }
}

fn strings_of(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn ref_value(name: &str, tpl: &Value, account: &str, region: &str) -> String {
    match name {
        "AWS::AccountId" => return account.to_owned(),
        "AWS::Region" => return region.to_owned(),
        "AWS::Partition" => return "aws".to_owned(),
        _ => {}
    }
    let r = resource_of(tpl, name);
    let props = &r["Properties"];
    match r["Type"].as_str().unwrap_or_default() {
        "AWS::S3::Bucket" => props["BucketName"].as_str().expect("a named bucket").to_owned(),
        "AWS::IAM::Role" => props["RoleName"].as_str().expect("a named role").to_owned(),
        "AWS::IAM::ManagedPolicy" => format!("arn:aws:iam::{account}:policy/{name}"),
        "AWS::KMS::Key" => format!("key-{name}"),
        "AWS::Glue::Database" => props["DatabaseInput"]["Name"]
            .as_str()
            .expect("a named database")
            .to_owned(),
        other => panic!("the evaluator does not resolve a Ref to {other}"),
    }
}

fn arn_of(name: &str, tpl: &Value, account: &str, region: &str) -> String {
    let r = resource_of(tpl, name);
    match r["Type"].as_str().unwrap_or_default() {
        "AWS::KMS::Key" => format!("arn:aws:kms:{region}:{account}:key/key-{name}"),
        "AWS::S3::Bucket" => format!("arn:aws:s3:::{}", ref_value(name, tpl, account, region)),
        "AWS::IAM::Role" => {
            let path = r["Properties"]["Path"].as_str().unwrap_or("/");
            format!(
                "arn:aws:iam::{account}:role{path}{}",
                ref_value(name, tpl, account, region)
            )
        }
        other => panic!("the evaluator does not resolve the Arn of {other}"),
    }
}

/// A document that may be JSON text (CloudFormation accepts both) or an object.
fn document(v: Value) -> Value {
    match v {
        Value::String(s) => serde_json::from_str(&s).expect("a policy document in JSON text"),
        other => other,
    }
}

impl Mesh {
    /// Reads rendered files (`<account>/<file>` paths and their bytes).
    pub fn read<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>, org_id: &str, region: &str) -> Mesh {
        let mut m = Mesh {
            org_id: org_id.to_owned(),
            region: region.to_owned(),
            ..Mesh::default()
        };
        // Permission set logical id (in the identity template) → name; assignments by logical id.
        let mut set_ids: BTreeMap<String, String> = BTreeMap::new();
        let mut assigned: Vec<(String, String)> = Vec::new();
        for (path, bytes) in files {
            let Some((account, file)) = path.split_once('/') else {
                continue;
            };
            let account = account.to_owned();
            m.accounts.insert(account.clone());
            let value: Value = serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"));
            if file == "glue-resource-policy.json" {
                m.glue_policies.insert(account, document(value));
                continue;
            }
            if !file.ends_with(".template.json") {
                continue;
            }
            let tpl = value;
            let Some(resources) = tpl["Resources"].as_object() else {
                panic!("{path} has no Resources")
            };
            for (id, r) in resources {
                let props = &r["Properties"];
                let res = |v: &Value| resolve(v, &tpl, &account, region);
                match r["Type"].as_str().unwrap_or_default() {
                    "AWS::S3::Bucket" => {
                        let name = props["BucketName"].as_str().expect("a named bucket").to_owned();
                        let sse = &props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
                            ["ServerSideEncryptionByDefault"];
                        // SSE-S3 (AES256, the access-log bucket): no key to decrypt with; "" marks it.
                        let key = if sse["SSEAlgorithm"] == "AES256" {
                            String::new()
                        } else {
                            res(&sse["KMSMasterKeyID"])
                                .as_str()
                                .unwrap_or_else(|| panic!("bucket {name} has no KMS key"))
                                .to_owned()
                        };
                        let entry = m.buckets.entry(name).or_insert((account.clone(), None, String::new()));
                        entry.2 = key;
                    }
                    "AWS::S3::BucketPolicy" => {
                        let name = res(&props["Bucket"]).as_str().expect("a bucket name").to_owned();
                        let policy = document(res(&props["PolicyDocument"]));
                        let entry = m
                            .buckets
                            .entry(name.clone())
                            .or_insert((account.clone(), None, String::new()));
                        assert!(entry.1.is_none(), "two policies for bucket {name}");
                        entry.1 = Some(policy);
                    }
                    "AWS::KMS::Key" => {
                        let arn = arn_of(id, &tpl, &account, region);
                        m.keys
                            .insert(arn, (account.clone(), document(res(&props["KeyPolicy"]))));
                    }
                    "AWS::Glue::Table" => {
                        let db = res(&props["DatabaseName"]);
                        let db = match db.as_str() {
                            Some(s) => s.to_owned(),
                            None => panic!("table {id} has no database name"),
                        };
                        let catalog = props["CatalogId"].as_str().unwrap_or(&account).to_owned();
                        let name = props["TableInput"]["Name"].as_str().expect("a named table").to_owned();
                        m.tables.insert((catalog, db, name));
                    }
                    "AWS::IAM::Role" => {
                        let arn = arn_of(id, &tpl, &account, region);
                        let mut policies = Vec::new();
                        for p in props["Policies"].as_array().into_iter().flatten() {
                            policies.push(document(res(&p["PolicyDocument"])));
                        }
                        for managed in props["ManagedPolicyArns"].as_array().into_iter().flatten() {
                            let Some(Value::String(r)) = managed.get("Ref") else {
                                panic!("role {id} attaches a managed policy meshsynth does not create: {managed}")
                            };
                            let mp = resource_of(&tpl, r);
                            assert_eq!(mp["Type"], "AWS::IAM::ManagedPolicy", "{r}");
                            policies.push(document(res(&mp["Properties"]["PolicyDocument"])));
                        }
                        let principal = Principal {
                            arn: arn.clone(),
                            account: account.clone(),
                            policies,
                        };
                        assert!(m.roles.insert(arn.clone(), principal).is_none(), "two roles {arn}");
                    }
                    "AWS::SSO::PermissionSet" => {
                        let name = props["Name"].as_str().expect("a named permission set").to_owned();
                        let policy = props.get("InlinePolicy").cloned().map(|p| document(res(&p)));
                        set_ids.insert(format!("{account}/{id}"), name.clone());
                        m.permission_sets
                            .insert(name, (policy.unwrap_or(json!({"Statement": []})), BTreeSet::new()));
                    }
                    "AWS::SSO::Assignment" => {
                        let set = props["PermissionSetArn"]["Fn::GetAtt"][0]
                            .as_str()
                            .unwrap_or_else(|| panic!("assignment {id} names its permission set another way"));
                        let target = props["TargetId"].as_str().expect("a target account");
                        assigned.push((format!("{account}/{set}"), target.to_owned()));
                    }
                    "AWS::Athena::WorkGroup" => {
                        let name = props["Name"].as_str().expect("a named workgroup").to_owned();
                        let out = res(&props["WorkGroupConfiguration"]["ResultConfiguration"]["OutputLocation"]);
                        m.workgroups
                            .insert((account.clone(), name), out.as_str().unwrap_or_default().to_owned());
                    }
                    _ => {}
                }
            }
        }
        for (set, target) in assigned {
            let name = set_ids
                .get(&set)
                .unwrap_or_else(|| panic!("an assignment of unknown permission set {set}"));
            if let Some(entry) = m.permission_sets.get_mut(name) {
                entry.1.insert(target);
            }
        }
        m
    }

    /// The Identity Center role of a permission set in an account, as AWS names it.
    pub fn sso_role_arn(&self, account: &str, set: &str) -> String {
        format!(
            "arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/{}/AWSReservedSSO_{set}_{SSO_SUFFIX}",
            self.region
        )
    }

    /// The Identity Center roles of every permission set, in every account it is assigned to.
    pub fn sso_roles(&self) -> Vec<Principal> {
        let mut out = Vec::new();
        for (set, (policy, targets)) in &self.permission_sets {
            for account in targets {
                out.push(Principal {
                    arn: self.sso_role_arn(account, set),
                    account: account.clone(),
                    policies: vec![policy.clone()],
                });
            }
        }
        out
    }

    /// A principal meshsynth did not create, with broad rights: `s3:*`, `kms:*`, `glue:*` on `*`.
    pub fn admin(&self, account: &str) -> Principal {
        Principal {
            arn: format!("arn:aws:iam::{account}:role/admin"),
            account: account.to_owned(),
            policies: vec![json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": ["s3:*", "kms:*", "glue:*"], "Resource": "*"}]
            })],
        }
    }

    /// Every principal to try: each IAM role, each Identity Center role, an admin per account.
    pub fn principals(&self) -> Vec<Principal> {
        let mut out: Vec<Principal> = self.roles.values().cloned().collect();
        out.extend(self.sso_roles());
        out.extend(self.accounts.iter().map(|a| self.admin(a)));
        out
    }

    /// A principal by ARN (a role, an Identity Center role or an admin), if it exists.
    pub fn principal(&self, arn: &str) -> Option<Principal> {
        self.principals().into_iter().find(|p| p.arn == arn)
    }

    fn context(&self, r: Request) -> Request {
        r.with("aws:SecureTransport", "true")
            .with("aws:PrincipalOrgID", &self.org_id)
            .with("aws:ResourceOrgID", &self.org_id)
    }

    fn bucket(&self, bucket: &str) -> &(String, Option<Value>, String) {
        self.buckets
            .get(bucket)
            .unwrap_or_else(|| panic!("no bucket `{bucket}` in the synthesis"))
    }

    /// `s3:GetObject` on `bucket/key`.
    pub fn can_get_object(&self, p: &Principal, bucket: &str, key: &str) -> bool {
        let (account, policy, _) = self.bucket(bucket);
        let r = self.context(Request::new(
            "s3:GetObject",
            &format!("arn:aws:s3:::{bucket}/{key}"),
            account,
        ));
        allowed(p, &r, policy.as_ref())
    }

    /// `kms:Decrypt`, through S3, with the key that encrypts `bucket`.
    pub fn can_decrypt_via_s3(&self, p: &Principal, bucket: &str) -> bool {
        let (_, _, key_arn) = self.bucket(bucket);
        if key_arn.is_empty() {
            // SSE-S3: S3 decrypts without a caller's KMS permission.
            return true;
        }
        let (account, policy) = self
            .keys
            .get(key_arn)
            .unwrap_or_else(|| panic!("bucket `{bucket}` is encrypted with key `{key_arn}`, which no template holds"));
        let r = self
            .context(Request::new("kms:Decrypt", key_arn, account))
            .with("kms:ViaService", &format!("s3.{}.amazonaws.com", self.region));
        kms_allowed(p, &r, policy)
    }

    /// Reads an object: `s3:GetObject` and decryption of its (SSE-KMS) data key.
    pub fn can_read_object(&self, p: &Principal, bucket: &str, key: &str) -> bool {
        self.can_get_object(p, bucket, key) && self.can_decrypt_via_s3(p, bucket)
    }

    /// `s3:ListBucket` with `s3:prefix`.
    pub fn can_list(&self, p: &Principal, bucket: &str, prefix: &str) -> bool {
        let (account, policy, _) = self.bucket(bucket);
        let r = self
            .context(Request::new(
                "s3:ListBucket",
                &format!("arn:aws:s3:::{bucket}"),
                account,
            ))
            .with("s3:prefix", prefix);
        allowed(p, &r, policy.as_ref())
    }

    /// `glue:GetTable` of an existing table: on the catalog, the database and the table
    /// (Glue checks all three), against the catalog's resource policy.
    pub fn can_get_table(&self, p: &Principal, account: &str, db: &str, table: &str) -> bool {
        if !self
            .tables
            .contains(&(account.to_owned(), db.to_owned(), table.to_owned()))
        {
            return false;
        }
        let glue = format!("arn:aws:glue:{}:{account}", self.region);
        let policy = self.glue_policies.get(account);
        [
            format!("{glue}:catalog"),
            format!("{glue}:database/{db}"),
            format!("{glue}:table/{db}/{table}"),
        ]
        .iter()
        .all(|arn| allowed(p, &self.context(Request::new("glue:GetTable", arn, account)), policy))
    }

    /// `athena:StartQueryExecution` in a workgroup (workgroups take no resource policy).
    pub fn can_start_query(&self, p: &Principal, account: &str, workgroup: &str) -> bool {
        let arn = format!("arn:aws:athena:{}:{account}:workgroup/{workgroup}", self.region);
        allowed(
            p,
            &self.context(Request::new("athena:StartQueryExecution", &arn, account)),
            None,
        )
    }
}
