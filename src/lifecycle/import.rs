//! `org import`: a draft topology from an existing organisation, its accounts
//! grouped into teams by one tag (`team` by default). Pure: a snapshot in,
//! file texts out.
//!
//! The draft is valid as written (`meshsynth validate` accepts it) so that
//! it can be committed and refined; every value that meshsynth had to guess
//! carries a `# TODO` comment:
//! - `org.name` (names every bucket: choose it before the first deploy),
//!   unless `--org-name` gives it;
//! - `org.central_account`: an account named like `central` or
//!   `data-platform`, else the first account that is not the management one;
//! - each team's domain: its `domain` tag, else the team's own name,
//!   declared in `org.yaml` with a TODO description;
//! - an account's environment: its `environment` (or `env`) tag, else a
//!   word of its name (`prod`, `staging`, `dev`, `sandbox`…), else `prod`;
//! - stewards and contacts are left as comments.
//!
//! Tag values become team names: lowercased, anything but letters and digits
//! turned into `-`. Accounts without the tag are listed in a comment of
//! `org.yaml`, in no team.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::organizations::{OrgAccount, OrgSnapshot};
use super::yaml_str;
use crate::model::is_name;

/// What the user chose for the draft.
#[derive(Debug, Clone)]
pub(crate) struct ImportOptions {
    pub(crate) tag_key: String,
    /// `org.name`; a TODO placeholder when `None`.
    pub(crate) org_name: Option<String>,
    pub(crate) region: String,
}

/// The draft: `org.yaml` and one file per team (by team name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Draft {
    pub(crate) org_yaml: String,
    pub(crate) teams: BTreeMap<String, String>,
    /// What the user should know (accounts left out, tag values renamed).
    pub(crate) notes: Vec<String>,
}

/// The placeholder org name, when none is given.
pub(crate) const PLACEHOLDER_ORG_NAME: &str = "todo-org-name";

/// A tag value as a team, domain or org name; `None` when nothing usable is left.
pub(crate) fn normalise(value: &str) -> Option<String> {
    let mut out = String::new();
    for c in value.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_matches('-').chars().take(63).collect();
    let out = out.trim_end_matches('-').to_owned();
    is_name(&out).then_some(out)
}

fn environment_of(a: &OrgAccount) -> (String, bool) {
    let of_word = |w: &str| match w {
        "prod" | "production" | "prd" | "live" => Some("prod"),
        "staging" | "stage" | "stg" | "preprod" | "test" | "qa" => Some("staging"),
        "dev" | "development" => Some("dev"),
        "sandbox" | "sbx" | "playground" => Some("sandbox"),
        _ => None,
    };
    for key in ["environment", "env"] {
        if let Some(e) = a.tags.get(key).and_then(|v| of_word(&v.to_lowercase())) {
            return (e.to_owned(), false);
        }
    }
    let lower = a.name.to_lowercase();
    let guessed = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find_map(of_word)
        .unwrap_or("prod");
    (guessed.to_owned(), true)
}

/// Drafts a topology from an organisation snapshot.
pub(crate) fn draft(org: &OrgSnapshot, opts: &ImportOptions) -> Draft {
    let (teams, untagged, notes) = group_by_team(org, opts);
    let domain_of = domains_of(&teams);
    let domains: BTreeMap<&str, bool> = domain_of.values().map(|(d, guessed)| (d.as_str(), *guessed)).collect();
    let org_yaml = org_yaml(org, opts, &domains, &untagged);
    let teams = teams
        .iter()
        .map(|(team, accounts)| {
            let domain = domain_of.get(team.as_str()).map_or(team.as_str(), |(d, _)| d.as_str());
            (team.clone(), team_yaml(team, domain, accounts, opts))
        })
        .collect();
    Draft { org_yaml, teams, notes }
}

