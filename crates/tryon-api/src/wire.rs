//! DashScope wire types for try-on, task query/cancel and segmentation, exactly as documented.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::mode::ClothesType;
use crate::status::TaskStatus;

/// Path of the asynchronous try-on create call (`aitryon`, `aitryon-plus`, `aitryon-refiner`).
pub const CREATE_TASK_PATH: &str = "/api/v1/services/aigc/image2image/image-synthesis";
/// Prefix of the task query path; the task id follows.
pub const TASKS_PATH: &str = "/api/v1/tasks";
/// Path of the synchronous garment segmentation call (`aitryon-parsing-v1`).
pub const SEGMENT_PATH: &str = "/api/v1/services/vision/image-process/process";
/// Header that every create call must carry with the value [`ASYNC_HEADER_VALUE`].
pub const ASYNC_HEADER: &str = "X-DashScope-Async";
/// The only accepted value of [`ASYNC_HEADER`].
pub const ASYNC_HEADER_VALUE: &str = "enable";
/// The try-on model the product uses by default.
pub const MODEL_TRYON_PLUS: &str = "aitryon-plus";
/// The cheaper try-on model with the same request shape.
pub const MODEL_TRYON: &str = "aitryon";
/// The optional refinement model.
pub const MODEL_REFINER: &str = "aitryon-refiner";
/// The garment segmentation model.
pub const MODEL_PARSING: &str = "aitryon-parsing-v1";

/// Path of one task: `/api/v1/tasks/{task_id}`.
pub fn task_path(task_id: &str) -> String {
    format!("{TASKS_PATH}/{task_id}")
}

/// Path of the cancel call of one task: `/api/v1/tasks/{task_id}/cancel`.
pub fn cancel_path(task_id: &str) -> String {
    format!("{TASKS_PATH}/{task_id}/cancel")
}

/// Body of `POST /api/v1/services/aigc/image2image/image-synthesis`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateTaskRequest {
    pub model: String,
    pub input: TryOnInput,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<TryOnParameters>,
}

/// The `input` object of a try-on create call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TryOnInput {
    pub person_image_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_garment_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bottom_garment_url: Option<String>,
    /// Only for `aitryon-refiner`: the try-on result to refine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coarse_image_url: Option<String>,
}

/// The `parameters` object of a try-on create call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TryOnParameters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_face: Option<bool>,
    /// Only for `aitryon-refiner`: `"woman"` or `"man"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// Not DashScope's: the proxy's addition. `true` when the lone top garment is a dress
    /// or jumpsuit (the product page says so). The seed API told that from the garment
    /// image itself, but an upstream that is asked for a garment category (FASHN's
    /// `one-pieces`) or a mode's prompt needs to be told; the proxy takes it out before it
    /// sends the seed's own API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_piece: Option<bool>,
}

/// Output resolution of a try-on image: the person photo's own size, 576x1024 or 720x1280.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub enum Resolution {
    /// `-1`: the same size as the person photo (required before refinement).
    #[default]
    Original,
    /// `1024`: 576x1024.
    Portrait1024,
    /// `1280`: 720x1280.
    Portrait1280,
}

impl Resolution {
    /// The wire value.
    pub fn as_wire(self) -> i64 {
        match self {
            Resolution::Original => -1,
            Resolution::Portrait1024 => 1024,
            Resolution::Portrait1280 => 1280,
        }
    }

    /// Output width and height for a person photo of the given size.
    pub fn output_size(self, person_width: u32, person_height: u32) -> (u32, u32) {
        match self {
            Resolution::Original => (person_width, person_height),
            Resolution::Portrait1024 => (576, 1024),
            Resolution::Portrait1280 => (720, 1280),
        }
    }
}

/// A resolution value outside `-1`, `1024`, `1280`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidResolution(pub i64);

impl fmt::Display for InvalidResolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "resolution {} is not supported: use -1 (same as the photo), 1024 (576x1024) or 1280 (720x1280)",
            self.0
        )
    }
}

impl std::error::Error for InvalidResolution {}

impl TryFrom<i64> for Resolution {
    type Error = InvalidResolution;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        match value {
            -1 => Ok(Resolution::Original),
            1024 => Ok(Resolution::Portrait1024),
            1280 => Ok(Resolution::Portrait1280),
            other => Err(InvalidResolution(other)),
        }
    }
}

impl From<Resolution> for i64 {
    fn from(value: Resolution) -> Self {
        value.as_wire()
    }
}

