//! What a catalog resource policy change grants or takes away, in words, for
//! the review: statements added and removed, and for a statement kept under
//! the same `Sid`, the principals and databases it gains or loses.
//!
//! Statements are compared without their `Sid`: meshsynth numbers them
//! (`ApprovedRead1`, `ApprovedRead2`, ...), so one new grant renumbers the
//! ones after it without changing what they allow, and that is no change.
//! Pure: JSON in, lines out.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

fn statements(doc: Option<&Value>) -> Vec<&Value> {
    match doc.and_then(|d| d.get("Statement")) {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

fn strings(v: Option<&Value>) -> BTreeSet<String> {
    match v {
        Some(Value::String(s)) => BTreeSet::from([s.clone()]),
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => BTreeSet::new(),
    }
}

/// The statement without its `Sid`, as comparable text.
fn content(st: &Value) -> String {
    let mut st = st.clone();
    if let Some(o) = st.as_object_mut() {
        o.remove("Sid");
    }
    canonical(&st)
}

/// JSON with object keys sorted, so key order never counts.
fn canonical(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(o) => {
                let m: BTreeMap<&String, Value> = o.iter().map(|(k, v)| (k, sorted(v))).collect();
                Value::Object(m.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

/// Who a statement names: principals as written, and `*` narrowed by an
/// organisation condition as "the organisation `o-…`".
fn principals(st: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let org = st
        .get("Condition")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|c| c.values())
        .filter_map(|ops| ops.get("aws:PrincipalOrgID"))
        .flat_map(|v| strings(Some(v)))
        .collect::<BTreeSet<_>>();
    let mut add = |p: &str| {
        if p == "*" && !org.is_empty() {
            for o in &org {
                out.insert(format!("the organisation `{o}`"));
            }
        } else if p == "*" {
            out.insert("anyone".to_owned());
        } else {
            out.insert(p.to_owned());
        }
    };
    match st.get("Principal") {
        Some(Value::String(s)) => add(s),
        Some(Value::Object(o)) => {
            for v in o.values() {
                for p in strings(Some(v)) {
                    add(&p);
                }
            }
        }
        _ => {}
    }
    // Principals narrowed to roles by `aws:PrincipalArn` are named by their ARNs.
    let arns: BTreeSet<String> = st
        .get("Condition")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|c| c.values())
        .filter_map(|ops| ops.get("aws:PrincipalArn"))
        .flat_map(|v| strings(Some(v)))
        .collect();
    if !arns.is_empty() {
        let narrowed: Vec<String> = arns.into_iter().collect();
        out = out
            .into_iter()
            .map(|p| format!("{p} (only {})", narrowed.join(", ")))
            .collect();
    }
    out
}

/// What a statement is about: Glue databases by name (their tables and the
/// catalog go with them), other resources as written.
fn targets(st: &Value) -> BTreeSet<String> {
    let resources = strings(st.get("Resource"));
    let databases: BTreeSet<String> = resources
        .iter()
        .filter_map(|r| r.split_once(":database/").map(|(_, db)| format!("database {db}")))
        .collect();
    if databases.is_empty() {
        resources
    } else {
        databases
    }
}

fn list(items: &BTreeSet<String>) -> String {
    items.iter().cloned().collect::<Vec<_>>().join(", ")
}

fn sid(st: &Value) -> Option<&str> {
    st.get("Sid").and_then(Value::as_str)
}

fn describe(st: &Value, index: usize) -> String {
    let name = sid(st).map_or_else(|| format!("statement {}", index + 1), |s| format!("`{s}`"));
    let effect = st.get("Effect").and_then(Value::as_str).unwrap_or("Allow");
    let verb = if effect == "Deny" { "denies" } else { "grants" };
    let who = principals(st);
    format!(
        "{name}: {verb} {} on {}",
        if who.is_empty() {
            "no principal".to_owned()
        } else {
            list(&who)
        },
        list(&targets(st))
    )
}

/// One statement kept under its `Sid` but changed: what it gains and loses.
fn delta(old: &Value, new: &Value) -> String {
    let mut parts = Vec::new();
    let (po, pn) = (principals(old), principals(new));
    let (to, tn) = (targets(old), targets(new));
    let gained: BTreeSet<String> = pn.difference(&po).cloned().collect();
    let lost: BTreeSet<String> = po.difference(&pn).cloned().collect();
    let added: BTreeSet<String> = tn.difference(&to).cloned().collect();
    let removed: BTreeSet<String> = to.difference(&tn).cloned().collect();
    if !gained.is_empty() {
        parts.push(format!("now also grants {}", list(&gained)));
    }
    if !lost.is_empty() {
        parts.push(format!("no longer grants {}", list(&lost)));
    }
    if !added.is_empty() {
        parts.push(format!("now also on {}", list(&added)));
    }
    if !removed.is_empty() {
        parts.push(format!("no longer on {}", list(&removed)));
    }
    if parts.is_empty() {
        parts.push("actions, effect or conditions changed".to_owned());
    }
    format!("`{}`: {}", sid(new).unwrap_or_default(), parts.join("; "))
}

/// The lines of a policy change, each starting with `+` (a statement
/// added), `-` (removed) or `~` (changed under the same `Sid`), sorted by
/// that mark, then text. `None` stands for "no policy".
pub(crate) fn describe_change(old: Option<&Value>, new: Option<&Value>) -> Vec<String> {
    let (old, new) = (statements(old), statements(new));
    let old_keys: BTreeSet<String> = old.iter().map(|s| content(s)).collect();
    let new_keys: BTreeSet<String> = new.iter().map(|s| content(s)).collect();
    let gone: Vec<(usize, &Value)> = old
        .iter()
        .enumerate()
        .filter(|(_, s)| !new_keys.contains(&content(s)))
        .map(|(i, s)| (i, *s))
        .collect();
    let came: Vec<(usize, &Value)> = new
        .iter()
        .enumerate()
        .filter(|(_, s)| !old_keys.contains(&content(s)))
        .map(|(i, s)| (i, *s))
        .collect();
    let came_by_sid: BTreeMap<&str, &Value> = came.iter().filter_map(|(_, s)| sid(s).map(|k| (k, *s))).collect();
    let gone_sids: BTreeSet<&str> = gone.iter().filter_map(|(_, s)| sid(s)).collect();

    let mut lines = Vec::new();
    for (i, st) in &gone {
        match sid(st).and_then(|k| came_by_sid.get(k)) {
            Some(now) => lines.push(format!("~ {}", delta(st, now))),
            None => lines.push(format!("- {}", describe(st, *i))),
        }
    }
    for (i, st) in &came {
        if sid(st).is_some_and(|k| gone_sids.contains(k)) {
            continue;
        }
        lines.push(format!("+ {}", describe(st, *i)));
    }
    lines.sort();
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(sid: &str, principals: &[&str], db: &str) -> Value {
        json!({"Sid": sid, "Effect": "Allow",
               "Principal": {"AWS": principals},
               "Action": ["glue:GetTable"],
               "Resource": ["arn:aws:glue:eu-west-1:333333333333:catalog",
                            format!("arn:aws:glue:eu-west-1:333333333333:database/{db}"),
                            format!("arn:aws:glue:eu-west-1:333333333333:table/{db}/*")]})
    }

    fn policy(statements: Vec<Value>) -> Value {
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    #[test]
    fn renumbered_statements_are_no_change_and_real_ones_are_in_words() {
        let a = "arn:aws:iam::444444444444:root";
        let b = "arn:aws:iam::555555555555:root";
        let org = json!({"Sid": "OrgReadsOpenVersions", "Effect": "Allow", "Principal": {"AWS": "*"},
                         "Action": ["glue:GetTable"],
                         "Resource": ["arn:aws:glue:eu-west-1:333333333333:database/podcasts_episodes_v1"],
                         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}});
        let old = policy(vec![org.clone(), read("ApprovedRead1", &[a], "finance_payouts_v1")]);
        // A grant comes first and renumbers the old one; the payouts grant gains a reader.
        let new = policy(vec![
            read("ApprovedRead1", &[b], "finance_invoices_v1"),
            read("ApprovedRead2", &[a], "finance_payouts_v1"),
        ]);
        assert_eq!(
            describe_change(Some(&old), Some(&new)),
            vec![
                "+ `ApprovedRead1`: grants arn:aws:iam::555555555555:root on database finance_invoices_v1".to_owned(),
                "- `OrgReadsOpenVersions`: grants the organisation `o-a1b2c3d4e5` on database podcasts_episodes_v1"
                    .to_owned(),
            ]
        );
        let wider = policy(vec![org.clone(), read("ApprovedRead1", &[a, b], "finance_payouts_v1")]);
        assert_eq!(
            describe_change(Some(&old), Some(&wider)),
            vec!["~ `ApprovedRead1`: now also grants arn:aws:iam::555555555555:root".to_owned()]
        );
        assert_eq!(describe_change(Some(&old), Some(&old)), Vec::<String>::new());
        assert_eq!(describe_change(Some(&old), None).len(), 2);
        assert!(describe_change(None, Some(&new)).iter().all(|l| l.starts_with("+ ")));
        // Not a policy at all: nothing to describe, and no panic.
        assert_eq!(
            describe_change(Some(&json!("x")), Some(&json!([1]))),
            Vec::<String>::new()
        );
    }
}
