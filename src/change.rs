//! Change classification: what happens to each resource when a stack's
//! template goes from `old` to `new`, and which of those changes lose data.
//!
//! This module is pure and offline: it compares two CloudFormation templates
//! (as JSON) and knows, from a table of immutable properties, which changes
//! make CloudFormation replace a resource. `diff` uses it on two syntheses and
//! `plan` on the deployed template and the new one, so both agree on what is
//! destructive even where the service reports no replacement detail (moto
//! reports none at all).
//!
//! It must not do IO or talk to AWS.
//!
//! How values are compared:
//! - Resources are matched by logical id. A changed `Type` is a replacement.
//! - Objects are compared key by key, recursively; a change is reported at the
//!   deepest path where the two sides differ (`Properties.TableInput.Name`).
//! - Arrays whose items are all objects with a string `Key` (CloudFormation
//!   `Tags`; or `TagKey`, as KMS accepts) are compared as maps keyed by that
//!   key: `Properties.Tags[team]`;
//!   arrays whose items all have a `Sid` (policy statements) as maps keyed by
//!   it: `Properties.PolicyDocument.Statement[OrgRead].Principal`.
//! - Other arrays of the same length are compared item by item
//!   (`Properties.Policies[0].PolicyName`); arrays whose length changed are
//!   reported whole, since an index means nothing once items shift.
//! - Resource attributes other than `Type` and `Properties` (`DeletionPolicy`,
//!   `UpdateReplacePolicy`, `DependsOn`, `Metadata`, `Condition`) are compared
//!   too, under their own names; none of them causes a replacement.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use serde_json::Value;

/// What happens to a resource: the one model of a change, for `diff` (two
/// templates) and `plan` (the deployed template, merged with CloudFormation's
/// change set). Template comparison gives `Add`, `Modify` and `Remove`; only a
/// change set reports `Import` and `Dynamic`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub(crate) enum Action {
    Add,
    Modify,
    Remove,
    /// CloudFormation imports an existing resource into the stack.
    Import,
    /// CloudFormation can tell only at execution whether it changes.
    Dynamic,
}

impl Action {
    /// CloudFormation's name of the action.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::Add => "Add",
            Action::Modify => "Modify",
            Action::Remove => "Remove",
            Action::Import => "Import",
            Action::Dynamic => "Dynamic",
        }
    }

    /// The action of a change set entry, as CloudFormation names it (anything unknown is a
    /// modification, the cautious reading).
    pub(crate) fn from_service(s: &str) -> Action {
        match s {
            "Add" => Action::Add,
            "Remove" => Action::Remove,
            "Import" => Action::Import,
            "Dynamic" => Action::Dynamic,
            _ => Action::Modify,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a modification replaces the resource (CloudFormation's own terms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub(crate) enum Replacement {
    /// A new physical resource is created and the old one deleted.
    True,
    /// Updated in place.
    False,
    /// Replaced if a value only known at deploy time changes (for example an
    /// immutable property that refers to a resource that is itself replaced).
    Conditional,
}

impl fmt::Display for Replacement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Replacement::True => "True",
            Replacement::False => "False",
            Replacement::Conditional => "Conditional",
        })
    }
}

/// One changed value of a resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PropertyChange {
    /// Where the value is, from the resource: `Properties.BucketName`,
    /// `Properties.TableInput.StorageDescriptor.Location`, `Properties.Tags[team]`,
    /// `DeletionPolicy`, `Type`.
    pub(crate) path: String,
    /// The value before; `None` when it was absent.
    pub(crate) old: Option<Value>,
    /// The value after; `None` when it is removed.
    pub(crate) new: Option<Value>,
    /// Whether this change alone makes CloudFormation replace the resource.
    pub(crate) requires_replacement: bool,
}

