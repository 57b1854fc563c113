//! Decided exceptions to the compliance rules the templates are checked against:
//! AWS's Guard Rules Registry (`cfn-guard`) and checkov (`scripts/compliance`).
//!
//! This is the one list of every suppression and its reason. A blueprint marks a
//! resource with `{{compliance "<kind>" …}}`; the helper writes that kind's
//! suppressions into the resource's `Metadata` (`guard: SuppressedRules` with
//! the reasons beside them, `checkov: skip` with a comment each), and only those
//! whose premise holds for the resource: a wildcard-principal rule is suppressed
//! on a policy only when every `*` it allows is narrowed to the organisation,
//! so a policy that grants `*` without `aws:PrincipalOrgID` is still reported.
//! A resource added later needs a kind here (or an existing one) and the mark
//! in its blueprint. The README's "Compliance" section lists the same table.
//! Pure: no IO.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// The scanner a rule belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tool {
    /// A rule of the Guard Rules Registry, suppressed in `Metadata.guard.SuppressedRules`.
    Guard,
    /// A checkov check, suppressed in `Metadata.checkov.skip`.
    Checkov,
}

/// When a suppression applies to a marked resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum When {
    Always,
    /// The named argument is `false` (e.g. `logged=@root.access_logs`).
    Not(&'static str),
    /// The named argument is a policy document that allows principal `*`, and only with an
    /// `aws:PrincipalOrgID` condition.
    OrgWide(&'static str),
    /// The named argument is a policy document that allows resource `*`, and only for actions
    /// IAM cannot scope to a resource ([`UNSCOPABLE`]).
    UnscopableWildcard(&'static str),
}

/// Actions that take no resource-level permissions in IAM, so their statements must name `*`.
pub(crate) const UNSCOPABLE: &[&str] = &["lakeformation:GetDataAccess"];

/// One decided exception.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Suppression {
    pub(crate) kind: &'static str,
    pub(crate) tool: Tool,
    pub(crate) rule: &'static str,
    pub(crate) when: When,
    pub(crate) reason: &'static str,
}

const LOCK: &str = "Object Lock is an org's choice (it makes data undeletable); a blueprint override turns it on";
const REPLICATION: &str =
    "replication is an org's choice (a second bucket and its cost); a blueprint override turns it on";
const ACL: &str = "ACLs are disabled (BucketOwnerEnforced) and every public access block is on";
const UNLOGGED: &str = "the org turned server access logging off (org.access_logs: false)";
const LOG_BUCKET: &str = "this is the access-log bucket: logging it into itself would log every delivery";
const ORG_WIDE: &str = "open data is readable by the organisation: principal * only with aws:PrincipalOrgID";
const NAMED_ROLE: &str = "stable physical names are a contract: trust policies and permission sets name this role";
const INLINE_POLICY: &str =
    "the read policy belongs to this role alone; past IAM's inline limit it overflows into managed policies";
const NAMED_ALARM: &str = "stable physical names are a contract: runbooks and consumers find a version's alarm by name";
const UNSCOPABLE_ACTION: &str = "lakeformation:GetDataAccess takes no resource-level permissions: IAM needs resource *";

/// Every suppression, by kind. Kinds: `bucket` (data and staging buckets, `logged=`),
/// `log-bucket`, `bucket-policy` (`policy=`), `key` (`policy=`), `role` (named roles),
/// `reader-role` (named reader roles, `policy=` their inline policy).
#[rustfmt::skip]
pub(crate) const SUPPRESSIONS: &[Suppression] = &[
    s("bucket", Tool::Guard, "S3_BUCKET_DEFAULT_LOCK_ENABLED", When::Always, LOCK),
    s("bucket", Tool::Guard, "S3_BUCKET_REPLICATION_ENABLED", When::Always, REPLICATION),
    s("bucket", Tool::Guard, "S3_BUCKET_NO_PUBLIC_RW_ACL", When::Always, ACL),
    s("bucket", Tool::Guard, "S3_BUCKET_LOGGING_ENABLED", When::Not("logged"), UNLOGGED),
    s("bucket", Tool::Checkov, "CKV_AWS_18", When::Not("logged"), UNLOGGED),
    s("log-bucket", Tool::Guard, "S3_BUCKET_DEFAULT_LOCK_ENABLED", When::Always, LOCK),
    s("log-bucket", Tool::Guard, "S3_BUCKET_REPLICATION_ENABLED", When::Always, REPLICATION),
    s("log-bucket", Tool::Guard, "S3_BUCKET_NO_PUBLIC_RW_ACL", When::Always, ACL),
    s("log-bucket", Tool::Guard, "S3_BUCKET_LOGGING_ENABLED", When::Always, LOG_BUCKET),
    s("log-bucket", Tool::Checkov, "CKV_AWS_18", When::Always, LOG_BUCKET),
    s("bucket-policy", Tool::Guard, "S3_BUCKET_POLICY_NO_WILDCARD_PRINCIPAL", When::OrgWide("policy"), ORG_WIDE),
    s("key", Tool::Guard, "KMS_NO_WILDCARD_PRINCIPAL", When::OrgWide("policy"), ORG_WIDE),
    s("key", Tool::Checkov, "CKV_AWS_33", When::OrgWide("policy"), ORG_WIDE),
    s("role", Tool::Guard, "CFN_NO_EXPLICIT_RESOURCE_NAMES", When::Always, NAMED_ROLE),
    s("role", Tool::Guard, "IAM_NO_INLINE_POLICY_CHECK", When::Always, INLINE_POLICY),
    s("reader-role", Tool::Guard, "CFN_NO_EXPLICIT_RESOURCE_NAMES", When::Always, NAMED_ROLE),
    s("reader-role", Tool::Guard, "IAM_NO_INLINE_POLICY_CHECK", When::Always, INLINE_POLICY),
    s("reader-role", Tool::Guard, "IAM_POLICYDOCUMENT_NO_WILDCARD_RESOURCE", When::UnscopableWildcard("policy"), UNSCOPABLE_ACTION),
    s("alarm", Tool::Guard, "CFN_NO_EXPLICIT_RESOURCE_NAMES", When::Always, NAMED_ALARM),
];

const fn s(kind: &'static str, tool: Tool, rule: &'static str, when: When, reason: &'static str) -> Suppression {
    Suppression {
        kind,
        tool,
        rule,
        when,
        reason,
    }
}

/// Why a kind's suppressions cannot be decided.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ComplianceError {
    #[error("unknown compliance kind `{kind}` (known: {known})")]
    UnknownKind { kind: String, known: String },
    #[error("compliance kind `{kind}` needs the argument `{argument}`")]
    MissingArgument { kind: String, argument: &'static str },
}

/// The suppressions of `kind` whose premise holds for a resource described by `args`.
pub(crate) fn applicable(
    kind: &str,
    args: &BTreeMap<&str, &Value>,
) -> Result<Vec<&'static Suppression>, ComplianceError> {
    let of_kind: Vec<&Suppression> = SUPPRESSIONS.iter().filter(|s| s.kind == kind).collect();
    if of_kind.is_empty() {
        let mut known: Vec<&str> = SUPPRESSIONS.iter().map(|s| s.kind).collect();
        known.sort_unstable();
        known.dedup();
        return Err(ComplianceError::UnknownKind {
            kind: kind.to_owned(),
            known: known.join(", "),
        });
    }
    let arg = |name: &'static str| {
        args.get(name).copied().ok_or(ComplianceError::MissingArgument {
            kind: kind.to_owned(),
            argument: name,
        })
    };
    let mut out = Vec::new();
    for s in of_kind {
        let holds = match s.when {
            When::Always => true,
            When::Not(name) => arg(name)? == &Value::Bool(false),
            When::OrgWide(name) => org_wide(arg(name)?),
            When::UnscopableWildcard(name) => unscopable_wildcard(arg(name)?),
        };
        if holds {
            out.push(s);
        }
    }
    Ok(out)
}

