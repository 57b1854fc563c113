//! The domains and teams passes: names, accounts and the team each account
//! belongs to.

use std::collections::BTreeSet;
use std::path::Path;

use super::{catalog, loc, owners, Validator};
use crate::model::load::RawInput;
use crate::model::raw::RawTeam;
use crate::model::{Account, AccountId, Domain, Environment, ProductId, Team};

const ENVIRONMENTS: &str = "prod, staging, dev or sandbox";

/// Every product id that some team declares, valid or not.
pub(super) fn declared_products(input: &RawInput) -> BTreeSet<ProductId> {
    input
        .teams
        .iter()
        .flat_map(|(_, t)| {
            let domain = t.value.domain.value.clone();
            t.value.products.iter().map(move |p| ProductId {
                domain: domain.clone(),
                name: p.value.name.value.clone(),
            })
        })
        .collect()
}

impl Validator<'_> {
    /// Domains: valid names, each declared once.
    pub(super) fn domains(&mut self) {
        let input = self.input;
        let of = input.org_file.as_path();
        let cx = &mut self.cx;
        for d in &input.top.domains {
            let d = &d.value;
            if !cx.name(of, &d.name, "domain") {
                continue;
            }
            if self.domains.contains_key(&d.name.value) {
                cx.error(
                    of,
                    &d.name,
                    format!("domain `{}` is declared twice", d.name.value),
                    "remove one of them",
                );
                continue;
            }
            self.domains.insert(
                d.name.value.clone(),
                Domain {
                    name: d.name.value.clone(),
                    description: d.description.as_ref().map(|s| s.value.clone()),
                },
            );
        }
    }

    /// Teams: unique names, a declared domain, and the accounts they own.
    pub(super) fn teams(&mut self) {
        let input = self.input;
        for (file, team) in &input.teams {
            let t = &team.value;
            let file = file.as_path();
            if !self.cx.name(file, &t.name, "team") {
                continue;
            }
            if let Some(other) = self.teams.get(&t.name.value) {
                let other = other.loc.clone();
                self.cx.error(
                    file,
                    &t.name,
                    format!("team `{}` is declared twice, also at {other}", t.name.value),
                    "team names are unique across the org",
                );
                continue;
            }
            if !self.domains.contains_key(&t.domain.value) {
                self.cx.error(
                    file,
                    &t.domain,
                    format!(
                        "team `{}` names domain `{}`, which is not declared",
                        t.name.value, t.domain.value
                    ),
                    "declare it under `domains` in org.yaml, or fix the spelling",
                );
            }
            for w in [&t.steward, &t.contact].into_iter().flatten() {
                if w.value.trim().is_empty() {
                    self.cx.error(
                        file,
                        w,
                        "empty steward or contact",
                        "name a person or channel, or leave the key out",
                    );
                }
            }
            let owned = self.team_accounts(file, t);
            self.teams.insert(
                t.name.value.clone(),
                Team {
                    name: t.name.value.clone(),
                    domain: t.domain.value.clone(),
                    steward: t.steward.as_ref().map(|s| s.value.clone()),
                    contact: t.contact.as_ref().map(|s| s.value.clone()),
                    owners: owners::validate_owners(&mut self.cx, file, t.owners.as_ref()),
                    accounts: owned,
                    loc: loc(file, &t.name),
                    alerts: catalog::alerts(&mut self.cx, file, t.alerts.as_ref()),
                },
            );
        }
    }

    /// The accounts of team `t`: valid ids, each owned by one team, with a
    /// name and a known environment.
    fn team_accounts(&mut self, file: &Path, t: &RawTeam) -> BTreeSet<AccountId> {
        let cx = &mut self.cx;
        let mut owned = BTreeSet::new();
        for a in &t.accounts {
            let a = &a.value;
            let Some(id) = cx.account_id(file, &a.id) else {
                continue;
            };
            if let Some(prev) = self.account_loc.get(&id) {
                let owner = self.accounts.get(&id).map(|a| a.team.clone()).unwrap_or_default();
                cx.error(
                    file,
                    &a.id,
                    format!("account `{id}` is already declared by team `{owner}` at {prev}"),
                    "one account belongs to one team",
                );
                continue;
            }
            if a.name.value.trim().is_empty() {
                cx.error(
                    file,
                    &a.name,
                    "account name is empty",
                    "give the account its AWS account name",
                );
            }
            let environment = match a.environment.value.as_str() {
                "prod" => Environment::Prod,
                "staging" => Environment::Staging,
                "dev" => Environment::Dev,
                "sandbox" => Environment::Sandbox,
                other => {
                    cx.error(
                        file,
                        &a.environment,
                        format!("unknown environment `{other}`"),
                        format!("use {ENVIRONMENTS}"),
                    );
                    // Still owned by this team, so that references to it are not reported too.
                    Environment::Dev
                }
            };
            self.account_loc.insert(id.clone(), loc(file, &a.id));
            self.accounts.insert(
                id.clone(),
                Account {
                    id: id.clone(),
                    name: a.name.value.clone(),
                    environment,
                    team: t.name.value.clone(),
                },
            );
            owned.insert(id);
        }
        owned
    }
}
