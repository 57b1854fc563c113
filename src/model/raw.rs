//! The topology exactly as the user wrote it: serde structs mirroring the YAML
//! (or JSON) 1:1, with the source position of every value that a semantic
//! error may need to point at.
//!
//! Nothing here is validated beyond its shape; `validate` turns these into the
//! typed model. Unknown keys are rejected here (`deny_unknown_fields`), because
//! a typo in an access rule must never silently drop access.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};

/// A value and where it was written (line and column, 1-based; 0 when unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct S<T> {
    pub(crate) value: T,
    pub(crate) line: u32,
    pub(crate) col: u32,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for S<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<T>::deserialize(deserializer)?;
        let at = spanned.referenced;
        Ok(S {
            value: spanned.value,
            line: u32::try_from(at.line()).unwrap_or(u32::MAX),
            col: u32::try_from(at.column()).unwrap_or(u32::MAX),
        })
    }
}

impl<T: JsonSchema> JsonSchema for S<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// A meshsynth topology (v1): the whole org in single-file form, or `org.yaml`
/// of the directory form (where `teams` is absent and each team has its own file).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTopology {
    /// Format version; must be 1.
    #[schemars(range(min = 1, max = 1))]
    pub(crate) version: S<i64>,
    pub(crate) org: S<RawOrg>,
    #[serde(default)]
    pub(crate) domains: Vec<S<RawDomain>>,
    #[serde(default)]
    pub(crate) access_groups: Vec<S<RawAccessGroup>>,
    #[serde(default)]
    pub(crate) teams: Option<S<Vec<S<RawTeam>>>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOrg {
    pub(crate) name: S<String>,
    pub(crate) organization_id: S<String>,
    pub(crate) management_account: S<String>,
    pub(crate) central_account: S<String>,
    pub(crate) region: S<String>,
    #[serde(default)]
    pub(crate) deploy_role: Option<S<String>>,
    #[serde(default)]
    /// How read access is expressed: resource policies (`iam`, default) or Lake Formation grants.
    #[schemars(extend("enum" = ["iam", "lakeformation"]))]
    pub(crate) access_mode: Option<S<String>>,
    #[serde(default)]
    pub(crate) identity_center: Option<S<RawIdentityCenter>>,
    #[serde(default)]
    pub(crate) tags: Option<S<BTreeMap<String, String>>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIdentityCenter {
    pub(crate) instance_arn: S<String>,
    pub(crate) identity_store_id: S<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDomain {
    pub(crate) name: S<String>,
    #[serde(default)]
    pub(crate) description: Option<S<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAccessGroup {
    pub(crate) name: S<String>,
    /// The Identity Center identity-store group id.
    pub(crate) group_id: S<String>,
    /// Open: every open product. Restricted: every open product plus `products`.
    #[schemars(extend("enum" = ["open", "restricted"]))]
    pub(crate) access: S<String>,
    #[serde(default)]
    pub(crate) products: Option<S<Vec<S<String>>>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTeam {
    pub(crate) name: S<String>,
    pub(crate) domain: S<String>,
    #[serde(default)]
    pub(crate) steward: Option<S<String>>,
    #[serde(default)]
    pub(crate) contact: Option<S<String>>,
    #[serde(default)]
    pub(crate) accounts: Vec<S<RawAccount>>,
    #[serde(default)]
    pub(crate) products: Vec<S<RawProduct>>,
    #[serde(default)]
    pub(crate) consumes: Vec<S<RawConsume>>,
    #[serde(default)]
    pub(crate) service_roles: Vec<S<RawServiceRole>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAccount {
    /// The 12-digit account id, quoted.
    #[schemars(regex(pattern = r"^[0-9]{12}$"))]
    pub(crate) id: S<String>,
    pub(crate) name: S<String>,
    /// The account's environment.
    #[schemars(extend("enum" = ["prod", "staging", "dev", "sandbox"]))]
    pub(crate) environment: S<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProduct {
    pub(crate) name: S<String>,
    pub(crate) account: S<String>,
    /// Open: readable org-wide. Restricted: only by steward-approved consumers.
    #[schemars(extend("enum" = ["open", "restricted"]))]
    pub(crate) classification: S<String>,
    #[serde(default)]
    pub(crate) description: Option<S<String>>,
    #[serde(default)]
    pub(crate) slo: Option<S<RawSlo>>,
    pub(crate) versions: S<Vec<S<RawVersion>>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSlo {
    #[serde(default)]
    /// How often a new partition lands.
    #[schemars(extend("enum" = ["hourly", "daily", "weekly"]))]
    pub(crate) freshness: Option<S<String>>,
    #[serde(default)]
    /// Time of day (UTC) by which the new partition is readable, e.g. "06:00Z".
    #[schemars(regex(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]Z$"))]
    pub(crate) available_by: Option<S<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVersion {
    pub(crate) version: S<i64>,
    /// Lifecycle of this version.
    #[schemars(extend("enum" = ["active", "deprecated", "retired"]))]
    pub(crate) status: S<String>,
    #[serde(default)]
    pub(crate) tables: Vec<S<RawTable>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTable {
    pub(crate) name: S<String>,
    #[serde(default)]
    pub(crate) description: Option<S<String>>,
    #[serde(default)]
    pub(crate) columns: Vec<S<RawColumn>>,
    #[serde(default)]
    pub(crate) partition_keys: Vec<S<RawColumn>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawColumn {
    pub(crate) name: S<String>,
    #[serde(rename = "type")]
    pub(crate) ty: S<String>,
    #[serde(default)]
    pub(crate) comment: Option<S<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConsume {
    /// `<domain>.<product>@<version>`.
    #[schemars(regex(pattern = r"^[a-z0-9-]+\.[a-z0-9-]+@[1-9][0-9]*$"))]
    pub(crate) product: S<String>,
    /// The consuming account, one of this team's (12 digits, quoted).
    #[schemars(regex(pattern = r"^[0-9]{12}$"))]
    pub(crate) account: S<String>,
    #[serde(default)]
    pub(crate) purpose: Option<S<String>>,
    #[serde(default)]
    pub(crate) approved_by: Option<S<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServiceRole {
    /// The IAM role name of the job (e.g. an Airflow execution role).
    pub(crate) name: S<String>,
    /// The account the role lives in; one of this team's.
    pub(crate) account: S<String>,
    /// Open: every open product. Restricted: every open product plus `products`, each consumed with approval by `account`.
    #[schemars(extend("enum" = ["open", "restricted"]))]
    pub(crate) access: S<String>,
    #[serde(default)]
    pub(crate) products: Option<S<Vec<S<String>>>>,
}
