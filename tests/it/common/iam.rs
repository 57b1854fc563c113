//! A small evaluator of the IAM policy statements meshsynth generates.
//!
//! It answers "is this request allowed?" the way AWS does for the parts of the
//! policy language the rendered templates use: principals (`*`, `{"AWS": …}`
//! with an account root, an account id or a role ARN), `Allow`/`Deny` (an
//! explicit deny always wins), `Action` and `Resource` with `*`/`?` wildcards,
//! and the condition operators `StringEquals`, `StringLike`, `ArnLike`,
//! `ArnNotLike` and `Bool`. Across accounts both the identity policy and the
//! resource policy must allow; within one account either does, except that a
//! resource policy naming only the account root delegates to IAM (it allows
//! nothing on its own). KMS always needs the key policy: its account-root
//! statement delegates to the identity policies of that account.
//!
//! Anything it does not understand (an operator, an element, a principal type)
//! fails the test loudly, so a blueprint that starts using more of the policy
//! language is noticed rather than misjudged. Not modelled: `NotAction`,
//! `NotResource`, `NotPrincipal`, `...IfExists`, permission boundaries, SCPs,
//! session policies, ACLs.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;

use serde_json::Value;

/// Who asks: a principal's ARN, its account, and its identity policies.
#[derive(Debug, Clone)]
pub struct Principal {
    pub arn: String,
    pub account: String,
    /// Every identity policy document attached to it (inline, managed, permission set).
    pub policies: Vec<Value>,
}

/// One API call to judge.
#[derive(Debug, Clone)]
pub struct Request {
    pub action: String,
    pub resource: String,
    /// The account that owns the resource.
    pub resource_account: String,
    /// Request context keys other than `aws:PrincipalArn` (which comes from the principal).
    pub context: BTreeMap<String, String>,
}

impl Request {
    pub fn new(action: &str, resource: &str, resource_account: &str) -> Request {
        Request {
            action: action.to_owned(),
            resource: resource.to_owned(),
            resource_account: resource_account.to_owned(),
            context: BTreeMap::new(),
        }
    }

    pub fn with(mut self, key: &str, value: &str) -> Request {
        self.context.insert(key.to_owned(), value.to_owned());
        self
    }
}

/// What one statement (or a set of them) says about a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verdict {
    /// A matching `Deny`.
    pub deny: bool,
    /// A matching `Allow` whose principal is `*` or the principal itself.
    pub allow_direct: bool,
    /// A matching `Allow` whose principal is only the principal's account (root or id).
    pub allow_account: bool,
}

impl Verdict {
    fn merge(&mut self, other: Verdict) {
        self.deny |= other.deny;
        self.allow_direct |= other.allow_direct;
        self.allow_account |= other.allow_account;
    }

    fn allows(&self) -> bool {
        self.allow_direct || self.allow_account
    }
}

/// How a statement's `Principal` matches a principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PrincipalMatch {
    No,
    /// `*`, or the principal's own ARN.
    Direct,
    /// The principal's account (`arn:aws:iam::<account>:root` or the bare id).
    Account,
}

/// Glob match with `*` (any run, possibly empty) and `?` (one character).
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// ARN match as `ArnLike` does it: the six colon-separated parts are matched one by one
/// (a wildcard in the service part does not reach into the region), the resource part
/// (which may itself hold colons) as a whole. Non-ARNs never match.
pub fn arn_like(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    p.len() == 6 && a.len() == 6 && p.iter().zip(&a).all(|(p, a)| glob(p, a))
}

/// A policy element that may be one string or a list of them.
fn strings(v: &Value, what: &str) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Bool(b) => vec![b.to_string()],
        Value::Array(a) => a.iter().flat_map(|x| strings(x, what)).collect(),
        other => panic!("the evaluator does not understand {what} {other}"),
    }
}

fn action_matches(st: &Value, action: &str) -> bool {
    assert!(
        st.get("NotAction").is_none(),
        "the evaluator does not model NotAction: {st}"
    );
    let Some(actions) = st.get("Action") else {
        panic!("a statement without Action: {st}")
    };
    // Action names are case-insensitive.
    let action = action.to_ascii_lowercase();
    strings(actions, "Action")
        .iter()
        .any(|a| glob(&a.to_ascii_lowercase(), &action))
}

fn resource_matches(st: &Value, resource: &str) -> bool {
    assert!(
        st.get("NotResource").is_none(),
        "the evaluator does not model NotResource: {st}"
    );
    let Some(resources) = st.get("Resource") else {
        panic!("a statement without Resource: {st}")
    };
    strings(resources, "Resource")
        .iter()
        .any(|r| r == "*" || glob(r, resource))
}

