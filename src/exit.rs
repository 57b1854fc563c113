//! Exit codes: the only place their numbers live (`spec/cli.md`). Which
//! error means which code is decided in `crate::error`.

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
}

/// An error that is a finding about the user's input or infrastructure (exit 1),
/// as opposed to a usage or environment problem (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Finding(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_spec_table() {
        assert_eq!(ExitCode::Success.code(), 0);
        assert_eq!(ExitCode::Finding.code(), 1);
        assert_eq!(ExitCode::Usage.code(), 2);
    }
}
