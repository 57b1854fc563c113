//! The products pass and the rules over all products: unique ids and logical
//! ids, sensitive columns in access mode iam, stewards of restricted
//! products, no products in the management or central account.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::catalog;
use super::consumes::owned_hint;
use super::{loc, owned_items, Cx, Validator};
use crate::model::raw::{RawColumn, RawProduct, RawSlo, RawTable, RawVersion, S};
use crate::model::{
    is_ident, AccessMode, Classification, Column, Diagnostic, Product, ProductId, Slo, Table, Team, Version,
    VersionStatus,
};

impl Validator<'_> {
    /// Products of every valid team, each id declared once.
    pub(super) fn products(&mut self) {
        let input = self.input;
        let entries = owned_items(&self.teams, &input.teams, |t| &t.products);
        // Each product on its own, on every core; then the ids across them, in file and line order.
        let valid = self.cx.check_all(&entries, 512, |cx, &(file, owner, p)| {
            validate_product(cx, file, owner, p)
        });
        for (&(file, _, p), checked) in entries.iter().zip(valid.into_iter().flatten()) {
            let Some((id, product)) = checked else {
                continue;
            };
            if let Some(prev) = self.product_loc.get(&id) {
                self.cx.error(
                    file,
                    &p.name,
                    format!("product `{id}` is declared twice, also at {prev}"),
                    "product ids `<domain>.<name>` are unique across the org",
                );
                continue;
            }
            self.product_loc.insert(id.clone(), loc(file, &p.name));
            self.products.insert(id, product);
        }
    }

    /// Logical ids derive from names with separators dropped; two products must not share one.
    pub(super) fn logical_ids(&self, cx: &mut Cx) {
        let mut camel_ids: BTreeMap<String, ProductId> = BTreeMap::new();
        for id in self.products.keys() {
            if let Some(first) = camel_ids.get(&id.camel()) {
                if let Some(l) = self.product_loc.get(id) {
                    cx.errors.push(Diagnostic {
                        loc: l.clone(),
                        message: format!("product `{id}` would share CloudFormation logical ids with `{first}`"),
                        hint: Some("rename one of them: names that differ only in `-` or `_` collide".to_owned()),
                    });
                }
            } else {
                camel_ids.insert(id.camel(), id.clone());
            }
        }
    }

    /// IAM cannot hide a column: while the iam mode's read paths exist (access mode iam, or
    /// `keep_iam_paths`), sensitive columns need a restricted product.
    pub(super) fn sensitive_columns(&self, cx: &mut Cx) {
        let Some(org) = self.org.as_ref() else {
            return;
        };
        let (iam, what, hint) = match org.access_mode {
            AccessMode::Iam => (true, "access mode iam", "make the product `classification: restricted`, or set `org.access_mode: lakeformation` so org-wide grants leave sensitive columns out"),
            AccessMode::LakeFormation => (org.keep_iam_paths, "the iam read paths that `keep_iam_paths` keeps", "make the product `classification: restricted`, or deploy without `org.keep_iam_paths` (its bucket and key policies let the whole org read every column)"),
        };
        if !iam {
            return;
        }
        for p in self
            .products
            .values()
            .filter(|p| p.classification == Classification::Open)
        {
            let sensitive = p
                .versions
                .values()
                .flat_map(|v| &v.tables)
                .flat_map(|t| {
                    t.columns
                        .iter()
                        .filter(|c| c.sensitive)
                        .map(move |c| format!("{}.{}", t.name, c.name))
                })
                .next();
            if let (Some(col), Some(l)) = (sensitive, self.product_loc.get(&p.id)) {
                cx.errors.push(Diagnostic {
                    loc: l.clone(),
                    message: format!(
                        "open product `{}` has a sensitive column (`{col}`), which {what} cannot hide",
                        p.id
                    ),
                    hint: Some(hint.into()),
                });
            }
        }
    }

    /// Restricted products need a steward to approve access.
    pub(super) fn restricted_stewards(&self, cx: &mut Cx) {
        for p in self.products.values() {
            if p.classification != Classification::Restricted {
                continue;
            }
            let Some(team) = self.teams.get(&p.team) else {
                continue;
            };
            if team.steward.is_some() {
                continue;
            }
            if let Some(l) = self.product_loc.get(&p.id) {
                cx.errors.push(Diagnostic {
                    loc: l.clone(),
                    message: format!(
                        "restricted product `{}` belongs to team `{}`, which has no steward",
                        p.id, p.team
                    ),
                    hint: Some("add `steward:` to the team: the steward approves access to restricted data".into()),
                });
            }
        }
    }

    /// Accounts with special roles hold no products, and are two accounts.
    pub(super) fn special_accounts(&self, cx: &mut Cx) {
        let Some(org) = &self.org else {
            return;
        };
        for p in self.products.values() {
            let role = if p.account == org.management_account {
                Some("management")
            } else if p.account == org.central_account {
                Some("central")
            } else {
                None
            };
            if let (Some(role), Some(l)) = (role, self.product_loc.get(&p.id)) {
                cx.errors.push(Diagnostic {
                    loc: l.clone(),
                    message: format!("product `{}` lives in the {role} account `{}`", p.id, p.account),
                    hint: Some(format!(
                        "the {role} account holds no products; publish from one of the team's other accounts"
                    )),
                });
            }
        }
        if org.management_account == org.central_account {
            cx.error(
                &self.input.org_file,
                &self.input.top.org.value.central_account,
                "the central account is also the management account",
                "keep Identity Center (management) and the data platform (central) in separate accounts",
            );
        }
    }
}

