//! The validated topology: typed, cross-referenced and ordered.
//!
//! Everything downstream (graph, synth, render, deploy) sees only these types,
//! never the raw serde structs. Collections are `BTreeMap`s keyed by stable ids
//! so that iteration order, and therefore every output, is deterministic and
//! independent of file order.
//!
//! # Why the fields are `pub`
//!
//! Unlike the rest of the crate (`pub(crate)` by default, so the compiler
//! finds dead code), the resolved model is the library's public API, read
//! field by field: the integration tests are independent oracles over it —
//! `tests/it/access_eval.rs` re-derives who may read what from `products`,
//! `versions`, `grants`, `consumes`, `service_roles` and `access_groups` and
//! checks synth's policies against that, and moves `today` to judge grants on
//! another day; `proptest_topology.rs` blanks every `loc` to compare the
//! models of the directory and the single-file layout, and counts the
//! graph's edges against `consumes`.
//! Accessors for all of that would be a second, wider copy of these types.
//! The fields are plain data, validated once by `validate` and never changed
//! by the pipeline, so reading them outside the crate breaks no invariant;
//! what must hold across fields (ids, cross-references) is enforced by the
//! newtypes' constructors and by `validate`, not by hiding the fields.
//! `access` is part of the same API for the same reason (the access oracle
//! reads `Reader` and `resolve`).

pub mod access;
pub mod date;
pub mod load;
pub(crate) mod physical;
pub(crate) mod raw;
pub(crate) mod schema;
pub(crate) mod types;

mod catalog;
pub use catalog::{AlertTarget, DateUnit, Projection};

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct AccountId(pub(crate) String);

