//! The access surface of a synthesis, and how a live document differs from it.
//!
//! The surface is every document meshsynth sets that says who may reach the
//! data: bucket policies, KMS key policies, IAM roles (trust, inline and
//! managed policies), Identity Center permission sets' inline policies (read
//! here from the templates) and the Glue catalog policy (a file of the
//! synthesis). Template documents are resolved as AWS stores them
//! (`diff::identity::resolve_document`, then [`fill`] with what only the
//! deployed stack knows: the region and physical ids).
//!
//! Documents are compared statement by statement, semantically: key order,
//! the order of list items, a single string versus a one-item list, the case
//! of action names, an account id versus its root ARN and a `Sid` do not
//! count. Pure: no IO, no AWS.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::drift_api::StackResource;
use crate::diff::identity::resolve_document;

/// An IAM role of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoleSurface {
    pub(crate) logical_id: String,
    /// `RoleName`, else `${LogicalId}` (filled from the deployed stack).
    pub(crate) name: String,
    pub(crate) trust: Value,
    /// Inline policies by name (`Policies` and `AWS::IAM::Policy` resources naming the role).
    pub(crate) inline: BTreeMap<String, Value>,
    /// `ManagedPolicyArns` and the `AWS::IAM::ManagedPolicy` resources naming the role.
    pub(crate) managed: BTreeSet<String>,
}

/// An Identity Center permission set of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PermissionSetSurface {
    pub(crate) logical_id: String,
    pub(crate) name: String,
    pub(crate) instance: String,
    /// `None`: the permission set has no inline policy.
    pub(crate) policy: Option<Value>,
}

/// Everything of one template that grants access.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StackSurface {
    /// Bucket name → its policy.
    pub(crate) buckets: BTreeMap<String, Value>,
    /// Logical id of a KMS key → its key policy.
    pub(crate) keys: BTreeMap<String, Value>,
    pub(crate) roles: Vec<RoleSurface>,
    pub(crate) permission_sets: Vec<PermissionSetSurface>,
}

/// A JSON document that may be written as a string (KMS `KeyPolicy`,
/// `InlinePolicy`) or as an object.
fn document(v: &Value) -> Option<Value> {
    match v {
        Value::String(s) => serde_json::from_str(s).ok(),
        Value::Object(_) => Some(v.clone()),
        _ => None,
    }
}

fn as_text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_owned)
}

/// The access surface of a template deployed in `account`.
pub(crate) fn stack_surface(account: &str, template: &Value) -> StackSurface {
    let resolved = |v: &Value| resolve_document(account, template, v);
    let mut surface = StackSurface::default();
    let Some(resources) = template.get("Resources").and_then(Value::as_object) else {
        return surface;
    };
    let mut roles: BTreeMap<String, RoleSurface> = BTreeMap::new();
    // Attachments by role name, applied once every role is known.
    let mut extra_inline: Vec<(String, String, Value)> = Vec::new();
    let mut extra_managed: Vec<(String, String)> = Vec::new();
    for (id, r) in resources {
        let props = r.get("Properties").map(&resolved).unwrap_or(Value::Null);
        match r.get("Type").and_then(Value::as_str).unwrap_or("") {
            "AWS::S3::BucketPolicy" => {
                if let (Some(bucket), Some(doc)) = (as_text(props.get("Bucket")), props.get("PolicyDocument")) {
                    surface.buckets.insert(bucket, doc.clone());
                }
            }
            "AWS::KMS::Key" => {
                if let Some(doc) = props.get("KeyPolicy").and_then(document) {
                    surface.keys.insert(id.clone(), doc);
                }
            }
            "AWS::IAM::Role" => {
                let name = as_text(props.get("RoleName")).unwrap_or_else(|| format!("${{{id}}}"));
                let inline = props
                    .get("Policies")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|p| Some((as_text(p.get("PolicyName"))?, document(p.get("PolicyDocument")?)?)))
                    .collect();
                let managed = props
                    .get("ManagedPolicyArns")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                roles.insert(
                    name.clone(),
                    RoleSurface {
                        logical_id: id.clone(),
                        name,
                        trust: props.get("AssumeRolePolicyDocument").cloned().unwrap_or(Value::Null),
                        inline,
                        managed,
                    },
                );
            }
            "AWS::IAM::Policy" => {
                let (Some(name), Some(doc)) = (as_text(props.get("PolicyName")), props.get("PolicyDocument")) else {
                    continue;
                };
                for role in props.get("Roles").and_then(Value::as_array).into_iter().flatten() {
                    if let Some(role) = role.as_str() {
                        extra_inline.push((role.to_owned(), name.clone(), doc.clone()));
                    }
                }
            }
            "AWS::IAM::ManagedPolicy" => {
                for role in props.get("Roles").and_then(Value::as_array).into_iter().flatten() {
                    if let Some(role) = role.as_str() {
                        extra_managed.push((role.to_owned(), format!("${{{id}}}")));
                    }
                }
            }
            "AWS::SSO::PermissionSet" => {
                surface.permission_sets.push(PermissionSetSurface {
                    logical_id: id.clone(),
                    name: as_text(props.get("Name")).unwrap_or_else(|| id.clone()),
                    instance: as_text(props.get("InstanceArn")).unwrap_or_default(),
                    policy: props.get("InlinePolicy").and_then(document),
                });
            }
            _ => {}
        }
    }
    for (role, name, doc) in extra_inline {
        if let Some(r) = roles.get_mut(&role) {
            r.inline.insert(name, doc);
        }
    }
    for (role, arn) in extra_managed {
        if let Some(r) = roles.get_mut(&role) {
            r.managed.insert(arn);
        }
    }
    surface.roles = roles.into_values().collect();
    surface
}

