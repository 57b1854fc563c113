//! Typed IAM policy documents: the identity policy of a reader and a role's trust policy,
//! the documents synth fits into IAM's limits (`fit.rs`) and sizes.
//!
//! A document is built once from statements and serialises as the JSON IAM reads: keys in
//! IAM's usual order (`Sid`, `Effect`, `Principal`, `Action`, `Resource`, `Condition`), absent
//! parts left out, and `Action`/`Resource` a string or a list exactly as built (a list of one
//! stays a list). Cutting a statement builds new statements from its parts
//! ([`Statement::with_list`], [`Statement::named`]) rather than editing one. Bucket, key and
//! catalog policies are never cut, so they stay `json!` values. Pure: no IO.

use std::collections::BTreeMap;

use serde::Serialize;

/// A policy document: the version and the statements, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PolicyDocument {
    #[serde(rename = "Version")]
    version: &'static str,
    #[serde(rename = "Statement")]
    pub(crate) statements: Vec<Statement>,
}

impl PolicyDocument {
    /// A document of the current policy language version.
    pub(crate) fn new(statements: Vec<Statement>) -> PolicyDocument {
        PolicyDocument {
            version: "2012-10-17",
            statements,
        }
    }
}

/// Whether a statement allows or denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub(crate) enum Effect {
    Allow,
    Deny,
}

/// A string or a list of them, serialised as built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> From<Vec<T>> for OneOrMany<T> {
    fn from(items: Vec<T>) -> Self {
        OneOrMany::Many(items)
    }
}

impl<T: Clone> From<&[T]> for OneOrMany<T> {
    fn from(items: &[T]) -> Self {
        OneOrMany::Many(items.to_vec())
    }
}

impl<T, const N: usize> From<[T; N]> for OneOrMany<T> {
    fn from(items: [T; N]) -> Self {
        OneOrMany::Many(items.into())
    }
}

impl From<&'static str> for OneOrMany<&'static str> {
    fn from(item: &'static str) -> Self {
        OneOrMany::One(item)
    }
}

impl From<String> for OneOrMany<String> {
    fn from(item: String) -> Self {
        OneOrMany::One(item)
    }
}

/// Who a resource-side statement (here: a trust policy's) applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) enum Principal {
    /// An account or role ARN: `{"AWS": "arn:aws:iam::…:root"}`.
    #[serde(rename = "AWS")]
    Aws(String),
}

/// A statement's conditions: operator → condition key → value(s). Ordered maps, so the
/// JSON is the same however the conditions were listed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Condition(BTreeMap<&'static str, BTreeMap<&'static str, OneOrMany<String>>>);

impl Condition {
    /// No condition (the statement has no `Condition` key).
    pub(crate) fn none() -> Condition {
        Condition::default()
    }

    /// The conditions `(operator, key, value)`.
    pub(crate) fn of<const N: usize>(entries: [(&'static str, &'static str, OneOrMany<String>); N]) -> Condition {
        let mut map: BTreeMap<&'static str, BTreeMap<&'static str, OneOrMany<String>>> = BTreeMap::new();
        for (op, key, value) in entries {
            map.entry(op).or_default().insert(key, value);
        }
        Condition(map)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn get(&self, op: &str, key: &str) -> Option<&OneOrMany<String>> {
        self.0.get(op)?.get(key)
    }

    /// These conditions with `value` under `op`/`key` (which must exist) instead.
    fn replacing(&self, op: &str, key: &str, value: &OneOrMany<String>) -> Condition {
        Condition(
            self.0
                .iter()
                .map(|(o, keys)| {
                    let keys = keys
                        .iter()
                        .map(|(k, v)| {
                            (
                                *k,
                                if (*o, *k) == (op, key) {
                                    value.clone()
                                } else {
                                    v.clone()
                                },
                            )
                        })
                        .collect();
                    (*o, keys)
                })
                .collect(),
        )
    }
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Statement {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sid: Option<String>,
    pub(crate) effect: Effect,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) principal: Option<Principal>,
    pub(crate) action: OneOrMany<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) resource: Option<OneOrMany<String>>,
    #[serde(skip_serializing_if = "Condition::is_empty")]
    pub(crate) condition: Condition,
}

/// A list a statement can be cut along. Both are ORs: the pieces of a statement cut along
/// one allow (or deny) together exactly what the whole did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CutList {
    /// `Resource`.
    Resource,
    /// The `s3:prefix` values of its `StringLike` condition.
    Prefix,
}

const PREFIX_AT: (&str, &str) = ("StringLike", "s3:prefix");

