//! `meshsynth plan`: a change set for every stack of the synthesis in every
//! account (assuming `org.deploy_role`), waited for and reviewed; nothing is
//! executed. Also the setup `deploy` shares: reading the synthesis against
//! the topology, resolving the accounts and the AWS options.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use super::Io;
use crate::cli::{AwsRunArgs, PlanArgs, ReviewFormat};
use crate::deploy::{
    self, preview, AwsOptions, AwsSession, DeployError, PlanOptions, Progress, RetryPolicy, WaitOptions,
};
use crate::error::{Context as _, Error, Result};
use crate::exit::{ExitCode, Finding};
use crate::model::AccountId;
use crate::settings::{Settings, Verbosity};

/// What `plan` and `deploy` need before talking to AWS.
pub(super) struct Setup {
    pub(super) synth: deploy::Synthesis,
    pub(super) plan: PlanOptions,
    pub(super) aws: AwsOptions,
    /// Where the access decisions in force are recorded (`deploy::access`).
    pub(super) record: deploy::access::RecordPlace,
}

/// Reads the topology and the synthesis, checks they belong together, and
/// resolves the accounts to work on (`--account`, else every account).
pub(super) fn setup(
    settings: &Settings,
    out: &Path,
    only: &[String],
    concurrency: u16,
    run: &AwsRunArgs,
    io: &mut Io<'_>,
) -> Result<Setup> {
    let topology = super::load_topology(settings, io)?;
    let synth = deploy::manifest::read(out)?;
    let manifest = &synth.manifest;
    if manifest.org != topology.org.name {
        return Err(Error::usage(format!(
            "`{}` is a synthesis of org `{}`, but the topology is org `{}` (run `meshsynth synth`)",
            out.join("manifest.json").display(),
            manifest.org,
            topology.org.name
        )));
    }

    let mut known: BTreeMap<String, String> = topology
        .accounts
        .values()
        .map(|a| (a.id.as_str().to_owned(), a.name.clone()))
        .collect();
    for (id, what) in [
        (&topology.org.management_account, "management account"),
        (&topology.org.central_account, "central account"),
    ] {
        known.entry(id.as_str().to_owned()).or_insert_with(|| what.to_owned());
    }
    let strangers: BTreeSet<&str> = manifest
        .stacks
        .iter()
        .map(|s| s.account.as_str())
        .chain(manifest.policies.iter().map(|p| p.account.as_str()))
        .filter(|a| !known.contains_key(*a))
        .collect();
    if let Some(a) = strangers.first() {
        return Err(Finding(format!(
            "`{}` has stacks for account {a}, which the topology does not have: the synthesis is stale (run `meshsynth synth`)",
            out.join("manifest.json").display()
        ))
        .into());
    }
    let accounts = if only.is_empty() {
        known
    } else {
        let mut chosen = BTreeMap::new();
        for id in only {
            if AccountId::parse(id).is_none() {
                return Err(Error::usage(format!(
                    "--account `{id}` is not an account id (12 digits)"
                )));
            }
            let Some(name) = known.get(id) else {
                return Err(Error::usage(format!(
                    "--account {id} is not an account of the topology"
                )));
            };
            chosen.insert(id.clone(), name.clone());
        }
        chosen
    };

    let region = settings.aws.region.clone().unwrap_or_else(|| manifest.region.clone());
    let aws = AwsOptions {
        endpoint_url: settings.aws.endpoint_url.clone(),
        region: region.clone(),
        profile: settings.aws.profile.clone(),
        deploy_role: run.role.clone().unwrap_or_else(|| topology.org.deploy_role.clone()),
        call_timeout: Duration::from_secs(run.call_timeout),
        sdk_max_attempts: 3,
        retry: RetryPolicy::default(),
    };
    let plan = PlanOptions {
        accounts,
        region_override: settings.aws.region.clone(),
        concurrency: usize::from(concurrency),
        wait: WaitOptions {
            timeout: Duration::from_secs(run.wait_timeout),
            ..WaitOptions::default()
        },
    };
    let record = deploy::access::RecordPlace {
        account: topology.org.central_account.as_str().to_owned(),
        bucket: crate::model::physical::staging_bucket(
            &topology.org.name,
            topology.org.central_account.as_str(),
            &topology.org.region,
        ),
        region,
    };
    Ok(Setup {
        synth,
        plan,
        aws,
        record,
    })
}