/// The `Metadata` object that suppresses `suppressions`, or `None` when there are none.
pub(crate) fn metadata(suppressions: &[&Suppression]) -> Option<Value> {
    if suppressions.is_empty() {
        return None;
    }
    let mut guard_rules = Vec::new();
    let mut guard_reasons = Map::new();
    let mut checkov = Vec::new();
    for s in suppressions {
        match s.tool {
            Tool::Guard => {
                guard_rules.push(json!(s.rule));
                guard_reasons.insert(s.rule.to_owned(), json!(s.reason));
            }
            Tool::Checkov => checkov.push(json!({"id": s.rule, "comment": s.reason})),
        }
    }
    let mut m = Map::new();
    if !checkov.is_empty() {
        m.insert("checkov".into(), json!({"skip": checkov}));
    }
    if !guard_rules.is_empty() {
        m.insert(
            "guard".into(),
            json!({"SuppressedRules": guard_rules, "Reasons": guard_reasons}),
        );
    }
    Some(Value::Object(m))
}

fn is_wildcard(principal: &Value) -> bool {
    match principal {
        Value::String(p) => p == "*",
        Value::Array(a) => a.iter().any(is_wildcard),
        Value::Object(o) => o.get("AWS").is_some_and(is_wildcard),
        _ => false,
    }
}

