//! The dashboard page (`GET /admin/`) and its sign-in form, written on the server as HTML with SVG charts: no script, no CDN, no inline style (the CSP forbids all three).
//!
//! Charts hold only shapes; every number and label is HTML text beside them, so that it
//! stays readable when a chart is squeezed onto a 375 px phone. Each chart also has its
//! figures as a table, folded away, for screen readers and for copying.

use std::fmt::Write;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use tryon_api::ErrorKind;
use tryon_api::funnel::FunnelStep;

use super::auth;
use super::summary::{DEFAULT_DAYS, DayFigures, StepFigure, Summary, days_param, summarize};
use super::words::{Lang, Words, lang_param};
use crate::error::ApiError;
use crate::state::AppState;

/// The periods offered above the figures.
const PERIODS: [u32; 4] = [1, 7, 30, 90];
/// Products shown with their own funnel; the rest are in the CSV and JSON.
const PRODUCTS_SHOWN: usize = 12;

/// `GET /admin/`: the figures for the holder of the token, the sign-in form (401) for
/// anyone else.
pub async fn dashboard(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let lang = Lang::pick(lang_param(&uri).as_deref(), &headers);
    if auth::access_of(&state, &headers).is_none() {
        return login_page(lang, StatusCode::UNAUTHORIZED, false);
    }
    let days = match days_param(&uri, DEFAULT_DAYS) {
        Ok(days) => days,
        Err(refusal) => return refusal.into_response(),
    };
    match summarize(&state, days).await {
        Ok(summary) => Html(render(&summary, lang)).into_response(),
        Err(err) => ApiError::from(err).into_response(),
    }
}

/// The sign-in form, answered with `status`; `wrong` says the last token was not right.
pub fn login_page(lang: Lang, status: StatusCode, wrong: bool) -> Response {
    let w = lang.words();
    let mut html = head(lang, w.sign_in_title);
    let _ = write!(
        html,
        r#"<body class="login"><main class="signin"><h1>{title}</h1><p>{hint}</p>"#,
        title = esc(w.sign_in_title),
        hint = esc(w.sign_in_hint),
    );
    if wrong {
        let _ = write!(
            html,
            r#"<p class="error" role="alert">{}</p>"#,
            esc(w.wrong_token)
        );
    }
    let other = other_lang(lang);
    let _ = write!(
        html,
        r#"<form method="post" action="/admin/login"><input type="hidden" name="lang" value="{tag}"><label for="password">{label}</label><input id="password" name="password" type="password" autocomplete="current-password" required autofocus><button type="submit">{sign_in}</button></form><p class="switch"><a href="/admin/?lang={other_tag}" lang="{other_tag}">{other_name}</a></p></main></body></html>"#,
        tag = lang.tag(),
        label = esc(w.token_label),
        sign_in = esc(w.sign_in),
        other_tag = other.tag(),
        other_name = esc(w.other_language),
    );
    (status, Html(html)).into_response()
}

/// The whole dashboard page for `summary`.
pub fn render(summary: &Summary, lang: Lang) -> String {
    let w = lang.words();
    let mut html = head(lang, w.title);
    html.push_str("<body>");
    header(&mut html, summary, lang);
    html.push_str("<main>");
    cards(&mut html, summary, w);
    tryons_chart(&mut html, summary, w);
    spend_chart(&mut html, summary, w);
    failures(&mut html, summary, lang);
    funnel(&mut html, summary, w);
    footer(&mut html, summary, lang);
    html.push_str("</main></body></html>");
    html
}

fn head(lang: Lang, title: &str) -> String {
    format!(
        r#"<!doctype html><html lang="{tag}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>{title}</title><link rel="stylesheet" href="/admin/dashboard.css"></head>"#,
        tag = lang.tag(),
        title = esc(title),
    )
}

fn other_lang(lang: Lang) -> Lang {
    match lang {
        Lang::En => Lang::ZhCn,
        Lang::ZhCn => Lang::En,
    }
}

fn period_name(w: &Words, days: u32) -> String {
    if days == 1 {
        w.today.to_owned()
    } else {
        w.days.replace("{n}", &days.to_string())
    }
}

