//! Rendering: stack plans → canonical template files, Glue policies and the manifest.
//!
//! Blueprints are Handlebars templates, one per stack part plus partials
//! (`_name.json.hbs`, used as `{{> name}}`), compiled into the binary and
//! overridable file by file from `synth --blueprints DIR`. The registry runs in
//! strict mode and is built once. Each rendered text is parsed as JSON (an error
//! names the blueprint, the stack and the line) and re-serialised canonically;
//! then CloudFormation's limits are checked on the real bytes. Context values
//! that `{{json …}}` writes go to the canonical writer by reference rather than
//! as text to re-parse (`stash`), with the same bytes. Blueprints in the fast
//! path's subset read the typed context as a light JSON tree (`value`);
//! Handlebars reads it as a `serde_json::Value`. Rendering is parallel
//! over the stacks (rayon). It reads blueprint files only; it writes nothing
//! (`emit` does).

mod batch;
mod canonical;
mod contracts;
mod fast;
mod helpers;
pub(crate) mod manifest;
mod stash;
mod value;

use std::path::{Path, PathBuf};

use handlebars::Handlebars;

use crate::synth::{Context, StackPlan};
use batch::RenderedStack;
pub(crate) use batch::{manifest_file, render_stacks};
pub use batch::{render, render_into};
pub(crate) use contracts::contracts_file;

/// CloudFormation's resource limit per stack.
pub(crate) const MAX_RESOURCES: usize = 500;
/// CloudFormation's template size limit (from S3).
pub(crate) const MAX_TEMPLATE_BYTES: usize = 1_000_000;

/// The built-in blueprints: (name, text). Names starting with `_` are partials.
const BUILTIN: &[(&str, &str)] = &[
    ("baseline", include_str!("../../blueprints/baseline.json.hbs")),
    ("products", include_str!("../../blueprints/products.json.hbs")),
    ("consumer", include_str!("../../blueprints/consumer.json.hbs")),
    ("central", include_str!("../../blueprints/central.json.hbs")),
    ("identity", include_str!("../../blueprints/identity.json.hbs")),
    ("access", include_str!("../../blueprints/access.json.hbs")),
    (
        "glue-resource-policy",
        include_str!("../../blueprints/glue-resource-policy.json.hbs"),
    ),
    ("_bucket", include_str!("../../blueprints/_bucket.json.hbs")),
    ("_catalog", include_str!("../../blueprints/_catalog.json.hbs")),
    ("_workgroup", include_str!("../../blueprints/_workgroup.json.hbs")),
    ("_reader_role", include_str!("../../blueprints/_reader_role.json.hbs")),
    (
        "_managed_policies",
        include_str!("../../blueprints/_managed_policies.json.hbs"),
    ),
];

const SUFFIX: &str = ".json.hbs";

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot read blueprints from `{}`: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("`{}` is not a blueprint (known: {known})", path.display())]
    UnknownBlueprint { path: PathBuf, known: String },
    #[error("blueprint `{blueprint}` does not compile: {reason}")]
    Compile { blueprint: String, reason: String },
    #[error("blueprint `{blueprint}` failed for stack `{stack}`: {reason}")]
    Template {
        blueprint: String,
        stack: String,
        reason: String,
    },
    #[error("blueprint `{blueprint}` rendered invalid JSON for stack `{stack}` at line {line}: {reason} (the line reads `{text}`)")]
    InvalidJson {
        blueprint: String,
        stack: String,
        line: usize,
        reason: String,
        text: String,
    },
    #[error("stack `{stack}` has {resources} resources, over CloudFormation's limit of {MAX_RESOURCES} (a blueprint adds more per unit than synth plans for)")]
    TooManyResources { stack: String, resources: usize },
    #[error("stack `{stack}` is {bytes} bytes, over CloudFormation's limit of {MAX_TEMPLATE_BYTES}")]
    TooLarge { stack: String, bytes: usize },
    #[error("stack `{stack}` has no resources (CloudFormation needs at least one)")]
    Empty { stack: String },
}

/// The compiled blueprints.
pub struct Blueprints {
    registry: Handlebars<'static>,
    /// The blueprints in the subset the fast path renders (see `fast`).
    fast: fast::Fast,
}

