//! Exit codes: the only place their numbers live (`spec/cli.md`).

use crate::model::load::LoadError;

/// How a run of meshsynth ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Success (validate: valid, warnings allowed; synth --check: up to date; plan/deploy: done).
    Success,
    /// A finding: invalid topology, stale output, destructive change refused, a stack failed.
    Finding,
    /// Usage error, unreadable input, no credentials, AWS unreachable.
    Usage,
}

impl ExitCode {
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Finding => 1,
            ExitCode::Usage => 2,
        }
    }

    /// The exit code of an error that ended a command.
    pub fn of_error(err: &anyhow::Error) -> ExitCode {
        for cause in err.chain() {
            if cause.downcast_ref::<Finding>().is_some() {
                return ExitCode::Finding;
            }
            if let Some(load) = cause.downcast_ref::<LoadError>() {
                return match load {
                    LoadError::Invalid(_) => ExitCode::Finding,
                    LoadError::Unreadable { .. } => ExitCode::Usage,
                };
            }
        }
        ExitCode::Usage
    }
}

/// An error that is a finding about the user's input or infrastructure (exit 1),
/// as opposed to a usage or environment problem (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Finding(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_spec_table() {
        assert_eq!(ExitCode::Success.code(), 0);
        assert_eq!(ExitCode::Finding.code(), 1);
        assert_eq!(ExitCode::Usage.code(), 2);
    }

    #[test]
    fn errors_map_to_codes() {
        assert_eq!(
            ExitCode::of_error(&anyhow::Error::new(Finding("stale".into()))),
            ExitCode::Finding
        );
        let wrapped = anyhow::Error::new(Finding("x".into())).context("while planning");
        assert_eq!(ExitCode::of_error(&wrapped), ExitCode::Finding);
        assert_eq!(ExitCode::of_error(&anyhow::anyhow!("no credentials")), ExitCode::Usage);
        let unreadable = LoadError::Unreadable {
            path: "x".into(),
            reason: "no such file or directory".into(),
        };
        assert_eq!(ExitCode::of_error(&anyhow::Error::new(unreadable)), ExitCode::Usage);
        assert_eq!(
            ExitCode::of_error(&anyhow::Error::new(LoadError::Invalid(vec![]))),
            ExitCode::Finding
        );
    }
}
