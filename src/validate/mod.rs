//! Raw topology → validated model.
//!
//! Every rule of `spec/topology.md` lives here. Validation never stops at the
//! first problem: it collects every error (and every warning), each pointing at
//! the file, line and column of the value at fault, sorted by place. Nothing
//! downstream re-checks these rules; it relies on them.
//!
//! A [`Validator`] runs one pass per part of the topology, in the order their
//! references need (org, domains, teams and accounts, products, consumes,
//! service roles, access groups, grants); each pass is a method in the module
//! of its part. The passes only add diagnostics and fill the model; the
//! diagnostics are sorted once at the end, so their order never depends on
//! the order of the passes — which lets passes that only read the same parts
//! run side by side, each with its own diagnostics (the product-wide checks
//! beside the consume entries).

mod access_groups;
mod catalog;
mod consumes;
mod cx;
mod grants;
mod org;
mod owners;
mod products;
mod roles;
mod teams;
pub(crate) mod v1;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::model::load::RawInput;
use crate::model::{
    AccessGroup, Account, AccountId, Consume, Diagnostic, Domain, Loc, Org, Product, ProductId, ServiceRole, Team,
    Topology,
};
use cx::{file_owner, loc, owned_items, Cx};

/// The outcome of validation: the model and its warnings, or every error.
pub(crate) type Validated = Result<(Topology, Vec<Diagnostic>), Vec<Diagnostic>>;

/// Reads and validates a topology file or directory.
pub fn read_topology(path: &Path) -> Result<(Topology, Vec<Diagnostic>), crate::model::load::LoadError> {
    let raw = crate::model::load::load(path)?;
    validate(raw).map_err(crate::model::load::LoadError::Invalid)
}

/// Validates a topology as read by `model::load`.
pub fn validate(input: RawInput) -> Validated {
    validate_ref(&input)
}

/// Validates a topology without taking it: the caller decides when (and on
/// which thread) the large raw input is freed.
pub(crate) fn validate_ref(input: &RawInput) -> Validated {
    Validator::new(input).run()
}

/// The state of one validation: the raw input, the diagnostics so far, and
/// the parts of the model the passes have built (a part that failed is left
/// out, and later passes do not report references to it again).
struct Validator<'a> {
    input: &'a RawInput,
    cx: Cx,
    org: Option<Org>,
    domains: BTreeMap<String, Domain>,
    /// Every product id that some team declares, valid or not: a reference to
    /// one that failed validation is not reported again (its own error says why).
    declared: BTreeSet<ProductId>,
    teams: BTreeMap<String, Team>,
    accounts: BTreeMap<AccountId, Account>,
    account_loc: BTreeMap<AccountId, Loc>,
    products: BTreeMap<ProductId, Product>,
    product_loc: BTreeMap<ProductId, Loc>,
    consumes: Vec<Consume>,
    service_roles: Vec<ServiceRole>,
    access_groups: BTreeMap<String, AccessGroup>,
}

impl<'a> Validator<'a> {
    fn new(input: &'a RawInput) -> Self {
        Validator {
            input,
            cx: Cx {
                errors: Vec::new(),
                warnings: Vec::new(),
            },
            org: None,
            domains: BTreeMap::new(),
            declared: BTreeSet::new(),
            teams: BTreeMap::new(),
            accounts: BTreeMap::new(),
            account_loc: BTreeMap::new(),
            products: BTreeMap::new(),
            product_loc: BTreeMap::new(),
            consumes: Vec::new(),
            service_roles: Vec::new(),
            access_groups: BTreeMap::new(),
        }
    }

    /// Every pass, in the order their references need.
    fn run(mut self) -> Validated {
        let input = self.input;
        match input.top.version.value {
            2 => {}
            1 => return Err(v1::refuse(input)),
            other => self.cx.error(
                &input.org_file,
                &input.top.version,
                format!("unsupported topology version `{other}`"),
                "this meshsynth reads `version: 2`",
            ),
        }
        self.org = org::validate_org(&mut self.cx, &input.org_file, &input.top.org);
        self.domains();
        self.declared = teams::declared_products(input);
        self.teams();
        self.products();
        // The product-wide checks only read the products: they run beside the consume entries.
        let ((consumes, consumes_cx), products_cx) = rayon::join(
            || self.consumes(),
            || {
                let mut cx = Cx::default();
                self.logical_ids(&mut cx);
                self.sensitive_columns(&mut cx);
                self.restricted_stewards(&mut cx);
                self.special_accounts(&mut cx);
                cx
            },
        );
        self.consumes = consumes;
        self.cx.absorb(consumes_cx);
        self.cx.absorb(products_cx);
        self.service_roles();
        self.access_groups();
        // Grants name accounts, roles and access groups: they come after all of those.
        grants::validate(
            &mut self.cx,
            &input.teams,
            &self.teams,
            &mut self.products,
            (&self.accounts, &self.service_roles, &self.access_groups),
        );
        self.finish()
    }

    /// The model and its warnings, or every error; each list sorted, without repeats.
    fn finish(self) -> Validated {
        let mut cx = self.cx;
        match self.org {
            Some(org) if cx.errors.is_empty() => {
                let mut service_roles = self.service_roles;
                service_roles.sort_by(|a: &ServiceRole, b| (&a.account, &a.name).cmp(&(&b.account, &b.name)));
                let topology = Topology {
                    org,
                    domains: self.domains,
                    access_groups: self.access_groups,
                    teams: self.teams,
                    accounts: self.accounts,
                    products: self.products,
                    consumes: self.consumes,
                    service_roles,
                    today: crate::model::date::Date::today(),
                };
                grants::warn(&mut cx, &topology);
                cx.warnings.sort();
                cx.warnings.dedup();
                Ok((topology, cx.warnings))
            }
            _ => {
                cx.errors.sort();
                cx.errors.dedup();
                Err(cx.errors)
            }
        }
    }
}
