//! The task status machine of DashScope async tasks, tolerant of states it does not know.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The state of an asynchronous DashScope task.
///
/// The eight documented states plus `SUSPENDED` (known to the official SDKs). Any other
/// string parses into [`TaskStatus::Other`] instead of failing, because a poller that
/// crashes on a new state loses the shopper's paid image.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum TaskStatus {
    /// Queued upstream; the only state in which a task can be cancelled.
    Pending,
    /// The service is downloading and checking the input images.
    PreProcessing,
    /// The model is generating.
    Running,
    /// The service is storing the result.
    PostProcessing,
    /// Done; `image_url` holds the result.
    Succeeded,
    /// Done without a result; `code` and `message` say why.
    Failed,
    /// The task does not exist (never did, or expired after 24 h).
    Unknown,
    /// Cancelled while pending.
    Canceled,
    /// Paused by the service; not terminal.
    Suspended,
    /// A state this contract does not know yet; treated as not terminal until a deadline.
    Other(String),
}

impl TaskStatus {
    /// The exact wire spelling of this state.
    pub fn as_str(&self) -> &str {
        match self {
            TaskStatus::Pending => "PENDING",
            TaskStatus::PreProcessing => "PRE-PROCESSING",
            TaskStatus::Running => "RUNNING",
            TaskStatus::PostProcessing => "POST-PROCESSING",
            TaskStatus::Succeeded => "SUCCEEDED",
            TaskStatus::Failed => "FAILED",
            TaskStatus::Unknown => "UNKNOWN",
            TaskStatus::Canceled => "CANCELED",
            TaskStatus::Suspended => "SUSPENDED",
            TaskStatus::Other(other) => other,
        }
    }

    /// Whether no later query can change this state (the SDKs stop polling on these).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            TaskStatus::Succeeded | TaskStatus::Failed | TaskStatus::Unknown | TaskStatus::Canceled
        )
    }

    /// Whether a task in this state may still be cancelled upstream.
    pub fn is_cancellable(&self) -> bool {
        matches!(self, TaskStatus::Pending)
    }

    /// The shopper-facing stage this state belongs to, for a staged progress view.
    pub fn stage(&self) -> Stage {
        match self {
            TaskStatus::Pending | TaskStatus::Suspended | TaskStatus::Other(_) => Stage::Queued,
            TaskStatus::PreProcessing => Stage::Preparing,
            TaskStatus::Running => Stage::Generating,
            TaskStatus::PostProcessing => Stage::Finishing,
            TaskStatus::Succeeded => Stage::Done,
            TaskStatus::Failed | TaskStatus::Unknown | TaskStatus::Canceled => Stage::Stopped,
        }
    }
}

/// The steps a shopper sees while waiting, coarser than the wire states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Queued,
    Preparing,
    Generating,
    Finishing,
    Done,
    Stopped,
}

impl From<String> for TaskStatus {
    fn from(value: String) -> Self {
        match value.as_str() {
            "PENDING" => TaskStatus::Pending,
            "PRE-PROCESSING" => TaskStatus::PreProcessing,
            "RUNNING" => TaskStatus::Running,
            "POST-PROCESSING" => TaskStatus::PostProcessing,
            "SUCCEEDED" => TaskStatus::Succeeded,
            "FAILED" => TaskStatus::Failed,
            "UNKNOWN" => TaskStatus::Unknown,
            "CANCELED" => TaskStatus::Canceled,
            "SUSPENDED" => TaskStatus::Suspended,
            _ => TaskStatus::Other(value),
        }
    }
}

impl From<TaskStatus> for String {
    fn from(value: TaskStatus) -> Self {
        value.as_str().to_owned()
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a task that ended FAILED with `code` is worth one free resubmission: the
/// provider's own internal failures, which it does not bill and a second try usually
/// cures. DashScope `InternalError` and `ModelServingError`; FASHN's transient runtime
/// errors (see [`crate::fashn::is_transient_fashn`]). Input errors, moderation, timeouts
/// and anything unknown are not: a second try would fail the same way, or take as long.
pub fn is_transient_task_failure(code: &str) -> bool {
    let code = code.trim();
    matches!(code, "InternalError" | "ModelServingError") || crate::fashn::is_transient_fashn(code)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_providers_own_failures_are_transient() {
        for code in [
            "InternalError",
            "ModelServingError",
            "PipelineError",
            "InternalServerError",
        ] {
            assert!(super::is_transient_task_failure(code), "{code}");
        }
        for code in [
            "InvalidParameter",
            "InternalError.Timeout",
            "DataInspectionFailed",
            "PoseError",
            "ImageLoadError",
            "",
        ] {
            assert!(!super::is_transient_task_failure(code), "{code}");
        }
    }

    use super::*;

    #[test]
    fn every_documented_state_round_trips_through_json() {
        for wire in [
            "PENDING",
            "PRE-PROCESSING",
            "RUNNING",
            "POST-PROCESSING",
            "SUCCEEDED",
            "FAILED",
            "UNKNOWN",
            "CANCELED",
            "SUSPENDED",
        ] {
            let json = format!("\"{wire}\"");
            let status: TaskStatus = serde_json::from_str(&json).unwrap();
            assert!(!matches!(status, TaskStatus::Other(_)), "{wire} is known");
            assert_eq!(serde_json::to_string(&status).unwrap(), json);
        }
    }

    #[test]
    fn an_unknown_state_parses_and_is_not_terminal() {
        let status: TaskStatus = serde_json::from_str("\"WARMING-UP\"").unwrap();
        assert_eq!(status, TaskStatus::Other("WARMING-UP".into()));
        assert!(!status.is_terminal());
        assert_eq!(status.as_str(), "WARMING-UP");
    }

    #[test]
    fn the_sdk_terminal_states_are_terminal_and_only_pending_cancels() {
        let terminal: Vec<_> = [
            TaskStatus::Pending,
            TaskStatus::PreProcessing,
            TaskStatus::Running,
            TaskStatus::PostProcessing,
            TaskStatus::Succeeded,
            TaskStatus::Failed,
            TaskStatus::Unknown,
            TaskStatus::Canceled,
            TaskStatus::Suspended,
        ]
        .into_iter()
        .filter(TaskStatus::is_terminal)
        .collect();
        assert_eq!(
            terminal,
            vec![
                TaskStatus::Succeeded,
                TaskStatus::Failed,
                TaskStatus::Unknown,
                TaskStatus::Canceled
            ]
        );
        assert!(TaskStatus::Pending.is_cancellable());
        assert!(!TaskStatus::Running.is_cancellable());
    }
}
