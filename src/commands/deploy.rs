//! `meshsynth deploy`: plan, show the review, refuse destructive changes
//! unless `--allow-destructive`, ask (unless `--yes`), then execute in waves.
//!
//! Without `--yes` a terminal is required to ask on: with stdin or stderr not
//! a terminal (CI), deploy refuses at once, before any AWS call (exit 2).
//! Everything refused or declined exits 1 with nothing executed.

use std::io::BufRead;

use super::plan::{deploy_error, progress, runtime, setup};
use super::Io;
use crate::cli::DeployArgs;
use crate::deploy::{self, preview, AwsSession, ExecOptions};
use crate::exit::{ExitCode, Finding};
use crate::settings::{Settings, Verbosity};

pub(crate) fn run(settings: &Settings, args: &DeployArgs, io: &mut Io<'_>) -> anyhow::Result<ExitCode> {
    if !args.yes && !io.interactive {
        anyhow::bail!("not a terminal, so there is no one to confirm the deploy (pass --yes to deploy without asking)");
    }
    let setup = setup(settings, &args.out, &args.accounts, args.concurrency, &args.aws, io)?;
    let progress = progress(settings, io);
    let quiet = settings.verbosity == Verbosity::Quiet;
    let verbose = settings.verbosity == Verbosity::Verbose;
    let rt = runtime()?;
    rt.block_on(async {
        let session = AwsSession::new(setup.aws.clone()).await;
        let plan = deploy::plan(&session, &setup.synth, &setup.plan, &progress)
            .await
            .map_err(deploy_error)?;
        if !quiet {
            // Shown, not refused: the producer decides, after telling the consumers it names.
            let breaking = super::plan::breaking(&plan, &args.out)?;
            io.out.write_all(crate::contract::render_text(&breaking).as_bytes())?;
            if !breaking.is_empty() {
                writeln!(io.out)?;
            }
            io.out
                .write_all(preview::render_text(&plan, settings.color, verbose).as_bytes())?;
        }
        if plan.is_unchanged() {
            if !quiet {
                writeln!(io.out, "\nNothing to deploy.")?;
            }
            return Ok(ExitCode::Success);
        }
        let (destructive, deletions) = (plan.destructive(), plan.deletions());
        if (destructive > 0 || deletions > 0) && !args.allow_destructive {
            return Err(Finding(format!(
                "refusing to deploy {destructive} destructive change{} and {deletions} stack deletion{}; \
                 nothing was executed (review them, then run again with --allow-destructive)",
                if destructive == 1 { "" } else { "s" },
                if deletions == 1 { "" } else { "s" },
            ))
            .into());
        }
        if !args.yes && !confirm(io)? {
            return Err(Finding("deploy cancelled; nothing was executed".to_owned()).into());
        }
        let options = ExecOptions {
            concurrency: setup.plan.concurrency,
            wait: setup.plan.wait,
        };
        let report = deploy::execute(&session, &plan, &setup.synth, &options, &progress).await;
        if !quiet || !report.is_success() {
            writeln!(io.out)?;
            io.out
                .write_all(preview::render_report(&report, settings.color, verbose).as_bytes())?;
        }
        if report.is_success() {
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

/// Asks on stderr, reads the answer from stdin.
fn confirm(io: &mut Io<'_>) -> anyhow::Result<bool> {
    write!(io.err, "\nDeploy these changes? [y/N] ")?;
    io.err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}
