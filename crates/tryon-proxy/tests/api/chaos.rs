//! The chaos run: 200 shoppers try on through the proxy binary while the upstream fails calls and tasks and the proxy is SIGKILLed mid-run; clients retry under their Idempotency-Keys, and the upstream bills exactly the pictures shoppers received.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use dashscope_sim::{Faults, SimHandle};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tryon_api::poll::delay_before_poll_ms;
use tryon_api::proxy::{STATUS_PATH, ShopStatus, UPLOADS_PATH, UploadResponse};
use tryon_api::wire::{CREATE_TASK_PATH, CreateTaskResponse, TaskQueryResponse, task_path};
use tryon_api::{IDEMPOTENCY_KEY_HEADER, TaskStatus};
use tryon_clock::ManualClock;

use crate::binary::{KEY, LogLines, start_binary_configured};
use crate::helpers::{SHOP_ORIGIN, noise_jpeg, noise_png, shop_page_client, spawn_sim};

/// Try-ons in the run, as in the report that asked for it.
const TRYONS: usize = 200;

/// Shoppers uploading and creating at the same moment, so that the kill cuts some of
/// their requests off in the middle.
const SHOPPERS_AT_ONCE: usize = 16;

/// The bound of the whole run: only a hang reaches it.
const RUN_LIMIT: Duration = Duration::from_secs(600);

/// The upstream's misbehaviour: 15% of calls answer a 5xx, 15% a 429, and 5% of the
/// tasks it accepts fail.
fn faulty() -> Faults {
    Faults {
        error_share: 0.15,
        throttle_share: 0.15,
        task_failure_share: 0.05,
        ..Faults::default()
    }
}

/// What a shopper's requests went through, and how the try-on ended for them.
#[derive(Debug)]
struct Outcome {
    /// `None` when the proxy refused the create (the upstream refused it every time).
    task_id: Option<String>,
    status: TaskStatus,
    /// The result image was served to the shopper.
    received: bool,
}

/// How far the shoppers' creates are, for the test to time its kill.
#[derive(Debug, Default, Clone, Copy)]
struct Progress {
    /// Creates answered.
    created: usize,
    /// Creates sent (or about to be) and not yet answered.
    creating: usize,
}

/// Counts of the requests that a dead proxy or a 5xx cut off and the client repeated.
#[derive(Debug, Default)]
struct Repeats {
    creates: AtomicU32,
    others: AtomicU32,
}

/// A careful client: one shopper with its own token, retrying what the network or a 5xx
/// lost on the contract's back-off, with the same `Idempotency-Key` for every attempt of
/// its one create.
#[derive(Clone)]
struct Shopper {
    http: reqwest::Client,
    base: Arc<str>,
    repeats: Arc<Repeats>,
}

impl Shopper {
    /// A new shopper: the proxy issues its token on the first status call.
    async fn arrive(base: Arc<str>, repeats: Arc<Repeats>) -> Shopper {
        let anonymous = Shopper {
            http: shop_page_client(),
            base,
            repeats,
        };
        let status: ShopStatus = anonymous
            .answered(false, |http, base| http.get(format!("{base}{STATUS_PATH}")))
            .await
            .json()
            .await
            .unwrap();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("origin", SHOP_ORIGIN.parse().unwrap());
        let token = status
            .shopper_token
            .expect("the status call issues a token");
        headers.insert("x-tryon-shopper", token.parse().unwrap());
        Shopper {
            http: reqwest::Client::builder()
                .default_headers(headers)
                .build()
                .unwrap(),
            ..anonymous
        }
    }

    /// Sends the request that `build` makes until an answer below 500 arrives. A request
    /// the network lost or the proxy answered with a 5xx is sent again after the
    /// contract's back-off, as the widget does; only a hang reaches the bound.
    async fn answered(
        &self,
        is_create: bool,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> reqwest::Response {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            match build(&self.http, &self.base).send().await {
                Ok(response) if !response.status().is_server_error() => return response,
                _ => {}
            }
            let counter = if is_create {
                &self.repeats.creates
            } else {
                &self.repeats.others
            };
            counter.fetch_add(1, Ordering::Relaxed);
            assert!(started.elapsed() < RUN_LIMIT, "the proxy never came back");
            // The client's own back-off, not a wait for an event: it is what a shopper's
            // browser does while the shop's server is away.
            tokio::time::sleep(Duration::from_millis(u64::from(delay_before_poll_ms(
                attempt,
            ))))
            .await;
            attempt += 1;
        }
    }

