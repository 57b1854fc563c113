//! `manifest.json`: every stack with its account, region, template, dependencies,
//! wave, resource count and SHA-256, and every Glue catalog policy — what
//! `plan` and `deploy` read (`spec/cli.md`, "The output folder"). No IO.

use serde_json::{json, Value};

use super::{canonical, RenderedStack};
use crate::synth::Synthesis;

/// Templates larger than this (CloudFormation's `TemplateBody` limit) are deployed from the
/// account's staging bucket; the manifest says where.
pub const UPLOAD_THRESHOLD: usize = 51_200;

/// The manifest's bytes. `stacks` are in the order of `synthesis.stacks`; `policies` are
/// (account, sha256, bytes) sorted by account.
pub(super) fn manifest(
    synthesis: &Synthesis,
    stacks: &[RenderedStack],
    policies: &[(String, String, Vec<u8>)],
) -> Vec<u8> {
    let entries: Vec<Value> = synthesis
        .stacks
        .iter()
        .zip(stacks)
        .map(|(plan, r)| {
            let mut e = json!({
                "name": plan.name,
                "account": plan.account,
                "region": synthesis.region,
                "template": r.file.path,
                "depends_on": plan.depends_on,
                "wave": plan.wave,
                "resources": r.resources,
                "sha256": r.sha256,
            });
            if r.file.bytes.len() > UPLOAD_THRESHOLD {
                e["upload"] = json!({
                    "bucket": format!("{}-{}-{}-staging", synthesis.org, plan.account, synthesis.region),
                    "key": format!("meshsynth/{}/{}.template.json", plan.name, r.sha256),
                });
            }
            e
        })
        .collect();
    let policies: Vec<Value> = policies
        .iter()
        .map(|(account, sha, _)| json!({"account": account, "file": format!("{account}/glue-resource-policy.json"), "sha256": sha}))
        .collect();
    canonical::to_canonical(&json!({
        "format": 1,
        "org": synthesis.org,
        "region": synthesis.region,
        "stacks": entries,
        "policies": policies,
    }))
}
