//! Rendering in batches: the stacks of one batch (one job of `synth::plan_each`, or one
//! account) render on every core, their files go to a sink in one call and their bytes are
//! freed; only what the manifest needs of each template (`RenderedStack`) is kept, and the
//! manifest, which needs every template's hash, comes last. No IO here: the sink writes.

use std::collections::BTreeMap;

use super::{manifest, render_stack, Blueprints, File, RenderError};
use crate::model::AccountId;
use crate::synth::{Context, PolicyPlan, StackPlan, Synthesis};

/// What the manifest records of a rendered template (its bytes go to the sink and are freed).
pub(crate) struct RenderedStack {
    pub(super) account: AccountId,
    pub(super) name: String,
    pub(super) path: String,
    pub(super) len: usize,
    pub(super) resources: usize,
    pub(super) sha256: String,
}

/// What a batch leaves for the manifest: its stacks' facts, and its Glue policy's
/// (account, sha256).
pub(crate) struct Rendered {
    stacks: Vec<RenderedStack>,
    policy: Option<(String, String)>,
}

/// Renders `stacks` (taking each one's context: it is freed once its template is rendered,
/// see `Context::Rendered`) and the Glue policy, if any, and hands their files to `sink` in
/// one batch. On an error, the first stack's in order; nothing goes to the sink then.
pub(crate) fn render_stacks<E: From<RenderError>>(
    bp: &Blueprints,
    stacks: &mut [StackPlan],
    policy: Option<&PolicyPlan>,
    sink: &(impl Fn(Vec<File>) -> Result<(), E> + Sync),
) -> Result<Rendered, E> {
    let work: Vec<(&StackPlan, Context)> = stacks
        .iter_mut()
        .map(|s| {
            let context = std::mem::replace(&mut s.context, Context::Rendered);
            (&*s, context)
        })
        .collect();
    let rendered = crate::synth::par::map(work, |_, (plan, context)| render_stack(bp, plan, &context));
    let mut files = Vec::with_capacity(rendered.len() + 1);
    let mut facts = Vec::with_capacity(rendered.len());
    for r in rendered {
        let (f, file) = r?;
        facts.push(f);
        files.push(file);
    }
    let policy = match policy {
        Some(plan) => {
            let account = plan.account.to_string();
            let (bytes, _) = bp.render(
                "glue-resource-policy",
                &format!("{account}/glue-resource-policy"),
                &plan.context,
            )?;
            let sha = manifest::sha256_hex(&bytes);
            files.push(File {
                path: manifest::policy_file(&account),
                bytes,
            });
            Some((account, sha))
        }
        None => None,
    };
    sink(files)?;
    Ok(Rendered { stacks: facts, policy })
}

/// The manifest of a synthesis once every stack and policy of it has been rendered, from the
/// batches' facts in any order.
pub(crate) fn manifest_file(synthesis: &Synthesis, rendered: Vec<Rendered>) -> File {
    let mut stacks = Vec::with_capacity(synthesis.stacks.len());
    let mut policies = Vec::with_capacity(synthesis.policies.len());
    for r in rendered {
        stacks.extend(r.stacks);
        policies.extend(r.policy);
    }
    // The synthesis' order (`synth::plan` sorts its stacks so), which the manifest follows.
    stacks.sort_unstable_by(|a, b| (&a.account, &a.name).cmp(&(&b.account, &b.name)));
    policies.sort();
    File {
        path: manifest::MANIFEST_FILE.into(),
        bytes: manifest::manifest(synthesis, &stacks, &policies),
    }
}

/// Renders every stack and policy of a synthesis, one account at a time on every core, and
/// hands each account's files to `sink` as soon as they are rendered (from any thread, in no
/// particular order), so no more than a few accounts' bytes are held at once. Returns the
/// manifest, which needs every template's hash and so comes last. Nothing is written here.
/// The plans' contexts are consumed (each is freed once its template is rendered). On an
/// error, the first one in account order is returned; the sink may have had other batches.
pub fn render_into<E: From<RenderError> + Send>(
    bp: &Blueprints,
    synthesis: &mut Synthesis,
    sink: impl Fn(Vec<File>) -> Result<(), E> + Sync,
) -> Result<File, E> {
    // Per account: its stacks (a run of the plans, which `synth::plan` sorts by account) and
    // its policy.
    let mut policies: BTreeMap<&AccountId, &PolicyPlan> = synthesis.policies.iter().map(|p| (&p.account, p)).collect();
    let mut batches: Vec<(&mut [StackPlan], Option<&PolicyPlan>)> = synthesis
        .stacks
        .chunk_by_mut(|a, b| a.account == b.account)
        .map(|run| {
            let policy = policies.remove(&run[0].account);
            (run, policy)
        })
        .collect();
    batches.extend(policies.into_values().map(|p| (&mut [][..], Some(p))));
    let done = crate::synth::par::map(batches, |_, (stacks, policy)| render_stacks(bp, stacks, policy, &sink));
    let rendered = done.into_iter().collect::<Result<Vec<_>, E>>()?;
    Ok(manifest_file(synthesis, rendered))
}

/// Renders every stack and policy of a synthesis, then the manifest: the complete output folder,
/// held in memory (`synth` renders as it plans, with [`render_stacks`]). Files come back sorted
/// by path.
pub fn render(bp: &Blueprints, synthesis: &mut Synthesis) -> Result<Vec<File>, RenderError> {
    let files = std::sync::Mutex::new(Vec::new());
    let manifest = render_into(bp, synthesis, |batch| {
        files
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(batch);
        Ok::<(), RenderError>(())
    })?;
    let mut files = files.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    files.push(manifest);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}
