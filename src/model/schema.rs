//! The JSON Schema of the topology format, generated from the raw serde types
//! so it can never drift from what the loader accepts.

use serde_json::Value;

use super::raw::{RawTeam, RawTopology};

/// The schema of a whole topology file (single-file form, or `org.yaml`).
pub(crate) fn topology_schema() -> Value {
    let mut v = serde_json::to_value(schemars::schema_for!(RawTopology)).unwrap_or(Value::Null);
    v["title"] = Value::from("meshsynth topology (v1)");
    v
}

/// The schema of one team file (`teams/<team>.yaml` of the directory form).
pub(crate) fn team_schema() -> Value {
    let mut v = serde_json::to_value(schemars::schema_for!(RawTeam)).unwrap_or(Value::Null);
    v["title"] = Value::from("meshsynth team (v1)");
    v
}
