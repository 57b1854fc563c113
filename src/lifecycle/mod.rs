//! Team lifecycle: scaffolding a new team's file (`new-team`), and adopting
//! or checking an existing AWS organisation (`org import`, `org check`).
//!
//! Every file written here is validated together with the rest of the
//! topology first, written to a temporary file beside its destination and
//! moved into place without replacing anything: these commands never
//! overwrite a file and never leave a half-written one.
//!
//! `scaffold`, `import` and `check` are pure (text in, text out);
//! `organizations` is the only place that talks to AWS Organizations.

pub(crate) mod check;
pub(crate) mod codeowners;
pub(crate) mod import;
pub(crate) mod migrate;
pub(crate) mod organizations;
pub(crate) mod scaffold;

use std::path::{Path, PathBuf};

use crate::model::load::{self, LoadError};
use crate::model::{Diagnostic, Topology};

/// Why a lifecycle command refused or failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LifecycleError {
    #[error("`{path}` is a single-file topology; `{command}` needs the directory form (`org.yaml` and `teams/*.yaml`): add the team under `teams:` by hand, or split the file")]
    NotADirectory { path: PathBuf, command: &'static str },
    #[error("cannot read `{path}`: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("cannot write `{path}`: {reason}")]
    Unwritable { path: PathBuf, reason: String },
    #[error("`{path}` already exists ({command} never overwrites a file)")]
    Exists { path: PathBuf, command: &'static str },
    #[error("`{name}` is not a valid team name (use lowercase letters, digits and `-`, at most 63 characters, not starting or ending with `-`)")]
    BadTeamName { name: String },
    #[error("`{id}` is not an AWS account id (12 digits)")]
    BadAccountId { id: String },
    #[error("account `{id}` is given twice")]
    DuplicateAccount { id: String },
    #[error("{names} `--account-name` given for {accounts} `--account` (give at most one name per account, in the same order)")]
    TooManyNames { names: usize, accounts: usize },
    #[error("{environments} `--environment` given for {accounts} `--account` (give one per account, or one for all)")]
    BadEnvironments { environments: usize, accounts: usize },
    #[error("unknown environment `{environment}` (use prod, staging, dev or sandbox)")]
    BadEnvironment { environment: String },
    #[error("team `{name}` already exists in `{file}`")]
    TeamExists { name: String, file: PathBuf },
    #[error("account `{id}` already belongs to team `{team}` (`{file}`): one account belongs to one team")]
    AccountTaken { id: String, team: String, file: PathBuf },
    #[error("domain `{domain}` is not declared in `{org_file}` (declared: {declared}); add it under `domains:` first")]
    UnknownDomain {
        domain: String,
        org_file: PathBuf,
        declared: String,
    },
    /// The topology (before or after the change) does not validate.
    #[error("{}", render_diagnostics(.0))]
    Invalid(Vec<Diagnostic>),
}

fn render_diagnostics(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\nerror: ")
}

/// The text of every file of a directory topology, as `model::load` would read them.
pub(crate) struct Sources {
    pub(crate) org: (PathBuf, String),
    pub(crate) teams: Vec<(PathBuf, String)>,
}

impl Sources {
    /// Reads `dir/org.yaml` (or `.yml`, `.json`) and `dir/teams/*.{yaml,yml,json}`.
    pub(crate) fn read(dir: &Path, command: &'static str) -> Result<Sources, LifecycleError> {
        let unreadable = |path: &Path, e: &std::io::Error| LifecycleError::Unreadable {
            path: path.to_owned(),
            reason: io_reason(e),
        };
        let meta = std::fs::metadata(dir).map_err(|e| unreadable(dir, &e))?;
        if !meta.is_dir() {
            return Err(LifecycleError::NotADirectory {
                path: dir.to_owned(),
                command,
            });
        }
        let (org_file, files) = load::directory_files(dir).map_err(|e| match e {
            LoadError::Unreadable { path, reason } => LifecycleError::Unreadable { path, reason },
            LoadError::Invalid(d) => LifecycleError::Invalid(d),
        })?;
        let org_text = std::fs::read_to_string(&org_file).map_err(|e| unreadable(&org_file, &e))?;
        let mut teams = Vec::new();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(|e| unreadable(&path, &e))?;
            teams.push((path, text));
        }
        teams.sort();
        Ok(Sources {
            org: (org_file, org_text),
            teams,
        })
    }

    /// Validates these sources (plus any extra files), as `meshsynth validate` would.
    pub(crate) fn validate(&self, extra: &[(PathBuf, String)]) -> Result<(Topology, Vec<Diagnostic>), LifecycleError> {
        let teams: Vec<(PathBuf, &str)> = self
            .teams
            .iter()
            .chain(extra)
            .map(|(p, t)| (p.clone(), t.as_str()))
            .collect();
        let raw = load::from_sources(Some((self.org.0.clone(), self.org.1.as_str())), teams).map_err(|e| match e {
            LoadError::Invalid(d) => LifecycleError::Invalid(d),
            LoadError::Unreadable { path, reason } => LifecycleError::Unreadable { path, reason },
        })?;
        crate::validate::validate(raw).map_err(LifecycleError::Invalid)
    }
}

/// Writes `text` to `path` through a temporary file in the same folder,
/// refusing (without touching anything) when `path` exists.
pub(crate) fn write_new(path: &Path, text: &str, command: &'static str) -> Result<(), LifecycleError> {
    use std::io::Write;
    let unwritable = |e: &std::io::Error| LifecycleError::Unwritable {
        path: path.to_owned(),
        reason: io_reason(e),
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| unwritable(&e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".meshsynth-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| unwritable(&e))?;
    tmp.write_all(text.as_bytes()).map_err(|e| unwritable(&e))?;
    tmp.as_file().sync_all().map_err(|e| unwritable(&e))?;
    tmp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            LifecycleError::Exists {
                path: path.to_owned(),
                command,
            }
        } else {
            unwritable(&e.error)
        }
    })?;
    Ok(())
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}

/// A string as a YAML scalar that reads back exactly: a JSON string is a
/// valid YAML double-quoted scalar.
pub(crate) fn yaml_str(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}
