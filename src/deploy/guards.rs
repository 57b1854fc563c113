//! CloudFormation's own guards on the data, so that not only meshsynth
//! protects it: a hand-run `delete-stack` or an update from another tool
//! cannot delete or replace a bucket, key or Glue database either.
//!
//! - Every stack holding stateful resources (S3 buckets, KMS keys, Glue
//!   databases and tables: `change::is_stateful`) gets a **stack policy**
//!   that denies `Update:Replace` and `Update:Delete` on resources of those
//!   types and allows every other update. It names types, not logical ids,
//!   so its size does not grow with the stack (a stack policy holds at most
//!   16 KB) and a resource added later is covered at once.
//! - The same stacks get **termination protection**.
//!
//! `deploy` sets both after every stack it creates or updates, and on a
//! deployed stack that holds data without protection (a stack deployed
//! before meshsynth set guards gets them on the next deploy). For an update
//! with destructive changes that were allowed (`--allow-destructive`), a
//! temporary policy lifts exactly those logical ids for the update, and the
//! protective policy is put back afterwards; protection is turned off only
//! for a stack whose deletion was allowed. Pure: documents only.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::change::is_stateful;

/// The resource types a stack policy protects (`change::is_stateful`).
const STATEFUL_TYPES: [&str; 4] = [
    "AWS::Glue::Database",
    "AWS::Glue::Table",
    "AWS::KMS::Key",
    "AWS::S3::Bucket",
];

/// Whether a template holds a stateful resource (and so gets the guards).
pub(crate) fn holds_data(template: &Value) -> bool {
    template.get("Resources").and_then(Value::as_object).is_some_and(|r| {
        r.values()
            .any(|res| res.get("Type").and_then(Value::as_str).is_some_and(is_stateful))
    })
}

/// The stack policy: every update allowed, except replacing or deleting a
/// stateful resource, unless its logical id is in `lifted`.
pub(crate) fn stack_policy(lifted: &BTreeSet<String>) -> String {
    let mut deny = json!({
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["Update:Replace", "Update:Delete"],
        "Condition": {"StringEquals": {"ResourceType": STATEFUL_TYPES}},
    });
    if lifted.is_empty() {
        deny["Resource"] = json!("*");
    } else {
        deny["NotResource"] = json!(lifted
            .iter()
            .map(|id| format!("LogicalResourceId/{id}"))
            .collect::<Vec<_>>());
    }
    json!({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "Update:*", "Resource": "*"},
        deny,
    ]})
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_protects_stateful_types_and_lifts_only_what_was_allowed() {
        assert!(STATEFUL_TYPES.iter().all(|t| is_stateful(t)));
        let protective: Value = serde_json::from_str(&stack_policy(&BTreeSet::new())).expect("JSON");
        assert_eq!(
            protective["Statement"][1],
            json!({"Effect": "Deny", "Principal": "*", "Action": ["Update:Replace", "Update:Delete"],
                   "Resource": "*",
                   "Condition": {"StringEquals": {"ResourceType":
                       ["AWS::Glue::Database", "AWS::Glue::Table", "AWS::KMS::Key", "AWS::S3::Bucket"]}}})
        );
        let lifted: BTreeSet<String> = ["GlueDbA".to_owned(), "GlueTableA".to_owned()].into();
        let temporary: Value = serde_json::from_str(&stack_policy(&lifted)).expect("JSON");
        assert_eq!(
            temporary["Statement"][1]["NotResource"],
            json!(["LogicalResourceId/GlueDbA", "LogicalResourceId/GlueTableA"])
        );
        assert!(temporary["Statement"][1].get("Resource").is_none());
        assert!(holds_data(&json!({"Resources": {"B": {"Type": "AWS::S3::Bucket"}}})));
        assert!(!holds_data(&json!({"Resources": {"R": {"Type": "AWS::IAM::Role"}}})));
        assert!(!holds_data(&json!("not a template")));
    }
}