impl Statement {
    /// An identity-policy statement (no `Principal`) named `sid`.
    pub(crate) fn new(
        sid: &str,
        effect: Effect,
        action: impl Into<OneOrMany<&'static str>>,
        resource: impl Into<OneOrMany<String>>,
        condition: Condition,
    ) -> Statement {
        Statement {
            sid: Some(sid.to_owned()),
            effect,
            principal: None,
            action: action.into(),
            resource: Some(resource.into()),
            condition,
        }
    }

    /// The statement's Sid, if it has one.
    pub(crate) fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    /// The list `at`, when it is a list (not a single string).
    pub(crate) fn list(&self, at: CutList) -> Option<&[String]> {
        let list = match at {
            CutList::Resource => self.resource.as_ref(),
            CutList::Prefix => self.condition.get(PREFIX_AT.0, PREFIX_AT.1),
        };
        match list {
            Some(OneOrMany::Many(items)) => Some(items),
            _ => None,
        }
    }

    /// A statement like this one with `items` as its list `at` (which it must have).
    pub(crate) fn with_list(&self, at: CutList, items: Vec<String>) -> Statement {
        match at {
            CutList::Resource => Statement {
                resource: Some(OneOrMany::Many(items)),
                ..self.clone()
            },
            CutList::Prefix => Statement {
                condition: self
                    .condition
                    .replacing(PREFIX_AT.0, PREFIX_AT.1, &OneOrMany::Many(items)),
                ..self.clone()
            },
        }
    }

    /// This statement under another Sid.
    pub(crate) fn named(self, sid: String) -> Statement {
        Statement { sid: Some(sid), ..self }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn statements_serialise_as_iam_reads_them() {
        let st = Statement::new(
            "DenyOtherRestrictedListing",
            Effect::Deny,
            "s3:ListBucket",
            vec!["arn:aws:s3:::a".to_owned()],
            Condition::of([
                (
                    "StringLike",
                    "s3:prefix",
                    vec!["p/1/*".to_owned(), "p/2/*".to_owned()].into(),
                ),
                ("StringEquals", "aws:ResourceOrgID", "o-1".to_owned().into()),
            ]),
        );
        let trust = Statement {
            sid: None,
            effect: Effect::Allow,
            principal: Some(Principal::Aws("arn:aws:iam::1:root".to_owned())),
            action: "sts:AssumeRole".into(),
            resource: None,
            condition: Condition::of([("ArnLike", "aws:PrincipalArn", vec!["r".to_owned()].into())]),
        };
        let doc = PolicyDocument::new(vec![st.clone(), trust]);
        assert_eq!(
            serde_json::to_string(&doc).expect("serialises"),
            json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "DenyOtherRestrictedListing", "Effect": "Deny", "Action": "s3:ListBucket",
                 "Resource": ["arn:aws:s3:::a"],
                 "Condition": {"StringEquals": {"aws:ResourceOrgID": "o-1"},
                               "StringLike": {"s3:prefix": ["p/1/*", "p/2/*"]}}},
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "sts:AssumeRole",
                 "Condition": {"ArnLike": {"aws:PrincipalArn": ["r"]}}}
            ]})
            .to_string()
        );
        let no_condition = Statement::new("A", Effect::Allow, ["a:B", "a:C"], "*".to_owned(), Condition::none());
        assert_eq!(
            serde_json::to_string(&no_condition).expect("serialises"),
            r#"{"Sid":"A","Effect":"Allow","Action":["a:B","a:C"],"Resource":"*"}"#
        );
    }

    #[test]
    fn lists_are_read_and_replaced_in_new_statements() {
        let st = Statement::new(
            "S",
            Effect::Deny,
            "s3:ListBucket",
            vec!["a".to_owned(), "b".to_owned()],
            Condition::of([("StringLike", "s3:prefix", vec!["x".to_owned(), "y".to_owned()].into())]),
        );
        assert_eq!(st.list(CutList::Resource), Some(&["a".to_owned(), "b".to_owned()][..]));
        let piece = st.with_list(CutList::Prefix, vec!["y".to_owned()]);
        assert_eq!(piece.list(CutList::Prefix), Some(&["y".to_owned()][..]));
        assert_eq!(piece.list(CutList::Resource), st.list(CutList::Resource));
        assert_eq!(st.list(CutList::Prefix).map(<[String]>::len), Some(2));
        let piece = piece
            .with_list(CutList::Resource, vec!["b".to_owned()])
            .named("S2".to_owned());
        assert_eq!(
            (piece.sid(), piece.list(CutList::Resource)),
            (Some("S2"), Some(&["b".to_owned()][..]))
        );
        let single = Statement::new("T", Effect::Allow, "s3:GetObject", "a".to_owned(), Condition::none());
        assert_eq!(single.list(CutList::Resource), None);
        assert_eq!(single.list(CutList::Prefix), None);
    }
}
