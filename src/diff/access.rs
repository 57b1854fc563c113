//! Who may read (or write) which product version, as the policies of a
//! synthesis grant it, so that `diff` can say what changes in plain words:
//! "account 333333333333 gains read on finance.payouts v2".
//!
//! Grants are read from S3 bucket policies, the Glue catalog resource policy
//! written beside the templates, Lake Formation permissions, IAM role and
//! managed policies, and Identity Center permission sets. A grant's target is
//! a product version, found from its S3 prefix (`<domain>/<product>/v<n>/`) or
//! its Glue database (`<domain>_<product>_v<n>`); both map to the same key
//! (the database name), so a grant through S3 and one through Glue are the
//! same access. Principals are accounts (`arn:aws:iam::<id>:root`), roles,
//! the organisation (`*` with an `aws:PrincipalOrgID` condition, or a Lake
//! Formation organisation principal), permission sets, or anyone (`*` with no
//! condition: public).
//!
//! This is a reading aid, not a policy evaluator: `Deny` statements and
//! `Not*` elements are ignored, and actions count as write when their verb
//! changes data (`Put*`, `Delete*`, `Create*`, `Update*`, `*`), read otherwise.
//! Pure: no IO.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::model::is_name;

/// Who is granted access.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Grantee {
    /// Every principal of the organisation.
    Org,
    /// Anyone at all: a public grant.
    Anyone,
    Account(String),
    Role {
        account: String,
        name: String,
    },
    PermissionSet(String),
    /// A principal we do not recognise, as written.
    Principal(String),
}

impl fmt::Display for Grantee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grantee::Org => f.write_str("the organisation"),
            Grantee::Anyone => f.write_str("anyone"),
            Grantee::Account(a) => write!(f, "account {a}"),
            Grantee::Role { account, name } => write!(f, "role `{name}` in account {account}"),
            Grantee::PermissionSet(p) => write!(f, "permission set `{p}`"),
            Grantee::Principal(p) => write!(f, "principal `{p}`"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    Read,
    Write,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Read => "read",
            Level::Write => "write",
        }
    }
}

/// Where a grant is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Via {
    BucketPolicy,
    GlueResourcePolicy,
    LakeFormation,
    IamPolicy,
    PermissionSet,
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Via::BucketPolicy => "S3 bucket policy",
            Via::GlueResourcePolicy => "Glue resource policy",
            Via::LakeFormation => "Lake Formation",
            Via::IamPolicy => "IAM policy",
            Via::PermissionSet => "permission set",
        })
    }
}

/// One grant: `grantee` may `level` the product version keyed `target`
/// (its Glue database name), written in `via` of account `account`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Grant {
    pub(crate) target: String,
    pub(crate) grantee: Grantee,
    pub(crate) level: Level,
    pub(crate) via: Via,
    pub(crate) account: String,
}

/// A change of access, in words and in parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessChange {
    /// `gains`, `loses` or `changes` (same access, granted differently).
    pub change: &'static str,
    /// Who: ``account 333333333333``, ``the organisation``, ``role `x` in account …``.
    pub grantee: String,
    /// What: ``finance.payouts v2``, or ``Glue database `x` `` when no product is known.
    pub target: String,
    /// `read` or `write`.
    pub level: &'static str,
    /// The sentence a reviewer reads.
    pub text: String,
    /// Where it was granted before (`S3 bucket policy of 333333333333`), sorted.
    pub was: Vec<String>,
    /// Where it is granted after, sorted.
    pub now: Vec<String>,
}

/// What the product versions are called, learnt from S3 paths seen anywhere
/// (the database name alone does not tell the domain from the product).
#[derive(Debug, Default)]
pub(crate) struct Names {
    display: BTreeMap<String, String>,
}

impl Names {
    fn learn(&mut self, domain: &str, product: &str, version: u32) -> String {
        let key = db_key(domain, product, version);
        self.display
            .entry(key.clone())
            .or_insert_with(|| format!("{domain}.{product} v{version}"));
        key
    }

