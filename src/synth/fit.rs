//! Policy sizes: IAM's and the services' limits, and fitting a reader policy that
//! passes a role's inline limit into an inline document plus managed policies.
//!
//! IAM counts a policy's characters without whitespace, so sizes are those of the
//! compact JSON (which has no whitespace outside strings, and the names here have
//! none inside). Cutting a statement keeps what it allows or denies: its
//! `Resource` (or `s3:prefix` condition) list is an OR, so the pieces together say
//! exactly what the whole did. Pure: no IO.

use serde::Serialize;

use super::policy_doc::{CutList, PolicyDocument, Statement};

/// IAM: the inline policies of one role, together.
pub(crate) const ROLE_INLINE_MAX: usize = 10_240;
/// IAM: one customer managed policy.
pub(crate) const MANAGED_POLICY_MAX: usize = 6_144;
/// IAM: managed policies attached to one role (the default quota).
pub(crate) const MANAGED_POLICIES_PER_ROLE: usize = 10;
/// IAM Identity Center: the inline policy of a permission set.
pub(crate) const PERMISSION_SET_INLINE_MAX: usize = 32_768;
/// S3: a bucket policy (20 KB).
pub(crate) const BUCKET_POLICY_MAX: usize = 20_480;
/// Glue: a Data Catalog resource policy (`PolicyInJson`, 10 KB; deploy sends it compact).
pub(crate) const GLUE_POLICY_MAX: usize = 10_240;
/// KMS: a key policy (32 KB).
pub(crate) const KEY_POLICY_MAX: usize = 32_768;

/// The size of a policy document (or of a part of one) as IAM and the services count it.
pub(crate) fn policy_size<T: Serialize + ?Sized>(doc: &T) -> usize {
    serde_json::to_string(doc).map_or(usize::MAX, |s| s.chars().count())
}

/// A policy over a size limit: what it is, how big, the limit and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TooLarge {
    pub(crate) size: usize,
    pub(crate) limit: usize,
    /// What went over, in words (e.g. "managed policies needed").
    pub(crate) detail: String,
}

/// Checks one document (typed, or a `json!` value) against a limit.
pub(crate) fn check_size<T: Serialize + ?Sized>(doc: &T, limit: usize) -> Result<(), TooLarge> {
    let size = policy_size(doc);
    if size <= limit {
        Ok(())
    } else {
        Err(TooLarge {
            size,
            limit,
            detail: format!("{size} characters of policy, over the limit of {limit}"),
        })
    }
}

/// Statements of a reader policy that name product versions one by one: the ones that grow with
/// the org, and the ones moved into managed policies when a role's inline policy is too big.
const BY_NAME_SIDS: &[&str] = &[
    "ReadRestrictedData",
    "ReadRestrictedTables",
    "DenyOtherRestrictedData",
    "DenyOtherRestrictedListing",
    "DenyOtherRestrictedTables",
];

/// A role's policies: one inline document and the documents of the managed policies to attach.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RolePolicies {
    pub(crate) inline: PolicyDocument,
    pub(crate) managed: Vec<PolicyDocument>,
}

/// The list a statement can be cut along: `Resource`, or the `s3:prefix` values of its
/// `StringLike` condition, whichever is bigger (a list of more than one item). Both are ORs,
/// so the union of the pieces allows (or denies) exactly what the whole did.
fn split_list(st: &Statement) -> Option<CutList> {
    let at = |list: CutList| -> Option<usize> {
        let items = st.list(list)?;
        (items.len() > 1).then(|| policy_size(items))
    };
    match (at(CutList::Resource), at(CutList::Prefix)) {
        (Some(r), Some(p)) => Some(if p > r { CutList::Prefix } else { CutList::Resource }),
        (Some(_), None) => Some(CutList::Resource),
        (None, Some(_)) => Some(CutList::Prefix),
        (None, None) => None,
    }
}

/// Cuts a statement into pieces of at most `budget` characters along its longest list, filling
/// each piece in list order (deterministic), again along the other list where one item still
/// leaves a piece too big. Pieces are named `<Sid>1`, `<Sid>2`, …; a statement that fits, or
/// cannot be cut, comes back whole.
fn cut_statement(st: Statement, budget: usize) -> Vec<Statement> {
    if policy_size(&st) <= budget {
        return vec![st];
    }
    let sid = st.sid().map(str::to_owned);
    let pieces = cut(st, budget);
    match sid {
        Some(sid) if pieces.len() > 1 => pieces
            .into_iter()
            .enumerate()
            .map(|(i, piece)| piece.named(format!("{sid}{}", i + 1)))
            .collect(),
        _ => pieces,
    }
}