fn validate_product(cx: &mut Cx, file: &Path, owner: &Team, p: &RawProduct) -> Option<(ProductId, Product)> {
    if !cx.name(file, &p.name, "product") {
        return None;
    }
    let id = ProductId {
        domain: owner.domain.clone(),
        name: p.name.value.clone(),
    };
    let account = cx.account_id(file, &p.account)?;
    let mut ok = true;
    if !owner.accounts.contains(&account) {
        cx.error(
            file,
            &p.account,
            format!(
                "product `{id}` is published from account `{account}`, which team `{}` does not own",
                owner.name
            ),
            owned_hint(owner),
        );
        ok = false;
    }
    let classification = match p.classification.value.as_str() {
        "open" => Classification::Open,
        "restricted" => Classification::Restricted,
        other => {
            cx.error(
                file,
                &p.classification,
                format!("unknown classification `{other}`"),
                "use open or restricted",
            );
            return None;
        }
    };
    if owner.contact.is_none() {
        cx.error(
            file,
            &p.name,
            format!("product `{id}` belongs to team `{}`, which has no contact", owner.name),
            "add `contact:` to the team: consumers are notified there when versions change",
        );
    }
    let slo = p.slo.as_ref().map(|s| slo(cx, file, s));
    let versions = versions(cx, file, &id, &p.versions.value, &mut ok);
    if p.versions.value.is_empty() {
        cx.error(
            file,
            &p.versions,
            format!("product `{id}` has no versions"),
            "declare at least one `active` version",
        );
        ok = false;
    } else if ok && !versions.values().any(|v| v.status == VersionStatus::Active) {
        cx.error(
            file,
            &p.versions,
            format!("product `{id}` has no active version"),
            "mark the current version `status: active`",
        );
        ok = false;
    }
    ok.then(|| {
        (
            id.clone(),
            Product {
                id,
                team: owner.name.clone(),
                account,
                classification,
                description: p.description.as_ref().map(|d| d.value.clone()),
                slo,
                versions,
                grants: Vec::new(),
            },
        )
    })
}

/// A product's SLO: a known freshness, a time of day.
fn slo(cx: &mut Cx, file: &Path, slo: &S<RawSlo>) -> Slo {
    let s = &slo.value;
    if let Some(f) = &s.freshness {
        if !matches!(f.value.as_str(), "hourly" | "daily" | "weekly") {
            cx.error(
                file,
                f,
                format!("unknown freshness `{}`", f.value),
                "use hourly, daily or weekly",
            );
        }
    }
    if let Some(a) = &s.available_by {
        if !is_time_of_day(&a.value) {
            cx.error(
                file,
                a,
                format!("`{}` is not a time of day", a.value),
                "write HH:MMZ in UTC, e.g. \"06:00Z\"",
            );
        }
    }
    Slo {
        freshness: s.freshness.as_ref().map(|f| f.value.clone()),
        available_by: s.available_by.as_ref().map(|a| a.value.clone()),
    }
}

/// A product's versions: numbered once each from 1 to 9999, with a known
/// status and valid tables; `ok` turns false when one is not.
fn versions(cx: &mut Cx, file: &Path, id: &ProductId, raw: &[S<RawVersion>], ok: &mut bool) -> BTreeMap<u32, Version> {
    let mut versions = BTreeMap::new();
    for v in raw {
        let v = &v.value;
        let number = match u32::try_from(v.version.value) {
            Ok(n) if (1..=9999).contains(&n) => n,
            _ => {
                cx.error(
                    file,
                    &v.version,
                    format!("version `{}` of `{id}` is not a positive integer", v.version.value),
                    "versions are numbered 1, 2, 3, … up to 9999",
                );
                *ok = false;
                continue;
            }
        };
        if versions.contains_key(&number) {
            cx.error(
                file,
                &v.version,
                format!("version {number} of `{id}` is declared twice"),
                "each version number appears once; add a new number for a new version",
            );
            *ok = false;
            continue;
        }
        let status = match v.status.value.as_str() {
            "active" => VersionStatus::Active,
            "deprecated" => VersionStatus::Deprecated,
            "retired" => VersionStatus::Retired,
            other => {
                cx.error(
                    file,
                    &v.status,
                    format!("unknown version status `{other}`"),
                    "use active, deprecated or retired",
                );
                *ok = false;
                continue;
            }
        };
        let tables = validate_tables(cx, file, id, number, status, &v.tables);
        versions.insert(number, Version { number, status, tables });
    }
    versions
}

