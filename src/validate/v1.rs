//! Format v1 is refused: its consumers approved their own access (`approved_by`
//! on their consume entries). The refusal says, for every `approved_by`, which
//! grant to add and in which file, so the move to v2 is mechanical (and
//! `meshsynth migrate` does it).

use std::collections::BTreeMap;
use std::path::Path;

use super::{loc, Cx};
use crate::model::load::RawInput;
use crate::model::raw::S;
use crate::model::{Diagnostic, ProductId};

/// One grant that format v2 needs for a v1 `approved_by`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct NeededGrant {
    /// The producing team's file, where the grant goes.
    pub(crate) file: std::path::PathBuf,
    pub(crate) product: ProductId,
    /// `account: "…"` or `access_group: …`.
    pub(crate) to: String,
    pub(crate) version: u32,
    pub(crate) approved_by: String,
}

impl NeededGrant {
    /// The grant as one YAML flow mapping, as it goes under the product's `grants:`.
    pub(crate) fn yaml(&self) -> String {
        format!(
            "- {{ {}, versions: [{}], approved_by: {} }}",
            self.to, self.version, self.approved_by
        )
    }
}

/// Every grant a v1 topology's approvals translate to, each with where its `approved_by` was written.
pub(crate) fn needed_grants(input: &RawInput) -> Vec<(crate::model::Loc, NeededGrant)> {
    // The file and domain of every product, and the restricted access groups listing it.
    let mut producer: BTreeMap<ProductId, &Path> = BTreeMap::new();
    for (file, t) in &input.teams {
        for p in &t.value.products {
            producer.insert(
                ProductId {
                    domain: t.value.domain.value.clone(),
                    name: p.value.name.value.clone(),
                },
                file.as_path(),
            );
        }
    }
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for g in &input.top.access_groups {
        if g.value.access.value == "restricted" {
            for item in g.value.products.iter().flat_map(|l| &l.value) {
                groups
                    .entry(item.value.clone())
                    .or_default()
                    .push(g.value.name.value.clone());
            }
        }
    }
    let central = input.top.org.value.central_account.value.clone();
    let mut out = Vec::new();
    for (file, t) in &input.teams {
        for c in &t.value.consumes {
            let c = &c.value;
            let Some(approved) = &c.approved_by else { continue };
            let Some((id, version)) = c
                .product
                .value
                .split_once('@')
                .and_then(|(id, v)| Some((ProductId::parse(id)?, v.parse::<u32>().ok()?)))
            else {
                continue;
            };
            let Some(pfile) = producer.get(&id) else { continue };
            let at = loc(file, approved);
            let grant = |to: String| NeededGrant {
                file: pfile.to_path_buf(),
                product: id.clone(),
                to,
                version,
                approved_by: approved.value.clone(),
            };
            out.push((at.clone(), grant(format!("account: \"{}\"", c.account.value))));
            // In v1 a restricted access group read what the central account consumed with approval.
            if c.account.value == central {
                for g in groups.get(&id.to_string()).into_iter().flatten() {
                    out.push((at.clone(), grant(format!("access_group: {g}"))));
                }
            }
        }
    }
    out
}

/// The errors that refuse a v1 topology: one at `version`, one per `approved_by`.
pub(super) fn refuse(input: &RawInput) -> Vec<Diagnostic> {
    let mut cx = Cx {
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let version: &S<i64> = &input.top.version;
    cx.error(
        &input.org_file,
        version,
        "format version 1 is no longer read: in version 2 the producer's data steward grants access to restricted products, in the producer's file",
        "run `meshsynth migrate` to rewrite the topology, or set `version: 2`, remove every `approved_by` from consume entries and add the grants listed below",
    );
    let mut by_line: BTreeMap<crate::model::Loc, Vec<NeededGrant>> = BTreeMap::new();
    for (at, g) in needed_grants(input) {
        by_line.entry(at).or_default().push(g);
    }
    for (at, grants) in by_line {
        let first = &grants[0];
        let lines: Vec<String> = grants.iter().map(NeededGrant::yaml).collect();
        cx.errors.push(Diagnostic {
            loc: at,
            message: format!("`approved_by` moves to the producer of `{}`", first.product),
            hint: Some(format!(
                "remove it here and add under `grants:` of product `{}` in {}: {}",
                first.product.name,
                first.file.display(),
                lines.join(" ")
            )),
        });
    }
    cx.errors.sort();
    cx.errors
}