/// The pieces of a statement (each keeping its Sid), sized with that Sid.
fn cut(st: Statement, budget: usize) -> Vec<Statement> {
    if policy_size(&st) <= budget {
        return vec![st];
    }
    let Some(at) = split_list(&st) else {
        return vec![st];
    };
    let items = st.list(at).map(<[String]>::to_vec).unwrap_or_default();
    let base = policy_size(&st.with_list(at, Vec::new()));
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut size = base;
    for item in items {
        // The item and its comma (one too many: the estimate errs on the safe side).
        let cost = policy_size(&item) + 1;
        if !current.is_empty() && size + cost > budget {
            groups.push(std::mem::take(&mut current));
            size = base;
        }
        current.push(item);
        size += cost;
    }
    groups.push(current);
    groups
        .into_iter()
        .flat_map(|items| {
            let single = items.len() == 1;
            let piece = st.with_list(at, items);
            // A single item here: only the other list can make the piece smaller.
            if single && policy_size(&piece) > budget {
                cut(piece, budget)
            } else {
                vec![piece]
            }
        })
        .collect()
}

/// Fits a reader policy into IAM's limits for a role: the whole document inline when it fits
/// (10,240 characters); otherwise the statements that name versions one by one move into
/// managed policies (6,144 characters each, at most 10 per role), cut along their lists and
/// packed in order, and the rest stays inline. Deterministic: the same policy gives the same
/// documents. An error says which limit would still be passed.
pub(crate) fn fit_role_policies(policy: PolicyDocument) -> Result<RolePolicies, TooLarge> {
    let size = policy_size(&policy);
    if size <= ROLE_INLINE_MAX {
        return Ok(RolePolicies {
            inline: policy,
            managed: Vec::new(),
        });
    }
    let (moved, kept): (Vec<Statement>, Vec<Statement>) = policy
        .statements
        .into_iter()
        .partition(|s| s.sid().is_some_and(|sid| BY_NAME_SIDS.contains(&sid)));
    let inline = PolicyDocument::new(kept);
    let inline_size = policy_size(&inline);
    if inline_size > ROLE_INLINE_MAX {
        return Err(TooLarge {
            size: inline_size,
            limit: ROLE_INLINE_MAX,
            detail: format!(
                "{inline_size} characters of inline policy besides the statements that name versions, \
                 over IAM's limit of {ROLE_INLINE_MAX} for a role"
            ),
        });
    }
    let empty = policy_size(&PolicyDocument::new(Vec::new()));
    let budget = MANAGED_POLICY_MAX - empty;
    let mut docs: Vec<Vec<Statement>> = Vec::new();
    let mut used = budget; // forces a first document
    for st in moved.into_iter().flat_map(|s| cut_statement(s, budget)) {
        let cost = policy_size(&st) + 1;
        if cost - 1 > budget {
            return Err(TooLarge {
                size: cost - 1 + empty,
                limit: MANAGED_POLICY_MAX,
                detail: format!(
                    "a statement of {} characters that cannot be cut below IAM's limit of {MANAGED_POLICY_MAX} \
                     for a managed policy",
                    cost - 1 + empty
                ),
            });
        }
        if used + cost > budget {
            docs.push(Vec::new());
            used = 0;
        }
        docs.last_mut().expect("a document").push(st);
        used += cost;
    }
    if docs.len() > MANAGED_POLICIES_PER_ROLE {
        return Err(TooLarge {
            size,
            limit: MANAGED_POLICIES_PER_ROLE,
            detail: format!(
                "{size} characters of policy: {} managed policies of {MANAGED_POLICY_MAX} characters, \
                 over IAM's limit of {MANAGED_POLICIES_PER_ROLE} per role (and {ROLE_INLINE_MAX} inline)",
                docs.len()
            ),
        });
    }
    Ok(RolePolicies {
        inline,
        managed: docs.into_iter().map(PolicyDocument::new).collect(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::json;

    use super::*;
    use crate::synth::policy_doc::{Condition, Effect, OneOrMany};

    fn arns(prefix: &str, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("arn:aws:s3:::acast-{i:012}-eu-west-1-mesh/{prefix}/product-{i:05}/v1/*"))
            .collect()
    }

    fn prefixes(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("denied/product-{i:05}/v1/*")).collect()
    }

    /// The statements of a reader policy: fixed ones, then by-name lists of `n` versions each.
    fn reader_statements(n: usize) -> Vec<Statement> {
        vec![
            Statement::new(
                "RunQueries",
                Effect::Allow,
                "athena:StartQueryExecution",
                "arn:aws:athena:eu-west-1:1:workgroup/mesh".to_owned(),
                Condition::none(),
            ),
            Statement::new(
                "ReadOrgData",
                Effect::Allow,
                "s3:GetObject",
                "arn:aws:s3:::acast-*-eu-west-1-mesh/*".to_owned(),
                Condition::none(),
            ),
            Statement::new(
                "ReadRestrictedData",
                Effect::Allow,
                "s3:GetObject",
                arns("allowed", n),
                Condition::none(),
            ),
            Statement::new(
                "DenyOtherRestrictedData",
                Effect::Deny,
                "s3:GetObject",
                arns("denied", n),
                Condition::none(),
            ),
            Statement::new(
                "DenyOtherRestrictedListing",
                Effect::Deny,
                "s3:ListBucket",
                vec!["arn:aws:s3:::acast-000000000001-eu-west-1-mesh".to_owned()],
                Condition::of([("StringLike", "s3:prefix", prefixes(n).into())]),
            ),
        ]
    }

    fn reader(n: usize) -> PolicyDocument {
        PolicyDocument::new(reader_statements(n))
    }

    fn items(list: Option<&OneOrMany<String>>) -> Vec<String> {
        match list {
            Some(OneOrMany::Many(a)) => a.clone(),
            Some(OneOrMany::One(r)) => vec![r.clone()],
            None => vec![String::new()],
        }
    }

    /// Every (Sid-less) statement of the documents, with its lists flattened: what they allow or deny.
    fn coverage(docs: &[&PolicyDocument]) -> BTreeSet<(Effect, String, String)> {
        let mut out = BTreeSet::new();
        for d in docs {
            for s in &d.statements {
                let resources = items(s.resource.as_ref());
                let prefixes = match s.list(CutList::Prefix) {
                    Some(p) => p.to_vec(),
                    None => vec![String::new()],
                };
                for r in &resources {
                    for p in &prefixes {
                        out.insert((s.effect, r.clone(), p.clone()));
                    }
                }
            }
        }
        out
    }

    #[test]
    fn a_policy_that_fits_stays_inline_untouched() {
        let doc = reader(3);
        let fitted = fit_role_policies(doc.clone()).expect("fits");
        assert_eq!(fitted.inline, doc);
        assert!(fitted.managed.is_empty());
    }

    #[test]
    fn a_big_policy_moves_its_by_name_statements_into_managed_policies_within_the_limits() {
        let doc = reader(60);
        assert!(policy_size(&doc) > ROLE_INLINE_MAX, "{}", policy_size(&doc));
        let fitted = fit_role_policies(doc.clone()).expect("fits with managed policies");
        assert!(policy_size(&fitted.inline) <= ROLE_INLINE_MAX);
        let sids: Vec<&str> = fitted.inline.statements.iter().filter_map(Statement::sid).collect();
        assert_eq!(sids, ["RunQueries", "ReadOrgData"]);
        assert!(fitted.managed.len() >= 2 && fitted.managed.len() <= MANAGED_POLICIES_PER_ROLE);
        for m in &fitted.managed {
            assert!(policy_size(m) <= MANAGED_POLICY_MAX, "{}", policy_size(m));
        }
        // Together they allow and deny exactly what the whole policy did.
        let mut all: Vec<&PolicyDocument> = vec![&fitted.inline];
        all.extend(&fitted.managed);
        assert_eq!(coverage(&all), coverage(&[&doc]));
        // Sids stay unique.
        let mut seen = BTreeSet::new();
        for d in &all {
            for s in &d.statements {
                assert!(seen.insert(s.sid().expect("sid").to_owned()), "{s:?}");
            }
        }
        // Deterministic.
        assert_eq!(fit_role_policies(doc).expect("fits"), fitted);
    }

    /// Where the cuts fall, pinned: these are the pieces (and sizes) the `serde_json::Value`
    /// version of this file made before policies were typed, so a deployed role keeps its
    /// managed policies exactly.
    #[test]
    fn cuts_fall_where_they_always_did() {
        let fitted = fit_role_policies(reader(150)).expect("fits with managed policies");
        assert_eq!(policy_size(&fitted.inline), 283);
        let pieces: Vec<(usize, Vec<(&str, usize)>)> = fitted
            .managed
            .iter()
            .map(|d| {
                let sts = d
                    .statements
                    .iter()
                    .map(|s| (s.sid().unwrap_or(""), policy_size(s)))
                    .collect();
                (policy_size(d), sts)
            })
            .collect();
        assert_eq!(
            pieces,
            [
                (6126, vec![("ReadRestrictedData1", 6087)]),
                (5518, vec![("ReadRestrictedData2", 5479)]),
                (6126, vec![("DenyOtherRestrictedData1", 6087)]),
                (5376, vec![("DenyOtherRestrictedData2", 5337)]),
                (4421, vec![("DenyOtherRestrictedListing", 4382)]),
            ]
        );
    }

    #[test]
    fn a_policy_past_ten_managed_policies_is_an_error() {
        let err = fit_role_policies(reader(400)).expect_err("too big for any role");
        assert_eq!(err.limit, MANAGED_POLICIES_PER_ROLE);
        assert!(err.detail.contains("over IAM's limit of 10 per role"), "{}", err.detail);
    }

    #[test]
    fn fixed_statements_past_the_inline_limit_are_an_error() {
        let mut statements = reader_statements(1);
        statements.push(Statement::new(
            "Huge",
            Effect::Allow,
            "s3:GetObject",
            arns("x", 200),
            Condition::none(),
        ));
        let err = fit_role_policies(PolicyDocument::new(statements)).expect_err("cannot move unnamed statements");
        assert_eq!(err.limit, ROLE_INLINE_MAX);
    }

    #[test]
    fn a_statement_is_cut_along_its_longest_list_then_the_other() {
        let st = Statement::new(
            "DenyOtherRestrictedListing",
            Effect::Deny,
            "s3:ListBucket",
            vec!["arn:aws:s3:::a".to_owned(), "arn:aws:s3:::b".to_owned()],
            Condition::of([(
                "StringLike",
                "s3:prefix",
                (0..300).map(|i| format!("p/{i:05}/*")).collect::<Vec<_>>().into(),
            )]),
        );
        let pieces = cut_statement(st.clone(), 1_000);
        assert!(pieces.len() > 3);
        for p in &pieces {
            assert!(policy_size(p) <= 1_000);
        }
        assert_eq!(pieces[0].sid(), Some("DenyOtherRestrictedListing1"));
        let whole = PolicyDocument::new(vec![st]);
        let docs: Vec<PolicyDocument> = pieces.iter().map(|p| PolicyDocument::new(vec![p.clone()])).collect();
        let doc_refs: Vec<&PolicyDocument> = docs.iter().collect();
        assert_eq!(coverage(&doc_refs), coverage(&[&whole]));
    }

    #[test]
    fn size_checks_count_compact_json() {
        let doc = json!({"Version": "2012-10-17", "Statement": []});
        assert_eq!(policy_size(&doc), r#"{"Statement":[],"Version":"2012-10-17"}"#.len());
        assert_eq!(policy_size(&PolicyDocument::new(Vec::new())), policy_size(&doc));
        assert!(check_size(&doc, 100).is_ok());
        let err = check_size(&doc, 10).expect_err("over");
        assert_eq!((err.size, err.limit), (policy_size(&doc), 10));
        assert!(err.detail.contains("over the limit of 10"), "{}", err.detail);
        let big = PolicyDocument::new(vec![Statement {
            sid: None,
            ..Statement::new("", Effect::Allow, "s3:GetObject", arns("b", 300), Condition::none())
        }]);
        assert!(check_size(&big, BUCKET_POLICY_MAX).is_err());
        assert!(check_size(&big, GLUE_POLICY_MAX).is_err());
    }
}