/// Accounts by the team their tag names; the accounts without a usable tag;
/// notes on tags that were renamed or left out.
#[allow(clippy::type_complexity)]
fn group_by_team<'a>(
    org: &'a OrgSnapshot,
    opts: &ImportOptions,
) -> (BTreeMap<String, Vec<&'a OrgAccount>>, Vec<&'a OrgAccount>, Vec<String>) {
    let mut notes = Vec::new();
    let mut teams: BTreeMap<String, Vec<&OrgAccount>> = BTreeMap::new();
    let mut untagged = Vec::new();
    for a in &org.accounts {
        match a.tags.get(&opts.tag_key) {
            Some(value) => match normalise(value) {
                Some(team) => {
                    if &team != value {
                        notes.push(format!("tag `{}={value}` becomes team `{team}`", opts.tag_key));
                    }
                    teams.entry(team).or_default().push(a);
                }
                None => {
                    notes.push(format!(
                        "account `{}`: tag `{}={value}` is not usable as a team name; left out",
                        a.id, opts.tag_key
                    ));
                    untagged.push(a);
                }
            },
            None => untagged.push(a),
        }
    }
    notes.sort();
    notes.dedup();

    (teams, untagged, notes)
}

/// Each team's domain: its `domain` tag (the smallest, if accounts disagree),
/// else its name (then `true`: guessed).
fn domains_of<'a>(teams: &'a BTreeMap<String, Vec<&OrgAccount>>) -> BTreeMap<&'a str, (String, bool)> {
    let mut domain_of: BTreeMap<&str, (String, bool)> = BTreeMap::new();
    for (team, accounts) in teams {
        let tagged: BTreeSet<String> = accounts
            .iter()
            .filter_map(|a| a.tags.get("domain"))
            .filter_map(|d| normalise(d))
            .collect();
        let domain = match tagged.into_iter().next() {
            Some(d) => (d, false),
            None => (team.clone(), true),
        };
        domain_of.insert(team.as_str(), domain);
    }

    domain_of
}

/// `org.yaml`: the org with its guesses marked TODO, the domains, and the
/// accounts in no team as comments.
fn org_yaml(
    org: &OrgSnapshot,
    opts: &ImportOptions,
    domains: &BTreeMap<&str, bool>,
    untagged: &[&OrgAccount],
) -> String {
    let management = org.management_account.as_str();
    let central = org
        .accounts
        .iter()
        .filter(|a| a.id != management)
        .find(|a| {
            let n = a.name.to_lowercase();
            n.contains("central") || n.contains("data-platform") || n.contains("dataplatform")
        })
        .or_else(|| org.accounts.iter().find(|a| a.id != management));
    let central_id = central.map_or("000000000000", |a| a.id.as_str());

    let mut o = String::new();
    o.push_str(
        "# Drafted by `meshsynth org import` from AWS Organizations. Review every\n\
         # `TODO` before the first `meshsynth synth`: this file is valid as it\n\
         # stands, but the guesses marked TODO decide physical names and access.\n\
         \n\
         version: 2\n\
         \n\
         org:\n",
    );
    match &opts.org_name {
        Some(name) => {
            let _ = writeln!(o, "  name: {name}");
        }
        None => {
            let _ = writeln!(
                o,
                "  name: {PLACEHOLDER_ORG_NAME}   # TODO: your org's short name; it is part of every bucket name, so choose it before deploying"
            );
        }
    }
    let _ = writeln!(o, "  organization_id: {}", org.id);
    let _ = writeln!(o, "  management_account: \"{management}\"");
    let central_note = match central {
        Some(a) => format!("TODO: check: the central data platform account (guessed: `{}`)", a.name),
        None => "TODO: the central data platform account (no candidate found; this is a placeholder)".to_owned(),
    };
    let _ = writeln!(o, "  central_account: \"{central_id}\"   # {central_note}");
    let _ = writeln!(o, "  region: {}", opts.region);
    o.push_str(
        "  access_mode: iam\n\
         \x20 # TODO: add `identity_center: {instance_arn, identity_store_id}` to manage access groups\n\
         \n\
         # A domain is a business area; every team belongs to one.\n\
         domains:\n",
    );
    for (d, guessed) in domains {
        let _ = writeln!(o, "  - name: {d}");
        if *guessed {
            let _ = writeln!(
                o,
                "    description: {}   # TODO: named after its team (no `domain` tag); merge or rename domains",
                yaml_str("TODO")
            );
        } else {
            let _ = writeln!(o, "    description: {}   # TODO: describe", yaml_str("TODO"));
        }
    }
    o.push_str(
        "\n# Identity Center groups and what they may read (none drafted).\n\
         access_groups: []\n",
    );
    if !untagged.is_empty() {
        let _ = writeln!(
            o,
            "\n# Accounts without a usable `{}` tag, in no team yet (add them to a team file):",
            opts.tag_key
        );
        for a in untagged {
            let _ = writeln!(o, "#   - id: \"{}\"  name: {}", a.id, a.name.replace('\n', " "));
        }
    }

    o
}

