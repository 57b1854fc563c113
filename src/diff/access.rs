//! Access changes in plain words, from the `access.json` of two syntheses:
//! "account 578575860272 gains read on finance.payouts v1 through role
//! mesh-service-revenue-job".
//!
//! `access.json` holds the decisions synth built every policy from
//! (`crate::synth::decisions`), so this compares data, not rendered policies:
//! a blueprint edit cannot change what it says. `diff` and `plan` both use it.
//! A folder written before `access.json` existed has none; the caller says so
//! instead of guessing. Pure: no IO.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::synth::decisions::{AccessModel, GrantRef, VersionAccess};

/// A change of access, in words and in parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct AccessChange {
    /// `gains`, `loses` or `changes` (same reader, another grant).
    pub(crate) change: &'static str,
    /// Who: ``account 333333333333`` or ``the organisation``.
    pub(crate) grantee: String,
    /// What: ``finance.payouts v2``.
    pub(crate) target: String,
    /// Always `read`: meshsynth grants no other access to data of another team.
    pub(crate) level: &'static str,
    /// The account that holds the data (and, in `access_mode: iam`, the Glue catalog policy).
    pub(crate) producer: String,
    /// The sentence a reviewer reads.
    pub(crate) text: String,
    /// The grant it read through before, in words (empty for org-wide access).
    pub(crate) was: Vec<String>,
    /// The grant it reads through after.
    pub(crate) now: Vec<String>,
}

/// A grant in words: `grant to account 555555555555 approved by a@example.com, until 2027-03-01`.
fn grant_words(g: &GrantRef) -> String {
    let mut s = format!("grant to {} approved by {}", g.to, g.approved_by);
    if g.all_columns {
        s.push_str(", all columns");
    }
    if let Some(e) = &g.expires {
        s.push_str(&format!(", until {e}"));
    }
    s
}

/// One version's access: org-wide or not, and its readers by (account, through).
#[derive(Default)]
struct Side<'a> {
    org_wide: bool,
    producer: Option<&'a str>,
    readers: BTreeMap<(&'a str, &'a str), &'a GrantRef>,
}

fn sides(m: &AccessModel) -> BTreeMap<(&str, u32), Side<'_>> {
    m.versions
        .iter()
        .map(|v: &VersionAccess| {
            let side = Side {
                org_wide: v.org_wide,
                producer: Some(v.producer.as_str()),
                readers: v
                    .readers
                    .iter()
                    .map(|r| ((r.account.as_str(), r.through.as_str()), &r.grant))
                    .collect(),
            };
            ((v.product.as_str(), v.version), side)
        })
        .collect()
}

/// The access changes from `old` to `new`, sorted by target, then grantee.
pub(crate) fn compare(old: &AccessModel, new: &AccessModel) -> Vec<AccessChange> {
    let (old, new) = (sides(old), sides(new));
    let empty = Side::default();
    let keys: BTreeSet<&(&str, u32)> = old.keys().chain(new.keys()).collect();
    let mut out = Vec::new();
    for key in keys {
        let o = old.get(key).unwrap_or(&empty);
        let n = new.get(key).unwrap_or(&empty);
        let target = format!("{} v{}", key.0, key.1);
        let producer = n.producer.or(o.producer).unwrap_or_default().to_owned();
        let change = |change, grantee: String, text: String, was: Vec<String>, now: Vec<String>| AccessChange {
            change,
            grantee,
            target: target.clone(),
            level: "read",
            producer: producer.clone(),
            text,
            was,
            now,
        };
        match (o.org_wide, n.org_wide) {
            (false, true) => out.push(change(
                "gains",
                "the organisation".into(),
                format!("{target} becomes readable org-wide"),
                vec![],
                vec![],
            )),
            (true, false) => out.push(change(
                "loses",
                "the organisation".into(),
                format!("{target} is no longer readable org-wide"),
                vec![],
                vec![],
            )),
            _ => {}
        }
        let readers: BTreeSet<&(&str, &str)> = o.readers.keys().chain(n.readers.keys()).collect();
        for reader @ (account, through) in readers {
            let grantee = format!("account {account}");
            match (o.readers.get(reader), n.readers.get(reader)) {
                (None, Some(g)) => out.push(change(
                    "gains",
                    grantee.clone(),
                    format!("{grantee} gains read on {target} through {through}"),
                    vec![],
                    vec![grant_words(g)],
                )),
                (Some(g), None) => out.push(change(
                    "loses",
                    grantee.clone(),
                    format!("{grantee} loses read on {target} through {through}"),
                    vec![grant_words(g)],
                    vec![],
                )),
                (Some(was), Some(now)) if was != now => out.push(change(
                    "changes",
                    grantee.clone(),
                    format!("{grantee} keeps read on {target} through {through}, under another grant"),
                    vec![grant_words(was)],
                    vec![grant_words(now)],
                )),
                _ => {}
            }
        }
    }
    out.sort_by(|a, b| (&a.target, &a.grantee, &a.text).cmp(&(&b.target, &b.grantee, &b.text)));
    out
}