/// Whether a condition block narrows the principal to one organisation.
fn has_org_condition(condition: Option<&Value>) -> bool {
    let Some(Value::Object(ops)) = condition else {
        return false;
    };
    ops.iter().any(|(op, keys)| {
        op == "StringEquals"
            && keys
                .as_object()
                .is_some_and(|k| k.keys().any(|k| k.eq_ignore_ascii_case("aws:PrincipalOrgID")))
    })
}

/// The `Allow` statements of a policy document (none when it is not one).
fn allows(policy: &Value) -> Vec<&Value> {
    let statements: Vec<&Value> = match policy.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => return Vec::new(),
    };
    statements
        .into_iter()
        .filter(|st| st.get("Effect").and_then(Value::as_str) == Some("Allow"))
        .collect()
}

/// A string or a list of strings, as IAM writes `Action` and `Resource`.
fn strings(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether a policy allows principal `*`, and every such allow is narrowed to the organisation.
pub(crate) fn org_wide(policy: &Value) -> bool {
    let wildcard_allows: Vec<&Value> = allows(policy)
        .into_iter()
        .filter(|st| st.get("Principal").is_some_and(is_wildcard))
        .collect();
    !wildcard_allows.is_empty() && wildcard_allows.iter().all(|st| has_org_condition(st.get("Condition")))
}

/// Whether a policy allows resource `*`, and every such allow names only [`UNSCOPABLE`] actions.
pub(crate) fn unscopable_wildcard(policy: &Value) -> bool {
    let wildcard_allows: Vec<&Value> = allows(policy)
        .into_iter()
        .filter(|st| strings(st.get("Resource")).contains(&"*"))
        .collect();
    !wildcard_allows.is_empty()
        && wildcard_allows.iter().all(|st| {
            let actions = strings(st.get("Action"));
            !actions.is_empty() && actions.iter().all(|a| UNSCOPABLE.contains(a))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(kind: &str, args: &[(&str, Value)]) -> Vec<&'static str> {
        let args: BTreeMap<&str, &Value> = args.iter().map(|(k, v)| (*k, v)).collect();
        applicable(kind, &args)
            .expect("known kind")
            .iter()
            .map(|s| s.rule)
            .collect()
    }

    fn policy(statements: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    #[test]
    fn org_wide_needs_a_wildcard_allow_and_the_org_condition_on_every_one() {
        let org = json!({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}});
        let bare = json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject"});
        let deny = json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                          "Condition": {"Bool": {"aws:SecureTransport": false}}});
        let root = json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "kms:*"});
        assert!(org_wide(&policy(json!([deny, org, root]))));
        assert!(
            !org_wide(&policy(json!([deny, root]))),
            "no wildcard allow: nothing to suppress"
        );
        assert!(
            !org_wide(&policy(json!([org, bare]))),
            "a bare wildcard must stay reported"
        );
        assert!(!org_wide(&json!("not a policy")));
    }

    #[test]
    fn unscopable_wildcard_needs_resource_star_only_for_actions_iam_cannot_scope() {
        let lf = json!({"Effect": "Allow", "Action": "lakeformation:GetDataAccess", "Resource": "*"});
        let s3 = json!({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]});
        let broad =
            json!({"Effect": "Allow", "Action": ["s3:GetObject", "lakeformation:GetDataAccess"], "Resource": "*"});
        assert!(unscopable_wildcard(&policy(json!([lf, s3]))));
        assert!(
            !unscopable_wildcard(&policy(json!([s3]))),
            "no resource *: nothing to suppress"
        );
        assert!(
            !unscopable_wildcard(&policy(json!([lf, broad]))),
            "s3 on * must stay reported"
        );
    }

    #[test]
    fn suppressions_follow_their_premise() {
        let org = policy(json!([{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt",
                                 "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}}]));
        assert_eq!(
            rules("key", &[("policy", org)]),
            ["KMS_NO_WILDCARD_PRINCIPAL", "CKV_AWS_33"]
        );
        assert!(rules("key", &[("policy", policy(json!([])))]).is_empty());
        let logged = rules("bucket", &[("logged", json!(true))]);
        assert!(!logged.contains(&"S3_BUCKET_LOGGING_ENABLED") && !logged.contains(&"CKV_AWS_18"));
        let unlogged = rules("bucket", &[("logged", json!(false))]);
        assert!(unlogged.contains(&"S3_BUCKET_LOGGING_ENABLED") && unlogged.contains(&"CKV_AWS_18"));
    }

    #[test]
    fn unknown_kinds_and_missing_arguments_are_errors() {
        let none = BTreeMap::new();
        let err = applicable("buckets", &none).expect_err("unknown");
        assert!(
            err.to_string()
                .starts_with("unknown compliance kind `buckets` (known: alarm, bucket,"),
            "{err}"
        );
        assert_eq!(
            applicable("key", &none).expect_err("needs policy").to_string(),
            "compliance kind `key` needs the argument `policy`"
        );
    }

    #[test]
    fn metadata_holds_rules_reasons_and_comments() {
        let args = BTreeMap::from([("logged", &Value::Bool(false))]);
        let m = metadata(&applicable("bucket", &args).expect("known")).expect("some");
        assert_eq!(
            m["checkov"]["skip"][0],
            json!({"id": "CKV_AWS_18", "comment": UNLOGGED})
        );
        assert_eq!(m["guard"]["SuppressedRules"].as_array().map(Vec::len), Some(4));
        assert_eq!(m["guard"]["Reasons"]["S3_BUCKET_NO_PUBLIC_RW_ACL"], json!(ACL));
        assert_eq!(metadata(&[]), None);
    }

    /// The baseline templates of the example org, with access logs on or off.
    fn baselines(access_logs: bool) -> Vec<(String, Value)> {
        let mut t = crate::synth::example_topology();
        t.org.access_logs = access_logs;
        let mut synthesis = crate::synth::plan(&t).expect("plans");
        let bp = crate::render::Blueprints::new(None).expect("built-ins compile");
        crate::render::render(&bp, &mut synthesis)
            .expect("renders")
            .into_iter()
            .filter(|f| f.path.ends_with("/mesh-baseline.template.json"))
            .map(|f| (f.path, serde_json::from_slice(&f.bytes).expect("json")))
            .collect()
    }

    fn suppressed(resource: &Value) -> Vec<&str> {
        resource["Metadata"]["guard"]["SuppressedRules"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    #[test]
    fn buckets_log_to_the_log_bucket_under_their_own_prefix() {
        let baselines = baselines(true);
        assert!(!baselines.is_empty());
        for (path, t) in baselines {
            let account = path.split('/').next().expect("account folder");
            let r = &t["Resources"];
            assert_eq!(
                r["LogBucket"]["Properties"]["BucketName"],
                json!(format!("acast-{account}-eu-west-1-logs")),
                "{path}"
            );
            assert_eq!(r["LogBucket"]["DeletionPolicy"], json!("Retain"));
            let algorithm = &r["LogBucket"]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
                ["ServerSideEncryptionByDefault"]["SSEAlgorithm"];
            assert_eq!(algorithm, &json!("AES256"), "S3 log delivery does not write SSE-KMS");
            assert!(suppressed(&r["LogBucket"]).contains(&"S3_BUCKET_LOGGING_ENABLED"));
            for bucket in ["DataBucket", "StagingBucket"] {
                let logging = &r[bucket]["Properties"]["LoggingConfiguration"];
                assert_eq!(
                    logging["DestinationBucketName"],
                    json!({"Ref": "LogBucket"}),
                    "{path} {bucket}"
                );
                let name = r[bucket]["Properties"]["BucketName"].as_str().expect("name");
                assert_eq!(logging["LogFilePrefix"], json!(format!("{name}/")));
                assert!(!suppressed(&r[bucket]).contains(&"S3_BUCKET_LOGGING_ENABLED"));
            }
            let delivery = &r["LogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][1];
            assert_eq!(delivery["Principal"], json!({"Service": "logging.s3.amazonaws.com"}));
            assert_eq!(
                delivery["Condition"]["StringEquals"]["aws:SourceAccount"],
                json!(account)
            );
        }
    }

    #[test]
    fn without_access_logs_the_logging_rules_are_suppressed_with_the_reason() {
        for (path, t) in baselines(false) {
            let r = &t["Resources"];
            assert!(
                r.get("LogBucket").is_none() && r.get("LogBucketPolicy").is_none(),
                "{path}"
            );
            for bucket in ["DataBucket", "StagingBucket"] {
                assert!(r[bucket]["Properties"].get("LoggingConfiguration").is_none());
                assert!(
                    suppressed(&r[bucket]).contains(&"S3_BUCKET_LOGGING_ENABLED"),
                    "{path} {bucket}"
                );
                assert_eq!(r[bucket]["Metadata"]["checkov"]["skip"][0]["comment"], json!(UNLOGGED));
            }
        }
    }

    #[test]
    fn every_suppression_has_a_reason_short_enough_for_templates() {
        for s in SUPPRESSIONS {
            assert!(
                !s.reason.is_empty() && s.reason.len() <= 120,
                "{}: {}",
                s.rule,
                s.reason
            );
        }
    }
}
