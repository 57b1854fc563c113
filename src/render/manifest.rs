//! `manifest.json`: the one description of an output folder. Every stack with
//! its account, region, template, dependencies, wave, resource count and
//! SHA-256, and every Glue catalog policy (`spec/cli.md`, "The output folder").
//!
//! `render` builds a [`Manifest`] and writes it; `deploy` (and so `plan`) and
//! `diff` read it back with [`parse`], which refuses a path that leaves the
//! folder wherever the manifest comes from. The names of the files and of the
//! upload location live here once, as does the hashing of file bytes. No IO.

use std::path::{Component, Path};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::RenderedStack;
use crate::synth::Synthesis;

/// The manifest's file name, at the top of the output folder.
pub(crate) const MANIFEST_FILE: &str = "manifest.json";

/// The manifest format this meshsynth writes and reads.
pub(crate) const FORMAT: u32 = 1;

/// Templates larger than this (CloudFormation's `TemplateBody` limit) are deployed from the
/// account's staging bucket; the manifest says where.
pub(crate) const UPLOAD_THRESHOLD: usize = 51_200;

/// The name of the Glue catalog resource policy file beside an account's templates.
pub(crate) const GLUE_POLICY_FILE: &str = "glue-resource-policy.json";

/// `manifest.json` as `synth` writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub(crate) format: u32,
    pub(crate) org: String,
    pub(crate) region: String,
    pub(crate) stacks: Vec<ManifestStack>,
    #[serde(default)]
    pub(crate) policies: Vec<ManifestPolicy>,
}

/// One stack of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ManifestStack {
    pub(crate) name: String,
    pub(crate) account: String,
    pub(crate) region: String,
    /// The template's path, relative to the manifest.
    pub(crate) template: String,
    /// `<account>/<stack>` of the stacks deployed before this one.
    #[serde(default)]
    pub(crate) depends_on: Vec<String>,
    /// Deploy order: every stack of wave N before any of wave N+1.
    pub(crate) wave: u32,
    #[serde(default)]
    pub(crate) resources: u32,
    pub(crate) sha256: String,
    /// Set when the template is too large to send inline: stage it here first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) upload: Option<Upload>,
}

/// Where a large template is staged (a bucket of the stack's own account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Upload {
    pub(crate) bucket: String,
    pub(crate) key: String,
}

/// The Glue catalog resource policy of a producer account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ManifestPolicy {
    pub(crate) account: String,
    /// The policy's path, relative to the manifest.
    pub(crate) file: String,
    pub(crate) sha256: String,
}

/// The lowercase hex SHA-256 of some bytes: what the manifest records of every file.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    s
}

/// `<account>/<stack>.template.json`
pub(crate) fn template_file(account: &str, stack: &str) -> String {
    format!("{account}/{stack}.template.json")
}

/// `<account>/glue-resource-policy.json`
pub(crate) fn policy_file(account: &str) -> String {
    format!("{account}/{GLUE_POLICY_FILE}")
}

/// Where a template too large to send inline is staged: the staging bucket of its account,
/// under a key that changes with its content.
pub(crate) fn upload(org: &str, account: &str, region: &str, stack: &str, sha256: &str) -> Upload {
    Upload {
        bucket: crate::model::physical::staging_bucket(org, account, region),
        key: format!("meshsynth/{stack}/{sha256}.template.json"),
    }
}

/// Whether a manifest path stays inside the output folder: relative, not empty, no `..`.
pub(crate) fn is_inside(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// `access.json`, in canonical JSON: the access decisions `diff` and `plan` compare.
pub(crate) fn access_file(model: &crate::synth::decisions::AccessModel) -> super::File {
    super::File {
        path: crate::synth::decisions::ACCESS_FILE.to_owned(),
        bytes: super::value::to_canonical(model)
            .expect("the access model serialises: strings, numbers and booleans only"),
    }
}

/// Reads a manifest's bytes: its format, and every path it names inside the folder.
/// The error is the reason, for the caller to put beside the manifest's path.
pub(crate) fn parse(bytes: &[u8]) -> Result<Manifest, String> {
    let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if manifest.format != FORMAT {
        return Err(format!(
            "format {} is not supported (this meshsynth reads format {FORMAT})",
            manifest.format
        ));
    }
    let outside = |what: String, path: &str| {
        format!("{what} has path `{path}`, which leaves the output folder (paths are relative to manifest.json, inside its folder, without `..`)")
    };
    for s in &manifest.stacks {
        if !is_inside(&s.template) {
            return Err(outside(format!("stack `{}/{}`", s.account, s.name), &s.template));
        }
    }
    for p in &manifest.policies {
        if !is_inside(&p.file) {
            return Err(outside(format!("the Glue policy of account `{}`", p.account), &p.file));
        }
    }
    Ok(manifest)
}

/// The manifest's bytes. `stacks` are in the order of `synthesis.stacks`; `policies` are
/// (account, sha256) sorted by account.
pub(super) fn manifest(synthesis: &Synthesis, stacks: &[RenderedStack], policies: &[(String, String)]) -> Vec<u8> {
    let stacks = synthesis
        .stacks
        .iter()
        .zip(stacks)
        .map(|(plan, r)| {
            let account = plan.account.as_str();
            ManifestStack {
                name: plan.name.clone(),
                account: account.to_owned(),
                region: synthesis.region.clone(),
                template: r.path.clone(),
                depends_on: plan.depends_on.clone(),
                wave: plan.wave,
                resources: u32::try_from(r.resources).expect("at most MAX_RESOURCES, checked when rendered"),
                sha256: r.sha256.clone(),
                upload: (r.len > UPLOAD_THRESHOLD)
                    .then(|| upload(&synthesis.org, account, &synthesis.region, &plan.name, &r.sha256)),
            }
        })
        .collect();
    let policies = policies
        .iter()
        .map(|(account, sha)| ManifestPolicy {
            account: account.clone(),
            file: policy_file(account),
            sha256: sha.clone(),
        })
        .collect();
    let manifest = Manifest {
        format: FORMAT,
        org: synthesis.org.clone(),
        region: synthesis.region.clone(),
        stacks,
        policies,
    };
    super::value::to_canonical(&manifest).expect("a manifest serialises: strings and numbers only")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_stay_inside() {
        assert!(is_inside("333333333333/mesh-products.template.json"));
        assert!(!is_inside("../x.json"));
        assert!(!is_inside("333333333333/../../x.json"));
        assert!(!is_inside("/etc/passwd"));
        assert!(!is_inside(""));
    }

    #[test]
    fn parse_refuses_a_template_outside_the_folder() {
        let text = br#"{"format": 1, "org": "acast", "region": "eu-west-1", "stacks": [
            {"name": "mesh-baseline", "account": "333333333333", "region": "eu-west-1",
             "template": "../secrets.json", "wave": 1, "sha256": "0123456789abcdef"}]}"#;
        let err = parse(text).expect_err("outside");
        assert_eq!(
            err,
            "stack `333333333333/mesh-baseline` has path `../secrets.json`, which leaves the output folder \
             (paths are relative to manifest.json, inside its folder, without `..`)"
        );
        let other = br#"{"format": 2, "org": "acast", "region": "eu-west-1", "stacks": []}"#;
        assert_eq!(
            parse(other).expect_err("format"),
            "format 2 is not supported (this meshsynth reads format 1)"
        );
    }

    #[test]
    fn hashes_are_lowercase_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