    /// How a target reads in a sentence.
    pub(crate) fn show(&self, key: &str) -> String {
        self.display
            .get(key)
            .cloned()
            .unwrap_or_else(|| format!("Glue database `{key}`"))
    }
}

/// The Glue database name of a product version (`spec/topology.md`).
fn db_key(domain: &str, product: &str, version: u32) -> String {
    format!("{}_{}_v{version}", domain.replace('-', "_"), product.replace('-', "_"))
}

/// The product version of an S3 path or ARN: the first `<domain>/<product>/v<n>` in it.
fn product_of_path(s: &str) -> Option<(&str, &str, u32)> {
    let segs: Vec<&str> = s.split('/').collect();
    (2..segs.len()).find_map(|i| {
        let version = segs[i].strip_prefix('v')?;
        if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let version: u32 = version.parse().ok()?;
        (is_name(segs[i - 2]) && is_name(segs[i - 1])).then_some((segs[i - 2], segs[i - 1], version))
    })
}

/// The Glue database a Glue ARN names (`…:database/x`, `…:table/x/*`).
fn database_of_glue_arn(s: &str) -> Option<&str> {
    let rest = s.strip_prefix("arn:")?;
    let (_, resource) = rest.split_once(":glue:")?;
    // region:account:database/x
    let resource = resource.splitn(3, ':').nth(2)?;
    let (kind, path) = resource.split_once('/')?;
    matches!(kind, "database" | "table").then(|| path.split('/').next().unwrap_or(path))
}

/// Reads grants out of documents of one account, learning product names as it goes.
pub(crate) struct Extractor<'a> {
    pub(crate) names: &'a mut Names,
    pub(crate) out: &'a mut BTreeSet<Grant>,
}

