//! `new-team`: the commented scaffold of a new team's file, checked against
//! the topology it joins before anything is written.
//!
//! `scaffold_text` is pure; `prepare` reads the topology directory (never
//! writes). The command writes the file with `lifecycle::write_new`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{yaml_str, LifecycleError, Sources};
use crate::model::{is_name, AccountId, Diagnostic};

/// What the new team's file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewTeam {
    pub(crate) name: String,
    pub(crate) domain: String,
    /// In the order given: id, name, environment.
    pub(crate) accounts: Vec<NewAccount>,
    pub(crate) steward: Option<String>,
    pub(crate) contact: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewAccount {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) environment: String,
}

/// A new team's file, ready to write: where, what, and the warnings
/// `validate` gives about it.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) path: PathBuf,
    pub(crate) text: String,
    pub(crate) warnings: Vec<Diagnostic>,
}

const ENVIRONMENTS: [&str; 4] = ["prod", "staging", "dev", "sandbox"];

impl NewTeam {
    /// Builds the team from the command line's values. Account names default
    /// to `<team>-<environment>` (with `-2`, `-3`… when several accounts share
    /// an environment); environments to `prod`, or one for all when one is given.
    pub(crate) fn from_args(
        name: &str,
        domain: &str,
        accounts: &[String],
        names: &[String],
        environments: &[String],
        steward: Option<&str>,
        contact: Option<&str>,
    ) -> Result<NewTeam, LifecycleError> {
        if !is_name(name) {
            return Err(LifecycleError::BadTeamName { name: name.to_owned() });
        }
        if names.len() > accounts.len() {
            return Err(LifecycleError::TooManyNames {
                names: names.len(),
                accounts: accounts.len(),
            });
        }
        if environments.len() > 1 && environments.len() != accounts.len() {
            return Err(LifecycleError::BadEnvironments {
                environments: environments.len(),
                accounts: accounts.len(),
            });
        }
        for e in environments {
            if !ENVIRONMENTS.contains(&e.as_str()) {
                return Err(LifecycleError::BadEnvironment { environment: e.clone() });
            }
        }
        let mut seen = BTreeSet::new();
        let mut used_names = BTreeSet::new();
        let mut out = Vec::new();
        for (i, id) in accounts.iter().enumerate() {
            if AccountId::parse(id).is_none() {
                return Err(LifecycleError::BadAccountId { id: id.clone() });
            }
            if !seen.insert(id.clone()) {
                return Err(LifecycleError::DuplicateAccount { id: id.clone() });
            }
            let environment = match environments {
                [] => "prod".to_owned(),
                [one] => one.clone(),
                many => many[i].clone(),
            };
            let account_name = match names.get(i) {
                Some(n) => n.clone(),
                None => {
                    let base = format!("{name}-{environment}");
                    let mut candidate = base.clone();
                    let mut n = 2;
                    while used_names.contains(&candidate) || names.contains(&candidate) {
                        candidate = format!("{base}-{n}");
                        n += 1;
                    }
                    candidate
                }
            };
            used_names.insert(account_name.clone());
            out.push(NewAccount {
                id: id.clone(),
                name: account_name,
                environment,
            });
        }
        Ok(NewTeam {
            name: name.to_owned(),
            domain: domain.to_owned(),
            accounts: out,
            steward: steward.map(str::to_owned),
            contact: contact.map(str::to_owned),
        })
    }
}

/// The team's file: valid YAML that `validate` accepts as is, with comments
/// that say what to fill in next.
pub(crate) fn scaffold_text(team: &NewTeam) -> String {
    let first = team.accounts.first().map_or("123456789012", |a| a.id.as_str());
    let mut s = String::new();
    s.push_str(&format!(
        "# Team `{name}` of the `{domain}` domain (scaffolded by `meshsynth new-team`).\n\
         #\n\
         # This file belongs to the team: its AWS accounts, the data products it\n\
         # publishes and the products it reads. Every key is described by\n\
         # `meshsynth schema` and in the README. Nothing in AWS is named after a\n\
         # team, so the team can later be renamed, split or merged without\n\
         # touching any bucket or Glue database.\n\
         #\n\
         # Bootstrap (see \"New team bootstrap\" in the README):\n\
         #   meshsynth validate\n\
         #   meshsynth synth\n\
         #   meshsynth plan --account {first}\n\
         #   meshsynth deploy --account {first}\n\
         \n\
         name: {name}\n\
         domain: {domain}\n",
        name = team.name,
        domain = team.domain,
    ));
    s.push_str("# The data steward approves access to the team's restricted products.\n");
    match &team.steward {
        Some(v) => s.push_str(&format!("steward: {}\n", yaml_str(v))),
        None => s.push_str(&format!("# steward: {}-steward@example.com\n", team.name)),
    }
    s.push_str("# Where consumers are told about new and deprecated versions (`validate` warns without one).\n");
    match &team.contact {
        Some(v) => s.push_str(&format!("contact: {}\n", yaml_str(v))),
        None => s.push_str(&format!("# contact: \"#team-{}\"\n", team.name)),
    }
    s.push_str(
        "\n# One account belongs to one team. Ids are 12 digits, always quoted.\n\
         accounts:\n",
    );
    for a in &team.accounts {
        s.push_str(&format!(
            "  - id: \"{}\"\n    name: {}\n    environment: {}   # prod | staging | dev | sandbox\n",
            a.id,
            yaml_str(&a.name),
            a.environment
        ));
    }
    s.push_str(&format!(
        "\n\
         # Data products the team publishes; a product's id is `{domain}.<name>`.\n\
         # Publish the first one by replacing `[]` with entries like this:\n\
         #   - name: example\n\
         #     account: \"{first}\"\n\
         #     classification: open   # open: readable org-wide | restricted: granted readers only\n\
         #     description: What one row is\n\
         #     versions:\n\
         #       - version: 1\n\
         #         status: active\n\
         #         tables:\n\
         #           - name: example\n\
         #             columns:\n\
         #               - {{ name: example_id, type: string }}\n\
         #             partition_keys:\n\
         #               - {{ name: dt, type: date }}\n\
         #     grants:                # restricted products: the steward's approvals\n\
         #       - account: \"123456789012\"\n\
         #         approved_by: <this team's steward>\n\
         products: []\n\
         \n\
         # Products the team reads: one entry per product version and reading account.\n\
         #   - product: podcasts.episodes@2\n\
         #     account: \"{first}\"\n\
         #     purpose: Why the team reads it\n\
         # A restricted product is read once its producer's steward adds a grant\n\
         # for the account in the producer's file.\n\
         consumes: []\n",
        domain = team.domain,
    ));
    s
}

