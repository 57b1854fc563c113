//! The plain types `CfnApi` speaks in: stacks, change sets and events as
//! meshsynth sees them, with CloudFormation's status strings classified here,
//! once. No SDK type appears in them, so the engine, the fakes and their
//! tests never see one.

/// A stack as `DescribeStacks` / `ListStacks` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StackInfo {
    pub(crate) stack_id: String,
    pub(crate) name: String,
    /// Its status, classified.
    pub(crate) status: StackState,
    pub(crate) status_reason: Option<String>,
    /// Whether the stack cannot be deleted until this is turned off.
    pub(crate) termination_protection: bool,
}

/// A stack's status as meshsynth acts on it: the settled states it tells
/// apart by name, and every other one as in progress or failed (with
/// CloudFormation's name, for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StackState {
    CreateComplete,
    UpdateComplete,
    ImportComplete,
    /// An update failed and was rolled back: the stack is as before, and updatable.
    UpdateRollbackComplete,
    ImportRollbackComplete,
    /// Created by a change set that was never executed: it holds nothing.
    ReviewInProgress,
    /// Its creation failed: it can only be deleted.
    RollbackComplete,
    DeleteInProgress,
    DeleteComplete,
    /// Any other `*_IN_PROGRESS`: an operation is running.
    InProgress(String),
    /// Anything else (`CREATE_FAILED`, `UPDATE_ROLLBACK_FAILED`, ...): needs a person.
    Failed(String),
}

impl StackState {
    /// Classifies CloudFormation's status name.
    pub(crate) fn of(status: &str) -> StackState {
        match status {
            "CREATE_COMPLETE" => StackState::CreateComplete,
            "UPDATE_COMPLETE" => StackState::UpdateComplete,
            "IMPORT_COMPLETE" => StackState::ImportComplete,
            "UPDATE_ROLLBACK_COMPLETE" => StackState::UpdateRollbackComplete,
            "IMPORT_ROLLBACK_COMPLETE" => StackState::ImportRollbackComplete,
            "REVIEW_IN_PROGRESS" => StackState::ReviewInProgress,
            "ROLLBACK_COMPLETE" => StackState::RollbackComplete,
            "DELETE_IN_PROGRESS" => StackState::DeleteInProgress,
            "DELETE_COMPLETE" => StackState::DeleteComplete,
            s if s.ends_with("_IN_PROGRESS") => StackState::InProgress(s.to_owned()),
            s => StackState::Failed(s.to_owned()),
        }
    }

    /// CloudFormation's name of the status.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            StackState::CreateComplete => "CREATE_COMPLETE",
            StackState::UpdateComplete => "UPDATE_COMPLETE",
            StackState::ImportComplete => "IMPORT_COMPLETE",
            StackState::UpdateRollbackComplete => "UPDATE_ROLLBACK_COMPLETE",
            StackState::ImportRollbackComplete => "IMPORT_ROLLBACK_COMPLETE",
            StackState::ReviewInProgress => "REVIEW_IN_PROGRESS",
            StackState::RollbackComplete => "ROLLBACK_COMPLETE",
            StackState::DeleteInProgress => "DELETE_IN_PROGRESS",
            StackState::DeleteComplete => "DELETE_COMPLETE",
            StackState::InProgress(s) | StackState::Failed(s) => s,
        }
    }

    /// Whether a change set can update the stack (and GetTemplate reads a template worth
    /// comparing).
    pub(crate) fn is_updatable(&self) -> bool {
        matches!(
            self,
            StackState::CreateComplete
                | StackState::UpdateComplete
                | StackState::ImportComplete
                | StackState::UpdateRollbackComplete
                | StackState::ImportRollbackComplete
        )
    }

    /// Whether an operation is running on the stack.
    pub(crate) fn is_in_progress(&self) -> bool {
        matches!(
            self,
            StackState::ReviewInProgress | StackState::DeleteInProgress | StackState::InProgress(_)
        )
    }
}

impl std::fmt::Display for StackState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a change set creates the stack or updates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeSetType {
    Create,
    Update,
}