impl Extractor<'_> {
    /// Every grant of a CloudFormation template deployed in `account`.
    pub(crate) fn template(&mut self, account: &str, template: &Value) {
        let Some(resources) = template.get("Resources").and_then(Value::as_object) else {
            return;
        };
        let cx = Cx { account, resources };
        // Names first, so that grants on databases read as products whatever the resource order.
        for r in resources.values() {
            if r.get("Type").and_then(Value::as_str) == Some("AWS::Glue::Table") {
                let props = r.get("Properties");
                let location = props
                    .and_then(|p| p.pointer("/TableInput/StorageDescriptor/Location"))
                    .and_then(|l| cx.flatten(l));
                if let Some((d, p, v)) = location.as_deref().and_then(product_of_path) {
                    self.names.learn(d, p, v);
                }
            }
        }
        for (id, r) in resources {
            let props = r.get("Properties").unwrap_or(&Value::Null);
            match r.get("Type").and_then(Value::as_str).unwrap_or("") {
                "AWS::S3::BucketPolicy" => {
                    if let Some(doc) = props.get("PolicyDocument") {
                        self.resource_policy(&cx, doc, Via::BucketPolicy);
                    }
                }
                "AWS::IAM::Role" => {
                    let name = props
                        .get("RoleName")
                        .and_then(|n| cx.flatten(n))
                        .unwrap_or_else(|| id.clone());
                    let grantee = Grantee::Role {
                        account: account.to_owned(),
                        name,
                    };
                    for p in props.get("Policies").and_then(Value::as_array).into_iter().flatten() {
                        if let Some(doc) = p.get("PolicyDocument") {
                            self.identity_policy(&cx, doc, &grantee, Via::IamPolicy);
                        }
                    }
                }
                "AWS::IAM::ManagedPolicy" | "AWS::IAM::Policy" => {
                    let Some(doc) = props.get("PolicyDocument") else {
                        continue;
                    };
                    let roles: Vec<Grantee> = props
                        .get("Roles")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|r| cx.flatten(r))
                        .map(|name| Grantee::Role {
                            account: account.to_owned(),
                            name,
                        })
                        .collect();
                    let grantees = if roles.is_empty() {
                        let name = props
                            .get("ManagedPolicyName")
                            .or_else(|| props.get("PolicyName"))
                            .and_then(|n| cx.flatten(n))
                            .unwrap_or_else(|| id.clone());
                        vec![Grantee::Principal(format!("policy {name} in account {account}"))]
                    } else {
                        roles
                    };
                    for g in &grantees {
                        self.identity_policy(&cx, doc, g, Via::IamPolicy);
                    }
                }
                "AWS::SSO::PermissionSet" => {
                    let name = props
                        .get("Name")
                        .and_then(|n| cx.flatten(n))
                        .unwrap_or_else(|| id.clone());
                    let grantee = Grantee::PermissionSet(name);
                    match props.get("InlinePolicy") {
                        Some(Value::String(s)) => {
                            if let Ok(doc) = serde_json::from_str::<Value>(s) {
                                self.identity_policy(&cx, &doc, &grantee, Via::PermissionSet);
                            }
                        }
                        Some(doc) => self.identity_policy(&cx, doc, &grantee, Via::PermissionSet),
                        None => {}
                    }
                }
                "AWS::LakeFormation::PrincipalPermissions" | "AWS::LakeFormation::Permissions" => {
                    self.lake_formation(&cx, props);
                }
                _ => {}
            }
        }
    }

    /// Every grant of a Glue catalog resource policy of `account` (a policy
    /// document, or `{"PolicyInJson": "…"}` as the Glue API returns it).
    pub(crate) fn glue_policy(&mut self, account: &str, policy: &Value) {
        let parsed;
        let doc = match policy.get("PolicyInJson") {
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(v) => {
                    parsed = v;
                    &parsed
                }
                Err(_) => return,
            },
            _ => policy,
        };
        let empty = serde_json::Map::new();
        let cx = Cx {
            account,
            resources: &empty,
        };
        self.resource_policy(&cx, doc, Via::GlueResourcePolicy);
    }

    fn resource_policy(&mut self, cx: &Cx<'_>, doc: &Value, via: Via) {
        for st in statements(doc) {
            if !allows(st) {
                continue;
            }
            let mut grantees = st.get("Principal").map(|p| cx.principals(p)).unwrap_or_default();
            let condition = st.get("Condition");
            if grantees.remove(&Grantee::Anyone) {
                if let Some(accounts) = condition_values(condition, "aws:principalaccount") {
                    grantees.extend(accounts.into_iter().map(Grantee::Account));
                } else if condition_values(condition, "aws:principalorgid").is_some()
                    || condition_values(condition, "aws:principalorgpaths").is_some()
                {
                    grantees.insert(Grantee::Org);
                } else {
                    grantees.insert(Grantee::Anyone);
                }
            }
            // An account root narrowed by `aws:PrincipalArn` grants exactly those principals.
            if let Some(arns) = condition_values(condition, "aws:principalarn") {
                grantees.retain(|g| !matches!(g, Grantee::Account(_)));
                grantees.extend(arns.iter().map(|a| classify_principal(a)));
            }
            let targets = self.targets(cx, st);
            let level = level(st.get("Action"));
            for t in &targets {
                for g in &grantees {
                    self.out.insert(Grant {
                        target: t.clone(),
                        grantee: g.clone(),
                        level,
                        via,
                        account: cx.account.to_owned(),
                    });
                }
            }
        }
    }

    fn identity_policy(&mut self, cx: &Cx<'_>, doc: &Value, grantee: &Grantee, via: Via) {
        for st in statements(doc) {
            if !allows(st) {
                continue;
            }
            let level = level(st.get("Action"));
            for t in self.targets(cx, st) {
                self.out.insert(Grant {
                    target: t,
                    grantee: grantee.clone(),
                    level,
                    via,
                    account: cx.account.to_owned(),
                });
            }
        }
    }

    fn lake_formation(&mut self, cx: &Cx<'_>, props: &Value) {
        let principal = props
            .pointer("/Principal/DataLakePrincipalIdentifier")
            .and_then(|p| cx.flatten(p));
        let Some(principal) = principal else { return };
        let grantee = classify_principal(&principal);
        let resource = props.get("Resource").unwrap_or(&Value::Null);
        let db = [
            "/Database/Name",
            "/Table/DatabaseName",
            "/TableWithColumns/DatabaseName",
        ]
        .iter()
        .find_map(|p| resource.pointer(p))
        .and_then(|d| cx.flatten(d));
        let target = match db {
            Some(db) => db,
            None => match resource
                .pointer("/DataLocation/ResourceArn")
                .and_then(|l| cx.flatten(l))
                .as_deref()
                .and_then(product_of_path)
            {
                Some((d, p, v)) => self.names.learn(d, p, v),
                None => return,
            },
        };
        let write = props
            .get("Permissions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(|p| {
                matches!(
                    p,
                    "ALL" | "ALTER" | "DROP" | "DELETE" | "INSERT" | "CREATE_TABLE" | "DATA_LOCATION_ACCESS"
                )
            });
        self.out.insert(Grant {
            target,
            grantee,
            level: if write { Level::Write } else { Level::Read },
            via: Via::LakeFormation,
            account: cx.account.to_owned(),
        });
    }

    /// The product versions a statement is about, from its resources and any `s3:prefix` condition.
    fn targets(&mut self, cx: &Cx<'_>, st: &Value) -> BTreeSet<String> {
        let mut paths: Vec<String> = one_or_many(st.get("Resource")).filter_map(|r| cx.flatten(r)).collect();
        if let Some(prefixes) = condition_values(st.get("Condition"), "s3:prefix") {
            paths.extend(prefixes);
        }
        let mut out = BTreeSet::new();
        for p in &paths {
            if let Some(db) = database_of_glue_arn(p) {
                if db != "*" {
                    out.insert(db.to_owned());
                }
            } else if let Some((d, prod, v)) = product_of_path(p) {
                out.insert(self.names.learn(d, prod, v));
            }
        }
        out
    }
}

