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
    /// (account, database, table) → its columns, partition keys included (what a Lake
    /// Formation column wildcard covers).
    pub columns: BTreeMap<(String, String, String), Vec<String>>,
    /// The Lake Formation permissions, links and settings of every template.
    pub lf: Lf,
}

/// Lake Formation as synthesised: data lake administrators, registered data locations,
/// resource links and grants (`AWS::LakeFormation::PrincipalPermissions` and
/// `AWS::LakeFormation::Permissions`). A grant in an account's template is made by that
/// account's data lake administrator (the deploy role), on resources of its own catalog or
/// on resources shared with its account.
#[derive(Debug, Default)]
pub struct Lf {
    /// Account → its data lake administrators (`AWS::LakeFormation::DataLakeSettings`).
    pub admins: BTreeMap<String, BTreeSet<String>>,
    /// Account → `CROSS_ACCOUNT_VERSION` of its data lake settings.
    pub cross_account_version: BTreeMap<String, String>,
    /// Accounts whose data lake settings give new databases or tables default permissions
    /// (`IAMAllowedPrincipals` unless emptied): IAM alone would then decide who reads them.
    pub iam_defaults: BTreeSet<String>,
    /// Account → S3 ARNs registered as data locations (`AWS::LakeFormation::Resource`).
    pub locations: BTreeMap<String, BTreeSet<String>>,
    /// (account, link name) → (target catalog, target database): resource links.
    pub links: BTreeMap<(String, String), (String, String)>,
    pub grants: Vec<LfGrant>,
}

