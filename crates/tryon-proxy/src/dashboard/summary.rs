//! The dashboard's figures for today and the last N days (`GET /admin/api/summary?days=N`): try-ons by day and outcome, failures by catalogue code, images and spend against the caps, time to result, the queue now and the funnel per product.
//!
//! Days are Beijing days, as the upstream bills them and the caps count them
//! ([`crate::policy::day_of`]); a period of N days is today and the N - 1 days before it.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tryon_api::ErrorKind;
use tryon_api::funnel::FunnelStep;

use super::auth;
use crate::error::ApiError;
use crate::policy::{day_of, today};
use crate::state::AppState;
use crate::store::{JobStat, StepCount, StoreError};

/// The period when `days` is not given: today and the 29 days before.
pub const DEFAULT_DAYS: u32 = 30;
/// The longest period: everything the dashboard keeps.
pub const MAX_DAYS: u32 = 90;
/// Beijing is eight hours ahead of UTC; days turn at its midnight.
const DAY_OFFSET_MS: i64 = 8 * 3600 * 1000;

/// Everything the dashboard shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The number of days in the period, today included.
    pub days: u32,
    /// The period's first day and today, `YYYY-MM-DD` in Beijing time.
    pub first_day: String,
    pub last_day: String,
    /// When these figures were read (Unix milliseconds of the proxy's clock).
    pub generated_at_ms: u64,
    /// Today's figures (also the last entry of `per_day`).
    pub today: DayFigures,
    /// One entry per day of the period, oldest first.
    pub per_day: Vec<DayFigures>,
    pub period: PeriodTotals,
    /// Failed try-ons of the period by catalogue code, most frequent first.
    pub failures_by_code: Vec<CodeCount>,
    pub time_to_result: TimeToResult,
    pub caps: Caps,
    pub queue: Queue,
    pub funnel: Funnel,
}

/// One day's try-ons, billed images and spend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayFigures {
    pub date: String,
    /// Try-ons started (created) that day, whatever became of them.
    pub started: u64,
    pub succeeded: u64,
    /// Ended without a picture (`FAILED`, or `UNKNOWN` upstream).
    pub failed: u64,
    pub canceled: u64,
    pub in_progress: u64,
    /// The failed ones by catalogue code (`""` for a failure without a code).
    pub failed_by_code: BTreeMap<String, u64>,
    /// Try-on images billed that day (what `TRYON_DAILY_IMAGE_CAP` counts).
    pub images: u64,
    /// CNY spent that day at the configured prices, segmentation included (what
    /// `TRYON_SPEND_CAP_CNY` counts).
    pub spend_cny: f64,
}

/// The period's sums.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PeriodTotals {
    pub started: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub canceled: u64,
    pub in_progress: u64,
    pub images: u64,
    pub spend_cny: f64,
}

/// How often one catalogue code ended a try-on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeCount {
    pub code: String,
    pub count: u64,
}

/// Seconds from the create to the job's end, over the period's successful try-ons
/// (nearest-rank percentiles).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeToResult {
    pub median_seconds: Option<f64>,
    pub p95_seconds: Option<f64>,
    pub samples: u64,
}

/// Today's images and spend against the shop's daily caps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Caps {
    pub daily_images: Option<u64>,
    pub spend_cny: Option<f64>,
    pub images_today: u64,
    pub spend_today_cny: f64,
}

/// The admission queue now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queue {
    /// Jobs waiting to be sent upstream.
    pub waiting: u64,
    /// Upstream tasks sent and not yet ended.
    pub running: u64,
}

/// The widget's funnel over the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Funnel {
    /// Every product together (a shopper counts once per step).
    pub total: Vec<StepFigure>,
    /// Per product, the busiest first.
    pub products: Vec<ProductFunnel>,
}

/// One step's count: distinct shoppers, and events (a shopper may open the dialog twice).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepFigure {
    pub step: FunnelStep,
    pub shoppers: u64,
    pub events: u64,
}

/// One product's funnel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductFunnel {
    pub product: String,
    pub steps: Vec<StepFigure>,
}

/// `GET /admin/api/summary?days=N`: the figures as JSON, for the holder of the token.
pub async fn summary_json(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    if auth::access_of(&state, &headers).is_none() {
        return auth::unauthorized();
    }
    let days = match days_param(&uri, DEFAULT_DAYS) {
        Ok(days) => days,
        Err(refusal) => return refusal.into_response(),
    };
    match summarize(&state, days).await {
        Ok(summary) => Json(summary).into_response(),
        Err(err) => ApiError::from(err).into_response(),
    }
}

