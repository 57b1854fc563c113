//! The physical identity of a resource in a rendered template (its bucket,
//! database or table name), so that `diff` recognises a stateful resource
//! that moves from one stack to another of the same account.
//!
//! Names are written with intrinsic functions (`Ref`, `Fn::Sub`, `Fn::Join`);
//! this evaluates as far as the template alone tells: `AWS::AccountId` and the
//! physical names of other resources are filled in, anything else stays as
//! `${Name}`. Pure: no IO.

use serde_json::Value;

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
    pub(super) fn flatten(&self, v: &Value) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_evaluated_through_refs_subs_and_joins() {
        let t = json!({"Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Fn::Sub": "acast-${AWS::AccountId}-eu-west-1-mesh"}}},
            "Db": {"Type": "AWS::Glue::Database", "Properties": {"DatabaseInput": {"Name": {"Fn::Join": ["_", ["finance", "payouts", "v1"]]}}}},
            "Table": {"Type": "AWS::Glue::Table", "Properties": {"DatabaseName": {"Ref": "Db"}, "TableInput": {"Name": "payouts"}}},
            "Key": {"Type": "AWS::KMS::Key", "Properties": {}}
        }});
        let id = |l: &str| physical_identity("333333333333", &t, l);
        assert_eq!(id("Bucket"), "AWS::S3::Bucket:acast-333333333333-eu-west-1-mesh");
        assert_eq!(id("Db"), "AWS::Glue::Database:finance_payouts_v1");
        assert_eq!(id("Table"), "AWS::Glue::Table:finance_payouts_v1/payouts");
        assert_eq!(id("Key"), "AWS::KMS::Key:logical:Key");
        assert_eq!(id("Missing"), "logical:Missing");
    }
}
