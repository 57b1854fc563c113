//! `org check`: the topology's accounts compared with what AWS Organizations
//! says, and in access mode `lakeformation` whether Lake Formation's
//! organisation-wide prerequisites hold. Pure: a topology and a snapshot in,
//! a report out.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::organizations::OrgSnapshot;
use crate::model::{AccessMode, Topology};

/// The service principal whose trusted access means AWS RAM sharing with the organisation is on.
pub(crate) const RAM_SERVICE: &str = "ram.amazonaws.com";

/// What Organizations said about trusted service access, for the Lake Formation check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServiceAccess {
    /// The enabled service principals (`ListAWSServiceAccessForOrganization`).
    Enabled(BTreeSet<String>),
    /// The list could not be read; why.
    Unreadable(String),
}

/// One disagreement between the topology and the organisation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Mismatch {
    OrganizationId {
        expected: String,
        actual: String,
    },
    ManagementAccount {
        expected: String,
        actual: String,
    },
    /// A topology account that the organisation does not have.
    Missing {
        id: String,
        what: String,
    },
    /// A topology account that is not `ACTIVE`.
    NotActive {
        id: String,
        what: String,
        state: String,
    },
    /// Access mode `lakeformation`, and AWS RAM sharing with the organisation is off:
    /// organisation-wide Lake Formation grants (open products) cannot be shared.
    RamSharingDisabled,
    /// An account tagged with a team that the topology does not list.
    Untracked {
        id: String,
        name: String,
        tag_key: String,
        tag_value: String,
    },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::OrganizationId { expected, actual } => write!(
                f,
                "the organisation is `{actual}`, but `org.organization_id` says `{expected}`"
            ),
            Mismatch::ManagementAccount { expected, actual } => write!(
                f,
                "the management account is `{actual}`, but `org.management_account` says `{expected}`"
            ),
            Mismatch::Missing { id, what } => write!(f, "account `{id}` ({what}) is not in the organisation"),
            Mismatch::NotActive { id, what, state } => write!(f, "account `{id}` ({what}) is {state}, not ACTIVE"),
            Mismatch::RamSharingDisabled => write!(
                f,
                "AWS RAM sharing with the organisation is not enabled (no trusted access for `{RAM_SERVICE}`), \
                 which the organisation-wide Lake Formation grants of `access_mode: lakeformation` need \
                 (run `aws ram enable-sharing-with-aws-organization` with credentials of the management account)"
            ),
            Mismatch::Untracked {
                id,
                name,
                tag_key,
                tag_value,
            } => write!(
                f,
                "account `{id}` (`{name}`) is tagged `{tag_key}={tag_value}` in Organizations but is not in the topology"
            ),
        }
    }
}

/// What `org check` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Report {
    pub(crate) organization_id: String,
    /// Topology accounts checked (team accounts, plus the management and central accounts).
    pub(crate) checked: usize,
    /// Sorted.
    pub(crate) mismatches: Vec<Mismatch>,
    /// Worth knowing, not wrong: names that differ, accounts nobody claims.
    pub(crate) notes: Vec<String>,
    /// Access mode `lakeformation`: each prerequisite and its state, in order.
    pub(crate) lakeformation: Vec<String>,
}

