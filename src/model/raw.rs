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

/// A whole topology in single-file form, or `org.yaml` of the directory form
/// (where `teams` is empty and each team comes from its own file).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTopology {
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
    pub(crate) group_id: S<String>,
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
    pub(crate) id: S<String>,
    pub(crate) name: S<String>,
    pub(crate) environment: S<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProduct {
    pub(crate) name: S<String>,
    pub(crate) account: S<String>,
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
    pub(crate) freshness: Option<S<String>>,
    #[serde(default)]
    pub(crate) available_by: Option<S<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVersion {
    pub(crate) version: S<i64>,
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
    pub(crate) product: S<String>,
    pub(crate) account: S<String>,
    #[serde(default)]
    pub(crate) purpose: Option<S<String>>,
    #[serde(default)]
    pub(crate) approved_by: Option<S<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServiceRole {
    pub(crate) name: S<String>,
    pub(crate) account: S<String>,
    pub(crate) access: S<String>,
    #[serde(default)]
    pub(crate) products: Option<S<Vec<S<String>>>>,
}