/// One Lake Formation grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LfGrant {
    /// The account whose administrator grants (the template's account, `Catalog`).
    pub grantor: String,
    /// A role ARN, an account id, or an organisation / OU ARN.
    pub principal: String,
    pub resource: LfResource,
    pub permissions: BTreeSet<String>,
    pub grantable: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LfResource {
    Database {
        catalog: String,
        name: String,
    },
    /// `table: None` is the table wildcard.
    Table {
        catalog: String,
        database: String,
        table: Option<String>,
        columns: LfColumns,
    },
    DataLocation {
        catalog: String,
        arn: String,
    },
    /// The whole catalog (`Catalog: {}`).
    Catalog {
        catalog: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LfColumns {
    /// Every column (`Table`, or a column wildcard excluding nothing).
    All,
    /// A column wildcard with `ExcludedColumnNames`.
    Except(BTreeSet<String>),
    /// `ColumnNames`.
    Only(BTreeSet<String>),
}

impl LfResource {
    /// The columns granted of table `catalog`/`database`/`table`, if this resource covers it.
    pub fn columns_of(&self, catalog: &str, database: &str, table: &str) -> Option<&LfColumns> {
        match self {
            LfResource::Table {
                catalog: c,
                database: d,
                table: t,
                columns,
            } if c == catalog && d == database && t.as_deref().is_none_or(|t| t == table) => Some(columns),
            _ => None,
        }
    }
}

impl LfColumns {
    pub fn covers(&self, column: &str) -> bool {
        match self {
            LfColumns::All => true,
            LfColumns::Except(out) => !out.contains(column),
            LfColumns::Only(named) => named.contains(column),
        }
    }
}

/// How a principal reads a column through Lake Formation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LfPath {
    /// The account the query runs in (the principal's).
    pub account: String,
    /// The resource link queried (`None`: the producer's own database, same account).
    pub link: Option<String>,
    /// Who gave the principal's account its grant: an account id or an organisation ARN.
    pub shared_to: Option<String>,
}

fn lf_principal(v: &Value) -> String {
    v["DataLakePrincipalIdentifier"]
        .as_str()
        .unwrap_or_else(|| panic!("a Lake Formation principal the evaluator does not read: {v}"))
        .to_owned()
}

fn lf_permissions(v: &Value) -> BTreeSet<String> {
    strings_of(v).into_iter().collect()
}

/// A `TableWithColumns`' columns: `ColumnWildcard` (with `ExcludedColumnNames`) or `ColumnNames`.
fn lf_columns(twc: &Value) -> LfColumns {
    match (twc.get("ColumnWildcard"), twc.get("ColumnNames")) {
        (Some(w), None) => {
            let out: BTreeSet<String> = strings_of(&w["ExcludedColumnNames"]).into_iter().collect();
            if out.is_empty() {
                LfColumns::All
            } else {
                LfColumns::Except(out)
            }
        }
        (None, Some(names)) => LfColumns::Only(strings_of(names).into_iter().collect()),
        _ => panic!("a TableWithColumns needs exactly one of ColumnWildcard and ColumnNames: {twc}"),
    }
}

/// The resource of a grant, in the `PrincipalPermissions` spelling (`Database`, `Table`,
/// `TableWithColumns`, `DataLocation`, `Catalog`) or the `Permissions` one (`…Resource`).
fn lf_resource(r: &Value, default_catalog: &str) -> LfResource {
    let catalog = |v: &Value| v["CatalogId"].as_str().unwrap_or(default_catalog).to_owned();
    let name = |v: &Value, key: &str| {
        v[key]
            .as_str()
            .unwrap_or_else(|| panic!("a Lake Formation resource without `{key}`: {v}"))
            .to_owned()
    };
    let keys: Vec<&String> = r.as_object().map(|o| o.keys().collect()).unwrap_or_default();
    assert_eq!(keys.len(), 1, "a Lake Formation grant names one resource: {r}");
    let (key, v) = r.as_object().and_then(|o| o.iter().next()).expect("one resource");
    match key.as_str() {
        "Database" | "DatabaseResource" => LfResource::Database {
            catalog: catalog(v),
            name: name(v, "Name"),
        },
        "Table" | "TableResource" => LfResource::Table {
            catalog: catalog(v),
            database: name(v, "DatabaseName"),
            table: match (v.get("Name"), v.get("TableWildcard")) {
                (Some(n), None) => Some(n.as_str().expect("a table name").to_owned()),
                (None, Some(_)) => None,
                _ => panic!("a Table needs exactly one of Name and TableWildcard: {v}"),
            },
            columns: LfColumns::All,
        },
        "TableWithColumns" | "TableWithColumnsResource" => LfResource::Table {
            catalog: catalog(v),
            database: name(v, "DatabaseName"),
            table: Some(name(v, "Name")),
            columns: lf_columns(v),
        },
        "DataLocation" | "DataLocationResource" => LfResource::DataLocation {
            catalog: catalog(v),
            arn: v
                .get("ResourceArn")
                .or_else(|| v.get("S3Resource"))
                .and_then(Value::as_str)
                .expect("a data location ARN")
                .to_owned(),
        },
        "Catalog" => LfResource::Catalog {
            catalog: default_catalog.to_owned(),
        },
        other => panic!("the evaluator does not read Lake Formation resource `{other}` (LF-tag grants included)"),
    }
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
                        let columns = ["StorageDescriptor", "PartitionKeys"]
                            .iter()
                            .flat_map(|k| {
                                let list = if *k == "PartitionKeys" {
                                    &props["TableInput"]["PartitionKeys"]
                                } else {
                                    &props["TableInput"]["StorageDescriptor"]["Columns"]
                                };
                                list.as_array().into_iter().flatten()
                            })
                            .map(|c| c["Name"].as_str().expect("a named column").to_owned())
                            .collect();
                        m.columns.insert((catalog.clone(), db.clone(), name.clone()), columns);
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
                    "AWS::Glue::Database" => {
                        let input = &props["DatabaseInput"];
                        if let Some(target) = input.get("TargetDatabase") {
                            let name = input["Name"].as_str().expect("a named resource link").to_owned();
                            let catalog = props["CatalogId"].as_str().unwrap_or(&account).to_owned();
                            let to = (
                                target["CatalogId"].as_str().expect("a target catalog").to_owned(),
                                target["DatabaseName"].as_str().expect("a target database").to_owned(),
                            );
                            assert!(m.lf.links.insert((catalog, name), to).is_none(), "two links {id}");
                        }
                    }
                    "AWS::LakeFormation::DataLakeSettings" => {
                        let admins = props["Admins"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|a| lf_principal(&res(a)));
                        m.lf.admins.entry(account.clone()).or_default().extend(admins);
                        // Absent leaves the account's setting as it is, AWS's initial one granting
                        // `IAMAllowedPrincipals`: counted as defaults.
                        let defaults = ["CreateDatabaseDefaultPermissions", "CreateTableDefaultPermissions"];
                        if defaults
                            .iter()
                            .any(|k| props.get(*k).is_none_or(|v| v.as_array().is_none_or(|a| !a.is_empty())))
                        {
                            m.lf.iam_defaults.insert(account.clone());
                        }
                        if let Some(v) = props["Parameters"]["CROSS_ACCOUNT_VERSION"].as_str() {
                            m.lf.cross_account_version.insert(account.clone(), v.to_owned());
                        }
                    }
                    "AWS::LakeFormation::Resource" => {
                        let arn = props["ResourceArn"].as_str().expect("a registered S3 ARN").to_owned();
                        m.lf.locations.entry(account.clone()).or_default().insert(arn);
                    }
                    "AWS::LakeFormation::PrincipalPermissions" => {
                        let grantor = props["Catalog"].as_str().unwrap_or(&account).to_owned();
                        assert_eq!(grantor, account, "grant {id} is made in another account's catalog");
                        m.lf.grants.push(LfGrant {
                            grantor,
                            principal: lf_principal(&res(&props["Principal"])),
                            resource: lf_resource(&res(&props["Resource"]), &account),
                            permissions: lf_permissions(&props["Permissions"]),
                            grantable: lf_permissions(&props["PermissionsWithGrantOption"]),
                        });
                    }
                    "AWS::LakeFormation::Permissions" => {
                        let p = &props["Permissions"];
                        m.lf.grants.push(LfGrant {
                            grantor: account.clone(),
                            principal: lf_principal(&res(&props["DataLakePrincipal"])),
                            resource: lf_resource(&res(&props["Resource"]), &account),
                            permissions: lf_permissions(p),
                            grantable: lf_permissions(&props["PermissionsWithGrantOption"]),
                        });
                    }
                    // LF-tags, tag associations, data cells filters: not synthesised, so not modelled;
                    // a blueprint that adds them must teach the evaluator first.
                    t if t.starts_with("AWS::LakeFormation::") => {
                        panic!("the evaluator does not model {t} ({id} in {path})")
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

    /// Whether a Lake Formation grant's principal is `account`: its id, or the organisation.
    fn lf_names_account(&self, principal: &str, account: &str) -> bool {
        principal == account
            || (principal.starts_with("arn:aws:organizations::")
                && principal.ends_with(&format!(":organization/{}", self.org_id)))
    }

    /// Grants made in `grantor` to `principal` that give `perm` (with grant option if
    /// `grantable`) on `column` of table `catalog`/`database`/`table`.
    fn lf_table_grants<'a>(
        &'a self,
        grantor: &'a str,
        to: impl Fn(&str) -> bool + 'a,
        perm: &'a str,
        grantable: bool,
        (catalog, database, table, column): (&'a str, &'a str, &'a str, &'a str),
    ) -> impl Iterator<Item = &'a LfGrant> + 'a {
        self.lf.grants.iter().filter(move |g| {
            let held = if grantable { &g.grantable } else { &g.permissions };
            g.grantor == grantor
                && to(&g.principal)
                && (held.contains(perm) || held.contains("ALL"))
                && g.resource
                    .columns_of(catalog, database, table)
                    .is_some_and(|c| c.covers(column))
        })
    }

    /// Whether `account`'s data lake settings make the deploy role an administrator, so
    /// the grants of its templates can be made at all.
    pub fn lf_admin_grants(&self, account: &str, deploy_role: &str) -> bool {
        self.lf
            .admins
            .get(account)
            .is_some_and(|a| a.contains(&format!("arn:aws:iam::{account}:role/{deploy_role}")))
    }

    /// How principal `p` reads `column` of the producer's table `catalog`/`database`/`table`
    /// whose data lies in `bucket`, through Lake Formation, if it does:
    /// - the table exists and its bucket is a registered data location of `catalog`;
    /// - `p`'s identity policy allows `lakeformation:GetDataAccess` and `glue:GetTable` on
    ///   what it queries (the link and its target);
    /// - in the producer's account: a grant of `SELECT` on the column to `p`;
    /// - elsewhere: a resource link in `p`'s own account to the database, `DESCRIBE` on it
    ///   and `SELECT` on the column granted to `p` there by the account's administrator,
    ///   who holds `SELECT` on the column with grant option, granted by the producer to its
    ///   account or to the organisation.
    ///
    /// Grants are only valid where the deploy role is a data lake administrator.
    pub fn lf_select(
        &self,
        p: &Principal,
        deploy_role: &str,
        bucket: &str,
        (catalog, database, table, column): (&str, &str, &str, &str),
    ) -> Option<LfPath> {
        let a = p.account.as_str();
        let key = (catalog.to_owned(), database.to_owned(), table.to_owned());
        if !self.tables.contains(&key) || !self.columns.get(&key).is_some_and(|c| c.iter().any(|x| x == column)) {
            return None;
        }
        let registered = self.lf.locations.get(catalog).is_some_and(|l| {
            l.iter()
                .any(|arn| format!("arn:aws:s3:::{bucket}/").starts_with(&format!("{}/", arn.trim_end_matches('/'))))
        });
        if !registered || !self.lf_admin_grants(catalog, deploy_role) || !self.lf_admin_grants(a, deploy_role) {
            return None;
        }
        let own = |account: &str, arn: String| {
            // Identity policy only: Lake Formation, not a catalog policy, authorises the rest.
            allowed(p, &self.context(Request::new("glue:GetTable", &arn, a)), None) && account == a
        };
        let glue = |account: &str| format!("arn:aws:glue:{}:{account}", self.region);
        let data_access = allowed(
            p,
            &self.context(Request::new("lakeformation:GetDataAccess", "*", a)),
            None,
        );
        let col = (catalog, database, table, column);
        let me = p.arn.clone();
        if a == catalog {
            let iam = data_access && own(a, format!("{}:table/{database}/{table}", glue(a)));
            let granted = self
                .lf_table_grants(catalog, move |x| x == me, "SELECT", false, col)
                .next()
                .is_some();
            return (iam && granted).then(|| LfPath {
                account: a.to_owned(),
                link: None,
                shared_to: None,
            });
        }
        for ((la, link), (tc, td)) in &self.lf.links {
            if la != a || tc != catalog || td != database {
                continue;
            }
            let iam = data_access
                && own(a, format!("{}:catalog", glue(a)))
                && own(a, format!("{}:database/{link}", glue(a)))
                && own(a, format!("{}:table/{link}/{table}", glue(a)))
                // The target, judged as if in-account: the share stands in for a catalog policy.
                && allowed(
                    p,
                    &self.context(Request::new("glue:GetTable", &format!("{}:table/{database}/{table}", glue(catalog)), a)),
                    None,
                );
            if !iam {
                continue;
            }
            let describes_link = self.lf.grants.iter().any(|g| {
                g.grantor == a
                    && g.principal == p.arn
                    && (g.permissions.contains("DESCRIBE") || g.permissions.contains("ALL"))
                    && g.resource
                        == LfResource::Database {
                            catalog: a.to_owned(),
                            name: link.clone(),
                        }
            });
            let me = p.arn.clone();
            let selects = self
                .lf_table_grants(a, move |x| x == me, "SELECT", false, col)
                .next()
                .is_some()
                || {
                    let me = p.arn.clone();
                    self.lf_table_grants(a, move |x| x == me, "SELECT", false, (a, link, table, column))
                        .next()
                        .is_some()
                };
            let shared = self
                .lf_table_grants(catalog, |x| self.lf_names_account(x, a), "SELECT", true, col)
                .map(|g| g.principal.clone())
                .next();
            if describes_link && selects {
                if let Some(shared_to) = shared {
                    return Some(LfPath {
                        account: a.to_owned(),
                        link: Some(link.clone()),
                        shared_to: Some(shared_to),
                    });
                }
            }
        }
        None
    }
}