/// The `days` parameter: 1 to [`MAX_DAYS`], `default` when absent; anything else is a
/// 400 that says what is accepted.
pub fn days_param(uri: &Uri, default: u32) -> Result<u32, ApiError> {
    let raw = uri.query().and_then(|query| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .find(|(name, _)| *name == "days")
            .map(|(_, value)| value.to_owned())
    });
    match raw {
        None => Ok(default),
        Some(raw) => match raw.parse::<u32>() {
            Ok(days) if (1..=MAX_DAYS).contains(&days) => Ok(days),
            _ => Err(ApiError::with_detail(
                ErrorKind::InvalidParameter,
                format!("days must be a whole number from 1 to {MAX_DAYS}"),
            )),
        },
    }
}

/// Reads the figures of today and the `days - 1` days before it.
pub async fn summarize(state: &AppState, days: u32) -> Result<Summary, StoreError> {
    let last = today(&state.clock);
    let first = last - i64::from(days.max(1)) + 1;
    let since_ms = day_start_ms(first);
    let jobs = state.store.jobs_since(since_ms, day_of(since_ms)).await?;
    let mut per_day = Vec::with_capacity(days as usize);
    for day in first..=last {
        let billed = state.store.day_totals(day).await?;
        per_day.push(DayFigures {
            date: date_of(day),
            started: 0,
            succeeded: 0,
            failed: 0,
            canceled: 0,
            in_progress: 0,
            failed_by_code: BTreeMap::new(),
            images: billed.tryon_images,
            spend_cny: billed.cny,
        });
    }
    let mut seconds = Vec::new();
    for job in &jobs {
        let Some(figures) = usize::try_from(day_of(job.created_ms) - first)
            .ok()
            .and_then(|index| per_day.get_mut(index))
        else {
            continue;
        };
        figures.started += 1;
        match Outcome::of(job) {
            Outcome::Succeeded => {
                figures.succeeded += 1;
                if let Some(finished) = job.finished_ms {
                    seconds.push(finished.saturating_sub(job.created_ms) as f64 / 1000.0);
                }
            }
            Outcome::Failed => {
                figures.failed += 1;
                *figures
                    .failed_by_code
                    .entry(job.code.clone().unwrap_or_default())
                    .or_insert(0) += 1;
            }
            Outcome::Canceled => figures.canceled += 1,
            Outcome::InProgress => figures.in_progress += 1,
        }
    }
    let mut period = PeriodTotals::default();
    let mut codes: BTreeMap<String, u64> = BTreeMap::new();
    for day in &per_day {
        period.started += day.started;
        period.succeeded += day.succeeded;
        period.failed += day.failed;
        period.canceled += day.canceled;
        period.in_progress += day.in_progress;
        period.images += day.images;
        period.spend_cny += day.spend_cny;
        for (code, count) in &day.failed_by_code {
            *codes.entry(code.clone()).or_insert(0) += count;
        }
    }
    let mut failures_by_code: Vec<CodeCount> = codes
        .into_iter()
        .map(|(code, count)| CodeCount { code, count })
        .collect();
    failures_by_code.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
    seconds.sort_by(f64::total_cmp);
    let today_figures = per_day.last().cloned().unwrap_or_else(|| DayFigures {
        date: date_of(last),
        started: 0,
        succeeded: 0,
        failed: 0,
        canceled: 0,
        in_progress: 0,
        failed_by_code: BTreeMap::new(),
        images: 0,
        spend_cny: 0.0,
    });
    Ok(Summary {
        days,
        first_day: date_of(first),
        last_day: date_of(last),
        generated_at_ms: state.clock.unix_ms(),
        caps: Caps {
            daily_images: state.policy.daily_image_cap,
            spend_cny: state.policy.spend_cap_cny,
            images_today: today_figures.images,
            spend_today_cny: today_figures.spend_cny,
        },
        today: today_figures,
        per_day,
        period,
        failures_by_code,
        time_to_result: TimeToResult {
            median_seconds: percentile(&seconds, 50.0),
            p95_seconds: percentile(&seconds, 95.0),
            samples: seconds.len() as u64,
        },
        queue: Queue {
            waiting: state.admission.len() as u64,
            running: state.admission.running() as u64,
        },
        funnel: funnel_of(state.store.funnel_since(since_ms).await?),
    })
}

/// How a job ended, as the dashboard groups it.
enum Outcome {
    Succeeded,
    Failed,
    Canceled,
    InProgress,
}

impl Outcome {
    fn of(job: &JobStat) -> Outcome {
        match job.status.as_str() {
            "SUCCEEDED" => Outcome::Succeeded,
            "FAILED" | "UNKNOWN" => Outcome::Failed,
            "CANCELED" => Outcome::Canceled,
            _ => Outcome::InProgress,
        }
    }
}

