//! `meshsynth blueprint-context PART`: what a blueprint is given, so a house rule
//! can be written without reading Rust — the typed contexts synth builds for the
//! current topology (by stack id, pretty JSON), or with `--schema` their JSON Schema.

use std::collections::BTreeMap;

use super::{load_topology, Io};
use crate::cli::{BlueprintContextArgs, BlueprintPart};
use crate::error::{Error, Result};
use crate::exit::ExitCode;
use crate::settings::Settings;
use crate::synth::Part;

/// The blueprint's name (its file is `blueprints/<name>.json.hbs`).
fn blueprint(part: BlueprintPart) -> &'static str {
    match part {
        BlueprintPart::Baseline => Part::Baseline.as_str(),
        BlueprintPart::Products => Part::Products.as_str(),
        BlueprintPart::Consumer => Part::Consumer.as_str(),
        BlueprintPart::Central => Part::Central.as_str(),
        BlueprintPart::Identity => Part::Identity.as_str(),
        BlueprintPart::Access => Part::Access.as_str(),
        BlueprintPart::GlueResourcePolicy => "glue-resource-policy",
    }
}

pub(crate) fn run(settings: &Settings, args: &BlueprintContextArgs, io: &mut Io<'_>) -> Result<ExitCode> {
    let name = blueprint(args.part);
    let text = if args.schema {
        let schema = crate::synth::context_schema(name).expect("every blueprint part has a context type");
        serde_json::to_string_pretty(&schema)?
    } else {
        let topology = load_topology(settings, io)?;
        let synthesis = crate::synth::plan(&topology)?;
        let wanted = |account: String| args.account.as_ref().is_none_or(|a| *a == account);
        let mut contexts: BTreeMap<String, serde_json::Value> = BTreeMap::new();
        if args.part == BlueprintPart::GlueResourcePolicy {
            for p in synthesis.policies.iter().filter(|p| wanted(p.account.to_string())) {
                contexts.insert(format!("{}/{name}", p.account), serde_json::to_value(&p.context)?);
            }
        } else {
            for s in synthesis
                .stacks
                .iter()
                .filter(|s| s.part.as_str() == name && wanted(s.account.to_string()))
            {
                contexts.insert(s.id(), serde_json::to_value(&s.context)?);
            }
        }
        if let (Some(account), true) = (&args.account, contexts.is_empty()) {
            let mut has: Vec<&str> = synthesis
                .stacks
                .iter()
                .filter(|s| s.account.to_string() == *account)
                .map(|s| s.name.as_str())
                .collect();
            if synthesis.policies.iter().any(|p| p.account.to_string() == *account) {
                has.push("glue-resource-policy");
            }
            let detail = if has.is_empty() {
                "no stacks at all".to_owned()
            } else {
                format!(
                    "only {}",
                    has.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                )
            };
            return Err(Error::usage(format!(
                "account `{account}` has no `{name}` blueprint in this topology: it has {detail}"
            )));
        }
        serde_json::to_string_pretty(&contexts)?
    };
    io.out.write_all(text.as_bytes())?;
    io.out.write_all(b"\n")?;
    Ok(ExitCode::Success)
}
