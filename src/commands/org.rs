//! `meshsynth org check` and `meshsynth org import`: the topology against
//! AWS Organizations, or a draft topology from it (see `crate::lifecycle`).

use std::path::PathBuf;

use super::{load_topology, Io};
use crate::cli::{OrgCheckArgs, OrgCommand, OrgImportArgs};
use crate::error::{Context as _, Result};
use crate::exit::{ExitCode, Finding};
use crate::lifecycle::check::{self, ServiceAccess};
use crate::lifecycle::import::{self, ImportOptions};
use crate::lifecycle::organizations::{self, OrgSnapshot};
use crate::lifecycle::{self, LifecycleError};
use crate::model::load::{self as model_load, LoadError};
use crate::model::AccessMode;
use crate::settings::{AwsSettings, Settings, Verbosity};

pub(crate) fn run(settings: &Settings, cmd: &OrgCommand, io: &mut Io<'_>) -> Result<ExitCode> {
    match cmd {
        OrgCommand::Check(args) => run_check(settings, args, io),
        OrgCommand::Import(args) => run_import(settings, args, io),
    }
}

/// Reads the organisation (accounts with their tags) through the SDK, and when `services`,
/// the services with trusted access (a failure there is reported, not fatal).
fn read_org(
    aws: &AwsSettings,
    fallback_region: Option<&str>,
    services: bool,
) -> Result<(OrgSnapshot, String, Option<ServiceAccess>)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    runtime.block_on(async {
        let config = organizations::sdk_config(aws, fallback_region).await;
        let region = config.region().map(ToString::to_string).unwrap_or_default();
        let client = aws_sdk_organizations::Client::new(&config);
        let snapshot = organizations::snapshot(&client, true).await?;
        let access = if services {
            Some(match organizations::service_access(&client).await {
                Ok(s) => ServiceAccess::Enabled(s),
                Err(e) => ServiceAccess::Unreadable(e.to_string()),
            })
        } else {
            None
        };
        Ok((snapshot, region, access))
    })
}

fn run_check(settings: &Settings, args: &OrgCheckArgs, io: &mut Io<'_>) -> Result<ExitCode> {
    let topology = load_topology(settings, io)?;
    let lakeformation = topology.org.access_mode == AccessMode::LakeFormation;
    let (org, _, services) = read_org(&settings.aws, Some(&topology.org.region), lakeformation)?;
    let report = check::check(&topology, &org, services.as_ref(), &args.tag_key);
    write!(io.out, "{report}")?;
    io.out.flush()?;
    match report.mismatches.len() {
        0 => Ok(ExitCode::Success),
        n => Err(Finding(format!(
            "the topology and AWS Organizations disagree ({n} mismatch{})",
            if n == 1 { "" } else { "es" }
        ))
        .into()),
    }
}

fn run_import(settings: &Settings, args: &OrgImportArgs, io: &mut Io<'_>) -> Result<ExitCode> {
    if let Some(name) = &args.org_name {
        if !crate::model::is_name(name) {
            return Err(Finding(format!(
                "`{name}` is not a valid org name (use lowercase letters, digits and `-`)"
            ))
            .into());
        }
    }
    // Refuse before calling AWS when the destination is taken.
    let org_file = args.out.join("org.yaml");
    if org_file.exists() {
        return Err(LifecycleError::Exists {
            path: org_file,
            command: "org import",
        }
        .into());
    }
    let (org, region, _) = read_org(&settings.aws, None, false)?;
    let region = if region.is_empty() {
        "eu-west-1".to_owned()
    } else {
        region
    };
    let draft = import::draft(
        &org,
        &ImportOptions {
            tag_key: args.tag_key.clone(),
            org_name: args.org_name.clone(),
            region,
        },
    );
    let mut files: Vec<(PathBuf, &str)> = vec![(org_file.clone(), draft.org_yaml.as_str())];
    for (team, text) in &draft.teams {
        files.push((args.out.join("teams").join(format!("{team}.yaml")), text.as_str()));
    }
    for (path, _) in &files {
        if path.exists() {
            return Err(LifecycleError::Exists {
                path: path.clone(),
                command: "org import",
            }
            .into());
        }
    }
    // The draft must validate as written; if it does not, that is a bug here, not the user's.
    let raw = model_load::from_sources(Some((org_file.clone(), draft.org_yaml.as_str())), files[1..].to_vec())
        .and_then(|raw| crate::validate::validate(raw).map_err(LoadError::Invalid))
        .context("the drafted topology does not validate (a meshsynth bug; please report it)")?;
    let (_, warnings) = raw;

    let mut written: Vec<PathBuf> = Vec::new();
    for (path, text) in &files {
        if let Err(e) = lifecycle::write_new(path, text, "org import") {
            // Write all or nothing.
            for p in &written {
                let _ = std::fs::remove_file(p);
            }
            return Err(e.into());
        }
        written.push(path.clone());
    }
    if settings.verbosity != Verbosity::Quiet {
        for n in &draft.notes {
            writeln!(io.err, "note: {n}")?;
        }
        for w in &warnings {
            writeln!(io.err, "warning: {w}")?;
        }
    }
    writeln!(
        io.out,
        "drafted `{}` and {} team file(s) from organisation `{}` ({} accounts)",
        org_file.display(),
        draft.teams.len(),
        org.id,
        org.accounts.len()
    )?;
    for (path, _) in &files[1..] {
        writeln!(io.out, "  {}", path.display())?;
    }
    writeln!(
        io.out,
        "next: review every `TODO` in these files, then `meshsynth -t {} validate`",
        args.out.display()
    )?;
    Ok(ExitCode::Success)
}
