//! `meshsynth deploy`: plan, show the review, refuse destructive changes
//! unless `--allow-destructive`, ask (unless `--yes`), then execute in waves.
//!
//! Without `--yes` a terminal is required to ask on: with stdin or stderr not
//! a terminal (CI), deploy refuses at once, before any AWS call (exit 2).
//! Everything refused or declined exits 1 with nothing executed. `-q` keeps
//! errors and the final summary line.

use std::io::BufRead;

use super::plan::{progress, runtime, setup};
use super::Io;
use crate::cli::DeployArgs;
use crate::deploy::approval::{self, Allowance, Allowed, Refusal};
use crate::deploy::{self, preview, AwsSession, ExecOptions, Plan};
use crate::error::{Error, Result};
use crate::exit::{ExitCode, Finding};
use crate::settings::{Settings, Verbosity};

/// Records the synthesis's `access.json` as the access in force, after a deploy of every
/// account (a deploy of some accounts does not put all of it in force). A failure is a
/// warning: what was deployed stays deployed.
async fn record_access(
    session: &AwsSession,
    place: &deploy::access::RecordPlace,
    args: &DeployArgs,
    io: &mut Io<'_>,
) -> Result<()> {
    if !args.accounts.is_empty() {
        return Ok(());
    }
    if let Some((_, text)) = super::plan::read_access(&args.out)? {
        if let Err(e) = deploy::access::record(session, place, &text).await {
            writeln!(
                io.err,
                "warning: the access now in force was not recorded ({e}); the next `meshsynth plan` compares \
                 access with the last record"
            )?;
        }
    }
    Ok(())
}

pub(crate) fn run(settings: &Settings, args: &DeployArgs, io: &mut Io<'_>) -> Result<ExitCode> {
    if !args.yes && !io.interactive {
        return Err(Error::usage(
            "not a terminal, so there is no one to confirm the deploy (pass --yes to deploy without asking)",
        ));
    }
    let allowance = allowance(&args.allow_destructive)?;
    let setup = setup(settings, &args.out, &args.accounts, args.concurrency, &args.aws, io)?;
    let progress = progress(settings, io);
    let quiet = settings.verbosity == Verbosity::Quiet;
    let verbose = settings.verbosity == Verbosity::Verbose;
    let rt = runtime()?;
    rt.block_on(async {
        let session = AwsSession::new(setup.aws.clone()).await;
        let plan = deploy::plan(&session, &setup.synth, &setup.plan, &progress).await?;
        let in_force = deploy::access::in_force(&session, &setup.record).await?;
        let access = super::plan::access_section(&in_force, &args.out)?;
        if !quiet {
            // Shown, not refused: the producer decides, after telling the consumers it names.
            let breaking = super::plan::breaking(&plan, &args.out)?;
            io.out.write_all(crate::contract::render_text(&breaking).as_bytes())?;
            if !breaking.is_empty() {
                writeln!(io.out)?;
            }
            let access = access.render_text();
            if !access.is_empty() {
                writeln!(io.out, "{access}")?;
            }
            io.out
                .write_all(preview::render_text(&plan, settings.color, verbose).as_bytes())?;
        }
        if plan.is_unchanged() {
            if access != deploy::access::AccessSection::default() {
                record_access(&session, &setup.record, args, io).await?;
            }
            writeln!(io.out, "{}Nothing to deploy.", if quiet { "" } else { "\n" })?;
            return Ok(ExitCode::Success);
        }
        if let Err(refusal) = approval::check(&plan, &allowance) {
            return Err(Finding(refusal_message(&plan, &refusal)).into());
        }
        if !args.yes && !confirm(io, "Deploy these changes?")? {
            return Err(Finding("deploy cancelled; nothing was executed".to_owned()).into());
        }
        let options = ExecOptions {
            concurrency: setup.plan.concurrency,
            wait: setup.plan.wait,
        };
        let report = deploy::execute(&session, &plan, &setup.synth, &options, &progress).await;
        let rendered = preview::render_report(&report, settings.color, verbose);
        if quiet && report.is_success() {
            // `-q` keeps the final summary: its first line.
            writeln!(io.out, "{}", rendered.lines().next().unwrap_or_default())?;
        } else {
            writeln!(io.out)?;
            io.out.write_all(rendered.as_bytes())?;
        }
        if report.is_success() {
            record_access(&session, &setup.record, args, io).await?;
            Ok(ExitCode::Success)
        } else {
            let failed = report.with(|s| matches!(s, deploy::StepStatus::Failed { .. })).len();
            let skipped = report.with(|s| *s == deploy::StepStatus::Skipped).len();
            Err(Finding(format!(
                "deploy failed: {failed} failed, {skipped} skipped (fix the cause, then run deploy again to resume)"
            ))
            .into())
        }
    })
}

/// `--allow-destructive` values: none, the bare flag (everything), or the
/// exact changes allowed. A malformed value is a usage error, before any AWS call.
fn allowance(values: &[String]) -> Result<Allowance> {
    if values.is_empty() {
        return Ok(Allowance::Nothing);
    }
    if values.iter().any(String::is_empty) {
        return Ok(Allowance::Everything);
    }
    let mut allowed = std::collections::BTreeSet::new();
    for v in values {
        let a: Allowed = v
            .parse()
            .map_err(|e: String| Error::usage(format!("--allow-destructive {e}")))?;
        allowed.insert(a);
    }
    Ok(Allowance::Only(allowed))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Why the deploy was refused, and what to pass to go ahead.
fn refusal_message(plan: &Plan, refusal: &Refusal) -> String {
    let list = |items: &[Allowed]| items.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ");
    match refusal {
        Refusal::NotAllowed { granular: false, .. } => format!(
            "refusing to deploy {} and {}; nothing was executed (review them, then run again with \
             --allow-destructive, or allow them one by one with the values the plan lists)",
            plural(plan.destructive(), "destructive change", "destructive changes"),
            plural(plan.deletions(), "stack deletion", "stack deletions"),
        ),
        Refusal::NotAllowed { missing, .. } => format!(
            "refusing to deploy: {} not allowed: {}; nothing was executed (review, then add \
             --allow-destructive VALUE for each)",
            plural(missing.len(), "destructive change is", "destructive changes are"),
            list(missing)
        ),
        Refusal::Unused(unused) => format!(
            "--allow-destructive {} {} nothing in this plan; nothing was executed (the plan lists \
             the values to pass)",
            list(unused),
            if unused.len() == 1 { "allows" } else { "allow" }
        ),
    }
}

/// Asks `question` on stderr, reads the answer from stdin (`drift --repair` asks too).
pub(super) fn confirm(io: &mut Io<'_>, question: &str) -> Result<bool> {
    write!(io.err, "\n{question} [y/N] ")?;
    io.err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}