fn header(html: &mut String, summary: &Summary, lang: Lang) {
    let w = lang.words();
    let _ = write!(
        html,
        r#"<header class="top"><h1>{}</h1><nav class="period" aria-label="{}">"#,
        esc(w.title),
        esc(w.period)
    );
    for days in PERIODS {
        let current = if days == summary.days {
            r#" aria-current="page""#
        } else {
            ""
        };
        let _ = write!(
            html,
            r#"<a href="/admin/?days={days}&amp;lang={tag}"{current}>{name}</a>"#,
            tag = lang.tag(),
            name = esc(&period_name(w, days)),
        );
    }
    let other = other_lang(lang);
    let _ = write!(
        html,
        r#"</nav><div class="tools"><a class="lang" href="/admin/?days={days}&amp;lang={other_tag}" lang="{other_tag}">{other_name}</a><form method="post" action="/admin/logout?lang={tag}"><button type="submit">{sign_out}</button></form></div></header>"#,
        days = summary.days,
        other_tag = other.tag(),
        other_name = esc(w.other_language),
        tag = lang.tag(),
        sign_out = esc(w.sign_out),
    );
    let range = if summary.first_day == summary.last_day {
        summary.last_day.clone()
    } else {
        format!("{} – {}", summary.first_day, summary.last_day)
    };
    let _ = write!(
        html,
        r#"<p class="range">{} · {}</p>"#,
        esc(&range),
        esc(w.beijing_days)
    );
}