/// Compares the topology with the organisation. `services` is read only in access mode
/// `lakeformation` (`None` otherwise).
pub(crate) fn check(topology: &Topology, org: &OrgSnapshot, services: Option<&ServiceAccess>, tag_key: &str) -> Report {
    let mut mismatches = Vec::new();
    let mut notes = Vec::new();
    let mut lakeformation = Vec::new();
    if topology.org.access_mode == AccessMode::LakeFormation {
        lakeformation.push(match services {
            Some(ServiceAccess::Enabled(s)) if s.contains(RAM_SERVICE) => {
                format!("AWS RAM sharing with the organisation: enabled (trusted access for `{RAM_SERVICE}`)")
            }
            Some(ServiceAccess::Enabled(_)) => {
                mismatches.push(Mismatch::RamSharingDisabled);
                "AWS RAM sharing with the organisation: NOT enabled".to_owned()
            }
            Some(ServiceAccess::Unreadable(why)) => {
                notes.push(format!(
                    "whether AWS RAM sharing with the organisation is enabled could not be read: {why}"
                ));
                "AWS RAM sharing with the organisation: unknown (see notes)".to_owned()
            }
            None => "AWS RAM sharing with the organisation: not checked".to_owned(),
        });
        lakeformation.push(
            "cross-account version: 4, set in every account by its baseline stack \
             (`AWS::LakeFormation::DataLakeSettings`, `CROSS_ACCOUNT_VERSION`) when it deploys"
                .to_owned(),
        );
    }
    if topology.org.organization_id != org.id {
        mismatches.push(Mismatch::OrganizationId {
            expected: topology.org.organization_id.clone(),
            actual: org.id.clone(),
        });
    }
    let management = topology.org.management_account.as_str();
    if !org.management_account.is_empty() && management != org.management_account {
        mismatches.push(Mismatch::ManagementAccount {
            expected: management.to_owned(),
            actual: org.management_account.clone(),
        });
    }

    // Every account the topology relies on, and what it is to the topology.
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    for (id, a) in &topology.accounts {
        expected.insert(id.to_string(), format!("`{}`, team `{}`", a.name, a.team));
    }
    for (id, role) in [
        (&topology.org.management_account, "the management account"),
        (&topology.org.central_account, "the central account"),
    ] {
        expected
            .entry(id.to_string())
            .and_modify(|w| *w = format!("{w}, {role}"))
            .or_insert_with(|| role.to_owned());
    }
    let actual: BTreeMap<&str, &super::organizations::OrgAccount> =
        org.accounts.iter().map(|a| (a.id.as_str(), a)).collect();
    for (id, what) in &expected {
        match actual.get(id.as_str()) {
            None => mismatches.push(Mismatch::Missing {
                id: id.clone(),
                what: what.clone(),
            }),
            Some(a) if a.state != "ACTIVE" => mismatches.push(Mismatch::NotActive {
                id: id.clone(),
                what: what.clone(),
                state: if a.state.is_empty() {
                    "in an unknown state".to_owned()
                } else {
                    a.state.clone()
                },
            }),
            Some(a) => {
                if let Some(t) = topology.accounts.values().find(|t| t.id.as_str() == id) {
                    if t.name != a.name {
                        notes.push(format!(
                            "account `{id}` is named `{}` in the topology and `{}` in Organizations",
                            t.name, a.name
                        ));
                    }
                }
            }
        }
    }
    let mut unclaimed = 0;
    for a in &org.accounts {
        if expected.contains_key(&a.id) {
            continue;
        }
        match a.tags.get(tag_key) {
            Some(value) => mismatches.push(Mismatch::Untracked {
                id: a.id.clone(),
                name: a.name.clone(),
                tag_key: tag_key.to_owned(),
                tag_value: value.clone(),
            }),
            None => unclaimed += 1,
        }
    }
    if unclaimed > 0 {
        notes.push(format!(
            "{unclaimed} other account(s) of the organisation have no `{tag_key}` tag and are not in the topology"
        ));
    }
    mismatches.sort();
    Report {
        organization_id: org.id.clone(),
        checked: expected.len(),
        mismatches,
        notes,
        lakeformation,
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "organisation `{}`", self.organization_id)?;
        let bad = self
            .mismatches
            .iter()
            .filter(|m| matches!(m, Mismatch::Missing { .. } | Mismatch::NotActive { .. }))
            .count();
        writeln!(
            f,
            "{} topology accounts checked, {} found and ACTIVE",
            self.checked,
            self.checked.saturating_sub(bad)
        )?;
        if !self.mismatches.is_empty() {
            writeln!(f, "mismatches ({}):", self.mismatches.len())?;
            for m in &self.mismatches {
                writeln!(f, "  - {m}")?;
            }
        }
        if !self.lakeformation.is_empty() {
            writeln!(f, "Lake Formation prerequisites (access_mode: lakeformation):")?;
            for l in &self.lakeformation {
                writeln!(f, "  - {l}")?;
            }
        }
        if !self.notes.is_empty() {
            writeln!(f, "notes:")?;
            for n in &self.notes {
                writeln!(f, "  - {n}")?;
            }
        }
        if self.mismatches.is_empty() {
            writeln!(f, "the topology matches the organisation")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::organizations::OrgAccount;

    /// The organisation exactly as the example topology describes it.
    fn matching(t: &Topology) -> OrgSnapshot {
        let mut ids: BTreeSet<String> = t.accounts.keys().map(ToString::to_string).collect();
        ids.insert(t.org.management_account.to_string());
        ids.insert(t.org.central_account.to_string());
        OrgSnapshot {
            id: t.org.organization_id.clone(),
            management_account: t.org.management_account.to_string(),
            accounts: ids
                .into_iter()
                .map(|id| OrgAccount {
                    name: t
                        .accounts
                        .values()
                        .find(|a| a.id.as_str() == id)
                        .map_or_else(String::new, |a| a.name.clone()),
                    id,
                    email: String::new(),
                    state: "ACTIVE".to_owned(),
                    tags: BTreeMap::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn lake_formation_prerequisites_are_checked_in_lakeformation_mode_only() {
        let mut t = crate::synth::example_topology();
        let org = matching(&t);
        let none = ServiceAccess::Enabled(BTreeSet::new());
        let ram = ServiceAccess::Enabled(BTreeSet::from([RAM_SERVICE.to_owned(), "sso.amazonaws.com".to_owned()]));
        let denied = ServiceAccess::Unreadable("AWS Organizations denied it".to_owned());

        t.org.access_mode = AccessMode::Iam;
        let r = check(&t, &org, Some(&none), "team");
        assert_eq!((r.mismatches.as_slice(), r.lakeformation.len()), (&[][..], 0));

        t.org.access_mode = AccessMode::LakeFormation;
        let r = check(&t, &org, Some(&none), "team");
        assert_eq!(r.mismatches, vec![Mismatch::RamSharingDisabled]);
        assert_eq!(r.lakeformation[0], "AWS RAM sharing with the organisation: NOT enabled");
        assert!(r
            .to_string()
            .contains("  - AWS RAM sharing with the organisation is not enabled"));

        let r = check(&t, &org, Some(&ram), "team");
        assert!(r.mismatches.is_empty(), "{:?}", r.mismatches);
        assert!(r.lakeformation[0].ends_with(": enabled (trusted access for `ram.amazonaws.com`)"));
        assert!(r.lakeformation[1].starts_with("cross-account version: 4"));
        assert!(r.to_string().ends_with("the topology matches the organisation\n"));

        let r = check(&t, &org, Some(&denied), "team");
        assert!(r.mismatches.is_empty());
        assert_eq!(
            r.lakeformation[0],
            "AWS RAM sharing with the organisation: unknown (see notes)"
        );
        assert!(r
            .notes
            .iter()
            .any(|n| n.ends_with("could not be read: AWS Organizations denied it")));
    }
}