fn is_time_of_day(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 6
        && b[2] == b':'
        && b[5] == b'Z'
        && s[0..2].parse::<u8>().is_ok_and(|h| h < 24)
        && s[3..5].parse::<u8>().is_ok_and(|m| m < 60)
        && b[0..2].iter().chain(&b[3..5]).all(u8::is_ascii_digit)
}

fn validate_tables(
    cx: &mut Cx,
    file: &Path,
    id: &ProductId,
    version: u32,
    status: VersionStatus,
    tables: &[S<RawTable>],
) -> Vec<Table> {
    let mut out: Vec<Table> = Vec::new();
    let mut names = BTreeSet::new();
    let mut camels = BTreeSet::new();
    for t in tables {
        let t = &t.value;
        if !is_ident(&t.name.value) {
            cx.error(
                file,
                &t.name,
                format!("table `{}` is not a valid name", t.name.value),
                "use lowercase letters, digits and `_`",
            );
            continue;
        }
        if !camels.insert(crate::model::camel(&t.name.value)) && !names.contains(&t.name.value) {
            cx.error(
                file,
                &t.name,
                format!(
                    "table `{}` would share a CloudFormation logical id with another table of `{id}@{version}`",
                    t.name.value
                ),
                "rename it: names that differ only in `_` collide",
            );
            continue;
        }
        if !names.insert(t.name.value.clone()) {
            cx.error(
                file,
                &t.name,
                format!("table `{}` appears twice in `{id}@{version}`", t.name.value),
                "table names are unique within a version",
            );
            continue;
        }
        if t.columns.is_empty() && status != VersionStatus::Retired {
            cx.error(
                file,
                &t.name,
                format!("table `{}` has no columns", t.name.value),
                "declare its `columns`",
            );
        }
        let mut cols = BTreeSet::new();
        let mut check = |c: &RawColumn, key: bool, cx: &mut Cx| -> Option<Column> {
            if !is_ident(&c.name.value) {
                cx.error(
                    file,
                    &c.name,
                    format!("column `{}` is not a valid name", c.name.value),
                    "use lowercase letters, digits and `_`",
                );
                return None;
            }
            if !cols.insert(c.name.value.clone()) {
                cx.error(
                    file,
                    &c.name,
                    format!("column `{}` appears twice in table `{}`", c.name.value, t.name.value),
                    "column and partition key names are unique within a table",
                );
                return None;
            }
            match crate::model::types::normalise(&c.ty.value) {
                Ok(ty) => Some(Column {
                    projection: catalog::projection(cx, file, c, &ty, key),
                    name: c.name.value.clone(),
                    ty,
                    comment: c.comment.as_ref().map(|x| x.value.clone()),
                    sensitive: c.sensitive.as_ref().is_some_and(|s| s.value),
                }),
                Err(why) => {
                    cx.error(
                        file,
                        &c.ty,
                        format!("`{}` is not a Glue column type: {why}", c.ty.value),
                        "use string, boolean, tinyint, smallint, int, bigint, float, double, decimal(p,s), date, timestamp, binary, array<T>, map<K,V> or struct<a:T,...>",
                    );
                    None
                }
            }
        };
        let columns: Vec<Column> = t.columns.iter().filter_map(|c| check(&c.value, false, cx)).collect();
        let partition_keys: Vec<Column> = t
            .partition_keys
            .iter()
            .filter_map(|c| check(&c.value, true, cx))
            .collect();
        for k in &t.partition_keys {
            if let Some(s) = k.value.sensitive.as_ref().filter(|s| s.value) {
                cx.error(
                    file,
                    s,
                    format!("partition key `{}` is marked sensitive", k.value.name.value),
                    "partition keys name where data lives and every reader needs them; mark columns instead",
                );
            }
        }
        out.push(Table {
            name: t.name.value.clone(),
            description: t.description.as_ref().map(|d| d.value.clone()),
            columns,
            partition_keys,
        });
    }
    out
}