/// Answer of a successful create call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateTaskResponse {
    pub output: CreatedTask,
    pub request_id: String,
}

/// The `output` object of a create answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedTask {
    pub task_id: String,
    pub task_status: TaskStatus,
}

/// Answer of `GET /api/v1/tasks/{task_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskQueryResponse {
    pub request_id: String,
    pub output: TaskOutput,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

/// The `output` object of a task query answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskOutput {
    pub task_id: String,
    pub task_status: TaskStatus,
    /// Present on success: the result, valid for 24 h upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// Times look like `2025-06-30 14:37:53.838`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submit_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// Present on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Added by the proxy, never by DashScope: how many jobs wait before this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_position: Option<u32>,
}

impl TaskOutput {
    /// A bare output with only an id and a state, the rest empty.
    pub fn new(task_id: impl Into<String>, task_status: TaskStatus) -> Self {
        TaskOutput {
            task_id: task_id.into(),
            task_status,
            image_url: None,
            submit_time: None,
            scheduled_time: None,
            end_time: None,
            code: None,
            message: None,
            queue_position: None,
        }
    }
}

/// The `usage` object: how many images were billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub image_count: u32,
}

/// The body of every failed call: `{"code","message","request_id"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub request_id: String,
}

/// Answer of `POST /api/v1/tasks/{task_id}/cancel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CancelResponse {
    pub request_id: String,
}

/// Body of the segmentation call (`aitryon-parsing-v1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentRequest {
    pub model: String,
    pub input: SegmentInput,
    pub parameters: SegmentParameters,
}

/// The `input` object of a segmentation call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentInput {
    pub image_url: String,
}

/// The `parameters` object of a segmentation call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentParameters {
    pub clothes_type: Vec<ClothesType>,
}

/// Answer of a segmentation call; each list aligns with `clothes_type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentResponse {
    pub output: SegmentOutput,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    pub request_id: String,
}

/// The `output` object of a segmentation answer; `None` where that garment is absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentOutput {
    /// RGBA PNGs of each garment on the full canvas.
    pub parsing_img_url: Vec<Option<String>>,
    /// RGB PNG crops: the ones to pass as garment URLs.
    pub crop_img_url: Vec<Option<String>>,
    /// `[x1, y1, x2, y2]` boxes, top-left origin.
    pub bbox: Vec<Option<[i64; 4]>>,
}

/// Path of the task listing call: `GET /api/v1/tasks/?start_time=&end_time=&model_name=&status=&page_no=&page_size=`.
/// The documented spelling ends with a slash; servers should accept it without one too.
pub const LIST_TASKS_PATH: &str = "/api/v1/tasks/";
/// Page size of a listing when the caller gives none (UNCONFIRMED upstream).
pub const LIST_DEFAULT_PAGE_SIZE: u32 = 10;
/// Largest page size a listing accepts (UNCONFIRMED upstream).
pub const LIST_MAX_PAGE_SIZE: u32 = 100;

/// The filters and paging of a task listing, sent as the query string of
/// [`LIST_TASKS_PATH`]. Every field is optional.
///
/// UNCONFIRMED: the reference pages name the parameters but not their formats. The
/// DashScope task-management page is recalled to write `start_time` and `end_time` as
/// `YYYYMMDDhhmmss` (for example `20250630143000`), to default to the last 24 hours and to
/// refuse ranges longer than 24 hours; this type carries the strings as they are and does
/// not enforce any of that.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TaskListQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TaskStatus>,
    /// 1-based page number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_no: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
}

impl TaskListQuery {
    /// The query string without the leading `?`, fields in documented order, values
    /// percent-encoded. Empty when no filter is set.
    pub fn to_query_string(&self) -> String {
        let page_no = self.page_no.map(|n| n.to_string());
        let page_size = self.page_size.map(|n| n.to_string());
        let pairs = [
            ("start_time", self.start_time.as_deref()),
            ("end_time", self.end_time.as_deref()),
            ("model_name", self.model_name.as_deref()),
            ("status", self.status.as_ref().map(TaskStatus::as_str)),
            ("page_no", page_no.as_deref()),
            ("page_size", page_size.as_deref()),
        ];
        pairs
            .iter()
            .filter_map(|(name, value)| value.map(|v| format!("{name}={}", percent_encode(v))))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The full path and query of this listing, e.g. `/api/v1/tasks/?status=RUNNING`.
    pub fn path_and_query(&self) -> String {
        let query = self.to_query_string();
        if query.is_empty() {
            LIST_TASKS_PATH.to_owned()
        } else {
            format!("{LIST_TASKS_PATH}?{query}")
        }
    }
}

/// Percent-encodes everything but the unreserved characters of RFC 3986, which is enough
/// for the plain values of a listing and avoids a URL crate in this no-I/O contract.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Answer of a task listing.
///
/// The envelope (`request_id`, `data`, `total`, `total_page`, `page_no`, `page_size`) is
/// the documented one. The fields of each entry are UNCONFIRMED, see [`TaskListItem`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskListResponse {
    pub request_id: String,
    /// The tasks of this page.
    #[serde(default)]
    pub data: Vec<TaskListItem>,
    /// How many tasks match the filters, over all pages.
    pub total: u64,
    /// How many pages of `page_size` the matches fill.
    pub total_page: u64,
    pub page_no: u32,
    pub page_size: u32,
}