/// Checks the new team against the topology in `dir` and validates the
/// result; the file to write, or why not. Reads only.
pub(crate) fn prepare(dir: &Path, team: &NewTeam) -> Result<Prepared, LifecycleError> {
    let sources = Sources::read(dir, "new-team")?;
    let path = dir.join("teams").join(format!("{}.yaml", team.name));
    if path.exists() {
        return Err(LifecycleError::Exists {
            path,
            command: "new-team",
        });
    }
    // The topology as it is must be valid: otherwise its errors would be blamed on the new team.
    let (topology, _) = sources.validate(&[])?;
    if let Some(existing) = topology.teams.get(&team.name) {
        return Err(LifecycleError::TeamExists {
            name: team.name.clone(),
            file: existing.loc.file.clone(),
        });
    }
    if !topology.domains.contains_key(&team.domain) {
        return Err(LifecycleError::UnknownDomain {
            domain: team.domain.clone(),
            org_file: sources.org.0.clone(),
            declared: topology
                .domains
                .keys()
                .map(|d| format!("`{d}`"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    for a in &team.accounts {
        let id = AccountId::parse(&a.id).ok_or_else(|| LifecycleError::BadAccountId { id: a.id.clone() })?;
        if let Some(owner) = topology.accounts.get(&id) {
            let file = topology
                .teams
                .get(&owner.team)
                .map(|t| t.loc.file.clone())
                .unwrap_or_default();
            return Err(LifecycleError::AccountTaken {
                id: a.id.clone(),
                team: owner.team.clone(),
                file,
            });
        }
    }
    let text = scaffold_text(team);
    let (_, warnings) = sources.validate(&[(path.clone(), text.clone())])?;
    let warnings = warnings.into_iter().filter(|w| w.loc.file == path).collect();
    Ok(Prepared { path, text, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team() -> NewTeam {
        NewTeam::from_args(
            "recommendations",
            "podcasts",
            &["123456789012".into(), "210987654321".into()],
            &[],
            &["prod".into(), "prod".into()],
            None,
            Some("#team-recs"),
        )
        .expect("valid arguments")
    }

    #[test]
    fn default_account_names_are_unique() {
        let t = team();
        let names: Vec<_> = t.accounts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, vec!["recommendations-prod", "recommendations-prod-2"]);
    }

    #[test]
    fn bad_arguments_are_refused() {
        let err = |r: Result<NewTeam, LifecycleError>| r.expect_err("refused").to_string();
        assert_eq!(
            err(NewTeam::from_args("Recs", "d", &["123456789012".into()], &[], &[], None, None)),
            "`Recs` is not a valid team name (use lowercase letters, digits and `-`, at most 63 characters, not starting or ending with `-`)"
        );
        assert_eq!(
            err(NewTeam::from_args("recs", "d", &["12345".into()], &[], &[], None, None)),
            "`12345` is not an AWS account id (12 digits)"
        );
        assert_eq!(
            err(NewTeam::from_args(
                "recs",
                "d",
                &["123456789012".into(), "123456789012".into()],
                &[],
                &[],
                None,
                None
            )),
            "account `123456789012` is given twice"
        );
        assert_eq!(
            err(NewTeam::from_args(
                "recs",
                "d",
                &["123456789012".into()],
                &[],
                &["qa".into()],
                None,
                None
            )),
            "unknown environment `qa` (use prod, staging, dev or sandbox)"
        );
    }

    #[test]
    fn the_scaffold_parses_as_a_team() {
        let text = scaffold_text(&team());
        let path = PathBuf::from("accounts/teams/recommendations.yaml");
        let org = "version: 2\norg:\n  name: acast\n  organization_id: o-a1b2c3d4e5\n  management_account: \"111111111111\"\n  central_account: \"222222222222\"\n  region: eu-west-1\ndomains:\n  - name: podcasts\n";
        let raw = crate::model::load::from_sources(
            Some((PathBuf::from("accounts/org.yaml"), org)),
            vec![(path, text.as_str())],
        )
        .expect("parses");
        let (topology, warnings) = crate::validate::validate(raw).expect("validates");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(topology.teams["recommendations"].accounts.len(), 2);
        assert!(text.contains("contact: \"#team-recs\""));
        assert!(text.contains("# steward: recommendations-steward@example.com"));
    }
}