/// What happens to one resource of a stack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ResourceChange {
    pub(crate) logical_id: String,
    /// The CloudFormation type (the new one, or the old one for a removal).
    #[serde(rename = "type")]
    pub(crate) resource_type: String,
    pub(crate) action: Action,
    /// `None` for `Add` and `Remove`.
    pub(crate) replacement: Option<Replacement>,
    /// The resource holds data (see [`is_stateful`]).
    pub(crate) stateful: bool,
    /// Data would be lost: a stateful resource removed, or replaced (even conditionally).
    pub(crate) destructive: bool,
    /// The changed values, sorted by path; empty for `Add` and `Remove`.
    pub(crate) properties: Vec<PropertyChange>,
}

/// The resource types that hold data: removing or replacing one loses it.
pub(crate) fn is_stateful(resource_type: &str) -> bool {
    matches!(
        resource_type,
        "AWS::S3::Bucket" | "AWS::KMS::Key" | "AWS::Glue::Database" | "AWS::Glue::Table"
    )
}

/// A property path (below `Properties`) whose change replaces the resource.
/// `*` means every property.
struct Immutable {
    path: &'static str,
    replacement: Replacement,
}

const fn imm(path: &'static str) -> Immutable {
    Immutable {
        path,
        replacement: Replacement::True,
    }
}

/// Immutable properties per type, from the CloudFormation resource reference
/// ("Update requires: Replacement"). Types not listed update in place.
fn immutable_properties(resource_type: &str) -> &'static [Immutable] {
    const S3_BUCKET: &[Immutable] = &[imm("BucketName"), imm("ObjectLockEnabled")];
    const S3_BUCKET_POLICY: &[Immutable] = &[imm("Bucket")];
    // MultiRegion: "if you change the value of MultiRegion on an existing KMS key,
    // CloudFormation updates your stack with a new KMS key", a plain replacement.
    const KMS_KEY: &[Immutable] = &[imm("KeySpec"), imm("KeyUsage"), imm("MultiRegion"), imm("Origin")];
    const KMS_ALIAS: &[Immutable] = &[imm("AliasName")];
    const GLUE_DATABASE: &[Immutable] = &[imm("CatalogId"), imm("DatabaseInput.Name")];
    const GLUE_TABLE: &[Immutable] = &[imm("CatalogId"), imm("DatabaseName"), imm("TableInput.Name")];
    const IAM_ROLE: &[Immutable] = &[imm("RoleName"), imm("Path")];
    const IAM_MANAGED_POLICY: &[Immutable] = &[imm("ManagedPolicyName"), imm("Path")];
    const ATHENA_WORKGROUP: &[Immutable] = &[imm("Name")];
    const ATHENA_DATA_CATALOG: &[Immutable] = &[imm("Name")];
    const SSO_PERMISSION_SET: &[Immutable] = &[imm("InstanceArn"), imm("Name")];
    const ALL: &[Immutable] = &[imm("*")];
    match resource_type {
        "AWS::S3::Bucket" => S3_BUCKET,
        "AWS::S3::BucketPolicy" => S3_BUCKET_POLICY,
        "AWS::KMS::Key" => KMS_KEY,
        "AWS::KMS::Alias" => KMS_ALIAS,
        "AWS::Glue::Database" => GLUE_DATABASE,
        "AWS::Glue::Table" => GLUE_TABLE,
        "AWS::IAM::Role" => IAM_ROLE,
        "AWS::IAM::ManagedPolicy" => IAM_MANAGED_POLICY,
        "AWS::Athena::WorkGroup" => ATHENA_WORKGROUP,
        "AWS::Athena::DataCatalog" => ATHENA_DATA_CATALOG,
        "AWS::SSO::PermissionSet" => SSO_PERMISSION_SET,
        // Every property of these is create-only: any change is a new resource.
        "AWS::SSO::Assignment" | "AWS::LakeFormation::PrincipalPermissions" => ALL,
        _ => &[],
    }
}