/// The ARN of a deployed resource, for `Fn::GetAtt [X, Arn]`.
fn arn_of(r: &StackResource, account: &str, region: &str) -> Option<String> {
    let id = &r.physical_id;
    Some(match r.resource_type.as_str() {
        "AWS::KMS::Key" => format!("arn:aws:kms:{region}:{account}:key/{id}"),
        "AWS::IAM::Role" => format!("arn:aws:iam::{account}:role/{id}"),
        "AWS::S3::Bucket" => format!("arn:aws:s3:::{id}"),
        "AWS::IAM::ManagedPolicy" | "AWS::SNS::Topic" => id.clone(),
        _ if id.starts_with("arn:") => id.clone(),
        _ => return None,
    })
}

/// Fills what resolving the template left as `${...}`: pseudo parameters,
/// and `Ref` / `GetAtt … Arn` of the deployed stack's resources. Returns the
/// placeholders that remain unknown.
pub(crate) fn fill(v: &mut Value, account: &str, region: &str, resources: &[StackResource]) -> BTreeSet<String> {
    let by_id: BTreeMap<&str, &StackResource> = resources.iter().map(|r| (r.logical_id.as_str(), r)).collect();
    let mut unknown = BTreeSet::new();
    fill_at(
        v,
        &mut |name: &str| -> Option<String> {
            match name {
                "AWS::Region" => Some(region.to_owned()),
                "AWS::Partition" => Some("aws".to_owned()),
                "AWS::URLSuffix" => Some("amazonaws.com".to_owned()),
                "AWS::AccountId" => Some(account.to_owned()),
                _ => match name.split_once('.') {
                    Some((id, "Arn")) => by_id.get(id).and_then(|r| arn_of(r, account, region)),
                    Some(_) => None,
                    None => by_id.get(name).map(|r| r.physical_id.clone()),
                },
            }
        },
        &mut unknown,
    );
    unknown
}

fn fill_at(v: &mut Value, lookup: &mut dyn FnMut(&str) -> Option<String>, unknown: &mut BTreeSet<String>) {
    match v {
        Value::String(s) if s.contains("${") => {
            let mut out = String::with_capacity(s.len());
            let mut rest = s.as_str();
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let after = &rest[start + 2..];
                let Some(end) = after.find('}') else {
                    out.push_str(&rest[start..]);
                    rest = "";
                    break;
                };
                let name = &after[..end];
                match lookup(name) {
                    Some(value) => out.push_str(&value),
                    None => {
                        unknown.insert(name.to_owned());
                        out.push_str(&rest[start..start + 3 + end]);
                    }
                }
                rest = &after[end + 1..];
            }
            out.push_str(rest);
            *s = out;
        }
        Value::Array(a) => a.iter_mut().for_each(|x| fill_at(x, lookup, unknown)),
        Value::Object(m) => m.values_mut().for_each(|x| fill_at(x, lookup, unknown)),
        _ => {}
    }
}

