//! `GET /metrics`: Prometheus text with this replica's jobs by state, queue, running tasks, role, upstream latency and answers, and the shop-wide unfinished jobs, billed images and spend (from the database).

use std::fmt::Write;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::policy;
use crate::state::AppState;
use crate::upstream::LATENCY_BUCKETS;

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut counts: Vec<(String, u64)> = state.jobs.count_by_status().into_iter().collect();
    // A stable order keeps scrapes and diffs readable.
    counts.sort();
    let mut text = String::new();
    text.push_str(
        "# HELP tryon_jobs Jobs known to this proxy, by state.\n# TYPE tryon_jobs gauge\n",
    );
    for (status, count) in counts {
        let _ = writeln!(text, "tryon_jobs{{status=\"{status}\"}} {count}");
    }
    let _ = writeln!(
        text,
        "# HELP tryon_queue_length Jobs waiting to be submitted upstream.\n# TYPE tryon_queue_length gauge\ntryon_queue_length {}",
        state.admission.len()
    );
    let _ = writeln!(
        text,
        "# HELP tryon_running_tasks Upstream tasks submitted and not yet ended.\n# TYPE tryon_running_tasks gauge\ntryon_running_tasks {}",
        state.admission.running()
    );
    let _ = writeln!(
        text,
        "# HELP tryon_long_polls_waiting Task queries waiting for a change now.\n# TYPE tryon_long_polls_waiting gauge\ntryon_long_polls_waiting {}",
        state.long_polls.load(std::sync::atomic::Ordering::Relaxed)
    );
    let _ = writeln!(
        text,
        "# HELP tryon_info The model, upstream and adapter in use.\n# TYPE tryon_info gauge\ntryon_info{{model=\"{}\",upstream=\"{}\",adapter=\"{}\"}} 1",
        state.model,
        state.upstream_kind,
        state.adapter.kind().as_str()
    );
    let _ = writeln!(
        text,
        "# HELP tryon_resubmissions_total Jobs submitted once more, free, after their task failed transiently.\n# TYPE tryon_resubmissions_total counter\ntryon_resubmissions_total {}",
        state
            .resubmissions
            .load(std::sync::atomic::Ordering::Relaxed)
    );
    let _ = writeln!(
        text,
        "# HELP tryon_replica_dispatching 1 on the replica that sends jobs upstream (all of them on its own, or the dispatcher lease's holder), 0 on the others.\n# TYPE tryon_replica_dispatching gauge\ntryon_replica_dispatching {}",
        u8::from(state.is_dispatching())
    );
    // The shop-wide figures, the same on every replica: they come from the database.
    if let Ok(unfinished) = state.store.count_unfinished().await {
        let _ = writeln!(
            text,
            "# HELP tryon_shop_jobs_unfinished Jobs of the whole shop (every replica) not yet ended.\n# TYPE tryon_shop_jobs_unfinished gauge\ntryon_shop_jobs_unfinished {unfinished}"
        );
    }
    write_upstream(&state, &mut text);
    write_spend(&state, &mut text).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

fn write_upstream(state: &AppState, text: &mut String) {
    let stats = state.upstream.stats();
    text.push_str(
        "# HELP tryon_upstream_request_duration_seconds Time of upstream calls, by call.\n\
         # TYPE tryon_upstream_request_duration_seconds histogram\n",
    );
    for (call, histogram) in stats.latency() {
        for (bound, count) in LATENCY_BUCKETS.iter().zip(&histogram.buckets) {
            let _ = writeln!(
                text,
                "tryon_upstream_request_duration_seconds_bucket{{call=\"{call}\",le=\"{bound}\"}} {count}"
            );
        }
        let _ = writeln!(
            text,
            "tryon_upstream_request_duration_seconds_bucket{{call=\"{call}\",le=\"+Inf\"}} {count}\n\
             tryon_upstream_request_duration_seconds_sum{{call=\"{call}\"}} {sum}\n\
             tryon_upstream_request_duration_seconds_count{{call=\"{call}\"}} {count}",
            count = histogram.count,
            sum = histogram.sum_seconds,
        );
    }
    text.push_str(
        "# HELP tryon_upstream_responses_total Upstream answers, by call and HTTP status.\n\
         # TYPE tryon_upstream_responses_total counter\n",
    );
    for ((call, status), count) in stats.answers() {
        let _ = writeln!(
            text,
            "tryon_upstream_responses_total{{call=\"{call}\",status=\"{status}\"}} {count}"
        );
    }
}

async fn write_spend(state: &AppState, text: &mut String) {
    text.push_str(
        "# HELP tryon_images_billed_total Images billed by the upstream, by model.\n\
         # TYPE tryon_images_billed_total counter\n",
    );
    let by_model = state.store.totals_by_model().await.unwrap_or_default();
    for (model, images, _) in &by_model {
        let _ = writeln!(
            text,
            "tryon_images_billed_total{{model=\"{model}\"}} {images}"
        );
    }
    text.push_str(
        "# HELP tryon_spend_cny_total Spend in CNY at the configured prices, by model.\n\
         # TYPE tryon_spend_cny_total counter\n",
    );
    for (model, _, cny) in &by_model {
        let _ = writeln!(text, "tryon_spend_cny_total{{model=\"{model}\"}} {cny:.3}");
    }
    let today = state
        .store
        .day_totals(policy::today(&state.clock))
        .await
        .unwrap_or_default();
    let _ = writeln!(
        text,
        "# HELP tryon_images_billed_today Try-on images billed today (Beijing day), against TRYON_DAILY_IMAGE_CAP.\n\
         # TYPE tryon_images_billed_today gauge\ntryon_images_billed_today {}\n\
         # HELP tryon_spend_cny_today Spend in CNY today (Beijing day), against TRYON_SPEND_CAP_CNY.\n\
         # TYPE tryon_spend_cny_today gauge\ntryon_spend_cny_today {:.3}",
        today.tryon_images, today.cny
    );
}