/// What a template's intrinsic functions need: the account and the resources.
struct Cx<'a> {
    account: &'a str,
    resources: &'a serde_json::Map<String, Value>,
}

impl Cx<'_> {
    /// A value as the string it becomes at deploy time, as far as the
    /// template alone tells: `AWS::AccountId` and the physical names of
    /// resources (bucket, database, role) are filled in; anything else stays
    /// as `${Name}`. `None` for values that are not strings at all.
    fn flatten(&self, v: &Value) -> Option<String> {
        self.flatten_at(v, 0)
    }

    fn flatten_at(&self, v: &Value, depth: u8) -> Option<String> {
        if depth > 8 {
            return None;
        }
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Object(m) if m.len() == 1 => {
                let (k, arg) = m.iter().next()?;
                match (k.as_str(), arg) {
                    ("Ref", Value::String(name)) => Some(self.resolve(name, depth)),
                    ("Fn::GetAtt", Value::Array(parts)) => {
                        let names: Vec<&str> = parts.iter().filter_map(Value::as_str).collect();
                        Some(format!("${{{}}}", names.join(".")))
                    }
                    ("Fn::Sub", Value::String(s)) => Some(self.substitute(s, &serde_json::Map::new(), depth)),
                    ("Fn::Sub", Value::Array(parts)) => {
                        let s = parts.first()?.as_str()?;
                        let empty = serde_json::Map::new();
                        let vars = parts.get(1).and_then(Value::as_object).unwrap_or(&empty);
                        Some(self.substitute(s, vars, depth))
                    }
                    ("Fn::Join", Value::Array(parts)) => {
                        let delim = parts.first()?.as_str()?;
                        let items = parts.get(1)?.as_array()?;
                        let flat: Option<Vec<String>> = items.iter().map(|i| self.flatten_at(i, depth + 1)).collect();
                        Some(flat?.join(delim))
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn resolve(&self, name: &str, depth: u8) -> String {
        if name == "AWS::AccountId" {
            return self.account.to_owned();
        }
        self.physical_name(name, depth)
            .unwrap_or_else(|| format!("${{{name}}}"))
    }

    fn physical_name(&self, logical_id: &str, depth: u8) -> Option<String> {
        let r = self.resources.get(logical_id)?;
        let props = r.get("Properties")?;
        let name = match r.get("Type").and_then(Value::as_str)? {
            "AWS::S3::Bucket" => props.get("BucketName"),
            "AWS::Glue::Database" => props.pointer("/DatabaseInput/Name"),
            "AWS::IAM::Role" => props.get("RoleName"),
            "AWS::IAM::ManagedPolicy" => props.get("ManagedPolicyName"),
            "AWS::SSO::PermissionSet" => props.get("Name"),
            _ => None,
        }?;
        self.flatten_at(name, depth + 1)
    }

    fn substitute(&self, s: &str, vars: &serde_json::Map<String, Value>, depth: u8) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return out;
            };
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = vars.get(name).and_then(|v| self.flatten_at(v, depth + 1)) {
                out.push_str(&v);
            } else if name.contains('.') {
                out.push_str(&format!("${{{name}}}"));
            } else {
                out.push_str(&self.resolve(name, depth));
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn principals(&self, p: &Value) -> BTreeSet<Grantee> {
        let mut out = BTreeSet::new();
        match p {
            Value::String(s) if s == "*" => {
                out.insert(Grantee::Anyone);
            }
            Value::Object(m) => {
                for v in one_or_many(m.get("AWS")) {
                    if let Some(s) = self.flatten(v) {
                        out.insert(classify_principal(&s));
                    }
                }
            }
            _ => {}
        }
        out
    }
}

/// A policy document of a template as AWS stores it once deployed in
/// `account`: every intrinsic function the template alone can resolve
/// (`Ref` and `Fn::Sub` of `AWS::AccountId` and of named resources,
/// `Fn::Join`) becomes its string; what it cannot (`Fn::GetAtt`, other
/// pseudo parameters) becomes a `${...}` placeholder for the caller to fill
/// in or to refuse. `drift` compares the result with the live document.
pub(crate) fn resolve_document(account: &str, template: &Value, doc: &Value) -> Value {
    let empty = serde_json::Map::new();
    let resources = template.get("Resources").and_then(Value::as_object).unwrap_or(&empty);
    let cx = Cx { account, resources };
    fn walk(cx: &Cx<'_>, v: &Value) -> Value {
        match v {
            Value::Object(m) if m.len() == 1 && m.keys().all(|k| k == "Ref" || k.starts_with("Fn::")) => {
                cx.flatten(v).map_or_else(|| v.clone(), Value::String)
            }
            Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), walk(cx, v))).collect()),
            Value::Array(a) => Value::Array(a.iter().map(|v| walk(cx, v)).collect()),
            other => other.clone(),
        }
    }
    walk(&cx, doc)
}