fn principal_matches(st: &Value, p: &Principal) -> PrincipalMatch {
    assert!(
        st.get("NotPrincipal").is_none(),
        "the evaluator does not model NotPrincipal: {st}"
    );
    let Some(principal) = st.get("Principal") else {
        panic!("a resource policy statement without Principal: {st}")
    };
    let aws = match principal {
        Value::String(s) if s == "*" => return PrincipalMatch::Direct,
        Value::Object(map) => {
            let mut aws = None;
            for (kind, v) in map {
                match kind.as_str() {
                    "AWS" => aws = Some(strings(v, "Principal")),
                    // Service principals are never one of the principals tried here.
                    "Service" | "Federated" | "CanonicalUser" => {}
                    other => panic!("the evaluator does not understand principal type {other}"),
                }
            }
            aws.unwrap_or_default()
        }
        other => panic!("the evaluator does not understand Principal {other}"),
    };
    let mut best = PrincipalMatch::No;
    for a in aws {
        if a == "*" || a == p.arn {
            return PrincipalMatch::Direct;
        }
        if a == p.account || a == format!("arn:aws:iam::{}:root", p.account) {
            best = PrincipalMatch::Account;
        }
    }
    best
}

/// Whether a statement's `Condition` holds for the request (every operator, every key).
fn conditions_hold(st: &Value, p: &Principal, r: &Request) -> bool {
    let Some(cond) = st.get("Condition") else {
        return true;
    };
    let Value::Object(ops) = cond else {
        panic!("the evaluator does not understand Condition {cond}")
    };
    let lookup = |key: &str| -> Option<String> {
        if key == "aws:PrincipalArn" {
            Some(p.arn.clone())
        } else if key == "aws:PrincipalAccount" {
            Some(p.account.clone())
        } else {
            r.context.get(key).cloned()
        }
    };
    for (op, keys) in ops {
        let Value::Object(keys) = keys else {
            panic!("the evaluator does not understand condition {op}: {keys}")
        };
        for (key, values) in keys {
            let values = strings(values, "condition value");
            let actual = lookup(key);
            let holds = match op.as_str() {
                "StringEquals" => actual.is_some_and(|a| values.contains(&a)),
                "StringLike" => actual.is_some_and(|a| values.iter().any(|v| glob(v, &a))),
                "ArnLike" | "ArnEquals" => actual.is_some_and(|a| values.iter().any(|v| arn_like(v, &a))),
                // Negated operators hold when the key is absent.
                "ArnNotLike" | "ArnNotEquals" => actual.is_none_or(|a| !values.iter().any(|v| arn_like(v, &a))),
                "Bool" => actual.is_some_and(|a| values.iter().any(|v| v.eq_ignore_ascii_case(&a))),
                other => panic!("the evaluator does not understand condition operator {other}"),
            };
            if !holds {
                return false;
            }
        }
    }
    true
}

fn statements(doc: &Value) -> Vec<&Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        other => panic!("a policy document without statements: {other:?}"),
    }
}

fn effect(st: &Value) -> bool {
    match st.get("Effect").and_then(Value::as_str) {
        Some("Allow") => true,
        Some("Deny") => false,
        other => panic!("the evaluator does not understand Effect {other:?}"),
    }
}

/// What identity policies say about a request (no `Principal` element).
pub fn identity_verdict(p: &Principal, r: &Request) -> Verdict {
    let mut v = Verdict::default();
    for doc in &p.policies {
        for st in statements(doc) {
            assert!(
                st.get("Principal").is_none(),
                "an identity policy statement with a Principal: {st}"
            );
            if action_matches(st, &r.action) && resource_matches(st, &r.resource) && conditions_hold(st, p, r) {
                if effect(st) {
                    v.allow_direct = true;
                } else {
                    v.deny = true;
                }
            }
        }
    }
    v
}

/// What a resource policy says about a request.
pub fn resource_verdict(policy: &Value, p: &Principal, r: &Request) -> Verdict {
    let mut v = Verdict::default();
    for st in statements(policy) {
        let m = principal_matches(st, p);
        if m == PrincipalMatch::No
            || !action_matches(st, &r.action)
            || !resource_matches(st, &r.resource)
            || !conditions_hold(st, p, r)
        {
            continue;
        }
        let mut one = Verdict::default();
        match (effect(st), m) {
            (false, _) => one.deny = true,
            (true, PrincipalMatch::Direct) => one.allow_direct = true,
            (true, _) => one.allow_account = true,
        }
        v.merge(one);
    }
    v
}

/// S3, Glue and the like: an optional resource policy beside the identity policies.
///
/// Same account: the identity policy or a resource policy statement naming the principal
/// (or `*`) allows; one naming only the account root delegates to IAM. Across accounts:
/// both must allow. An explicit deny anywhere wins.
pub fn allowed(p: &Principal, r: &Request, resource_policy: Option<&Value>) -> bool {
    let id = identity_verdict(p, r);
    let res = resource_policy
        .map(|doc| resource_verdict(doc, p, r))
        .unwrap_or_default();
    if id.deny || res.deny {
        return false;
    }
    if p.account == r.resource_account {
        id.allows() || res.allow_direct
    } else {
        id.allows() && res.allows()
    }
}

/// KMS: the key policy decides. A statement naming the principal (or `*`) allows on its
/// own in the key's account and with an identity allow across accounts; one naming the
/// principal's account root allows only with an identity allow. A deny anywhere wins.
pub fn kms_allowed(p: &Principal, r: &Request, key_policy: &Value) -> bool {
    let id = identity_verdict(p, r);
    let key = resource_verdict(key_policy, p, r);
    if id.deny || key.deny {
        return false;
    }
    if p.account == r.resource_account && key.allow_direct {
        return true;
    }
    key.allows() && id.allows()
}