/// The nearest-rank percentile of sorted values: the smallest value with at least `p`
/// percent of the values at or below it.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Groups the step counts into the total funnel and one funnel per product, every step
/// present (zero when nobody reached it), the products with the most shoppers first.
fn funnel_of(counts: Vec<StepCount>) -> Funnel {
    let empty = || {
        FunnelStep::ALL.map(|step| StepFigure {
            step,
            shoppers: 0,
            events: 0,
        })
    };
    let mut total = empty();
    let mut products: BTreeMap<String, [StepFigure; 6]> = BTreeMap::new();
    for count in counts {
        let Some(index) = FunnelStep::ALL.iter().position(|s| *s == count.step) else {
            continue;
        };
        let steps = match count.product {
            Some(product) => products.entry(product).or_insert_with(empty),
            None => &mut total,
        };
        steps[index].shoppers = count.shoppers;
        steps[index].events = count.events;
    }
    let mut products: Vec<ProductFunnel> = products
        .into_iter()
        .map(|(product, steps)| ProductFunnel {
            product,
            steps: steps.to_vec(),
        })
        .collect();
    let reach = |funnel: &ProductFunnel| funnel.steps.iter().map(|s| s.shoppers).max();
    products.sort_by(|a, b| {
        reach(b)
            .cmp(&reach(a))
            .then_with(|| a.product.cmp(&b.product))
    });
    Funnel {
        total: total.to_vec(),
        products,
    }
}

/// The first millisecond of Beijing day `day`.
pub fn day_start_ms(day: i64) -> u64 {
    u64::try_from(day * 86_400_000 - DAY_OFFSET_MS).unwrap_or(0)
}

/// `YYYY-MM-DD` of Beijing day `day`.
pub fn date_of(day: i64) -> String {
    // Day numbers count from 1970-01-01, so the UTC date of the day's number of whole
    // days since the epoch is its Beijing date.
    let midnight = std::time::UNIX_EPOCH
        + std::time::Duration::from_secs(u64::try_from(day).unwrap_or(0) * 86_400);
    dashscope_sim::clock::format_system_time(midnight)[..10].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7.0], 95.0), Some(7.0));
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), Some(10.0));
        assert_eq!(percentile(&values, 95.0), Some(19.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0], 95.0), Some(3.0));
    }

    #[test]
    fn days_start_at_beijing_midnight_and_have_their_dates() {
        // 2026-01-01 16:00:00 UTC is midnight of 2026-01-02 in Beijing.
        let day = day_of(1_767_283_200_000);
        assert_eq!(date_of(day), "2026-01-02");
        assert_eq!(day_start_ms(day), 1_767_283_200_000);
        assert_eq!(day_of(day_start_ms(day) - 1), day - 1);
    }

    #[test]
    fn the_days_parameter_is_one_to_ninety() {
        let days = |uri: &str| {
            days_param(&uri.parse().unwrap(), DEFAULT_DAYS).map_err(|e| e.status.as_u16())
        };
        assert_eq!(days("/admin/api/summary"), Ok(DEFAULT_DAYS));
        assert_eq!(days("/admin/api/summary?days=1"), Ok(1));
        assert_eq!(days("/admin/api/summary?lang=en&days=90"), Ok(90));
        for bad in ["0", "91", "-1", "seven", ""] {
            assert_eq!(
                days(&format!("/admin/api/summary?days={bad}")),
                Err(400),
                "{bad}"
            );
        }
        assert_eq!(days("/admin/api/summary?days"), Err(400));
    }

    #[test]
    fn the_funnel_has_every_step_and_the_busiest_product_first() {
        let count = |product: Option<&str>, step, shoppers| StepCount {
            product: product.map(str::to_owned),
            step,
            events: shoppers * 2,
            shoppers,
        };
        let funnel = funnel_of(vec![
            count(Some("a"), FunnelStep::Open, 1),
            count(Some("b"), FunnelStep::Open, 3),
            count(Some("b"), FunnelStep::AddToCart, 1),
            count(None, FunnelStep::Open, 4),
        ]);
        assert_eq!(funnel.total.len(), 6);
        assert_eq!(funnel.total[1].shoppers, 4);
        assert_eq!(funnel.products[0].product, "b");
        assert_eq!(funnel.products[0].steps[5].shoppers, 1);
        assert_eq!(funnel.products[0].steps[5].events, 2);
        assert_eq!(funnel.products[1].steps[0].shoppers, 0);
    }
}