fn register(hb: &mut Handlebars<'static>, name: &str, text: &str) -> Result<(), RenderError> {
    let compile = |e: handlebars::TemplateError| RenderError::Compile {
        blueprint: name.to_owned(),
        reason: e.to_string(),
    };
    match name.strip_prefix('_') {
        Some(partial) => hb.register_partial(partial, text).map_err(compile),
        None => hb.register_template_string(name, text).map_err(compile),
    }
}

impl Blueprints {
    /// The built-in blueprints, with any file of `overrides` (`<name>.json.hbs`) replacing its twin.
    /// A file that overrides nothing is an error (a typo would otherwise be ignored).
    pub fn new(overrides: Option<&Path>) -> Result<Blueprints, RenderError> {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(true);
        hb.set_prevent_indent(true);
        hb.register_escape_fn(handlebars::no_escape);
        hb.register_helper("json", Box::new(helpers::json));
        hb.register_helper("concat", Box::new(helpers::Concat));
        hb.register_helper("id", Box::new(helpers::Id));
        hb.register_helper("compliance", Box::new(helpers::compliance));
        let mut sources: Vec<(String, String)> = BUILTIN
            .iter()
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect();
        if let Some(dir) = overrides {
            let unreadable = |e: std::io::Error| RenderError::Unreadable {
                path: dir.to_owned(),
                reason: e.to_string(),
            };
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(unreadable)?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()
                .map_err(unreadable)?;
            files.sort();
            for path in files {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(SUFFIX))
                    .map(str::to_owned);
                let Some(slot) = name.and_then(|n| sources.iter().position(|(s, _)| *s == n)) else {
                    return Err(RenderError::UnknownBlueprint {
                        path,
                        known: BUILTIN
                            .iter()
                            .map(|(n, _)| format!("{n}{SUFFIX}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                };
                sources[slot].1 = std::fs::read_to_string(&path).map_err(|e| RenderError::Unreadable {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            }
        }
        for (name, text) in &sources {
            register(&mut hb, name, text)?;
        }
        let fast = fast::Fast::new(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())));
        Ok(Blueprints { registry: hb, fast })
    }

    /// The same blueprints rendered through Handlebars only (the reference of the differential
    /// tests of the fast path).
    #[doc(hidden)]
    #[must_use]
    pub fn handlebars_only(mut self) -> Blueprints {
        self.fast = fast::Fast::default();
        self
    }

    /// Whether `blueprint` renders through the fast path (when its partials do too).
    #[doc(hidden)]
    #[must_use]
    pub fn fast_path(&self, blueprint: &str) -> bool {
        self.fast.supports(blueprint)
    }

    /// Renders one blueprint with a context: canonical JSON, and the number of resources
    /// (keys of a top-level `Resources` object).
    fn render<T: serde::Serialize>(
        &self,
        blueprint: &str,
        stack: &str,
        context: &T,
    ) -> Result<(Vec<u8>, usize), RenderError> {
        if self.fast.supports(blueprint) {
            // A context JSON cannot hold fails below, as Handlebars sees it.
            if let Some(done) = value::to_v(context).ok().and_then(|v| self.fast.render(blueprint, &v)) {
                return Ok(done);
            }
        }
        let ctx = handlebars::Context::from(to_value(context));
        let render = || {
            self.registry
                .render_with_context(blueprint, &ctx)
                .map_err(|e| RenderError::Template {
                    blueprint: blueprint.to_owned(),
                    stack: stack.to_owned(),
                    reason: e.to_string(),
                })
        };
        // Fast path: context values reach the canonical writer by reference (see `stash`).
        let (text, stashed) = stash::with_stash(render);
        let text = text?;
        if let Some(done) = stash::resolve(ctx.data(), &stashed).and_then(|v| canonical::canonicalize_with(&text, &v)) {
            return Ok(done);
        }
        // Otherwise every value as JSON text, as serde_json must see it (and errors name its lines).
        let text = if stashed.is_empty() { text } else { render()? };
        if let Some(done) = canonical::canonicalize(&text) {
            return Ok(done);
        }
        // Not JSON (or unusual JSON): serde_json decides, and its error names the line.
        let bytes = canonical::strip_trailing_commas(&text);
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            let line = e.line();
            let text = String::from_utf8_lossy(&bytes)
                .lines()
                .nth(line.saturating_sub(1))
                .unwrap_or("")
                .trim()
                .chars()
                .take(120)
                .collect();
            RenderError::InvalidJson {
                blueprint: blueprint.to_owned(),
                stack: stack.to_owned(),
                line,
                reason: e.to_string(),
                text,
            }
        })?;
        let resources = value
            .get("Resources")
            .and_then(serde_json::Value::as_object)
            .map_or(0, serde_json::Map::len);
        Ok((canonical::to_canonical(&value), resources))
    }
}

/// One rendered file: its path under the output folder and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Relative, with `/` separators: `manifest.json`, `<account>/<stack>.template.json`.
    pub path: String,
    pub bytes: Vec<u8>,
}

fn render_stack(bp: &Blueprints, plan: &StackPlan, context: &Context) -> Result<(RenderedStack, File), RenderError> {
    let stack = plan.id();
    let (bytes, resources) = bp.render(plan.part.as_str(), &stack, context)?;
    if resources == 0 {
        return Err(RenderError::Empty { stack });
    }
    if resources > MAX_RESOURCES {
        return Err(RenderError::TooManyResources { stack, resources });
    }
    if bytes.len() > MAX_TEMPLATE_BYTES {
        return Err(RenderError::TooLarge {
            stack,
            bytes: bytes.len(),
        });
    }
    let path = manifest::template_file(plan.account.as_str(), &plan.name);
    let facts = RenderedStack {
        account: plan.account.clone(),
        name: plan.name.clone(),
        sha256: manifest::sha256_hex(&bytes),
        len: bytes.len(),
        resources,
        path: path.clone(),
    };
    Ok((facts, File { path, bytes }))
}

/// A typed context as Handlebars reads it.
fn to_value<T: serde::Serialize>(context: &T) -> serde_json::Value {
    serde_json::to_value(context).expect("contexts serialise: string keys and plain values only")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_json_names_blueprint_stack_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("glue-resource-policy.json.hbs"),
            "{\n  \"a\": {{json policy}}\n  \"b\": 1\n}\n",
        )
        .expect("write");
        let bp = Blueprints::new(Some(dir.path())).expect("compiles");
        let err = bp
            .render("glue-resource-policy", "1/x", &serde_json::json!({"policy": 1}))
            .expect_err("invalid");
        let msg = err.to_string();
        assert!(
            msg.starts_with("blueprint `glue-resource-policy` rendered invalid JSON for stack `1/x` at line 3"),
            "{msg}"
        );
    }

    /// The fast path against Handlebars on small blueprints at the edges of the subset's meaning
    /// (truthiness, missing values, `../`, locals in partials, partial hashes, fallbacks).
    #[test]
    fn fast_path_agrees_with_handlebars_at_the_edges() {
        let ctx = serde_json::json!({
            "policy": {"b": [1, 2], "a": {"y": 0, "x": ""}},
            "zero": 0, "one": 1.5, "tiny": 1e-310, "empty": "", "none": null, "no": [], "nob": {},
            "xs": [{"n": "a", "ys": [{"m": 1}, {"m": 2}]}, {"n": "b-c", "ys": []}],
            "obj": {"k": {"n": "v"}}, "name": "N", "tags": [{"Key": "k", "Value": "v"}],
        });
        let bodies = [
            "{\"a\": {{json policy}}, \"t\": \"{{name}}{{zero}}{{none}}{{one}}\"}",
            "[{{#if zero}}1{{else}}2{{/if}}, {{#if one}}1{{/if}}{{#if tiny}}9,{{/if}} {{#unless empty}}3{{/unless}}, {{#if none}}4{{else}}5{{/if}}, {{#if missing}}6{{else}}7{{/if}}, {{#if no}}8{{else}}9{{/if}}, {{#if nob}}8{{else}}9{{/if}}]",
            "[{{#each xs}}{\"i\": {{@index}}, \"f\": {{@first}}, \"l\": {{@last}}, \"n\": {{json n}}, \"id\": \"{{id n}}\", \"ys\": [{{#each ys}}[{{json m}}, {{json ../n}}, {{json ../../name}}, {{json @root.zero}}, {{@index}}],{{else}}0{{/each}}]},{{/each}}]",
            "[{{#each xs}}{{> catalog}},{{/each}}]",
            "[{{> catalog name=\"lit\" catalog_id=1}}, {{> catalog name=(concat name \"-\" zero) catalog_id=zero}}]",
            "[{{#each no}}1{{else}}2{{/each}}, {{#each none}}1{{else}}3{{/each}}, {{#each obj}}{{json n}}{{else}}4{{/each}}]",
            "{{#each none}}1{{/each}}",
            "{{#each obj}}{{json n}}{{/each}}",
            "{{json missing}}",
            "{{json policy.b.x}}",
            "[{{json policy.b.1}}, {{json policy.a.y}}, {{json xs.0.n}}, {{json this.name}}]",
            "{\"a\": \"{{policy}}\"}",
            "{ {{compliance \"bucket\" logged=zero}} \"x\": 1}",
            "{ {{compliance \"nope\"}} \"x\": 1}",
            "{ {{compliance \"bucket\" logged=missing}} \"x\": 1}",
            "{{json (concat name xs)}}",
            "[{{#with policy}}1{{/with}}]",
            "{\"a\": {{json policy}}",
        ];
        let partial = "{\"c\": {{json catalog_id}}, \"n\": {{json name}}, \"i\": {{#if @index}}{{@index}}{{else}}0{{/if}}, \"t\": {{json @root.tags}}}";
        for body in bodies {
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::write(dir.path().join("glue-resource-policy.json.hbs"), body).expect("write");
            std::fs::write(dir.path().join("_catalog.json.hbs"), partial).expect("write");
            let bp = Blueprints::new(Some(dir.path())).expect("compiles");
            let fast = bp
                .render("glue-resource-policy", "1/x", &ctx)
                .map_err(|e| e.to_string());
            let bp = bp.handlebars_only();
            let slow = bp
                .render("glue-resource-policy", "1/x", &ctx)
                .map_err(|e| e.to_string());
            assert_eq!(fast, slow, "{body}");
        }
    }

    /// A context's shared documents (`synth::doc::Doc`) render as Handlebars renders their JSON,
    /// whether written whole, tested, looped over, followed into or handed to a rule.
    #[test]
    fn shared_documents_render_as_their_json() {
        use crate::synth::doc::Doc;
        #[derive(serde::Serialize)]
        struct Ctx {
            policy: Doc,
            empty: Doc,
            list: Doc,
            none: Option<Doc>,
            text: Doc,
        }
        let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
        ]});
        let ctx = Ctx {
            policy: policy.into(),
            empty: serde_json::json!({}).into(),
            list: serde_json::json!([{"n": "a"}, {"n": "b"}]).into(),
            none: None,
            text: serde_json::json!("t").into(),
        };
        let bodies = [
            "{\"a\": {{json policy}}, \"e\": {{json empty}}, \"l\": {{json list}}, \"t\": {{json text}}}",
            "[{{#if policy}}1{{/if}}{{#if empty}}2{{else}}3{{/if}}, {{#unless none}}4{{/unless}}, {{#if text}}5{{/if}}]",
            "[{{#each list}}{{json n}},{{/each}}]",
            "[{{#each empty}}1{{else}}2{{/each}}]",
            "{\"v\": {{json policy.Version}}, \"s\": \"{{text}}\"}",
            "{ {{compliance \"bucket-policy\" policy=policy}} \"x\": {{json policy.Statement}}}",
            "{\"Resources\": {{json policy}}}",
            "{{json policy}}",
        ];
        let tree = value::to_v(&ctx).expect("serialises");
        assert!(
            matches!(tree.get("policy"), Some(value::V::Doc(_))),
            "shared, not copied"
        );
        for body in bodies {
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::write(dir.path().join("glue-resource-policy.json.hbs"), body).expect("write");
            let bp = Blueprints::new(Some(dir.path())).expect("compiles");
            let fast = bp
                .render("glue-resource-policy", "1/x", &ctx)
                .map_err(|e| e.to_string());
            let slow = bp
                .handlebars_only()
                .render("glue-resource-policy", "1/x", &ctx)
                .map_err(|e| e.to_string());
            assert!(fast.is_ok(), "{body}: {fast:?}");
            assert_eq!(fast, slow, "{body}");
        }
    }

    #[test]
    fn unknown_override_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("basline.json.hbs"), "{}").expect("write");
        let Err(err) = Blueprints::new(Some(dir.path())) else {
            panic!("a typo must not be ignored");
        };
        assert!(err.to_string().contains("is not a blueprint"), "{err}");
    }

    #[test]
    fn strict_mode_rejects_missing_fields() {
        let bp = Blueprints::new(None).expect("built-ins compile");
        let err = bp
            .render("glue-resource-policy", "1/x", &serde_json::json!({}))
            .expect_err("missing policy");
        assert!(err.to_string().contains("policy"), "{err}");
    }
}