/// One team's file: its accounts (environments guessed from names marked
/// TODO), no products or consumes yet.
fn team_yaml(team: &str, domain: &str, accounts: &[&OrgAccount], opts: &ImportOptions) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# Team `{team}`: the accounts tagged `{}` with this team in AWS Organizations\n\
         # (drafted by `meshsynth org import`).\n\
         \n\
         name: {team}\n\
         domain: {domain}\n\
         # steward: TODO@example.com   # approves access to restricted products\n\
         # contact: \"#TODO\"           # where consumers are notified\n\
         \n\
         accounts:",
        opts.tag_key
    );
    for a in accounts {
        let (env, guessed) = environment_of(a);
        let name = if a.name.trim().is_empty() {
            a.id.as_str()
        } else {
            a.name.as_str()
        };
        let _ = writeln!(t, "  - id: \"{}\"", a.id);
        let _ = writeln!(t, "    name: {}", yaml_str(name));
        if guessed {
            let _ = writeln!(t, "    environment: {env}   # TODO: check (guessed from the name)");
        } else {
            let _ = writeln!(t, "    environment: {env}");
        }
    }
    t.push_str(
        "\n# TODO: the team's data products and what it consumes (see `meshsynth schema`).\n\
         products: []\n\
         consumes: []\n",
    );
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn account(id: &str, name: &str, tags: &[(&str, &str)]) -> OrgAccount {
        OrgAccount {
            id: id.into(),
            name: name.into(),
            email: format!("{name}@example.com"),
            state: "ACTIVE".into(),
            tags: tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        }
    }

    #[test]
    fn normalised_names() {
        assert_eq!(normalise("Shows").as_deref(), Some("shows"));
        assert_eq!(normalise("Ads Delivery!").as_deref(), Some("ads-delivery"));
        assert_eq!(normalise("--x__y--").as_deref(), Some("x-y"));
        assert_eq!(normalise("!!!"), None);
        assert_eq!(normalise(&"a".repeat(80)).map(|s| s.len()), Some(63));
    }

    #[test]
    fn the_draft_validates_and_groups_by_tag() {
        let org = OrgSnapshot {
            id: "o-abcdefghij".into(),
            management_account: "111111111111".into(),
            accounts: vec![
                account("111111111111", "management", &[]),
                account("222222222222", "data-platform-central", &[("team", "Platform")]),
                account(
                    "333333333333",
                    "shows-prod",
                    &[("team", "shows"), ("domain", "podcasts")],
                ),
                account("444444444444", "shows-dev", &[("team", "shows")]),
                account("555555555555", "ads sandbox", &[("team", "ads"), ("env", "sandbox")]),
            ],
        };
        let d = draft(
            &org,
            &ImportOptions {
                tag_key: "team".into(),
                org_name: None,
                region: "eu-west-1".into(),
            },
        );
        assert_eq!(d.teams.keys().collect::<Vec<_>>(), vec!["ads", "platform", "shows"]);
        assert!(d.org_yaml.contains("central_account: \"222222222222\""));
        assert!(d.teams["shows"].contains("domain: podcasts"));
        assert!(d.teams["shows"].contains("environment: dev   # TODO"));
        assert!(d.teams["ads"].contains("environment: sandbox\n"));
        assert_eq!(d.notes, vec!["tag `team=Platform` becomes team `platform`"]);

        let teams: Vec<(PathBuf, &str)> = d
            .teams
            .iter()
            .map(|(n, t)| (PathBuf::from(format!("teams/{n}.yaml")), t.as_str()))
            .collect();
        let raw = crate::model::load::from_sources(Some((PathBuf::from("org.yaml"), d.org_yaml.as_str())), teams)
            .expect("the draft parses");
        let (topology, _) = crate::validate::validate(raw).expect("the draft validates");
        assert_eq!(topology.accounts.len(), 4);
        assert!(topology.domains.contains_key("podcasts"));
        assert!(topology.domains.contains_key("ads"));
    }
}