/// The async runtime of the AWS calls (IO-bound: two workers are plenty).
pub(super) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Progress on stderr, unless `--quiet`: bars on a terminal, and without one
/// (CI) a line per stack as it starts and ends, with a heartbeat every 30 s
/// while a wave waits.
pub(super) fn progress(settings: &Settings, io: &Io<'_>) -> Progress {
    match (settings.verbosity, io.interactive) {
        (Verbosity::Quiet, _) => Progress::hidden(),
        (_, true) => Progress::new(true),
        // `Io` borrows its writers; the lines outlive that borrow, and `main`
        // gives `Io` this same stderr.
        (_, false) => Progress::lines(Box::new(std::io::stderr()), Duration::from_secs(30)),
    }
}

pub(crate) fn run(settings: &Settings, args: &PlanArgs, io: &mut Io<'_>) -> Result<ExitCode> {
    let setup = setup(settings, &args.out, &args.accounts, args.concurrency, &args.aws, io)?;
    let progress = progress(settings, io);
    let (plan, in_force) = runtime()?.block_on(async {
        let session = AwsSession::new(setup.aws.clone()).await;
        let plan = deploy::plan(&session, &setup.synth, &setup.plan, &progress).await?;
        let in_force = deploy::access::in_force(&session, &setup.record).await?;
        Ok::<_, DeployError>((plan, in_force))
    })?;
    let breaking = breaking(&plan, &args.out)?;
    let access = access_section(&in_force, &args.out)?;
    let text = match args.format {
        ReviewFormat::Text => {
            let review = preview::render_text(&plan, settings.color, settings.verbosity == Verbosity::Verbose);
            // Each section, then a blank line.
            let sections: String = [crate::contract::render_text(&breaking), access.render_text()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .map(|s| format!("{s}\n"))
                .collect();
            format!("{sections}{review}")
        }
        ReviewFormat::Markdown => {
            let review = preview::render_markdown(&plan);
            let b = crate::contract::render_markdown(&breaking);
            let a = access.render_markdown();
            let sections = match (b.is_empty(), a.is_empty()) {
                (_, true) => b,
                (true, false) => format!("{a}\n"),
                (false, false) => format!("{b}{a}\n"),
            };
            // The sections go right after the review's title line.
            match review.split_once('\n') {
                Some((title, rest)) if !sections.is_empty() => {
                    format!("{title}\n\n{sections}{}", rest.trim_start_matches('\n'))
                }
                _ => review,
            }
        }
        ReviewFormat::Json => {
            let mut v: serde_json::Value = serde_json::from_str(&preview::render_json(&plan))?;
            v["breaking"] = serde_json::to_value(&breaking)?;
            v["access"] = serde_json::to_value(&access.changes)?;
            if let Some(why) = &access.unknown {
                v["access_unknown"] = serde_json::Value::String(why.clone());
            }
            if let Some(w) = &access.warning {
                v["access_warning"] = serde_json::Value::String(w.clone());
            }
            let mut s = serde_json::to_string_pretty(&v)?;
            s.push('\n');
            s
        }
    };
    io.out.write_all(text.as_bytes())?;
    Ok(ExitCode::Success)
}

/// The synthesis's `access.json`, or `None` when it has none (written before it existed).
pub(super) fn read_access(out: &Path) -> Result<Option<(crate::synth::decisions::AccessModel, String)>> {
    let path = out.join(crate::synth::decisions::ACCESS_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let model = serde_json::from_str(&text)
                .with_context(|| format!("`{}` is not an access file (run `meshsynth synth`)", path.display()))?;
            Ok(Some((model, text)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    }
}

/// What the deploy would change in who reads what: the synthesis's `access.json` against
/// the record of the last complete deploy.
pub(super) fn access_section(in_force: &deploy::access::InForce, out: &Path) -> Result<deploy::access::AccessSection> {
    let new = read_access(out)?;
    let file = out.join(crate::synth::decisions::ACCESS_FILE);
    Ok(deploy::access::AccessSection::new(
        in_force,
        new.as_ref().map(|(m, _)| m),
        &file.display().to_string(),
    ))
}

/// Breaking changes to live versions between the deployed Glue tables and
/// the synthesised ones, with the consumers `contracts.json` lists (none
/// when the synthesis predates it).
pub(super) fn breaking(plan: &deploy::Plan, out: &Path) -> Result<Vec<crate::contract::BreakingVersion>> {
    let path = out.join(crate::contract::CONTRACTS_FILE);
    let listing = match std::fs::read(&path) {
        Ok(bytes) => {
            serde_json::from_slice::<crate::contract::Contracts>(&bytes)
                .with_context(|| format!("`{}` is not a contracts file (run `meshsynth synth`)", path.display()))?
                .versions
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    };
    Ok(plan.breaking(&listing))
}