impl AccountId {
    /// Parses a 12-digit account id; `None` when it is not one.
    pub fn parse(s: &str) -> Option<AccountId> {
        (s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())).then(|| AccountId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A product id: `<domain>.<name>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProductId {
    pub domain: String,
    pub name: String,
}

impl ProductId {
    /// Parses `<domain>.<name>` (both lowercase names); `None` when malformed.
    pub fn parse(s: &str) -> Option<ProductId> {
        let (domain, name) = s.split_once('.')?;
        (is_name(domain) && is_name(name)).then(|| ProductId {
            domain: domain.to_owned(),
            name: name.to_owned(),
        })
    }
}

impl serde::Serialize for ProductId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl fmt::Display for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.domain, self.name)
    }
}

/// `[a-z0-9-]+`, not starting or ending with `-`: the pattern of org, domain, team and
/// product names.
pub(crate) fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// `[a-z0-9_]+`, starting with a letter or digit: table and column names (Glue lowercases them).
pub(crate) fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !s.starts_with('_')
}

/// Where a value was written: the file and 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Loc {
    pub file: PathBuf,
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
    }
}

/// How read access is expressed in AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AccessMode {
    /// Resource policies on S3, KMS and the Glue catalog (`aws:PrincipalOrgID` for open data).
    Iam,
    /// Lake Formation grants.
    LakeFormation,
}

/// Open data is readable org-wide; restricted data only by steward-approved consumers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Classification {
    Open,
    Restricted,
}

impl Classification {
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Open => "open",
            Classification::Restricted => "restricted",
        }
    }
}

/// What an access group or service role may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Every open product.
    Open,
    /// Every open product plus the products listed.
    Restricted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Environment {
    Prod,
    Staging,
    Dev,
    Sandbox,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Prod => "prod",
            Environment::Staging => "staging",
            Environment::Dev => "dev",
            Environment::Sandbox => "sandbox",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum VersionStatus {
    Active,
    Deprecated,
    Retired,
}

impl VersionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionStatus::Active => "active",
            VersionStatus::Deprecated => "deprecated",
            VersionStatus::Retired => "retired",
        }
    }
}

/// The validated organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    pub org: Org,
    pub domains: BTreeMap<String, Domain>,
    pub access_groups: BTreeMap<String, AccessGroup>,
    pub teams: BTreeMap<String, Team>,
    /// Every account that a team owns.
    pub accounts: BTreeMap<AccountId, Account>,
    pub products: BTreeMap<ProductId, Product>,
    /// One entry per consume entry of the topology, sorted by
    /// (consuming account, product, version, team).
    pub consumes: Vec<Consume>,
    /// Sorted by (account, name).
    pub service_roles: Vec<ServiceRole>,
    /// The day grants were judged on (expiry): today, or `MESHSYNTH_TODAY`.
    pub today: date::Date,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub name: String,
    pub organization_id: String,
    pub management_account: AccountId,
    pub central_account: AccountId,
    pub region: String,
    pub deploy_role: String,
    pub access_mode: AccessMode,
    pub identity_center: Option<IdentityCenter>,
    /// Code owners of the org file (`owners`), as written; see `meshsynth codeowners`.
    pub owners: Vec<String>,
    pub tags: BTreeMap<String, String>,
    /// Days after which Athena query results expire.
    pub query_results_days: u32,
    /// Role names made data lake administrators besides the deploy role (lakeformation mode).
    pub data_lake_admins: Vec<String>,
    /// `org.keep_iam_paths` (lakeformation mode only): the iam mode's read paths stay beside
    /// the Lake Formation grants, for the deploy that switches an org from `iam`.
    pub keep_iam_paths: bool,
    /// Whether the data and staging buckets write S3 server access logs to the account's log
    /// bucket (`org.access_logs`, default true).
    pub access_logs: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityCenter {
    pub instance_arn: String,
    pub identity_store_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGroup {
    pub name: String,
    pub group_id: String,
    pub access: Access,
    /// The restricted products this group asks for besides every open one.
    pub products: BTreeSet<ProductId>,
    /// Where the group was declared (org.yaml).
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub name: String,
    pub domain: String,
    pub steward: Option<String>,
    pub contact: Option<String>,
    /// Code owners of the team's file (`owners`), as written; see `meshsynth codeowners`.
    pub owners: Vec<String>,
    pub accounts: BTreeSet<AccountId>,
    /// Where the team was declared (its file), for messages.
    pub loc: Loc,
    /// Where its products' freshness alarms notify, besides the account's alert topic.
    pub alerts: Vec<AlertTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub environment: Environment,
    pub team: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: ProductId,
    pub team: String,
    pub account: AccountId,
    pub classification: Classification,
    pub description: Option<String>,
    pub slo: Option<Slo>,
    pub versions: BTreeMap<u32, Version>,
    /// The steward's grants (restricted products only), in the order written.
    pub grants: Vec<Grant>,
}

/// Who a grant is to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grantee {
    /// A consuming account (optionally narrowed to some of its service roles).
    Account(AccountId),
    /// A restricted access group of the central account.
    Group(String),
}

impl fmt::Display for Grantee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grantee::Account(a) => write!(f, "account {a}"),
            Grantee::Group(g) => write!(f, "access group {g}"),
        }
    }
}

/// A data steward's approval of read access to a restricted product, from the producer's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub to: Grantee,
    /// Only these service roles of the account (empty: every restricted one that lists the product).
    pub roles: BTreeSet<String>,
    /// Only these versions (`None`: every live version).
    pub versions: Option<BTreeSet<u32>>,
    pub approved_by: String,
    /// Whether the grantee also reads sensitive columns (`columns: all`).
    pub all_columns: bool,
    pub reason: Option<String>,
    /// From this day on the grant gives no access.
    pub expires: Option<date::Date>,
    /// Where the grant was written (the producer's file).
    pub loc: Loc,
}

impl Grant {
    /// Whether the grant gives access on `today` (it has not expired).
    pub fn is_live(&self, today: date::Date) -> bool {
        self.expires.is_none_or(|e| today < e)
    }

    /// Whether it names `version` (all versions when it names none).
    pub(crate) fn covers(&self, version: u32) -> bool {
        self.versions.as_ref().is_none_or(|v| v.contains(&version))
    }

    /// Whether it lets `role` read (every role when it names none).
    pub(crate) fn admits_role(&self, role: &str) -> bool {
        self.roles.is_empty() || self.roles.contains(role)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slo {
    pub freshness: Option<String>,
    pub available_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub number: u32,
    pub status: VersionStatus,
    /// In the order written (it is the order of the Glue schema).
    pub tables: Vec<Table>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    pub description: Option<String>,
    /// In the order written: column order is part of a Parquet table's schema.
    pub columns: Vec<Column>,
    pub partition_keys: Vec<Column>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// A Glue/Hive type, normalised (lowercase, no spaces).
    pub ty: String,
    pub comment: Option<String>,
    /// Left out of org-wide Lake Formation grants, and of grants without `columns: all`.
    pub sensitive: bool,
    /// Partition keys: how Athena projects this key's partitions (always set,
    /// inferred when not written). Columns: `None`.
    pub projection: Option<Projection>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consume {
    pub team: String,
    pub account: AccountId,
    pub product: ProductId,
    pub version: u32,
    pub purpose: Option<String>,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRole {
    pub team: String,
    pub name: String,
    /// The IAM path of the existing role: `/` or `/a/b/`.
    pub path: String,
    pub account: AccountId,
    pub access: Access,
    pub products: BTreeSet<ProductId>,
    pub loc: Loc,
}

/// A non-fatal finding, such as a consumer still on a deprecated version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub loc: Loc,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.loc, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl Topology {
    /// The owning team of a product's producing account.
    pub(crate) fn product(&self, id: &ProductId) -> Option<&Product> {
        self.products.get(id)
    }
}

/// A name as a CloudFormation logical-id fragment: `ad-revenue` → `AdRevenue`,
/// `episode_id` → `EpisodeId`. Validation guarantees that the fragments of
/// different products (and of tables within a version) never collide.
pub(crate) fn camel(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut upper = true;
    for c in s.chars() {
        if c == '-' || c == '_' || c == '.' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

impl ProductId {
    /// The logical-id fragment of this product: domain and name in camel case.
    pub(crate) fn camel(&self) -> String {
        format!("{}{}", camel(&self.domain), camel(&self.name))
    }
}
