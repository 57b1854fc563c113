//! The service roles pass: a role per name and account, in an account of its
//! team, reading only products that account consumes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::access_groups::{check_product_list, parse_access};
use super::consumes::owned_hint;
use super::{file_owner, loc, Cx, Validator};
use crate::model::raw::RawTeam;
use crate::model::{Access, AccountId, Loc, Product, ProductId, ServiceRole, Team};

impl Validator<'_> {
    /// Service roles need the consumes of every team (a role's products must be consumed by its account).
    pub(super) fn service_roles(&mut self) {
        let input = self.input;
        // The consume entries are sorted by (account, product, version) (see `consumes`).
        let consumes = &self.consumes;
        let consumed = |account: &AccountId, product: &ProductId| {
            let at = consumes.partition_point(|c| (&c.account, &c.product) < (account, product));
            consumes
                .get(at)
                .is_some_and(|c| (&c.account, &c.product) == (account, product))
        };
        let mut seen_roles: BTreeMap<(AccountId, String), Loc> = BTreeMap::new();
        for (file, team) in &input.teams {
            let t = &team.value;
            let Some(owner) = file_owner(&self.teams, file, t) else {
                continue;
            };
            validate_service_roles(
                &mut self.cx,
                file,
                owner,
                t,
                (&self.products, &self.declared),
                &consumed,
                &mut seen_roles,
                &mut self.service_roles,
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn validate_service_roles(
    cx: &mut Cx,
    file: &Path,
    owner: &Team,
    t: &RawTeam,
    (products, declared): (&BTreeMap<ProductId, Product>, &BTreeSet<ProductId>),
    consumed: &dyn Fn(&AccountId, &ProductId) -> bool,
    seen: &mut BTreeMap<(AccountId, String), Loc>,
    out: &mut Vec<ServiceRole>,
) {
    for r in &t.service_roles {
        let r = &r.value;
        if !is_role_name(&r.name.value) {
            cx.error(
                file,
                &r.name,
                format!("service role `{}` is not a valid IAM role name", r.name.value),
                "use letters, digits and `+=,.@_-`, at most 64 characters",
            );
            continue;
        }
        let Some(account) = cx.account_id(file, &r.account) else {
            continue;
        };
        if !owner.accounts.contains(&account) {
            cx.error(
                file,
                &r.account,
                format!(
                    "service role `{}` is in account `{account}`, which team `{}` does not own",
                    r.name.value, owner.name
                ),
                owned_hint(owner),
            );
            continue;
        }
        let Some(access) = parse_access(cx, file, &r.access) else {
            continue;
        };
        if access == Access::Restricted && r.products.as_ref().is_none_or(|l| l.value.is_empty()) {
            cx.error(
                file,
                &r.access,
                format!("restricted service role `{}` lists no products", r.name.value),
                "list the restricted products it reads, or make it `access: open`",
            );
            continue;
        }
        let listed = check_product_list(
            cx,
            file,
            access,
            r.products.as_ref(),
            products,
            declared,
            "service role",
        );
        if let Some(list) = &r.products {
            for item in &list.value {
                let Some(id) = ProductId::parse(&item.value) else {
                    continue;
                };
                if listed.contains(&id) && !consumed(&account, &id) {
                    cx.error(
                        file,
                        item,
                        format!(
                            "service role `{}` reads `{id}`, but account `{account}` does not consume it",
                            r.name.value
                        ),
                        format!("add a consume of `{id}@<version>` by account `{account}`"),
                    );
                }
            }
        }
        let key = (account.clone(), r.name.value.clone());
        if let Some(prev) = seen.get(&key) {
            cx.error(
                file,
                &r.name,
                format!(
                    "service role `{}` is declared twice in account `{account}` (also at {prev})",
                    r.name.value
                ),
                "role names are unique within an account",
            );
            continue;
        }
        let path = match &r.path {
            None => "/".to_owned(),
            Some(p) if is_role_path(&p.value) => p.value.clone(),
            Some(p) => {
                cx.error(
                    file,
                    p,
                    format!("`{}` is not an IAM path", p.value),
                    "write `/` or `/name/…/`: letters, digits and `+=,.@_-` between slashes, at most 512 characters",
                );
                continue;
            }
        };
        seen.insert(key, loc(file, &r.name));
        out.push(ServiceRole {
            team: owner.name.clone(),
            name: r.name.value.clone(),
            path,
            account,
            access,
            products: listed,
            loc: loc(file, &r.name),
        });
    }
}

/// An IAM path: `/`, or `/a/b/` with role-name characters between the slashes.
fn is_role_path(s: &str) -> bool {
    s.len() <= 512
        && s.starts_with('/')
        && s.ends_with('/')
        && s.split('/').all(|seg| {
            seg.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
        })
        && (s == "/" || !s.contains("//"))
}

pub(super) fn is_role_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}