/// Compares two templates (`None`: the stack does not exist) resource by
/// resource. Unchanged resources are left out. The result is sorted:
/// destructive changes first, then by logical id.
pub(crate) fn classify(old: Option<&Value>, new: Option<&Value>) -> Vec<ResourceChange> {
    let old_resources = resources(old);
    let new_resources = resources(new);
    let ids: BTreeSet<&str> = old_resources.keys().chain(new_resources.keys()).copied().collect();

    let mut changes: BTreeMap<String, ResourceChange> = BTreeMap::new();
    for id in ids {
        let change = match (old_resources.get(id), new_resources.get(id)) {
            (None, Some(n)) => Some(added_or_removed(id, n, Action::Add)),
            (Some(o), None) => Some(added_or_removed(id, o, Action::Remove)),
            (Some(o), Some(n)) if o != n => Some(modified(id, o, n)),
            _ => None,
        };
        if let Some(change) = change {
            changes.insert(id.to_owned(), change);
        }
    }
    propagate_replacements(&old_resources, &new_resources, &mut changes);

    let mut out: Vec<ResourceChange> = changes.into_values().collect();
    for c in &mut out {
        c.destructive = c.stateful
            && (c.action == Action::Remove
                || matches!(c.replacement, Some(Replacement::True | Replacement::Conditional)));
    }
    out.sort_by(|a, b| {
        b.destructive
            .cmp(&a.destructive)
            .then_with(|| a.logical_id.cmp(&b.logical_id))
    });
    out
}

/// The `Resources` section of a template, by logical id.
fn resources(template: Option<&Value>) -> BTreeMap<&str, &Value> {
    template
        .and_then(|t| t.get("Resources"))
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
        .unwrap_or_default()
}

fn resource_type(resource: &Value) -> &str {
    resource.get("Type").and_then(Value::as_str).unwrap_or("")
}

fn added_or_removed(id: &str, resource: &Value, action: Action) -> ResourceChange {
    let ty = resource_type(resource);
    ResourceChange {
        logical_id: id.to_owned(),
        resource_type: ty.to_owned(),
        action,
        replacement: None,
        stateful: is_stateful(ty),
        destructive: false,
        properties: Vec::new(),
    }
}

fn modified(id: &str, old: &Value, new: &Value) -> ResourceChange {
    let (old_ty, new_ty) = (resource_type(old), resource_type(new));
    let mut properties = Vec::new();
    if old_ty != new_ty {
        // Another type under the same logical id is another resource.
        properties.push(PropertyChange {
            path: "Type".to_owned(),
            old: Some(Value::String(old_ty.to_owned())),
            new: Some(Value::String(new_ty.to_owned())),
            requires_replacement: true,
        });
    }
    let empty = serde_json::Map::new();
    let old_obj = old.as_object().unwrap_or(&empty);
    let new_obj = new.as_object().unwrap_or(&empty);
    let keys: BTreeSet<&String> = old_obj.keys().chain(new_obj.keys()).collect();
    for key in keys {
        if key == "Type" {
            continue;
        }
        diff_values(key, old_obj.get(key), new_obj.get(key), &mut properties);
    }

    let mut replacement = if old_ty == new_ty {
        Replacement::False
    } else {
        Replacement::True
    };
    let old_props = old.get("Properties");
    let new_props = new.get("Properties");
    for imm in immutable_properties(new_ty) {
        if imm.path == "*" {
            if old_props != new_props {
                replacement = stronger(replacement, imm.replacement);
                for p in properties.iter_mut().filter(|p| p.path.starts_with("Properties")) {
                    p.requires_replacement = true;
                }
            }
            continue;
        }
        let o = old_props.and_then(|v| lookup(v, imm.path));
        let n = new_props.and_then(|v| lookup(v, imm.path));
        if o != n {
            replacement = stronger(replacement, imm.replacement);
            let full = format!("Properties.{}", imm.path);
            for p in &mut properties {
                if path_overlaps(&p.path, &full) {
                    p.requires_replacement = true;
                }
            }
        }
    }
    properties.sort_by(|a, b| a.path.cmp(&b.path));
    let stateful = is_stateful(old_ty) || is_stateful(new_ty);
    ResourceChange {
        logical_id: id.to_owned(),
        resource_type: new_ty.to_owned(),
        action: Action::Modify,
        replacement: Some(replacement),
        stateful,
        destructive: false,
        properties,
    }
}

