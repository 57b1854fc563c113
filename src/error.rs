//! The crate's error type: every error a command can end with, and the exit
//! code each one means (`spec/cli.md`: 1 a finding, 2 usage or environment).
//!
//! Each module keeps its own `thiserror` enum; [`Error`] gathers them, and
//! commands return `Result<_, Error>`. Every `exit_code()` on the way down is
//! an exhaustive `match` with no catch-all arm, and a module error reaches a
//! command's `?` only through its `From` here: a new error type does not
//! compile until it has a variant, and a new variant does not compile until
//! someone decides whether it is a finding.
//!
//! This module classifies and renders; `main` prints the one error a run ends
//! with, through [`Failure`].

use crate::deploy::{ApiError, DeployError, ManifestError};
use crate::diff::DiffError;
use crate::emit::EmitError;
use crate::exit::{ExitCode, Finding};
use crate::lifecycle::codeowners::CodeownersError;
use crate::lifecycle::migrate::MigrateError;
use crate::lifecycle::organizations::OrgError;
use crate::lifecycle::LifecycleError;
use crate::model::load::LoadError;
use crate::render::RenderError;
use crate::synth::SynthError;

/// Any error of meshsynth. Messages are the module error's own
/// (`transparent`), so wrapping one never changes what the user reads.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// A refusal or result decided by a command (stale output, breaking change, …).
    #[error(transparent)]
    Finding(#[from] Finding),
    /// A command's own refusal of its arguments or environment (not a
    /// terminal, a malformed flag value, a synthesis of another org).
    #[error("{0}")]
    Usage(String),
    /// Writing the command's output, or reading the answer to a prompt.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Serialising a command's JSON output.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// What the command was doing when `source` happened; the exit code is the source's.
    #[error("{context}")]
    Context {
        context: String,
        #[source]
        source: Box<Error>,
    },
    /// The topology could not be read, or does not validate.
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Synth(#[from] SynthError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Emit(#[from] EmitError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// Boxed: the largest of the module errors, it would make every `Result` of the crate large.
    #[error(transparent)]
    Deploy(Box<DeployError>),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Diff(#[from] DiffError),
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error(transparent)]
    Migrate(#[from] MigrateError),
    #[error(transparent)]
    Codeowners(#[from] CodeownersError),
    #[error(transparent)]
    Org(#[from] OrgError),
}

impl From<DeployError> for Error {
    fn from(e: DeployError) -> Error {
        Error::Deploy(Box::new(e))
    }
}

impl Error {
    /// A command's refusal of its arguments or environment (exit 2).
    pub(crate) fn usage(message: impl Into<String>) -> Error {
        Error::Usage(message.into())
    }

    /// The exit code this error ends a run with.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            Error::Finding(e) => e.exit_code(),
            // IO with no type of ours (stdout closed, a runtime that would not
            // start) and JSON output that would not serialise are environment problems.
            Error::Usage(_) | Error::Io(_) | Error::Json(_) => ExitCode::Usage,
            // Context added by a command does not hide what happened.
            Error::Context { source, .. } => source.exit_code(),
            Error::Load(e) => e.exit_code(),
            Error::Synth(e) => e.exit_code(),
            Error::Render(e) => e.exit_code(),
            Error::Emit(e) => e.exit_code(),
            Error::Manifest(e) => e.exit_code(),
            Error::Deploy(e) => e.exit_code(),
            Error::Api(e) => e.exit_code(),
            Error::Diff(e) => e.exit_code(),
            Error::Lifecycle(e) => e.exit_code(),
            Error::Migrate(e) => e.exit_code(),
            Error::Codeowners(e) => e.exit_code(),
            Error::Org(e) => e.exit_code(),
        }
    }
}

/// What a command returns.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds what a command was doing to an error, at an IO boundary:
/// ``.with_context(|| format!("cannot write `{}`", path.display()))``.
pub(crate) trait Context<T> {
    fn context(self, context: impl Into<String>) -> Result<T, Error>;
    fn with_context(self, context: impl FnOnce() -> String) -> Result<T, Error>;
}

impl<T, E: Into<Error>> Context<T> for Result<T, E> {
    fn context(self, context: impl Into<String>) -> Result<T, Error> {
        self.map_err(|e| Error::Context {
            context: context.into(),
            source: Box::new(e.into()),
        })
    }

    fn with_context(self, context: impl FnOnce() -> String) -> Result<T, Error> {
        self.map_err(|e| Error::Context {
            context: context(),
            source: Box::new(e.into()),
        })
    }
}

/// How a run failed, as `main` sees it: the message to print (`Display`:
/// the error and each of its causes, `: `-separated) and the exit code.
pub struct Failure(pub(crate) Error);

impl Failure {
    /// The exit code the run ends with.
    pub fn exit_code(&self) -> ExitCode {
        self.0.exit_code()
    }

    /// Whether the run failed only because stdout was closed
    /// (`meshsynth graph | head`), which is not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        self.0.is_broken_pipe()
    }
}

impl Error {
    /// Whether this is a write to a closed pipe, under any context.
    fn is_broken_pipe(&self) -> bool {
        match self {
            Error::Io(io) => io.kind() == std::io::ErrorKind::BrokenPipe,
            Error::Context { source, .. } => source.is_broken_pipe(),
            _ => false,
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure(e)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = std::error::Error::source(&self.0);
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

impl std::fmt::Debug for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl Finding {
    /// Always a finding: that is what the type says.
    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::Finding
    }
}

impl LoadError {
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            LoadError::Invalid(_) => ExitCode::Finding,
            LoadError::Unreadable { .. } => ExitCode::Usage,
        }
    }
}

impl SynthError {
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            // A policy AWS would refuse for its size is a finding about the topology.
            SynthError::PolicyTooLarge { .. } => ExitCode::Finding,
            SynthError::Cycle { .. } => ExitCode::Usage,
        }
    }
}