fn cards(html: &mut String, summary: &Summary, w: &Words) {
    let today = &summary.today;
    html.push_str(r#"<section class="cards">"#);
    let _ = write!(
        html,
        r#"<article class="card"><h2>{title}</h2><p class="big">{started}</p><p class="sub"><span class="key ok"></span>{succeeded} {succeeded_word} · <span class="key bad"></span>{failed} {failed_word} · {running} {running_word}</p></article>"#,
        title = esc(w.tryons_today),
        started = today.started,
        succeeded = today.succeeded,
        succeeded_word = esc(w.succeeded),
        failed = today.failed,
        failed_word = esc(w.failed),
        running = today.in_progress + today.canceled,
        running_word = esc(w.in_progress),
    );
    let caps = &summary.caps;
    let image_cap = caps.daily_images.map(|cap| cap as f64);
    cap_card(
        html,
        w.images_today,
        &caps.images_today.to_string(),
        caps.images_today as f64,
        image_cap,
        &caps.daily_images.map(|cap| cap.to_string()),
        w,
    );
    cap_card(
        html,
        w.spend_today,
        &money(caps.spend_today_cny),
        caps.spend_today_cny,
        caps.spend_cny,
        &caps.spend_cny.map(money),
        w,
    );
    let time = &summary.time_to_result;
    match (time.median_seconds, time.p95_seconds) {
        (Some(median), Some(p95)) => {
            let _ = write!(
                html,
                r#"<article class="card"><h2>{title}</h2><p class="big">{median}</p><p class="sub">{median_word} · {p95_word} {p95}<br>{results}</p></article>"#,
                title = esc(w.time_to_result),
                median = seconds(median),
                median_word = esc(w.median),
                p95_word = esc(w.p95),
                p95 = seconds(p95),
                results = esc(&w.results.replace("{n}", &time.samples.to_string())),
            );
        }
        _ => {
            let _ = write!(
                html,
                r#"<article class="card"><h2>{}</h2><p class="big">–</p><p class="sub">{}</p></article>"#,
                esc(w.time_to_result),
                esc(w.no_results_yet),
            );
        }
    }
    let _ = write!(
        html,
        r#"<article class="card"><h2>{title}</h2><p class="big">{waiting}</p><p class="sub">{waiting_word} · {running} {running_word}</p></article>"#,
        title = esc(w.queue_now),
        waiting = summary.queue.waiting,
        waiting_word = esc(w.waiting),
        running = summary.queue.running,
        running_word = esc(w.running),
    );
    html.push_str("</section>");
}

/// A card with a figure of today and, when the shop set one, a gauge against its cap.
fn cap_card(
    html: &mut String,
    title: &str,
    shown: &str,
    value: f64,
    cap: Option<f64>,
    cap_text: &Option<String>,
    w: &Words,
) {
    let _ = write!(
        html,
        r#"<article class="card"><h2>{}</h2><p class="big">{}</p>"#,
        esc(title),
        esc(shown)
    );
    match (cap, cap_text) {
        (Some(cap), Some(text)) => {
            let share = if cap > 0.0 { value / cap } else { 1.0 };
            let class = if share >= 1.0 {
                "over"
            } else if share >= 0.8 {
                "warn"
            } else {
                "fill"
            };
            let _ = write!(
                html,
                r#"<svg class="gauge" viewBox="0 0 100 6" preserveAspectRatio="none" aria-hidden="true"><rect class="track" width="100" height="6" rx="3"/><rect class="{class}" width="{width:.1}" height="6" rx="3"/></svg><p class="sub">{}</p>"#,
                esc(&w.of_cap.replace("{cap}", text)),
                width = (share * 100.0).clamp(0.0, 100.0),
            );
        }
        _ => {
            let _ = write!(html, r#"<p class="sub">{}</p>"#, esc(w.no_cap));
        }
    }
    html.push_str("</article>");
}

/// The smallest round number (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten) at or
/// above `value`, at least 1: a chart's top line, close above its highest bar.
fn nice_ceiling(value: f64) -> f64 {
    if value <= 1.0 {
        return 1.0;
    }
    let power = 10f64.powf(value.log10().floor());
    [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .into_iter()
        .map(|step| step * power)
        .find(|ceiling| *ceiling >= value - 1e-9)
        .unwrap_or(10.0 * power)
}

/// The width of one day's slot in a chart's coordinates, and of its bar.
const SLOT: f64 = 10.0;
const BAR: f64 = 7.0;
/// A chart's height in its coordinates.
const CHART_HEIGHT: f64 = 100.0;
/// A chart is at least this many slots wide, so that today alone is one bar of a week's
/// width, not a block across the whole chart.
const MIN_SLOTS: usize = 7;

/// A chart's width in its coordinates.
fn chart_width(summary: &Summary) -> f64 {
    SLOT * summary.per_day.len().max(MIN_SLOTS) as f64
}

/// The left edge of day `index`'s bar: the days are centred when they fill fewer slots
/// than the chart has.
fn bar_x(summary: &Summary, index: usize) -> f64 {
    let empty = summary.per_day.len().max(MIN_SLOTS) - summary.per_day.len();
    (index as f64 + empty as f64 / 2.0) * SLOT + (SLOT - BAR) / 2.0
}

fn chart_open(html: &mut String, summary: &Summary, label: &str, top: &str) {
    let width = chart_width(summary);
    let _ = write!(
        html,
        r#"<figure class="chart"><div class="plot"><span class="ymax">{top}</span><svg viewBox="0 0 {width} {CHART_HEIGHT}" preserveAspectRatio="none" role="img" aria-label="{label}"><line class="grid" x1="0" x2="{width}" y1="0.5" y2="0.5" vector-effect="non-scaling-stroke"/><line class="grid" x1="0" x2="{width}" y1="50" y2="50" vector-effect="non-scaling-stroke"/><line class="axis" x1="0" x2="{width}" y1="{CHART_HEIGHT}" y2="{CHART_HEIGHT}" vector-effect="non-scaling-stroke"/>"#,
        top = esc(top),
        label = esc(label),
    );
}

fn chart_close(html: &mut String, summary: &Summary, legend: &str) {
    html.push_str("</svg></div>");
    // First, middle and last dates under the chart: enough to read it, never crowded.
    let dates: Vec<&str> = summary.per_day.iter().map(|d| &d.date[5..]).collect();
    html.push_str(r#"<div class="xaxis">"#);
    match dates.len() {
        0 => {}
        1 => {
            let _ = write!(html, r#"<span class="only">{}</span>"#, dates[0]);
        }
        n => {
            let _ = write!(
                html,
                "<span>{}</span><span>{}</span><span>{}</span>",
                dates[0],
                dates[n / 2],
                dates[n - 1]
            );
        }
    }
    let _ = write!(
        html,
        "</div><figcaption class=\"legend\">{legend}</figcaption></figure>"
    );
}

fn tryons_chart(html: &mut String, summary: &Summary, w: &Words) {
    let period = &summary.period;
    let _ = write!(
        html,
        r#"<section class="panel"><h2>{title}</h2><p class="sub">{lead} <strong>{started}</strong> · {succeeded} {succeeded_word} · {failed} {failed_word}</p>"#,
        title = esc(w.tryons_per_day),
        started = period.started,
        lead = esc(w.period_tryons),
        succeeded = period.succeeded,
        succeeded_word = esc(w.succeeded),
        failed = period.failed,
        failed_word = esc(w.failed),
    );
    let top = nice_ceiling(summary.per_day.iter().map(|d| d.started).max().unwrap_or(0) as f64);
    chart_open(html, summary, w.tryons_per_day, &format!("{top}"));
    for (i, day) in summary.per_day.iter().enumerate() {
        let x = bar_x(summary, i);
        let _ = write!(
            html,
            "<g><title>{}: {} {}, {} {}, {} {}</title>",
            day.date,
            day.started,
            esc(w.started),
            day.succeeded,
            esc(w.succeeded),
            day.failed,
            esc(w.failed)
        );
        let mut base = CHART_HEIGHT;
        for (count, class) in [
            (day.succeeded, "ok"),
            (day.failed, "bad"),
            (day.canceled + day.in_progress, "other"),
        ] {
            if count == 0 {
                continue;
            }
            let height = count as f64 / top * CHART_HEIGHT;
            base -= height;
            let _ = write!(
                html,
                r#"<rect class="{class}" x="{x:.2}" y="{base:.2}" width="{BAR}" height="{height:.2}"/>"#
            );
        }
        html.push_str("</g>");
    }
    let legend = format!(
        r#"<span class="key ok"></span>{} <span class="key bad"></span>{} <span class="key other"></span>{}"#,
        esc(w.succeeded),
        esc(w.failed),
        esc(w.in_progress)
    );
    chart_close(html, summary, &legend);
    day_table(html, summary, w);
    html.push_str("</section>");
}

fn spend_chart(html: &mut String, summary: &Summary, w: &Words) {
    let _ = write!(
        html,
        r#"<section class="panel"><h2>{title}</h2><p class="sub"><strong>{spend}</strong> {lead} · {images}</p>"#,
        title = esc(w.spend_per_day),
        spend = money(summary.period.spend_cny),
        lead = esc(w.period_spend),
        images = esc(&w
            .images_billed
            .replace("{n}", &summary.period.images.to_string())),
    );
    let cap = summary.caps.spend_cny;
    let highest = summary
        .per_day
        .iter()
        .map(|d| d.spend_cny)
        .fold(0.0, f64::max);
    // A cap line gets a little room above it, so that it does not lie on the chart's edge.
    let top = nice_ceiling(highest.max(cap.map_or(0.0, |cap| cap * 1.1)));
    chart_open(html, summary, w.spend_per_day, &money(top));
    for (i, day) in summary.per_day.iter().enumerate() {
        if day.spend_cny <= 0.0 {
            continue;
        }
        let x = bar_x(summary, i);
        let height = day.spend_cny / top * CHART_HEIGHT;
        let _ = write!(
            html,
            r#"<g><title>{}: {} · {} {}</title><rect class="spend" x="{x:.2}" y="{y:.2}" width="{BAR}" height="{height:.2}"/></g>"#,
            day.date,
            money(day.spend_cny),
            day.images,
            esc(w.images),
            y = CHART_HEIGHT - height,
        );
    }
    let mut legend = format!(r#"<span class="key spend"></span>{}"#, esc(w.spend));
    if let Some(cap) = cap {
        let y = CHART_HEIGHT - cap / top * CHART_HEIGHT;
        let width = chart_width(summary);
        let _ = write!(
            html,
            r#"<line class="cap" x1="0" x2="{width}" y1="{y:.2}" y2="{y:.2}" vector-effect="non-scaling-stroke"/>"#
        );
        let _ = write!(
            legend,
            r#" <span class="key cap"></span>{} {}"#,
            esc(w.daily_cap),
            money(cap)
        );
    }
    chart_close(html, summary, &legend);
    html.push_str("</section>");
}

fn day_table(html: &mut String, summary: &Summary, w: &Words) {
    let _ = write!(
        html,
        r#"<details><summary>{}</summary><div class="scroll"><table><thead><tr><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th></tr></thead><tbody>"#,
        esc(w.show_table),
        esc(w.date),
        esc(w.started),
        esc(w.succeeded),
        esc(w.failed),
        esc(w.images),
        esc(w.spend),
    );
    // Newest first: the owner looks for today and yesterday.
    for day in summary.per_day.iter().rev() {
        let DayFigures {
            date,
            started,
            succeeded,
            failed,
            images,
            spend_cny,
            ..
        } = day;
        let _ = write!(
            html,
            r#"<tr><th scope="row">{date}</th><td>{started}</td><td>{succeeded}</td><td>{failed}</td><td>{images}</td><td>{}</td></tr>"#,
            money(*spend_cny)
        );
    }
    html.push_str("</tbody></table></div></details>");
}

fn failures(html: &mut String, summary: &Summary, lang: Lang) {
    let w = lang.words();
    let _ = write!(
        html,
        r#"<section class="panel"><h2>{}</h2>"#,
        esc(w.failures_by_code)
    );
    if summary.failures_by_code.is_empty() {
        let _ = write!(
            html,
            r#"<p class="sub">{}</p></section>"#,
            esc(w.no_failures)
        );
        return;
    }
    // The code and its meaning share a cell, one above the other, so that both stay
    // readable in a phone's width.
    let _ = write!(
        html,
        r#"<table class="codes"><thead><tr><th scope="col">{} · {}</th><th scope="col" class="num">{}</th></tr></thead><tbody>"#,
        esc(w.code),
        esc(w.meaning),
        esc(w.count)
    );
    for failure in &summary.failures_by_code {
        let meaning = ErrorKind::from_wire(&failure.code, "")
            .map(|kind| kind.explain(lang.locale()).what)
            .unwrap_or_default();
        let code = if failure.code.is_empty() {
            w.no_code
        } else {
            failure.code.as_str()
        };
        let _ = write!(
            html,
            r#"<tr><td><code>{}</code><span class="meaning">{}</span></td><td class="num">{}</td></tr>"#,
            esc(code),
            esc(meaning),
            failure.count
        );
    }
    html.push_str("</tbody></table></section>");
}

fn funnel(html: &mut String, summary: &Summary, w: &Words) {
    let _ = write!(
        html,
        r#"<section class="panel"><h2>{}</h2><p class="note">{}</p>"#,
        esc(w.funnel),
        esc(w.funnel_note)
    );
    if summary.funnel.total.iter().all(|s| s.events == 0) {
        let _ = write!(html, r#"<p class="sub">{}</p></section>"#, esc(w.no_events));
        return;
    }
    let _ = write!(html, r#"<h3>{}</h3>"#, esc(w.all_products));
    funnel_steps(html, &summary.funnel.total, w, "total");
    html.push_str(r#"<div class="products">"#);
    for product in summary.funnel.products.iter().take(PRODUCTS_SHOWN) {
        let name = if product.product.is_empty() {
            w.no_product
        } else {
            product.product.as_str()
        };
        let _ = write!(html, r#"<article class="product"><h3>{}</h3>"#, esc(name));
        funnel_steps(html, &product.steps, w, "product");
        html.push_str("</article>");
    }
    html.push_str("</div>");
    let more = summary.funnel.products.len().saturating_sub(PRODUCTS_SHOWN);
    if more > 0 {
        let _ = write!(
            html,
            r#"<p class="sub">+{more} {}</p>"#,
            esc(w.more_products)
        );
    }
    html.push_str("</section>");
}

/// One funnel as rows of a label, a bar as long as its share of the widest step, and the
/// number of shoppers with their share of the first step that anyone reached.
fn funnel_steps(html: &mut String, steps: &[StepFigure], w: &Words, class: &str) {
    let widest = steps.iter().map(|s| s.shoppers).max().unwrap_or(0).max(1) as f64;
    let first = steps
        .iter()
        .map(|s| s.shoppers)
        .find(|shoppers| *shoppers > 0)
        .unwrap_or(0);
    let _ = write!(html, r#"<ol class="funnel {class}">"#);
    for step in steps {
        let share = if first > 0 {
            format!("{:.0}%", step.shoppers as f64 * 100.0 / first as f64)
        } else {
            String::new()
        };
        let _ = write!(
            html,
            r#"<li data-step="{step_name}"><span class="step">{label}</span><svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true"><rect class="track" width="100" height="10"/><rect class="fill{cart}" width="{width:.1}" height="10"/></svg><span class="num" title="{events} events">{shoppers} <small>{share}</small></span></li>"#,
            step_name = step.step.as_str(),
            label = esc(w.step(step.step)),
            cart = if step.step == FunnelStep::AddToCart {
                " cart"
            } else {
                ""
            },
            width = step.shoppers as f64 / widest * 100.0,
            events = step.events,
            shoppers = step.shoppers,
        );
    }
    html.push_str("</ol>");
}

fn footer(html: &mut String, summary: &Summary, lang: Lang) {
    let w = lang.words();
    let _ = write!(
        html,
        r#"<footer class="foot"><p><a href="/admin/export.csv?days={days}" download>{csv}</a> · <a href="/admin/api/summary?days={days}">{json}</a></p><p class="note">{collected}</p></footer>"#,
        days = summary.days,
        csv = esc(w.export_csv),
        json = esc(w.export_json),
        collected = esc(w.collected),
    );
}

fn money(cny: f64) -> String {
    format!("¥{cny:.2}")
}

fn seconds(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.1} s")
    } else {
        format!("{value:.0} s")
    }
}

/// Escapes text for HTML content and double-quoted attributes.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::summary::{Caps, Funnel, PeriodTotals, ProductFunnel, Queue, TimeToResult};
    use super::*;

    fn day(date: &str, started: u64, succeeded: u64, spend: f64) -> DayFigures {
        DayFigures {
            date: date.into(),
            started,
            succeeded,
            failed: started - succeeded,
            canceled: 0,
            in_progress: 0,
            failed_by_code: BTreeMap::new(),
            images: succeeded,
            spend_cny: spend,
        }
    }

    fn summary() -> Summary {
        let steps = |n: u64| {
            FunnelStep::ALL
                .iter()
                .enumerate()
                .map(|(i, step)| StepFigure {
                    step: *step,
                    shoppers: n.saturating_sub(i as u64),
                    events: n,
                })
                .collect::<Vec<_>>()
        };
        let per_day = vec![day("2026-03-01", 3, 2, 1.0), day("2026-03-02", 5, 5, 2.5)];
        Summary {
            days: 2,
            first_day: "2026-03-01".into(),
            last_day: "2026-03-02".into(),
            generated_at_ms: 0,
            today: per_day[1].clone(),
            per_day,
            period: PeriodTotals {
                started: 8,
                succeeded: 7,
                failed: 1,
                images: 7,
                spend_cny: 3.5,
                ..Default::default()
            },
            failures_by_code: vec![super::super::summary::CodeCount {
                code: "InvalidPerson".into(),
                count: 1,
            }],
            time_to_result: TimeToResult {
                median_seconds: Some(14.0),
                p95_seconds: Some(21.0),
                samples: 7,
            },
            caps: Caps {
                daily_images: Some(10),
                spend_cny: Some(5.0),
                images_today: 5,
                spend_today_cny: 2.5,
            },
            queue: Queue {
                waiting: 0,
                running: 1,
            },
            funnel: Funnel {
                total: steps(6),
                products: vec![ProductFunnel {
                    product: "<tee>".into(),
                    steps: steps(6),
                }],
            },
        }
    }

    #[test]
    fn the_page_shows_the_figures_in_both_languages_without_script_or_inline_style() {
        for lang in [Lang::En, Lang::ZhCn] {
            let html = render(&summary(), lang);
            assert!(html.starts_with("<!doctype html>"));
            assert!(
                !html.contains("<script") && !html.contains("style="),
                "CSP-clean"
            );
            assert!(html.contains(r#"<p class="big">5</p>"#), "today's try-ons");
            assert!(html.contains("¥2.50"), "today's spend");
            assert!(html.contains("¥5.00"), "the spend cap");
            assert!(html.contains("&lt;tee&gt;"), "product ids are escaped");
            assert!(html.contains(r#"data-step="add-to-cart""#));
            assert!(html.contains("InvalidPerson"));
            assert!(html.contains(lang.words().step(FunnelStep::AddToCart)));
        }
        assert!(render(&summary(), Lang::ZhCn).contains(r#"<html lang="zh-CN">"#));
    }

    #[test]
    fn chart_tops_are_round_numbers() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(1.0), 1.0);
        assert_eq!(nice_ceiling(3.0), 3.0);
        assert_eq!(nice_ceiling(7.0), 8.0);
        assert_eq!(nice_ceiling(12.0), 15.0);
        assert_eq!(nice_ceiling(22.0), 25.0);
        assert_eq!(nice_ceiling(50.0), 50.0);
        assert_eq!(nice_ceiling(81.0), 100.0);
    }

    #[test]
    fn text_is_escaped_for_content_and_attributes() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