    async fn upload(&self, bytes: Vec<u8>, kind: &'static str) -> String {
        let response = self
            .answered(false, |http, base| {
                http.post(format!("{base}{UPLOADS_PATH}"))
                    .header("content-type", kind)
                    .body(bytes.clone())
            })
            .await;
        assert_eq!(response.status(), 201);
        response.json::<UploadResponse>().await.unwrap().url
    }

    /// The one create of a try-on attempt: one key, the same body on every repeat.
    /// `progress` counts it as on its way until its answer arrives, and as answered then.
    /// Answers the task id, or `None` when the create was refused for good.
    async fn create(&self, body: &Value, progress: &watch::Sender<Progress>) -> Option<String> {
        let key = format!("{:032x}", rand::random::<u128>());
        progress.send_modify(|p| p.creating += 1);
        let response = self
            .answered(true, |http, base| {
                http.post(format!("{base}{CREATE_TASK_PATH}"))
                    .header(IDEMPOTENCY_KEY_HEADER, &key)
                    .json(body)
            })
            .await;
        progress.send_modify(|p| {
            p.creating -= 1;
            p.created += 1;
        });
        if response.status() != 200 {
            // The proxy waits for the submission before it answers, so an upstream that
            // refused it five times in a row refuses the create (a 429 the widget shows).
            let refusal: Value = response.json().await.unwrap();
            assert!(refusal["code"].is_string(), "{refusal}");
            return None;
        }
        Some(
            response
                .json::<CreateTaskResponse>()
                .await
                .unwrap()
                .output
                .task_id,
        )
    }

    /// Long-polls the try-on until it ends, then fetches its picture when it has one.
    async fn watch(&self, task_id: String) -> Outcome {
        let started = Instant::now();
        loop {
            let answer: TaskQueryResponse = self
                .answered(false, |http, base| {
                    http.get(format!("{base}{}?wait_ms=2000", task_path(&task_id)))
                })
                .await
                .json()
                .await
                .unwrap();
            let status = answer.output.task_status;
            if !status.is_terminal() {
                // Each long poll returns on a change: only a hang reaches the bound.
                assert!(started.elapsed() < RUN_LIMIT, "{task_id} never ended");
                continue;
            }
            let received = match answer.output.image_url {
                Some(url) if status == TaskStatus::Succeeded => {
                    let image = self.answered(false, |http, _| http.get(&url)).await;
                    image.status() == 200 && !image.bytes().await.unwrap().is_empty()
                }
                _ => false,
            };
            return Outcome {
                task_id: Some(task_id),
                status,
                received,
            };
        }
    }
}

/// A shopper ready to try on: arrived, with the photo uploaded and the create's body.
struct Ready {
    shopper: Shopper,
    body: Value,
}

async fn get_ready(base: Arc<str>, repeats: Arc<Repeats>, garment: Arc<str>, seed: u64) -> Ready {
    let shopper = Shopper::arrive(base, repeats).await;
    let person = shopper
        .upload(noise_jpeg(300, 450, seed), "image/jpeg")
        .await;
    let body = json!({
        "model": "aitryon-plus",
        "input": {"person_image_url": person, "top_garment_url": &*garment}
    });
    Ready { shopper, body }
}

/// The rest of a shopper's try-on: create once, watch it end. `progress` follows the
/// create, for the test to time its kill; `gate`, when given, is held until the create
/// is answered.
async fn try_on(
    ready: Ready,
    progress: watch::Sender<Progress>,
    gate: Option<Arc<Semaphore>>,
) -> Outcome {
    let turn = match gate {
        Some(gate) => Some(gate.acquire_owned().await.unwrap()),
        None => None,
    };
    let task_id = ready.shopper.create(&ready.body, &progress).await;
    drop(turn);
    match task_id {
        Some(task_id) => ready.shopper.watch(task_id).await,
        None => Outcome {
            task_id: None,
            status: TaskStatus::Failed,
            received: false,
        },
    }
}