impl RenderError {
    /// Blueprints are the operator's input, not the topology: a broken one is
    /// a usage problem.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            RenderError::Unreadable { .. }
            | RenderError::UnknownBlueprint { .. }
            | RenderError::Compile { .. }
            | RenderError::Template { .. }
            | RenderError::InvalidJson { .. }
            | RenderError::TooManyResources { .. }
            | RenderError::TooLarge { .. }
            | RenderError::Empty { .. } => ExitCode::Usage,
        }
    }
}

impl EmitError {
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            EmitError::Read { .. } | EmitError::Write { .. } | EmitError::NotAFolder { .. } => ExitCode::Usage,
        }
    }
}

impl ManifestError {
    /// A stale output is a finding; the rest is unreadable input.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            ManifestError::Stale { .. } => ExitCode::Finding,
            ManifestError::Unreadable { .. } | ManifestError::Invalid { .. } => ExitCode::Usage,
        }
    }
}

impl DeployError {
    /// A finding about the synthesis or the deployed stacks, as opposed to
    /// credentials, connectivity or unreadable input.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            DeployError::Manifest(m) => m.exit_code(),
            DeployError::ChangeSetFailed { .. }
            | DeployError::StackBusy { .. }
            | DeployError::StackStuck { .. }
            | DeployError::UnreadableTemplate { .. } => ExitCode::Finding,
            DeployError::AssumeRole { .. }
            | DeployError::Api { .. }
            | DeployError::WaitTimeout { .. }
            | DeployError::Record { .. } => ExitCode::Usage,
        }
    }
}

impl ApiError {
    /// A failed AWS call on its own: credentials, connectivity or permissions.
    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::Usage
    }
}

impl DiffError {
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            DiffError::Unreadable { .. } | DiffError::Malformed { .. } => ExitCode::Usage,
        }
    }
}

impl LifecycleError {
    /// A refusal about the user's input or topology, as opposed to IO or usage.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            LifecycleError::NotADirectory { .. }
            | LifecycleError::Unreadable { .. }
            | LifecycleError::Unwritable { .. }
            | LifecycleError::TooManyNames { .. }
            | LifecycleError::BadEnvironments { .. } => ExitCode::Usage,
            LifecycleError::Exists { .. }
            | LifecycleError::BadTeamName { .. }
            | LifecycleError::BadAccountId { .. }
            | LifecycleError::DuplicateAccount { .. }
            | LifecycleError::BadEnvironment { .. }
            | LifecycleError::TeamExists { .. }
            | LifecycleError::AccountTaken { .. }
            | LifecycleError::UnknownDomain { .. }
            | LifecycleError::Invalid(_) => ExitCode::Finding,
        }
    }
}

impl MigrateError {
    /// What cannot be migrated automatically is a finding about the topology.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            MigrateError::FlowProduct { .. } | MigrateError::Lost { .. } | MigrateError::Json { .. } => {
                ExitCode::Finding
            }
        }
    }
}

