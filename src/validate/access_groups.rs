//! The access groups pass (they name products, so they come after products),
//! and the product lists that access groups and service roles share.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::consumes::closest_product;
use super::{loc, Cx, Validator};
use crate::model::raw::S;
use crate::model::{Access, AccessGroup, Product, ProductId};

impl Validator<'_> {
    /// Access groups: unique names, a group id, an access and the products it lists.
    pub(super) fn access_groups(&mut self) {
        let input = self.input;
        let of = input.org_file.as_path();
        let cx = &mut self.cx;
        for g in &input.top.access_groups {
            let g = &g.value;
            if !cx.name(of, &g.name, "access group") {
                continue;
            }
            if self.access_groups.contains_key(&g.name.value) {
                cx.error(
                    of,
                    &g.name,
                    format!("access group `{}` is declared twice", g.name.value),
                    "remove one of them",
                );
                continue;
            }
            if g.group_id.value.trim().is_empty() {
                cx.error(
                    of,
                    &g.group_id,
                    "`group_id` is empty",
                    "copy the group's id from the Identity Center identity store",
                );
            }
            let Some(access) = parse_access(cx, of, &g.access) else {
                continue;
            };
            let listed = check_product_list(
                cx,
                of,
                access,
                g.products.as_ref(),
                &self.products,
                &self.declared,
                "access group",
            );
            self.access_groups.insert(
                g.name.value.clone(),
                AccessGroup {
                    name: g.name.value.clone(),
                    group_id: g.group_id.value.clone(),
                    access,
                    products: listed,
                    loc: loc(of, &g.name),
                },
            );
        }
        if !self.access_groups.is_empty() {
            if let Some(org) = &self.org {
                if org.identity_center.is_none() {
                    cx.error(
                        of,
                        &input.top.org,
                        "access groups are declared but `org.identity_center` is not",
                        "add `identity_center: { instance_arn, identity_store_id }` so permission sets can be assigned",
                    );
                }
            }
        }
    }
}

pub(super) fn parse_access(cx: &mut Cx, file: &Path, s: &S<String>) -> Option<Access> {
    match s.value.as_str() {
        "open" => Some(Access::Open),
        "restricted" => Some(Access::Restricted),
        other => {
            cx.error(file, s, format!("unknown access `{other}`"), "use open or restricted");
            None
        }
    }
}

/// Checks the `products` list of an access group or service role against its access level.
pub(super) fn check_product_list(
    cx: &mut Cx,
    file: &Path,
    access: Access,
    list: Option<&S<Vec<S<String>>>>,
    products: &BTreeMap<ProductId, Product>,
    declared: &BTreeSet<ProductId>,
    what: &str,
) -> BTreeSet<ProductId> {
    let mut out = BTreeSet::new();
    match (access, list) {
        (Access::Open, Some(list)) if !list.value.is_empty() => {
            cx.error(
                file,
                list,
                format!("an open {what} lists no products (it reads every open product)"),
                "remove `products`, or make it `access: restricted`",
            );
        }
        (Access::Restricted, None) => {}
        (Access::Restricted, Some(list)) if list.value.is_empty() => {}
        (Access::Open, _) => return out,
        (Access::Restricted, Some(list)) => {
            for item in &list.value {
                let Some(id) = ProductId::parse(&item.value) else {
                    cx.error(
                        file,
                        item,
                        format!("`{}` is not a product id", item.value),
                        "write `<domain>.<product>`, e.g. finance.payouts",
                    );
                    continue;
                };
                if !products.contains_key(&id) {
                    if !declared.contains(&id) {
                        cx.error(
                            file,
                            item,
                            format!("product `{id}` does not exist"),
                            closest_product(products, &id),
                        );
                    }
                    continue;
                }
                if !out.insert(id.clone()) {
                    cx.error(
                        file,
                        item,
                        format!("product `{id}` is listed twice"),
                        "remove the duplicate",
                    );
                }
            }
            return out;
        }
    }
    out
}
