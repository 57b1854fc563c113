//! CloudFormation's drift status names, classified once where the answer
//! arrives (`cfn.rs` and the fake client); the rest of meshsynth matches on
//! these enums. Names AWS may add later are kept as `Other`.

use serde::Serialize;

/// Where a drift detection stands (`DetectionStatus`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DetectionState {
    InProgress,
    Complete,
    Failed,
    Other(String),
}

impl DetectionState {
    /// Classifies CloudFormation's name.
    pub(crate) fn of(name: &str) -> DetectionState {
        match name {
            "DETECTION_IN_PROGRESS" => DetectionState::InProgress,
            "DETECTION_COMPLETE" => DetectionState::Complete,
            "DETECTION_FAILED" => DetectionState::Failed,
            other => DetectionState::Other(other.to_owned()),
        }
    }
}

/// A stack's drift as the detection found it (`StackDriftStatus`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StackDriftState {
    Drifted,
    InSync,
    Unknown,
    NotChecked,
    Other(String),
}

impl StackDriftState {
    /// Classifies CloudFormation's name.
    pub(crate) fn of(name: &str) -> StackDriftState {
        match name {
            "DRIFTED" => StackDriftState::Drifted,
            "IN_SYNC" => StackDriftState::InSync,
            "UNKNOWN" => StackDriftState::Unknown,
            "NOT_CHECKED" => StackDriftState::NotChecked,
            other => StackDriftState::Other(other.to_owned()),
        }
    }
}

/// A drifted resource's state (`StackResourceDriftStatus`); serializes as
/// CloudFormation's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub(crate) enum ResourceDriftState {
    Modified,
    Deleted,
    Other(String),
}

impl ResourceDriftState {
    /// Classifies CloudFormation's name.
    pub(crate) fn of(name: &str) -> ResourceDriftState {
        match name {
            "MODIFIED" => ResourceDriftState::Modified,
            "DELETED" => ResourceDriftState::Deleted,
            other => ResourceDriftState::Other(other.to_owned()),
        }
    }

    /// CloudFormation's name.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            ResourceDriftState::Modified => "MODIFIED",
            ResourceDriftState::Deleted => "DELETED",
            ResourceDriftState::Other(s) => s,
        }
    }
}

impl From<ResourceDriftState> for String {
    fn from(s: ResourceDriftState) -> String {
        s.as_str().to_owned()
    }
}

/// How a drifted property differs from the template (`DifferenceType`); serializes as
/// CloudFormation's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub(crate) enum DifferenceKind {
    Add,
    Remove,
    NotEqual,
    Other(String),
}

impl DifferenceKind {
    /// Classifies CloudFormation's name.
    pub(crate) fn of(name: &str) -> DifferenceKind {
        match name {
            "ADD" => DifferenceKind::Add,
            "REMOVE" => DifferenceKind::Remove,
            "NOT_EQUAL" => DifferenceKind::NotEqual,
            other => DifferenceKind::Other(other.to_owned()),
        }
    }

    /// CloudFormation's name.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            DifferenceKind::Add => "ADD",
            DifferenceKind::Remove => "REMOVE",
            DifferenceKind::NotEqual => "NOT_EQUAL",
            DifferenceKind::Other(s) => s,
        }
    }

    /// The name in words, for the text report: `not equal`.
    pub(crate) fn words(&self) -> String {
        self.as_str().to_ascii_lowercase().replace('_', " ")
    }
}

impl From<DifferenceKind> for String {
    fn from(k: DifferenceKind) -> String {
        k.as_str().to_owned()
    }
}

/// What the drift report says of a listed stack (in-sync stacks are not listed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum ReportedDrift {
    Drifted,
    NotDeployed,
    NotChecked,
}

impl ReportedDrift {
    /// The name in the JSON and text reports.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ReportedDrift::Drifted => "DRIFTED",
            ReportedDrift::NotDeployed => "NOT_DEPLOYED",
            ReportedDrift::NotChecked => "NOT_CHECKED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_kept() {
        assert_eq!(DetectionState::of("DETECTION_FAILED"), DetectionState::Failed);
        assert_eq!(DetectionState::of("NEW"), DetectionState::Other("NEW".to_owned()));
        assert_eq!(StackDriftState::of("IN_SYNC"), StackDriftState::InSync);
        assert_eq!(StackDriftState::of("X"), StackDriftState::Other("X".to_owned()));
        for name in ["MODIFIED", "DELETED", "NOT_EQUAL"] {
            assert_eq!(ResourceDriftState::of(name).as_str(), name);
            assert_eq!(serde_json::to_value(ResourceDriftState::of(name)).unwrap(), name);
        }
        for name in ["ADD", "REMOVE", "NOT_EQUAL", "NEW_KIND"] {
            assert_eq!(DifferenceKind::of(name).as_str(), name);
            assert_eq!(serde_json::to_value(DifferenceKind::of(name)).unwrap(), name);
        }
        assert_eq!(DifferenceKind::of("NOT_EQUAL"), DifferenceKind::NotEqual);
        assert_eq!(DifferenceKind::of("NOT_EQUAL").words(), "not equal");
        assert_eq!(DifferenceKind::of("X"), DifferenceKind::Other("X".to_owned()));
        for s in [
            ReportedDrift::Drifted,
            ReportedDrift::NotDeployed,
            ReportedDrift::NotChecked,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}