/// What names a resource in AWS, to recognise the same physical resource in
/// another stack of the account: the bucket name, the database name, the
/// database and table name; the logical id for types without a name (a KMS key).
pub(crate) fn physical_identity(account: &str, template: &Value, logical_id: &str) -> String {
    let empty = serde_json::Map::new();
    let resources = template.get("Resources").and_then(Value::as_object).unwrap_or(&empty);
    let cx = Cx { account, resources };
    let Some(r) = resources.get(logical_id) else {
        return format!("logical:{logical_id}");
    };
    let ty = r.get("Type").and_then(Value::as_str).unwrap_or("");
    let props = r.get("Properties").unwrap_or(&Value::Null);
    let name = match ty {
        "AWS::S3::Bucket" => props.get("BucketName").and_then(|n| cx.flatten(n)),
        "AWS::Glue::Database" => props.pointer("/DatabaseInput/Name").and_then(|n| cx.flatten(n)),
        "AWS::Glue::Table" => {
            let db = props.get("DatabaseName").and_then(|n| cx.flatten(n));
            let table = props.pointer("/TableInput/Name").and_then(|n| cx.flatten(n));
            db.zip(table).map(|(d, t)| format!("{d}/{t}"))
        }
        _ => None,
    };
    match name {
        Some(n) => format!("{ty}:{n}"),
        None => format!("{ty}:logical:{logical_id}"),
    }
}