/// One task of a listing.
///
/// UNCONFIRMED: the public task-management page is recalled to list entries with
/// `task_id`, `status` (not `task_status`), `model_name`, `request_id`, `region`, and
/// millisecond epoch numbers such as `gmt_create`, `start_time` and `end_time`. To stay
/// safe either way, only `task_id` is required; both status spellings are optional and
/// everything else is kept verbatim in [`TaskListItem::extra`], so that an entry always
/// parses and serialises back unchanged. Read the state with
/// [`TaskListItem::effective_status`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskListItem {
    pub task_id: String,
    /// The state under the spelling of the query answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_status: Option<TaskStatus>,
    /// The state under the spelling recalled from the listing documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TaskStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name: Option<String>,
    /// Every other field, untouched (times, codes, account ids).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl TaskListItem {
    /// The task's state under whichever spelling the entry carries; `UNKNOWN` when it
    /// carries none, which a poller treats as terminal and so never waits on forever.
    pub fn effective_status(&self) -> TaskStatus {
        self.task_status
            .clone()
            .or_else(|| self.status.clone())
            .unwrap_or(TaskStatus::Unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_accepts_the_three_documented_values_only() {
        for (wire, expected) in [
            (-1, Resolution::Original),
            (1024, Resolution::Portrait1024),
            (1280, Resolution::Portrait1280),
        ] {
            assert_eq!(Resolution::try_from(wire), Ok(expected));
            assert_eq!(serde_json::to_string(&expected).unwrap(), wire.to_string());
        }
        let refused = serde_json::from_str::<TryOnParameters>(r#"{"resolution":720}"#);
        assert!(
            refused
                .unwrap_err()
                .to_string()
                .contains("resolution 720 is not supported")
        );
        assert_eq!(
            Resolution::Portrait1280.output_size(1000, 2000),
            (720, 1280)
        );
        assert_eq!(Resolution::Original.output_size(1000, 2000), (1000, 2000));
    }

    #[test]
    fn paths_are_the_documented_ones() {
        assert_eq!(task_path("abc"), "/api/v1/tasks/abc");
        assert_eq!(cancel_path("abc"), "/api/v1/tasks/abc/cancel");
    }

    #[test]
    fn a_listing_query_writes_the_documented_parameters_in_order() {
        assert_eq!(TaskListQuery::default().path_and_query(), "/api/v1/tasks/");
        let query = TaskListQuery {
            start_time: Some("20250630143000".into()),
            end_time: None,
            model_name: Some("aitryon-plus".into()),
            status: Some(TaskStatus::PreProcessing),
            page_no: Some(2),
            page_size: Some(5),
        };
        assert_eq!(
            query.path_and_query(),
            "/api/v1/tasks/?start_time=20250630143000&model_name=aitryon-plus&status=PRE-PROCESSING&page_no=2&page_size=5"
        );
        let odd = TaskListQuery {
            model_name: Some("a b&c".into()),
            ..TaskListQuery::default()
        };
        assert_eq!(odd.to_query_string(), "model_name=a%20b%26c");
    }

    #[test]
    fn a_listing_entry_reads_either_status_spelling() {
        let recalled: TaskListItem =
            serde_json::from_str(r#"{"task_id":"t","status":"RUNNING","gmt_create":1}"#).unwrap();
        assert_eq!(recalled.effective_status(), TaskStatus::Running);
        assert_eq!(recalled.extra["gmt_create"], 1);
        let bare: TaskListItem = serde_json::from_str(r#"{"task_id":"t"}"#).unwrap();
        assert_eq!(bare.effective_status(), TaskStatus::Unknown);
    }
}