/// Where CloudFormation reads the template from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TemplateSource {
    /// Inline (up to 51,200 bytes).
    Body(String),
    /// An S3 object URL (the staging bucket), for larger templates.
    Url(String),
}

/// What `CreateChangeSet` needs. Templates have no parameters; the IAM
/// capabilities are always given (the templates create named roles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewChangeSet {
    pub(crate) stack_name: String,
    pub(crate) change_set_name: String,
    pub(crate) change_set_type: ChangeSetType,
    pub(crate) template: TemplateSource,
}

/// One resource change as the service reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceChange {
    /// `Add`, `Modify`, `Remove`, `Import`, `Dynamic`.
    pub(crate) action: String,
    pub(crate) logical_id: String,
    pub(crate) resource_type: String,
    /// `True`, `False`, `Conditional`; absent when the service does not say.
    pub(crate) replacement: Option<String>,
}

/// A change set with every page of its changes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ChangeSetInfo {
    /// Its status, classified.
    pub(crate) status: ChangeSetState,
    /// Whether it can be executed, once CloudFormation says.
    pub(crate) execution_status: Option<ExecutionState>,
    pub(crate) status_reason: Option<String>,
    pub(crate) changes: Vec<ServiceChange>,
}

/// A change set's status as meshsynth acts on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum ChangeSetState {
    /// `CREATE_PENDING` or `CREATE_IN_PROGRESS`: still being worked out.
    #[default]
    Pending,
    /// `CREATE_COMPLETE`: ready to describe and execute.
    Ready,
    /// `FAILED` (also when the template changes nothing).
    Failed,
    /// Anything else, by CloudFormation's name (`DELETE_COMPLETE`, ...).
    Other(String),
}

impl ChangeSetState {
    /// Classifies CloudFormation's status name.
    pub(crate) fn of(status: &str) -> ChangeSetState {
        match status {
            "CREATE_PENDING" | "CREATE_IN_PROGRESS" => ChangeSetState::Pending,
            "CREATE_COMPLETE" => ChangeSetState::Ready,
            "FAILED" => ChangeSetState::Failed,
            s => ChangeSetState::Other(s.to_owned()),
        }
    }
}

/// One stack event (newest first when listed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StackEvent {
    pub(crate) logical_id: String,
    pub(crate) resource_type: String,
    /// Its resource status, classified.
    pub(crate) status: EventStatus,
    pub(crate) reason: Option<String>,
}

/// A change set's execution status: whether it can be executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExecutionState {
    /// `AVAILABLE`: it can be executed.
    Available,
    /// `UNAVAILABLE` (also when it changes nothing).
    Unavailable,
    /// Anything else, by CloudFormation's name (`EXECUTE_COMPLETE`, ...).
    Other(String),
}

impl ExecutionState {
    /// Classifies CloudFormation's name.
    pub(crate) fn of(status: &str) -> ExecutionState {
        match status {
            "AVAILABLE" => ExecutionState::Available,
            "UNAVAILABLE" => ExecutionState::Unavailable,
            s => ExecutionState::Other(s.to_owned()),
        }
    }
}

/// A stack event's resource status: failed or not, with CloudFormation's
/// name (`CREATE_FAILED`, `UPDATE_IN_PROGRESS`, ...) for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EventStatus {
    /// `*_FAILED`.
    Failed(String),
    /// Any other status.
    Other(String),
}

impl EventStatus {
    /// Classifies CloudFormation's name.
    pub(crate) fn of(status: &str) -> EventStatus {
        if status.ends_with("_FAILED") {
            EventStatus::Failed(status.to_owned())
        } else {
            EventStatus::Other(status.to_owned())
        }
    }

    /// Whether the resource's operation failed.
    pub(crate) fn is_failed(&self) -> bool {
        matches!(self, EventStatus::Failed(_))
    }

    /// CloudFormation's name.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            EventStatus::Failed(s) | EventStatus::Other(s) => s,
        }
    }
}

impl std::fmt::Display for EventStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