/// An account id, an IAM ARN or an organisation ARN, as a grantee.
fn classify_principal(s: &str) -> Grantee {
    if s == "*" {
        return Grantee::Anyone;
    }
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        return Grantee::Account(s.to_owned());
    }
    if s.starts_with("arn:aws:organizations::") && s.contains(":organization/") {
        return Grantee::Org;
    }
    if let Some(rest) = s.strip_prefix("arn:aws:iam::") {
        if let Some((account, resource)) = rest.split_once(':') {
            if resource == "root" {
                return Grantee::Account(account.to_owned());
            }
            if let Some(role) = resource.strip_prefix("role/") {
                return Grantee::Role {
                    account: account.to_owned(),
                    name: role.rsplit('/').next().unwrap_or(role).to_owned(),
                };
            }
        }
    }
    Grantee::Principal(s.to_owned())
}

fn statements(doc: &Value) -> impl Iterator<Item = &Value> {
    one_or_many(doc.get("Statement"))
}

fn one_or_many(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    let items: Vec<&Value> = match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(other) => vec![other],
        None => Vec::new(),
    };
    items.into_iter()
}

fn allows(st: &Value) -> bool {
    st.get("Effect").and_then(Value::as_str) == Some("Allow")
        && st.get("NotPrincipal").is_none()
        && st.get("NotResource").is_none()
        && st.get("NotAction").is_none()
}

/// The values of a condition key under any operator (`StringEquals`, `ForAnyValue:StringLike`, …).
fn condition_values(condition: Option<&Value>, key: &str) -> Option<Vec<String>> {
    let ops = condition?.as_object()?;
    let mut found = None;
    for block in ops.values() {
        let Some(block) = block.as_object() else { continue };
        for (k, v) in block {
            if k.eq_ignore_ascii_case(key) {
                let values: &mut Vec<String> = found.get_or_insert_with(Vec::new);
                values.extend(one_or_many(Some(v)).filter_map(Value::as_str).map(str::to_owned));
            }
        }
    }
    found
}

/// Write when any action changes data, read otherwise.
fn level(actions: Option<&Value>) -> Level {
    const WRITE_VERBS: &[&str] = &[
        "put",
        "delete",
        "create",
        "update",
        "batchcreate",
        "batchdelete",
        "batchupdate",
        "abort",
        "restore",
        "replicate",
        "import",
    ];
    let write = one_or_many(actions).filter_map(Value::as_str).any(|a| {
        let verb = a.split_once(':').map_or(a, |(_, v)| v).to_ascii_lowercase();
        verb == "*" || WRITE_VERBS.iter().any(|w| verb.starts_with(w))
    });
    if write {
        Level::Write
    } else {
        Level::Read
    }
}