/// Waits, bounded, until the emulator's state satisfies `ready`.
async fn until_sim(sim: &SimHandle, what: &str, ready: impl Fn(&SimHandle) -> bool) {
    let mut changes = sim.state().changes();
    let reached = async {
        while !ready(sim) {
            changes.changed().await.unwrap();
        }
    };
    tokio::time::timeout(RUN_LIMIT, reached)
        .await
        .unwrap_or_else(|_| panic!("the emulator never reached: {what}"));
}

/// Waits, bounded, for a future the test needs.
async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(RUN_LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("hung: {what}"))
}

/// Moves the emulator's clock to each phase's end as soon as a task waits for it, so
/// that its tasks run as fast as the proxy polls them, until aborted.
fn drive(time: &ManualClock) -> tokio::task::JoinHandle<()> {
    let time = time.clone();
    tokio::spawn(async move {
        loop {
            time.advance_to_next_deadline().await;
        }
    })
}

#[tokio::test]
async fn two_hundred_try_ons_through_faults_and_a_crash_bill_exactly_the_pictures_received() {
    // The emulator runs on a manual clock, which the test moves while the run should go
    // on and holds still to stop the upstream's tasks where they are. Its own rate
    // windows are off, as they would be measured on that clock; the injected 429s stand
    // for throttling, and the proxy's limiter has its own tests.
    let time = ManualClock::new();
    let sim = spawn_sim(KEY, |c| {
        c.clock = time.clock();
        c.max_creates_per_second = 0;
        c.max_queries_per_second = 0;
    })
    .await;
    let data = tempfile::tempdir().unwrap();
    // The proxy as a shop runs it: a create waits up to 10 s for its own submission
    // before it answers, so that an upstream's refusal reaches the shopper at once.
    let settings = [("TRYON_CREATE_WAIT_MS", "10000")];
    let (mut first, base, first_log) =
        start_binary_configured(&sim, "127.0.0.1:0", data.path(), Some("aitryon"), &settings);
    let base: Arc<str> = base.into();
    let repeats = Arc::new(Repeats::default());
    let (progress, mut progress_seen) = watch::channel(Progress::default());

    // Every shopper arrives and uploads a photo first, sixteen at a time.
    let shop = Shopper::arrive(base.clone(), repeats.clone()).await;
    let garment: Arc<str> = shop
        .upload(noise_png(300, 360, 4), "image/png")
        .await
        .into();
    let gate = Arc::new(Semaphore::new(SHOPPERS_AT_ONCE));
    let mut arriving = JoinSet::new();
    for seed in 0..TRYONS as u64 {
        let (base, repeats, garment, gate) =
            (base.clone(), repeats.clone(), garment.clone(), gate.clone());
        arriving.spawn(async move {
            let _turn = gate.acquire_owned().await.unwrap();
            get_ready(base, repeats, garment, seed).await
        });
    }
    let mut ready = Vec::new();
    while let Some(shopper) = bounded("a shopper's upload", arriving.join_next()).await {
        ready.push(shopper.unwrap());
    }

    // The upstream misbehaves from the first create on; shoppers create sixteen at a time.
    sim.state().set_faults(faulty());
    let driver = drive(&time);
    let mut shoppers = JoinSet::new();
    for shopper in ready {
        shoppers.spawn(try_on(shopper, progress.clone(), Some(gate.clone())));
    }
    bounded(
        "half the creates answered",
        progress_seen.wait_for(|p| p.created >= TRYONS / 2),
    )
    .await
    .unwrap();

    // Halfway, the upstream's tasks stop where they are. The proxy fills the account's five
    // running tasks and has nothing more on its way upstream; the creates that arrive now
    // are saved and held, waiting for a submission that cannot come. Once every turn is
    // such a create, the proxy is killed: sixteen creates were saved and never answered.
    driver.abort();
    // A task whose phase end the driver reached may not have moved on yet, and could still
    // end and free a turn: the upstream is still only once each of the five open tasks
    // waits for a moment ahead.
    loop {
        until_sim(&sim, "five open tasks", |sim| sim.state().open_tasks() == 5).await;
        bounded("the five tasks waiting", time.until_waiting_ahead(5)).await;
        if sim.state().open_tasks() == 5 {
            break;
        }
    }
    bounded(
        "every turn taken by a held create",
        progress_seen.wait_for(|p| p.creating == SHOPPERS_AT_ONCE),
    )
    .await
    .unwrap();
    // And the proxy has stored what the upstream answered for those five: a kill before
    // that would cut a submission off between the upstream's answer and the proxy's record.
    crate::db_backend::until_sent(data.path(), 5).await;
    assert_eq!(
        sim.state().open_tasks(),
        5,
        "nothing was submitted meanwhile"
    );
    first.kill().expect("SIGKILL");
    first.wait().unwrap();

    let port = base.rsplit(':').next().unwrap();
    let (mut second, base_again, second_log) = start_binary_configured(
        &sim,
        &format!("127.0.0.1:{port}"),
        data.path(),
        Some("aitryon"),
        &settings,
    );
    assert_eq!(&*base_again, &*base);
    let driver = drive(&time);

    let mut outcomes = Vec::new();
    while let Some(outcome) = bounded("a shopper's try-on", shoppers.join_next()).await {
        outcomes.push(outcome.expect("a shopper's task panicked"));
    }
    driver.abort();
    second.kill().unwrap();
    second.wait().unwrap();

    // Every shopper's try-on ended, each with its own job, and no job was made that no
    // shopper watches.
    assert_eq!(outcomes.len(), TRYONS);
    let mut ids: Vec<&str> = outcomes
        .iter()
        .filter_map(|o| o.task_id.as_deref())
        .collect();
    let with_job = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        with_job,
        "two shoppers were answered the same job"
    );
    let jobs = crate::db_backend::open_state(data.path())
        .await
        .load_jobs()
        .await
        .unwrap();
    assert_eq!(
        jobs.len(),
        with_job,
        "a repeated create made a job nobody watches"
    );
    for job in &jobs {
        assert!(job.record.status.is_terminal(), "{job:?}");
        assert!(ids.binary_search(&job.id.as_str()).is_ok(), "{job:?}");
    }

    // The bill: exactly the pictures shoppers received, and every success was received.
    let received = outcomes.iter().filter(|o| o.received).count() as u64;
    let succeeded = outcomes
        .iter()
        .filter(|o| o.status == TaskStatus::Succeeded)
        .count() as u64;
    let billed = sim.state().billed_images("aitryon-plus");
    assert_eq!(received, succeeded, "a succeeded try-on was not served");
    let failures: Vec<String> = jobs
        .iter()
        .filter(|job| job.record.status != TaskStatus::Succeeded)
        .map(|job| format!("{:?}: {:?}", job.record.code, job.record.message))
        .collect();
    assert_eq!(
        billed, received,
        "billed {billed}, received {received}; the failed jobs: {failures:#?}"
    );
    // With 5% of tasks failing, most still succeed; far fewer would mean the run
    // tested nothing.
    assert!(
        received >= (TRYONS as u64) * 3 / 4,
        "only {received} received"
    );
    // The kill cut off the held creates, and the long polls in flight.
    let (cut_creates, cut_others) = (
        repeats.creates.load(Ordering::Relaxed),
        repeats.others.load(Ordering::Relaxed),
    );
    assert!(cut_creates >= 1, "the kill cut off no create");
    assert!(cut_others >= 1, "the kill cut off no long poll");

    let logged = logs(&[first_log, second_log]);
    for line in &logged {
        assert!(!line.contains(KEY), "the key is in a log line: {line}");
    }
    eprintln!(
        "chaos: {TRYONS} try-ons, {with_job} created, {succeeded} succeeded, billed {billed}; \
         {cut_creates} creates and {cut_others} other requests repeated"
    );
}

fn logs(logs: &[LogLines]) -> Vec<String> {
    logs.iter()
        .flat_map(|lines| lines.lock().unwrap().clone())
        .collect()
}
