//! Handlebars helpers of the blueprints.
//!
//! - `{{json value}}` writes any value as JSON (strings quoted and escaped), so a
//!   blueprint never escapes by hand. A missing value is an error, as in strict mode.
//! - `{{concat a b …}}` joins strings and numbers, for names and ARNs built in a blueprint.
//! - `{{id "ad-revenue"}}` turns a name into a logical-id fragment (`AdRevenue`).
//! - `{{compliance "bucket" logged=@root.access_logs}}` writes `"Metadata": {…},` with the
//!   suppressions `synth::compliance` decided for that kind of resource, or nothing.
//!
//! Helpers only format: no IO, no decisions.

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError, RenderErrorReason,
    ScopedJson,
};
use serde_json::Value;

fn missing(h: &Helper<'_>, index: usize) -> RenderError {
    let path = h.param(index).and_then(|p| p.relative_path().cloned());
    RenderErrorReason::MissingVariable(path.or_else(|| Some(format!("parameter {index} of `{}`", h.name())))).into()
}

pub(crate) fn json(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let param = h.param(0).ok_or_else(|| missing(h, 0))?;
    if param.is_value_missing() {
        return Err(missing(h, 0));
    }
    if let Some(marker) = super::stash::stash(param.context_path(), param.value()) {
        out.write(&marker)?;
        return Ok(());
    }
    let text = serde_json::to_string(param.value()).map_err(RenderErrorReason::from)?;
    out.write(&text)?;
    Ok(())
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `{{concat a b …}}`.
pub(crate) struct Concat;

impl HelperDef for Concat {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        concat(h)
    }
}

/// `{{id name}}`.
pub(crate) struct Id;

impl HelperDef for Id {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        id(h)
    }
}

fn concat<'rc>(h: &Helper<'rc>) -> Result<ScopedJson<'rc>, RenderError> {
    let mut s = String::new();
    for (i, p) in h.params().iter().enumerate() {
        if p.is_value_missing() {
            return Err(missing(h, i));
        }
        let part = text_of(p.value()).ok_or_else(|| {
            RenderError::from(RenderErrorReason::ParamTypeMismatchForName(
                "concat",
                i.to_string(),
                "string or number".to_owned(),
            ))
        })?;
        s.push_str(&part);
    }
    Ok(ScopedJson::Derived(Value::String(s)))
}

fn id<'rc>(h: &Helper<'rc>) -> Result<ScopedJson<'rc>, RenderError> {
    let p = h.param(0).ok_or_else(|| missing(h, 0))?;
    let s = text_of(p.value()).ok_or_else(|| missing(h, 0))?;
    Ok(ScopedJson::Derived(Value::String(crate::synth::names::id_fragment(&s))))
}

/// `{{compliance "<kind>" name=value …}}`: the resource's `Metadata` entry (with a trailing
/// comma, which blueprints may leave before `}`), or nothing when no suppression applies.
pub(crate) fn compliance(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let kind = h
        .param(0)
        .and_then(|p| p.value().as_str())
        .ok_or_else(|| missing(h, 0))?;
    let mut args = std::collections::BTreeMap::new();
    for (name, value) in h.hash() {
        if value.is_value_missing() {
            return Err(RenderErrorReason::MissingVariable(
                value.relative_path().cloned().or_else(|| Some((*name).to_owned())),
            )
            .into());
        }
        args.insert(*name, value.value());
    }
    let suppressions =
        crate::synth::compliance::applicable(kind, &args).map_err(|e| RenderErrorReason::Other(e.to_string()))?;
    if let Some(metadata) = crate::synth::compliance::metadata(&suppressions) {
        let text = serde_json::to_string(&metadata).map_err(RenderErrorReason::from)?;
        out.write("\"Metadata\": ")?;
        out.write(&text)?;
        out.write(",")?;
    }
    Ok(())
}