/// Whether a statement is in the live document but not the synthesis, or the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Change {
    /// Live, not synthesised.
    Added,
    /// Synthesised, not live.
    Removed,
}

impl Change {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
        }
    }
}

/// One statement (or managed policy attachment) that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct StatementChange {
    pub(crate) change: Change,
    pub(crate) sid: Option<String>,
    /// `Allow s3:GetObject to arn:aws:iam::999999999999:root on arn:aws:s3:::b/*`.
    pub(crate) text: String,
    /// The statement as written (or the managed policy's ARN).
    pub(crate) statement: Value,
}

impl StatementChange {
    /// `statement `Sid` added: Allow …`, the words of a report line.
    pub(crate) fn describe(&self) -> String {
        let what = match (&self.sid, &self.statement) {
            (_, Value::String(_)) => return format!("{} {}", self.text, self.change.as_str()),
            (Some(sid), _) => format!("statement `{sid}`"),
            (None, _) => "statement without Sid".to_owned(),
        };
        format!("{what} {}: {}", self.change.as_str(), self.text)
    }
}

fn statements(doc: Option<&Value>) -> Vec<&Value> {
    match doc.and_then(|d| d.get("Statement")) {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

/// A value as a sorted set of strings: `"a"` and `["a"]` are the same.
fn string_set(v: &Value, lower: bool) -> Value {
    let mut items: BTreeSet<String> = match v {
        Value::Array(a) => a.iter().map(scalar).collect(),
        other => BTreeSet::from([scalar(other)]),
    };
    if lower {
        items = items.into_iter().map(|s| s.to_ascii_lowercase()).collect();
    }
    Value::Array(items.into_iter().map(Value::String).collect())
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An account id as a principal means its root.
fn principal_id(s: &str) -> String {
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        format!("arn:aws:iam::{s}:root")
    } else {
        s.to_owned()
    }
}

/// The statement in a form where only meaning counts (see the module docs).
fn normalise(st: &Value) -> Value {
    let Some(o) = st.as_object() else { return st.clone() };
    let mut out = serde_json::Map::new();
    let mut keys: Vec<&String> = o.keys().collect();
    keys.sort();
    for k in keys {
        let v = &o[k];
        let n = match k.as_str() {
            "Sid" => continue,
            "Action" | "NotAction" => string_set(v, true),
            "Resource" | "NotResource" => string_set(v, false),
            "Principal" | "NotPrincipal" => match v {
                Value::Object(p) => {
                    let m: BTreeMap<&String, Value> = p
                        .iter()
                        .map(|(t, ids)| {
                            let set = string_set(ids, false);
                            let ids: BTreeSet<String> = set
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(Value::as_str)
                                .map(principal_id)
                                .collect();
                            (t, Value::Array(ids.into_iter().map(Value::String).collect()))
                        })
                        .collect();
                    Value::Object(m.into_iter().map(|(k, v)| (k.clone(), v)).collect())
                }
                other => other.clone(),
            },
            "Condition" => match v {
                Value::Object(ops) => {
                    let m: BTreeMap<&String, Value> = ops
                        .iter()
                        .map(|(op, block)| {
                            let block = match block {
                                Value::Object(b) => {
                                    // Condition keys are case-insensitive.
                                    let m: BTreeMap<String, Value> = b
                                        .iter()
                                        .map(|(key, vals)| (key.to_ascii_lowercase(), string_set(vals, false)))
                                        .collect();
                                    Value::Object(m.into_iter().collect())
                                }
                                other => other.clone(),
                            };
                            (op, block)
                        })
                        .collect();
                    Value::Object(m.into_iter().map(|(k, v)| (k.clone(), v)).collect())
                }
                other => other.clone(),
            },
            _ => v.clone(),
        };
        out.insert(k.clone(), n);
    }
    Value::Object(out)
}

fn list(v: Option<&Value>) -> String {
    match v {
        Some(Value::Array(a)) => a.iter().map(scalar).collect::<Vec<_>>().join(", "),
        Some(other) => scalar(other),
        None => String::new(),
    }
}

fn who(p: &Value) -> String {
    match p {
        Value::String(s) if s == "*" => "anyone".to_owned(),
        Value::Object(m) => {
            let mut names = Vec::new();
            for (kind, ids) in m {
                let ids: Vec<String> = match ids {
                    Value::Array(a) => a.iter().map(scalar).collect(),
                    other => vec![scalar(other)],
                };
                for id in ids {
                    names.push(match (kind.as_str(), id.as_str()) {
                        ("AWS", "*") => "anyone".to_owned(),
                        ("AWS", _) => principal_id(&id),
                        (k, _) => format!("{} {id}", k.to_ascii_lowercase()),
                    });
                }
            }
            names.join(", ")
        }
        other => scalar(other),
    }
}

/// A statement in words: `Allow s3:GetObject to arn:… on arn:… if {…}`.
pub(crate) fn describe_statement(st: &Value) -> String {
    let effect = st.get("Effect").and_then(Value::as_str).unwrap_or("Allow");
    let mut text = effect.to_owned();
    if let Some(a) = st.get("Action") {
        text.push_str(&format!(" {}", list(Some(a))));
    } else if let Some(a) = st.get("NotAction") {
        text.push_str(&format!(" everything but {}", list(Some(a))));
    }
    if let Some(p) = st.get("Principal") {
        text.push_str(&format!(" to {}", who(p)));
    } else if let Some(p) = st.get("NotPrincipal") {
        text.push_str(&format!(" to everyone but {}", who(p)));
    }
    if let Some(r) = st.get("Resource") {
        text.push_str(&format!(" on {}", list(Some(r))));
    } else if let Some(r) = st.get("NotResource") {
        text.push_str(&format!(" on everything but {}", list(Some(r))));
    }
    if let Some(c) = st.get("Condition") {
        text.push_str(&format!(
            " if {}",
            normalise(&serde_json::json!({ "Condition": c }))["Condition"]
        ));
    }
    text
}

/// The statements of `live` that the synthesis (`expected`) lacks (added)
/// and those of `expected` that are not live (removed). `None` is no
/// document at all. Sorted: removed first, then by text.
pub(crate) fn compare_policies(expected: Option<&Value>, live: Option<&Value>) -> Vec<StatementChange> {
    let count = |doc: Option<&Value>| {
        let mut m: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for st in statements(doc) {
            m.entry(normalise(st).to_string()).or_default().push(st.clone());
        }
        m
    };
    let (want, have) = (count(expected), count(live));
    let mut out = Vec::new();
    for (sides, other, change) in [(&want, &have, Change::Removed), (&have, &want, Change::Added)] {
        for (key, sts) in sides {
            let others = other.get(key).map_or(0, Vec::len);
            for st in sts.iter().skip(others) {
                out.push(StatementChange {
                    change,
                    sid: st.get("Sid").and_then(Value::as_str).map(str::to_owned),
                    text: describe_statement(st),
                    statement: st.clone(),
                });
            }
        }
    }
    out.sort_by(|a, b| (b.change, &a.text).cmp(&(a.change, &b.text)));
    out
}

/// Managed policies attached live but not synthesised (added), and the other way round.
pub(crate) fn compare_attachments(expected: &BTreeSet<String>, live: &BTreeSet<String>) -> Vec<StatementChange> {
    let mut out: Vec<StatementChange> = expected
        .difference(live)
        .map(|a| (Change::Removed, a))
        .chain(live.difference(expected).map(|a| (Change::Added, a)))
        .map(|(change, arn)| StatementChange {
            change,
            sid: None,
            text: format!("managed policy {arn}"),
            statement: Value::String(arn.clone()),
        })
        .collect();
    out.sort_by(|a, b| (b.change, &a.text).cmp(&(a.change, &b.text)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn order_lists_and_account_ids_do_not_count() {
        let synth = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "A", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::444444444444:root", "555555555555"]},
             "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*",
             "Condition": {"Bool": {"aws:SecureTransport": true}}},
            {"Sid": "B", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::b"]}]});
        let live = json!({"Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": ["s3:*"], "Resource": "arn:aws:s3:::b", "Sid": "B"},
            {"Principal": {"AWS": ["arn:aws:iam::555555555555:root", "444444444444"]}, "Effect": "Allow",
             "Action": "S3:GetObject", "Resource": ["arn:aws:s3:::b/*"],
             "Condition": {"Bool": {"aws:securetransport": "true"}}}], "Version": "2012-10-17"});
        assert_eq!(compare_policies(Some(&synth), Some(&live)), vec![]);
    }

    #[test]
    fn added_and_removed_statements_in_words() {
        let synth = json!({"Statement": [
            {"Sid": "Read", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444444444444:root"},
             "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]});
        let live = json!({"Statement": [
            {"Sid": "ByHand", "Effect": "Allow", "Principal": {"AWS": "999999999999"},
             "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]});
        let lines: Vec<String> = compare_policies(Some(&synth), Some(&live))
            .iter()
            .map(StatementChange::describe)
            .collect();
        assert_eq!(
            lines,
            vec![
                "statement `Read` removed: Allow s3:GetObject to arn:aws:iam::444444444444:root on arn:aws:s3:::b/*",
                "statement `ByHand` added: Allow s3:GetObject to arn:aws:iam::999999999999:root on arn:aws:s3:::b/*",
            ]
        );
        // No live policy: everything synthesised is missing; a duplicate statement counts once more.
        assert_eq!(compare_policies(Some(&synth), None).len(), 1);
        let twice = json!({"Statement": [synth["Statement"][0].clone(), synth["Statement"][0].clone()]});
        assert_eq!(
            compare_policies(Some(&synth), Some(&twice))
                .iter()
                .map(|c| c.change)
                .collect::<Vec<_>>(),
            vec![Change::Added]
        );
        let managed = compare_attachments(
            &BTreeSet::from(["arn:a".to_owned()]),
            &BTreeSet::from(["arn:b".to_owned()]),
        );
        assert_eq!(
            managed.iter().map(StatementChange::describe).collect::<Vec<_>>(),
            vec!["managed policy arn:a removed", "managed policy arn:b added"]
        );
    }

    #[test]
    fn the_surface_of_a_template_resolves_names_and_fills_physical_ids() {
        let t = json!({"Resources": {
            "Data": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Fn::Sub": "acast-${AWS::AccountId}-mesh"}}},
            "DataPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": {"Ref": "Data"},
                "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                    "Principal": {"AWS": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root"}},
                    "Resource": {"Fn::Sub": "arn:aws:s3:::${Data}/*"}}]}}},
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": [
                {"Effect": "Allow", "Action": "kms:*", "Resource": "*",
                 "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}}]}}},
            "Reader": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "mesh-reader",
                "AssumeRolePolicyDocument": {"Statement": []},
                "Policies": [{"PolicyName": "read", "PolicyDocument": {"Statement": [
                    {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": {"Fn::GetAtt": ["Key", "Arn"]}}]}}]}},
            "Extra": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"Roles": [{"Ref": "Reader"}],
                "PolicyDocument": {"Statement": []}}}}});
        let s = stack_surface("333333333333", &t);
        assert_eq!(
            s.buckets["acast-333333333333-mesh"]["Statement"][0]["Resource"],
            json!("arn:aws:s3:::acast-333333333333-mesh/*")
        );
        let role = &s.roles[0];
        assert_eq!(role.name, "mesh-reader");
        assert_eq!(role.managed, BTreeSet::from(["${Extra}".to_owned()]));
        let deployed = [
            StackResource {
                logical_id: "Key".into(),
                physical_id: "1234-abcd".into(),
                resource_type: "AWS::KMS::Key".into(),
            },
            StackResource {
                logical_id: "Extra".into(),
                physical_id: "arn:aws:iam::333333333333:policy/extra".into(),
                resource_type: "AWS::IAM::ManagedPolicy".into(),
            },
        ];
        let mut read = role.inline["read"].clone();
        assert!(fill(&mut read, "333333333333", "eu-west-1", &deployed).is_empty());
        assert_eq!(
            read["Statement"][0]["Resource"],
            json!("arn:aws:kms:eu-west-1:333333333333:key/1234-abcd")
        );
        let mut key = s.keys["Key"].clone();
        assert!(fill(&mut key, "333333333333", "eu-west-1", &deployed).is_empty());
        assert_eq!(
            key["Statement"][0]["Principal"]["AWS"],
            json!("arn:aws:iam::333333333333:root")
        );
        let mut unknown = json!("${Nowhere.Arn}");
        assert_eq!(
            fill(&mut unknown, "333333333333", "eu-west-1", &deployed),
            BTreeSet::from(["Nowhere.Arn".to_owned()])
        );
    }
}
