//! `meshsynth drift`: compare what is deployed with the synthesis in `out/`
//! (CloudFormation drift per stack, and the live access surface), print the
//! findings, and with `--repair` put the synthesis back after the same
//! confirmation rules as `deploy`: a prompt on a terminal, `--yes` to skip
//! it, and without a terminal a refusal before any AWS call (exit 2).
//!
//! Exit 0: nothing drifted (or, repairing, everything found was repaired);
//! 1: drift found (or left unrepaired); 2: a check could not be made, or
//! usage, credentials, AWS unreachable.

use super::plan::{progress, runtime, setup};
use super::Io;
use crate::cli::{DriftArgs, ReviewFormat};
use crate::deploy::drift::{self, DriftOptions};
use crate::deploy::drift_status::ReportedDrift;
use crate::deploy::AwsSession;
use crate::deploy::{drift_render, drift_repair};
use crate::error::{Error, Result};
use crate::exit::{ExitCode, Finding};
use crate::settings::{Settings, Verbosity};

pub(crate) fn run(settings: &Settings, args: &DriftArgs, io: &mut Io<'_>) -> Result<ExitCode> {
    if args.repair && !args.yes && !io.interactive {
        return Err(Error::usage(
            "not a terminal, so there is no one to confirm the repair (pass --yes to repair without asking)",
        ));
    }
    let setup = setup(settings, &args.out, &args.accounts, args.concurrency, &args.aws, io)?;
    let options = DriftOptions {
        accounts: setup.plan.accounts.clone(),
        region_override: setup.plan.region_override.clone(),
        concurrency: setup.plan.concurrency,
        wait: setup.plan.wait,
    };
    let progress = progress(settings, io);
    let quiet = settings.verbosity == Verbosity::Quiet;
    runtime()?.block_on(async {
        let session = AwsSession::new(setup.aws.clone()).await;
        let report = drift::check(&session, &setup.synth, &options, &progress).await;
        let text = match args.format {
            ReviewFormat::Text if quiet => drift_render::render_text(&report)
                .lines()
                .last()
                .map(|l| format!("{l}\n"))
                .unwrap_or_default(),
            ReviewFormat::Text => drift_render::render_text(&report),
            ReviewFormat::Markdown => drift_render::render_markdown(&report),
            ReviewFormat::Json => drift_render::render_json(&report),
        };
        io.out.write_all(text.as_bytes())?;
        let incomplete = || {
            Error::usage(format!(
                "{} could not be made; the drift report is incomplete",
                if report.errors.len() == 1 {
                    "1 check".to_owned()
                } else {
                    format!("{} checks", report.errors.len())
                }
            ))
        };
        if !report.drifted() {
            return if report.errors.is_empty() {
                Ok(ExitCode::Success)
            } else {
                Err(incomplete())
            };
        }
        if !args.repair {
            return if report.errors.is_empty() {
                Ok(ExitCode::Finding)
            } else {
                Err(incomplete())
            };
        }
        if !args.yes && !super::deploy::confirm(io, "Put the synthesis back where it drifted?")? {
            return Err(Finding("repair cancelled; nothing was changed".to_owned()).into());
        }
        let repairs = drift_repair::repair(&session, &setup.synth, &report, &options, &progress).await;
        writeln!(io.out)?;
        io.out.write_all(drift_render::render_repairs(&repairs).as_bytes())?;
        let failed = repairs.iter().filter(|r| r.error.is_some()).count();
        if failed > 0 {
            return Err(Finding(format!(
                "{failed} of {} repairs failed (see above); run `meshsynth drift` again once fixed",
                repairs.len()
            ))
            .into());
        }
        let undeployed = report
            .stacks
            .iter()
            .filter(|s| s.status == ReportedDrift::NotDeployed)
            .count();
        if undeployed > 0 {
            return Err(Finding(format!(
                "{undeployed} stack{} of the synthesis {} not deployed; `meshsynth deploy` creates {}",
                if undeployed == 1 { "" } else { "s" },
                if undeployed == 1 { "is" } else { "are" },
                if undeployed == 1 { "it" } else { "them" },
            ))
            .into());
        }
        if report.errors.is_empty() {
            Ok(ExitCode::Success)
        } else {
            Err(incomplete())
        }
    })
}