/// One change as a line: `+ account 555555555555 gains read on finance.payouts v2 through role
/// mesh-reader (grant to account 555555555555 approved by a@example.com)`. The first character is
/// the sign: `+` gains, `-` loses, `~` changes.
pub(crate) fn line(c: &AccessChange) -> String {
    let (sign, grant) = match c.change {
        "gains" => ('+', c.now.join(", ")),
        "loses" => ('-', format!("was {}", c.was.join(", "))),
        _ => ('~', format!("now {}; was {}", c.now.join(", "), c.was.join(", "))),
    };
    if c.now.is_empty() && c.was.is_empty() {
        format!("{sign} {}", c.text)
    } else {
        format!("{sign} {} ({grant})", c.text)
    }
}

/// The readers that lose access mid-way when `new` switches straight from the iam mode's paths
/// (in force: `old`) to Lake Formation's, without the transitional deploy: from wave 1 (the
/// producers' bucket and key policies narrow) and wave 3 (reader roles lose their S3 and KMS
/// rights) until wave 4 (`mesh-access` grants them through Lake Formation). `None` when the
/// switch keeps the old paths (`keep_iam_paths`), or is no switch at all.
pub(crate) fn switch_gap(old: &AccessModel, new: &AccessModel) -> Option<String> {
    let iam_only = old.iam_paths() && !old.lakeformation();
    let lakeformation_only = new.lakeformation() && !new.iam_paths();
    if !(iam_only && lakeformation_only) {
        return None;
    }
    let open = old.versions.iter().filter(|v| v.org_wide).count();
    let restricted: BTreeSet<String> = old
        .versions
        .iter()
        .flat_map(|v| &v.readers)
        .map(|r| format!("{} of account {}", r.through, r.account))
        .collect();
    const SHOWN: usize = 8;
    let mut named: Vec<String> = restricted.iter().take(SHOWN).cloned().collect();
    if restricted.len() > SHOWN {
        named.push(format!("{} more", restricted.len() - SHOWN));
    }
    let mut who = vec![format!("every reader of the {open} open versions")];
    if !named.is_empty() {
        who.push(format!("the granted readers of restricted ones ({})", named.join(", ")));
    }
    Some(format!(
        "this deploy switches from access mode iam straight to lakeformation: {} lose access from wave 1 \
         (bucket and key policies narrow) until wave 4 (`mesh-access` grants them through Lake Formation); \
         deploy with `org.keep_iam_paths: true` first, then without it (README, \"Switching an existing org\")",
        who.join(" and ")
    ))
}

/// What the access changes on the data of `producer` come to, for its Glue catalog policy.
pub(crate) fn of_producer<'a>(
    changes: &'a [AccessChange],
    producer: &'a str,
) -> impl Iterator<Item = &'a AccessChange> {
    changes.iter().filter(move |c| c.producer == producer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::decisions::{VersionAccess, VersionReader, ACCESS_FORMAT};

    fn grant(to: &str, expires: Option<&str>) -> GrantRef {
        GrantRef {
            to: to.to_owned(),
            approved_by: "steward@example.com".to_owned(),
            expires: expires.map(str::to_owned),
            all_columns: false,
        }
    }

    fn version(product: &str, v: u32, org_wide: bool, readers: Vec<VersionReader>) -> VersionAccess {
        VersionAccess {
            product: product.to_owned(),
            version: v,
            producer: "333333333333".to_owned(),
            classification: if org_wide { "open" } else { "restricted" }.to_owned(),
            status: "active".to_owned(),
            org_wide,
            readers,
        }
    }

    fn reader(account: &str, role: &str, g: GrantRef) -> VersionReader {
        VersionReader {
            account: account.to_owned(),
            through: format!("role {role}"),
            principals: vec![format!("arn:aws:iam::{account}:role/{role}")],
            grant: g,
        }
    }

    fn model(versions: Vec<VersionAccess>) -> AccessModel {
        AccessModel {
            format: ACCESS_FORMAT,
            paths: vec!["iam".to_owned()],
            versions,
            readers: vec![],
        }
    }

    #[test]
    fn sentences() {
        let old = model(vec![
            version("podcasts.episodes", 1, true, vec![]),
            version(
                "finance.payouts",
                1,
                false,
                vec![
                    reader("444444444444", "mesh-service-a", grant("account 444444444444", None)),
                    reader("666666666666", "mesh-service-c", grant("account 666666666666", None)),
                ],
            ),
        ]);
        let new = model(vec![
            version("podcasts.episodes", 1, false, vec![]),
            version(
                "finance.payouts",
                1,
                false,
                vec![
                    reader(
                        "555555555555",
                        "mesh-service-b",
                        grant("account 555555555555", Some("2027-01-01")),
                    ),
                    reader(
                        "666666666666",
                        "mesh-service-c",
                        grant("account 666666666666", Some("2027-02-01")),
                    ),
                ],
            ),
            version("finance.payouts", 2, true, vec![]),
        ]);
        let texts: Vec<String> = compare(&old, &new).into_iter().map(|c| c.text).collect();
        assert_eq!(
            texts,
            [
                "account 444444444444 loses read on finance.payouts v1 through role mesh-service-a",
                "account 555555555555 gains read on finance.payouts v1 through role mesh-service-b",
                "account 666666666666 keeps read on finance.payouts v1 through role mesh-service-c, under another grant",
                "finance.payouts v2 becomes readable org-wide",
                "podcasts.episodes v1 is no longer readable org-wide",
            ]
        );
        let gained = &compare(&old, &new)[1];
        assert_eq!(
            gained.now,
            ["grant to account 555555555555 approved by steward@example.com, until 2027-01-01"]
        );
        assert!(compare(&new, &new).is_empty());
    }
}