/// The access changes between two sets of grants, sorted by target, then grantee.
pub(crate) fn compare(old: &BTreeSet<Grant>, new: &BTreeSet<Grant>, names: &Names) -> Vec<AccessChange> {
    type Key = (String, Grantee, Level);
    let mut sides: BTreeMap<Key, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    for (grants, is_new) in [(old, false), (new, true)] {
        for g in grants {
            let entry = sides.entry((g.target.clone(), g.grantee.clone(), g.level)).or_default();
            let via = format!("{} of {}", g.via, g.account);
            if is_new {
                entry.1.insert(via);
            } else {
                entry.0.insert(via);
            }
        }
    }
    let mut out = Vec::new();
    for ((target, grantee, level), (was, now)) in sides {
        if was == now {
            continue;
        }
        let t = names.show(&target);
        let l = level.as_str();
        let readable = match level {
            Level::Read => "readable",
            Level::Write => "writable",
        };
        let (change, text) = match (was.is_empty(), now.is_empty()) {
            (true, _) => (
                "gains",
                match &grantee {
                    Grantee::Org => format!("{t} becomes {readable} org-wide"),
                    Grantee::Anyone => format!("{t} becomes {readable} by anyone (public)"),
                    g => format!("{g} gains {l} on {t}"),
                },
            ),
            (false, true) => (
                "loses",
                match &grantee {
                    Grantee::Org => format!("{t} is no longer {readable} org-wide"),
                    Grantee::Anyone => format!("{t} is no longer {readable} by anyone"),
                    g => format!("{g} loses {l} on {t}"),
                },
            ),
            (false, false) => (
                "changes",
                match &grantee {
                    Grantee::Org => format!("{t} stays {readable} org-wide, granted differently"),
                    Grantee::Anyone => format!("{t} stays {readable} by anyone, granted differently"),
                    g => format!("{g} keeps {l} on {t}, granted differently"),
                },
            ),
        };
        out.push(AccessChange {
            change,
            grantee: grantee.to_string(),
            target: t,
            level: l,
            text,
            was: was.into_iter().collect(),
            now: now.into_iter().collect(),
        });
    }
    out.sort_by(|a, b| (&a.target, &a.grantee, a.level).cmp(&(&b.target, &b.grantee, b.level)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn grants_of(account: &str, template: &Value) -> (BTreeSet<Grant>, Names) {
        let mut names = Names::default();
        let mut out = BTreeSet::new();
        Extractor {
            names: &mut names,
            out: &mut out,
        }
        .template(account, template);
        (out, names)
    }

    #[test]
    fn product_paths() {
        assert_eq!(
            product_of_path("arn:aws:s3:::acast-333333333333-eu-west-1-mesh/podcasts/episodes/v2/*"),
            Some(("podcasts", "episodes", 2))
        );
        assert_eq!(
            product_of_path("s3://b/finance/ad-revenue/v10/daily/"),
            Some(("finance", "ad-revenue", 10))
        );
        assert_eq!(
            product_of_path("podcasts/episodes/v1/*"),
            Some(("podcasts", "episodes", 1))
        );
        assert_eq!(product_of_path("arn:aws:s3:::bucket/*"), None);
        assert_eq!(product_of_path("arn:aws:s3:::bucket/v2/x"), None);
    }

    #[test]
    fn glue_arns() {
        assert_eq!(
            database_of_glue_arn("arn:aws:glue:eu-west-1:333333333333:database/podcasts_episodes_v2"),
            Some("podcasts_episodes_v2")
        );
        assert_eq!(
            database_of_glue_arn("arn:aws:glue:eu-west-1:333333333333:table/podcasts_episodes_v2/*"),
            Some("podcasts_episodes_v2")
        );
        assert_eq!(
            database_of_glue_arn("arn:aws:glue:eu-west-1:333333333333:catalog"),
            None
        );
    }

    #[test]
    fn principals() {
        assert_eq!(
            classify_principal("arn:aws:iam::444444444444:root"),
            Grantee::Account("444444444444".into())
        );
        assert_eq!(
            classify_principal("444444444444"),
            Grantee::Account("444444444444".into())
        );
        assert_eq!(
            classify_principal("arn:aws:iam::444444444444:role/mesh/reader"),
            Grantee::Role {
                account: "444444444444".into(),
                name: "reader".into()
            }
        );
        assert_eq!(
            classify_principal("arn:aws:organizations::111111111111:organization/o-abc"),
            Grantee::Org
        );
    }

    #[test]
    fn bucket_policy_grants_read_to_accounts_and_the_org() {
        let t = json!({ "Resources": {
            "Bucket": { "Type": "AWS::S3::Bucket", "Properties": { "BucketName": "acast-333333333333-eu-west-1-mesh" } },
            "Policy": { "Type": "AWS::S3::BucketPolicy", "Properties": { "Bucket": { "Ref": "Bucket" }, "PolicyDocument": {
                "Statement": [
                    { "Sid": "Org", "Effect": "Allow", "Principal": { "AWS": "*" }, "Action": ["s3:GetObject"],
                      "Resource": { "Fn::Sub": "arn:aws:s3:::${Bucket}/podcasts/episodes/v1/*" },
                      "Condition": { "StringEquals": { "aws:PrincipalOrgID": "o-x" } } },
                    { "Sid": "Acct", "Effect": "Allow", "Principal": { "AWS": ["arn:aws:iam::444444444444:root"] },
                      "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acast-333333333333-eu-west-1-mesh/finance/payouts/v2/*" },
                    { "Sid": "Tls", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*" },
                    { "Sid": "Own", "Effect": "Allow", "Principal": { "AWS": { "Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root" } },
                      "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/finance/payouts/v2/*" }
                ] } } } } });
        let (grants, names) = grants_of("333333333333", &t);
        let words: Vec<_> = grants
            .iter()
            .map(|g| format!("{} {} {}", g.grantee, g.level.as_str(), names.show(&g.target)))
            .collect();
        assert_eq!(
            words,
            vec![
                "account 333333333333 write finance.payouts v2",
                "account 444444444444 read finance.payouts v2",
                "the organisation read podcasts.episodes v1",
            ]
        );
    }

    #[test]
    fn glue_policy_and_lake_formation_map_to_the_same_target_as_s3() {
        let policy = json!({ "Version": "2012-10-17", "Statement": [
            { "Effect": "Allow", "Principal": { "AWS": "arn:aws:iam::444444444444:root" },
              "Action": ["glue:GetTable", "glue:GetDatabase"],
              "Resource": ["arn:aws:glue:eu-west-1:333333333333:catalog",
                           "arn:aws:glue:eu-west-1:333333333333:database/finance_payouts_v2",
                           "arn:aws:glue:eu-west-1:333333333333:table/finance_payouts_v2/*"] } ] });
        let lf = json!({ "Resources": {
            "Db": { "Type": "AWS::Glue::Database", "Properties": { "DatabaseInput": { "Name": "finance_payouts_v2" } } },
            "Perm": { "Type": "AWS::LakeFormation::PrincipalPermissions", "Properties": {
                "Principal": { "DataLakePrincipalIdentifier": "555555555555" },
                "Resource": { "Table": { "DatabaseName": { "Ref": "Db" }, "TableWildcard": {} } },
                "Permissions": ["SELECT", "DESCRIBE"], "PermissionsWithGrantOption": [] } } } });
        let mut names = Names::default();
        names.learn("finance", "payouts", 2);
        let mut out = BTreeSet::new();
        let mut x = Extractor {
            names: &mut names,
            out: &mut out,
        };
        x.glue_policy("333333333333", &policy);
        x.template("333333333333", &lf);
        let targets: BTreeSet<_> = out.iter().map(|g| names.show(&g.target)).collect();
        assert_eq!(targets.into_iter().collect::<Vec<_>>(), vec!["finance.payouts v2"]);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn sentences() {
        let mut names = Names::default();
        let key = names.learn("podcasts", "episodes", 1);
        let g = |grantee: Grantee, via: Via| Grant {
            target: key.clone(),
            grantee,
            level: Level::Read,
            via,
            account: "333333333333".into(),
        };
        let old: BTreeSet<_> = [
            g(Grantee::Org, Via::BucketPolicy),
            g(Grantee::Account("444444444444".into()), Via::BucketPolicy),
        ]
        .into();
        let new: BTreeSet<_> = [
            g(Grantee::Account("444444444444".into()), Via::GlueResourcePolicy),
            g(Grantee::Account("555555555555".into()), Via::BucketPolicy),
        ]
        .into();
        let texts: Vec<_> = compare(&old, &new, &names).into_iter().map(|c| c.text).collect();
        assert_eq!(
            texts,
            vec![
                "account 444444444444 keeps read on podcasts.episodes v1, granted differently",
                "account 555555555555 gains read on podcasts.episodes v1",
                "podcasts.episodes v1 is no longer readable org-wide",
            ]
        );
    }
}