/// `True` beats `Conditional` beats `False`.
fn stronger(a: Replacement, b: Replacement) -> Replacement {
    fn rank(r: Replacement) -> u8 {
        match r {
            Replacement::False => 0,
            Replacement::Conditional => 1,
            Replacement::True => 2,
        }
    }
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// Whether one path is the other or lies below it (`a.b` and `a.b.c`, `a.b[x]`).
fn path_overlaps(a: &str, b: &str) -> bool {
    let below = |long: &str, short: &str| {
        long == short || (long.starts_with(short) && matches!(long.as_bytes().get(short.len()), Some(b'.' | b'[')))
    };
    below(a, b) || below(b, a)
}

/// The value at a dotted path below an object (`DatabaseInput.Name`).
fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// Where two JSON documents differ (a policy beside the templates, say), as
/// changes whose paths start with `root`; compared like resource properties
/// (see the module docs), sorted by path. No change requires replacement.
pub(crate) fn diff_documents(root: &str, old: Option<&Value>, new: Option<&Value>) -> Vec<PropertyChange> {
    let mut out = Vec::new();
    diff_values(root, old, new, &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Records where `old` and `new` differ below `path` (see the module docs).
fn diff_values(path: &str, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<PropertyChange>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Some(Value::Object(o)), Some(Value::Object(n))) => {
            let keys: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
            for key in keys {
                diff_values(&format!("{path}.{key}"), o.get(key), n.get(key), out);
            }
        }
        (Some(Value::Array(o)), Some(Value::Array(n))) => {
            if let (Some(o_keyed), Some(n_keyed)) = (keyed(o), keyed(n)) {
                let keys: BTreeSet<&str> = o_keyed.keys().chain(n_keyed.keys()).copied().collect();
                for key in keys {
                    diff_values(
                        &format!("{path}[{key}]"),
                        o_keyed.get(key).copied(),
                        n_keyed.get(key).copied(),
                        out,
                    );
                }
            } else if o.len() == n.len() {
                for (i, (a, b)) in o.iter().zip(n).enumerate() {
                    diff_values(&format!("{path}[{i}]"), Some(a), Some(b), out);
                }
            } else {
                out.push(change(path, old, new));
            }
        }
        _ => out.push(change(path, old, new)),
    }
}

fn change(path: &str, old: Option<&Value>, new: Option<&Value>) -> PropertyChange {
    PropertyChange {
        path: path.to_owned(),
        old: old.cloned(),
        new: new.cloned(),
        requires_replacement: false,
    }
}

/// A tag list (`[{Key, Value}]` or `[{TagKey, TagValue}]`) as a map from key to value, or a policy's
/// statements (`[{Sid, ...}]`) as a map from `Sid` to statement; `None` when
/// the array is neither (or repeats a key, which would make the map lossy).
fn keyed(items: &[Value]) -> Option<BTreeMap<&str, &Value>> {
    let first = items.first()?;
    // CloudFormation tags are `{Key, Value}`; KMS keys also accept `{TagKey, TagValue}`.
    let tag_fields = [("Key", "Value"), ("TagKey", "TagValue")]
        .into_iter()
        .find(|(k, _)| first.get(*k).is_some_and(Value::is_string));
    let mut map = BTreeMap::new();
    for item in items {
        let (key, value) = match tag_fields {
            Some((k, v)) => (
                item.get(k).and_then(Value::as_str)?,
                item.get(v).unwrap_or(&Value::Null),
            ),
            None => (item.get("Sid").and_then(Value::as_str)?, item),
        };
        if map.insert(key, value).is_some() {
            return None;
        }
    }
    Some(map)
}

/// The logical ids a value refers to through `Ref`, `Fn::GetAtt` or `${Name}` in `Fn::Sub`.
fn references(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("Ref", Value::String(name)) => {
                        out.insert(name.clone());
                    }
                    ("Fn::GetAtt", Value::Array(parts)) => {
                        if let Some(Value::String(name)) = parts.first() {
                            out.insert(name.clone());
                        }
                    }
                    ("Fn::GetAtt", Value::String(dotted)) => {
                        if let Some((name, _)) = dotted.split_once('.') {
                            out.insert(name.to_owned());
                        }
                    }
                    ("Fn::Sub", Value::String(s)) => sub_references(s, out),
                    ("Fn::Sub", Value::Array(parts)) => {
                        if let Some(Value::String(s)) = parts.first() {
                            sub_references(s, out);
                        }
                        for p in parts.iter().skip(1) {
                            references(p, out);
                        }
                    }
                    _ => references(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

fn sub_references(s: &str, out: &mut BTreeSet<String>) {
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find('}') else { break };
        let name = &rest[..end];
        // `${!Literal}` is an escape; `${AWS::Region}` a pseudo parameter.
        if !name.starts_with('!') && !name.contains("::") {
            let base = name.split('.').next().unwrap_or(name);
            out.insert(base.to_owned());
        }
        rest = &rest[end + 1..];
    }
}

/// An immutable property whose written value did not change but refers to a
/// resource that is replaced gets a new value at deploy time (a new database
/// name, a new key ARN): CloudFormation then replaces this resource too, which
/// it reports as `Conditional`. Repeated until nothing more changes, so chains
/// (database → table) are followed.
fn propagate_replacements(
    old: &BTreeMap<&str, &Value>,
    new: &BTreeMap<&str, &Value>,
    changes: &mut BTreeMap<String, ResourceChange>,
) {
    loop {
        let replaced: BTreeSet<String> = changes
            .values()
            .filter(|c| matches!(c.replacement, Some(Replacement::True | Replacement::Conditional)))
            .map(|c| c.logical_id.clone())
            .collect();
        if replaced.is_empty() {
            return;
        }
        let mut grew = false;
        for (id, n) in new {
            let Some(o) = old.get(id) else { continue };
            if resource_type(o) != resource_type(n) {
                continue;
            }
            if changes
                .get(*id)
                .is_some_and(|c| matches!(c.replacement, Some(Replacement::True | Replacement::Conditional)))
            {
                continue;
            }
            let new_props = n.get("Properties");
            for imm in immutable_properties(resource_type(n)) {
                let value = if imm.path == "*" {
                    new_props
                } else {
                    new_props.and_then(|v| lookup(v, imm.path))
                };
                let Some(value) = value else { continue };
                let mut refs = BTreeSet::new();
                references(value, &mut refs);
                if refs.is_disjoint(&replaced) {
                    continue;
                }
                let path = if imm.path == "*" {
                    "Properties".to_owned()
                } else {
                    format!("Properties.{}", imm.path)
                };
                let entry = changes.entry((*id).to_owned()).or_insert_with(|| ResourceChange {
                    logical_id: (*id).to_owned(),
                    resource_type: resource_type(n).to_owned(),
                    action: Action::Modify,
                    replacement: Some(Replacement::False),
                    stateful: is_stateful(resource_type(n)),
                    destructive: false,
                    properties: Vec::new(),
                });
                entry.replacement = Some(Replacement::Conditional);
                if !entry.properties.iter().any(|p| path_overlaps(&p.path, &path)) {
                    // The written value is the same on both sides; what it resolves to is not.
                    entry.properties.push(PropertyChange {
                        path,
                        old: Some(value.clone()),
                        new: Some(value.clone()),
                        requires_replacement: true,
                    });
                    entry.properties.sort_by(|a, b| a.path.cmp(&b.path));
                }
                grew = true;
                break;
            }
        }
        if !grew {
            return;
        }
    }
}

#[cfg(test)]
#[path = "change_tests.rs"]
mod tests;
