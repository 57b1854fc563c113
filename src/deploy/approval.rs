//! Which destructive changes a deploy may carry out: `--allow-destructive`
//! bare allows all of them; `--allow-destructive ACCOUNT/STACK/LOGICAL_ID`
//! (repeatable) allows exactly the resources named, and `ACCOUNT/STACK`
//! allows deleting that stack with everything in it.
//!
//! A deploy with any destructive change or stack deletion that is not
//! allowed executes nothing. A value that allows nothing in the plan is
//! refused too: it is most likely a typo, and a reviewer who meant to allow
//! something must not be told it was allowed. Pure: no AWS, no printing.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use super::planned::{Plan, StackStatus};

/// One value of `--allow-destructive`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Allowed {
    pub(crate) account: String,
    pub(crate) stack: String,
    /// `None`: the whole stack (its deletion).
    pub(crate) logical_id: Option<String>,
}

impl fmt::Display for Allowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.account, self.stack)?;
        if let Some(id) = &self.logical_id {
            write!(f, "/{id}")?;
        }
        Ok(())
    }
}

impl FromStr for Allowed {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        let (account, stack, logical_id) = match parts.as_slice() {
            [a, s] => (*a, *s, None),
            [a, s, id] => (*a, *s, Some(*id)),
            _ => {
                return Err(format!(
                    "`{s}` is not ACCOUNT/STACK/LOGICAL_ID or ACCOUNT/STACK (plan prints the values to pass)"
                ))
            }
        };
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{s}`: `{account}` is not an account id (12 digits)"));
        }
        if !stack.starts_with("mesh-") {
            return Err(format!("`{s}`: `{stack}` is not a meshsynth stack (`mesh-*`)"));
        }
        if logical_id.is_some_and(|id| id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric())) {
            return Err(format!("`{s}`: the logical id must be letters and digits"));
        }
        Ok(Allowed {
            account: account.to_owned(),
            stack: stack.to_owned(),
            logical_id: logical_id.map(str::to_owned),
        })
    }
}

/// What `--allow-destructive` allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Allowance {
    /// No flag: nothing destructive.
    Nothing,
    /// The bare flag: everything.
    Everything,
    /// Exactly these.
    Only(BTreeSet<Allowed>),
}

/// Every approval the plan needs, as the exact values to pass: a stack to
/// delete as `ACCOUNT/STACK`, any other destructive change as
/// `ACCOUNT/STACK/LOGICAL_ID`. Sorted.
pub(crate) fn needed(plan: &Plan) -> Vec<Allowed> {
    let mut out = BTreeSet::new();
    for s in &plan.stacks {
        if s.status == StackStatus::Delete {
            out.insert(Allowed {
                account: s.account.clone(),
                stack: s.name.clone(),
                logical_id: None,
            });
            continue;
        }
        for c in s.changes.iter().filter(|c| c.destructive) {
            out.insert(Allowed {
                account: s.account.clone(),
                stack: s.name.clone(),
                logical_id: Some(c.logical_id.clone()),
            });
        }
    }
    out.into_iter().collect()
}

/// Why a deploy is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Destructive changes (or stack deletions) that were not allowed.
    NotAllowed { missing: Vec<Allowed>, granular: bool },
    /// Values of `--allow-destructive` that allow nothing in this plan.
    Unused(Vec<Allowed>),
}

/// Checks the plan's destructive changes against what was allowed.
pub(crate) fn check(plan: &Plan, allowance: &Allowance) -> Result<(), Refusal> {
    let needed = needed(plan);
    match allowance {
        Allowance::Everything => Ok(()),
        Allowance::Nothing if needed.is_empty() => Ok(()),
        Allowance::Nothing => Err(Refusal::NotAllowed {
            missing: needed,
            granular: false,
        }),
        Allowance::Only(allowed) => {
            let unused: Vec<Allowed> = allowed.iter().filter(|a| !needed.contains(a)).cloned().collect();
            if !unused.is_empty() {
                return Err(Refusal::Unused(unused));
            }
            let missing: Vec<Allowed> = needed.into_iter().filter(|n| !allowed.contains(n)).collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(Refusal::NotAllowed {
                    missing,
                    granular: true,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{Action, ResourceChange};
    use crate::deploy::planned::{Exec, StackPlan};

    fn stack(account: &str, name: &str, status: StackStatus, destructive: &[&str]) -> StackPlan {
        StackPlan {
            account: account.to_owned(),
            name: name.to_owned(),
            region: "eu-west-1".to_owned(),
            status,
            changes: destructive
                .iter()
                .map(|id| ResourceChange {
                    action: Action::Remove,
                    logical_id: (*id).to_owned(),
                    resource_type: "AWS::Glue::Database".to_owned(),
                    replacement: None,
                    stateful: true,
                    destructive: true,
                    properties: Vec::new(),
                })
                .collect(),
            wave: None,
            note: None,
            exec: Exec::Nothing,
            contracts: Default::default(),
        }
    }

    fn plan() -> Plan {
        Plan {
            org: "tiny".to_owned(),
            region: "eu-west-1".to_owned(),
            accounts: Default::default(),
            stacks: vec![
                stack(
                    "333333333333",
                    "mesh-products",
                    StackStatus::Update,
                    &["GlueDbA", "GlueTableA"],
                ),
                stack("555555555555", "mesh-products", StackStatus::Delete, &["GlueDbB"]),
                stack("444444444444", "mesh-consumer", StackStatus::NoChanges, &[]),
            ],
            policies: Vec::new(),
        }
    }

    fn only(values: &[&str]) -> Allowance {
        Allowance::Only(values.iter().map(|v| v.parse().expect("a valid value")).collect())
    }

    #[test]
    fn values_parse_or_say_what_is_wrong() {
        let a: Allowed = "333333333333/mesh-products/GlueDbA".parse().expect("valid");
        assert_eq!(a.to_string(), "333333333333/mesh-products/GlueDbA");
        assert_eq!(
            "333333333333/mesh-products".parse::<Allowed>().map(|a| a.logical_id),
            Ok(None)
        );
        for bad in [
            "",
            "3333/mesh-products/X",
            "333333333333/products/X",
            "333333333333/mesh-a/b/c",
            "333333333333/mesh-a/",
        ] {
            assert!(bad.parse::<Allowed>().is_err(), "{bad}");
        }
    }

    #[test]
    fn exactly_the_named_changes_are_allowed() {
        let p = plan();
        let needed: Vec<String> = needed(&p).iter().map(ToString::to_string).collect();
        assert_eq!(
            needed,
            vec![
                "333333333333/mesh-products/GlueDbA",
                "333333333333/mesh-products/GlueTableA",
                "555555555555/mesh-products",
            ]
        );
        assert_eq!(check(&p, &Allowance::Everything), Ok(()));
        assert!(matches!(
            check(&p, &Allowance::Nothing),
            Err(Refusal::NotAllowed { granular: false, .. })
        ));
        let all = only(&[
            "333333333333/mesh-products/GlueDbA",
            "333333333333/mesh-products/GlueTableA",
            "555555555555/mesh-products",
        ]);
        assert_eq!(check(&p, &all), Ok(()));
        let some = only(&["333333333333/mesh-products/GlueDbA"]);
        match check(&p, &some) {
            Err(Refusal::NotAllowed {
                missing,
                granular: true,
            }) => assert_eq!(
                missing.iter().map(ToString::to_string).collect::<Vec<_>>(),
                vec!["333333333333/mesh-products/GlueTableA", "555555555555/mesh-products"]
            ),
            other => panic!("{other:?}"),
        }
        let typo = only(&["333333333333/mesh-products/GlueDbAA"]);
        assert!(matches!(check(&p, &typo), Err(Refusal::Unused(u)) if u.len() == 1));
    }
}
