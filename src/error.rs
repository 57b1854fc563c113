//! The crate's error type: every typed error a command can end with, and the
//! exit code each one means (`spec/cli.md`: 1 a finding, 2 usage or
//! environment).
//!
//! Each module keeps its own `thiserror` enum; this one gathers them, and
//! every `exit_code()` on the way down is an exhaustive `match` with no
//! catch-all arm, so a new variant does not compile until someone decides
//! whether it is a finding. A new module error type is added to the list in
//! `errors!` below (the only list of them): that gives it a variant here, a
//! `From` conversion, and makes [`exit_code_of`] recognise it when it
//! reaches `main` inside an `anyhow::Error`.
//!
//! This module only classifies; `main` renders the one error a run ends with.

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

/// Declares [`Error`] from one list of `Variant(ModuleError)` pairs, and the
/// downcast that finds any of them in an error chain.
macro_rules! errors {
    ($($(#[$doc:meta])* $variant:ident($ty:ty),)+) => {
        /// Any typed error of meshsynth. Messages are the module error's own
        /// (`transparent`), so wrapping one never changes what the user reads.
        #[derive(Debug, thiserror::Error)]
        pub(crate) enum Error {
            $(
                $(#[$doc])*
                #[error(transparent)]
                $variant(#[from] $ty),
            )+
        }

        impl Error {
            /// The exit code of the first typed error in `cause`'s chain of
            /// one link (this `Error`, or any module error it wraps).
            fn classify(cause: &(dyn std::error::Error + 'static)) -> Option<ExitCode> {
                if let Some(e) = cause.downcast_ref::<Error>() {
                    return Some(e.exit_code());
                }
                $(
                    if let Some(e) = cause.downcast_ref::<$ty>() {
                        return Some(e.exit_code());
                    }
                )+
                None
            }
        }
    };
}

errors! {
    /// A refusal or result decided by a command (stale output, breaking change, …).
    Finding(Finding),
    /// The topology could not be read, or does not validate.
    Load(LoadError),
    Synth(SynthError),
    Render(RenderError),
    Emit(EmitError),
    Manifest(ManifestError),
    Deploy(DeployError),
    Api(ApiError),
    Diff(DiffError),
    Lifecycle(LifecycleError),
    Migrate(MigrateError),
    Codeowners(CodeownersError),
    Org(OrgError),
}

impl Error {
    /// The exit code this error ends a run with.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            Error::Finding(e) => e.exit_code(),
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

/// The exit code of an error that ended a command: that of the outermost
/// typed error in its chain (context added by a command does not hide it);
/// an error of no type of ours (IO with context, a runtime that would not
/// start) is a usage or environment problem.
pub fn exit_code_of(err: &anyhow::Error) -> ExitCode {
    err.chain().find_map(Error::classify).unwrap_or(ExitCode::Usage)
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

    fn code(e: impl Into<anyhow::Error>) -> ExitCode {
        exit_code_of(&e.into())
    }

    #[test]
    fn findings_exit_1_and_context_does_not_hide_them() {
        assert_eq!(code(Finding("stale".into())), ExitCode::Finding);
        let wrapped = anyhow::Error::new(Finding("x".into())).context("while planning");
        assert_eq!(exit_code_of(&wrapped), ExitCode::Finding);
        assert_eq!(code(LoadError::Invalid(vec![])), ExitCode::Finding);
        assert_eq!(code(ManifestError::Stale { path: "x".into() }), ExitCode::Finding);
        let deploy = DeployError::Manifest(ManifestError::Stale { path: "x".into() });
        assert_eq!(code(Error::from(deploy)), ExitCode::Finding);
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
        assert_eq!(code(anyhow::anyhow!("no credentials")), ExitCode::Usage);
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
    fn wrapping_keeps_the_message() {
        let e = LifecycleError::BadTeamName { name: "X".into() };
        let text = e.to_string();
        assert_eq!(Error::from(e).to_string(), text);
        assert_eq!(
            format!("{:#}", anyhow::Error::new(Error::from(OrgError::NotInUse))),
            OrgError::NotInUse.to_string()
        );
    }
}