impl CodeownersError {
    /// A path CODEOWNERS cannot name is a finding about the topology; the rest
    /// are about where meshsynth runs.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            CodeownersError::UnnamablePath { .. } => ExitCode::Finding,
            CodeownersError::NoRoot { .. } | CodeownersError::NotUtf8 { .. } | CodeownersError::Unreadable { .. } => {
                ExitCode::Usage
            }
        }
    }
}

impl OrgError {
    /// Not being in an organisation is a finding about the setup; a failed or
    /// denied call is an environment problem.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            OrgError::NotInUse => ExitCode::Finding,
            OrgError::AccessDenied { .. } | OrgError::Call { .. } => ExitCode::Usage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: impl Into<Error>) -> ExitCode {
        e.into().exit_code()
    }

    fn shown(e: impl Into<Error>) -> String {
        Failure(e.into()).to_string()
    }

    #[test]
    fn findings_exit_1_and_context_does_not_hide_them() {
        assert_eq!(code(Finding("stale".into())), ExitCode::Finding);
        let wrapped = Err::<(), _>(Finding("x".into())).context("while planning").unwrap_err();
        assert_eq!(wrapped.exit_code(), ExitCode::Finding);
        assert_eq!(code(LoadError::Invalid(vec![])), ExitCode::Finding);
        assert_eq!(code(ManifestError::Stale { path: "x".into() }), ExitCode::Finding);
        let deploy = DeployError::Manifest(ManifestError::Stale { path: "x".into() });
        assert_eq!(code(deploy), ExitCode::Finding);
        assert_eq!(
            code(CodeownersError::UnnamablePath {
                path: "a*b".into(),
                character: '*'
            }),
            ExitCode::Finding
        );
        assert_eq!(code(OrgError::NotInUse), ExitCode::Finding);
        assert_eq!(
            code(MigrateError::Lost {
                file: "t.yaml".into(),
                line: 3
            }),
            ExitCode::Finding
        );
        assert_eq!(
            code(SynthError::PolicyTooLarge {
                what: "w".into(),
                detail: "d".into(),
                hint: "h".into()
            }),
            ExitCode::Finding
        );
        assert_eq!(
            code(LifecycleError::BadTeamName { name: "X".into() }),
            ExitCode::Finding
        );
    }

    #[test]
    fn usage_and_environment_exit_2() {
        assert_eq!(code(Error::usage("no credentials")), ExitCode::Usage);
        assert_eq!(code(std::io::Error::other("disk full")), ExitCode::Usage);
        let unreadable = LoadError::Unreadable {
            path: "x".into(),
            reason: "no such file or directory".into(),
        };
        assert_eq!(code(unreadable), ExitCode::Usage);
        assert_eq!(
            code(ManifestError::Unreadable {
                path: "out/manifest.json".into(),
                reason: "gone".into()
            }),
            ExitCode::Usage
        );
        assert_eq!(
            code(LifecycleError::TooManyNames { names: 2, accounts: 1 }),
            ExitCode::Usage
        );
        assert_eq!(
            code(OrgError::Call {
                operation: "op",
                message: "m".into()
            }),
            ExitCode::Usage
        );
        assert_eq!(
            code(SynthError::Cycle {
                nodes: vec!["a".into()]
            }),
            ExitCode::Usage
        );
    }

    #[test]
    fn wrapping_keeps_the_message_and_context_comes_first() {
        let e = LifecycleError::BadTeamName { name: "X".into() };
        let text = e.to_string();
        assert_eq!(shown(e), text);
        assert_eq!(shown(OrgError::NotInUse), OrgError::NotInUse.to_string());
        let io = Err::<(), _>(std::io::Error::other("disk full"))
            .with_context(|| "cannot write `CODEOWNERS`".to_owned())
            .unwrap_err();
        assert_eq!(shown(io), "cannot write `CODEOWNERS`: disk full");
    }

    #[test]
    fn a_closed_stdout_is_found_under_context() {
        let pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert!(Failure(pipe.into()).is_broken_pipe());
        let pipe = Err::<(), _>(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            .context("writing the graph")
            .unwrap_err();
        assert!(Failure(pipe).is_broken_pipe());
        assert!(!Failure(Error::usage("x")).is_broken_pipe());
    }
}
