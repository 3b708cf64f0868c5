//! `GET /admin/export.csv?days=N`: one row per try-on job of the period, for a spreadsheet: its id, times, state, code, model, upstream, product, seconds to its end and what it cost; never a photo, URL, address, shopper key or token.
//!
//! Cells are quoted as RFC 4180 says, and a text cell that a spreadsheet would read as a
//! formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading
//! `'`: product ids arrive from browsers, so they are untrusted text.

use std::fmt::Write;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};

use super::auth;
use super::summary::{MAX_DAYS, date_of, day_start_ms, days_param};
use crate::error::ApiError;
use crate::policy::today;
use crate::state::AppState;
use crate::store::JobStat;

/// The header row.
pub const COLUMNS: &str =
    "job_id,created_utc,finished_utc,status,code,model,upstream,product,seconds,images,cny";

/// The export: the last `days` days (all that is kept, 90, when not given).
pub async fn export_csv(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    if auth::access_of(&state, &headers).is_none() {
        return auth::unauthorized();
    }
    let days = match days_param(&uri, MAX_DAYS) {
        Ok(days) => days,
        Err(refusal) => return refusal.into_response(),
    };
    let last = today(&state.clock);
    let first = last - i64::from(days) + 1;
    let jobs = match state.store.jobs_since(day_start_ms(first), first).await {
        Ok(jobs) => jobs,
        Err(err) => return ApiError::internal(err).into_response(),
    };
    let mut response = to_csv(&jobs).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(disposition) = HeaderValue::from_str(&format!(
        "attachment; filename=\"tryon-jobs-{}-to-{}.csv\"",
        date_of(first),
        date_of(last)
    )) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}

/// The CSV text of `jobs`, with its header row and CRLF line ends.
pub fn to_csv(jobs: &[JobStat]) -> String {
    let mut out = String::with_capacity(64 + jobs.len() * 128);
    out.push_str(COLUMNS);
    out.push_str("\r\n");
    for job in jobs {
        let seconds = job
            .finished_ms
            .map(|end| format!("{:.1}", end.saturating_sub(job.created_ms) as f64 / 1000.0))
            .unwrap_or_default();
        let cells = [
            text_cell(&job.id),
            iso_utc(job.created_ms),
            job.finished_ms.map(iso_utc).unwrap_or_default(),
            text_cell(&job.status),
            text_cell(job.code.as_deref().unwrap_or_default()),
            text_cell(&job.model),
            text_cell(&job.upstream),
            text_cell(job.product.as_deref().unwrap_or_default()),
            seconds,
            job.images.to_string(),
            format!("{:.3}", job.cny),
        ];
        let _ = write!(out, "{}\r\n", cells.join(","));
    }
    out
}

/// One text cell: defused if a spreadsheet would take it for a formula, then quoted if
/// it holds a separator, a quote or a line break.
pub fn text_cell(text: &str) -> String {
    let defused = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix millisecond.
fn iso_utc(ms: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    // `YYYY-MM-DD HH:MM:SS.mmm` → ISO 8601 without the milliseconds.
    let text = dashscope_sim::clock::format_system_time(time);
    format!("{}T{}Z", &text[..10], &text[11..19])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_separators_quoted() {
        assert_eq!(text_cell("tee-01"), "tee-01");
        assert_eq!(text_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(text_cell("+1"), "'+1");
        assert_eq!(text_cell("-1"), "'-1");
        assert_eq!(text_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text_cell("a,b"), "\"a,b\"");
        assert_eq!(text_cell("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(text_cell("\tx"), "'\tx");
    }

    #[test]
    fn one_row_per_job_with_times_and_seconds() {
        let job = JobStat {
            id: "j1".into(),
            created_ms: 1_751_294_273_838,
            finished_ms: Some(1_751_294_288_338),
            status: "SUCCEEDED".into(),
            code: None,
            model: "aitryon-plus".into(),
            upstream: "aitryon".into(),
            product: Some("=cmd".into()),
            images: 1,
            cny: 0.5,
        };
        let running = JobStat {
            id: "j2".into(),
            finished_ms: None,
            status: "RUNNING".into(),
            product: None,
            images: 0,
            cny: 0.0,
            ..job.clone()
        };
        let csv = to_csv(&[job, running]);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], COLUMNS);
        assert_eq!(
            lines[1],
            "j1,2025-06-30T14:37:53Z,2025-06-30T14:38:08Z,SUCCEEDED,,aitryon-plus,aitryon,'=cmd,14.5,1,0.500"
        );
        assert_eq!(
            lines[2],
            "j2,2025-06-30T14:37:53Z,,RUNNING,,aitryon-plus,aitryon,,,0,0.000"
        );
        assert_eq!(lines[3], "");
    }
}
