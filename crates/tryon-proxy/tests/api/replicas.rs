//! Three proxy binaries of one shop on one PostgreSQL and one S3 store (`scripts/backends-test.sh`): shoppers' uploads, creates and polls go to different replicas, the dispatcher is SIGKILLed mid-run, and the upstream still sees at most its five running tasks, draws no 429, bills exactly the jobs that succeeded; every job ends, every survivor serves every result, and nothing lands on a replica's disk.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tryon_api::proxy::{STATUS_PATH, ShopStatus, UPLOADS_PATH, UploadResponse};
use tryon_api::wire::{CREATE_TASK_PATH, CreateTaskResponse, TaskQueryResponse, task_path};
use tryon_api::{IDEMPOTENCY_KEY_HEADER, TaskStatus};

use crate::binary::{KEY, start_binary_configured};
use crate::helpers::{HANG_LIMIT, SHOP_ORIGIN, noise_jpeg, noise_png, shop_page_client, spawn_sim};

/// Shoppers in the burst: several times the five running tasks, so that a queue waits.
const SHOPPERS: usize = 24;
/// The replicas' shared secret for shopper tokens, as a shop sets it for all of them.
const SHOPPER_SECRET: &str = "replicas-test-shopper-secret-0123456789abcdef";

/// A round-robin TCP balancer in front of the replicas, as a shop's load balancer: the
/// one public address in the files' URLs, so that the upstream fetches photos through
/// whichever replica is alive. A replica that refuses the connection is skipped.
struct Balancer {
    addr: SocketAddr,
    targets: Arc<Mutex<Vec<SocketAddr>>>,
    accepting: tokio::task::JoinHandle<()>,
}

impl Balancer {
    async fn start() -> Balancer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let targets: Arc<Mutex<Vec<SocketAddr>>> = Arc::default();
        let next = Arc::new(AtomicUsize::new(0));
        let shared = targets.clone();
        let accepting = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let (targets, next) = (shared.clone(), next.clone());
                tokio::spawn(async move {
                    let candidates = targets.lock().unwrap().clone();
                    let start = next.fetch_add(1, Ordering::Relaxed);
                    for offset in 0..candidates.len() {
                        let target = candidates[(start + offset) % candidates.len()];
                        if let Ok(mut outbound) = TcpStream::connect(target).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            return;
                        }
                    }
                });
            }
        });
        Balancer {
            addr,
            targets,
            accepting,
        }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// The replicas as a shopper's browser reaches them through the shop's balancer: each
/// request goes to the replica the test names, or on to the next one while it refuses
/// the connection (a dead replica), as a balancer's health check would.
#[derive(Clone)]
struct Shop {
    bases: Arc<Vec<String>>,
}

impl Shop {
    async fn send(
        &self,
        first: usize,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> reqwest::Response {
        let started = Instant::now();
        let mut attempt = first;
        loop {
            let base = &self.bases[attempt % self.bases.len()];
            match build(base).send().await {
                Ok(response) if !response.status().is_server_error() => return response,
                // A refused or cut connection (or a 5xx): the next replica.
                _ => attempt += 1,
            }
            assert!(started.elapsed() < HANG_LIMIT, "no replica answered");
        }
    }
}

/// One shopper's try-on across the replicas: token from one, upload to the next, create
/// on the third, polls going round; answers its last state and the result's file id.
async fn try_on(
    shop: Shop,
    index: usize,
    garment: String,
    created: Arc<tokio::sync::Semaphore>,
) -> (TaskStatus, Option<String>) {
    let anonymous = shop_page_client();
    let status: ShopStatus = shop
        .send(index, |base| anonymous.get(format!("{base}{STATUS_PATH}")))
        .await
        .json()
        .await
        .unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", SHOP_ORIGIN.parse().unwrap());
    headers.insert(
        "x-tryon-shopper",
        status.shopper_token.unwrap().parse().unwrap(),
    );
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    let photo = noise_jpeg(300, 450, 900 + index as u64);
    let uploaded: UploadResponse = shop
        .send(index + 1, |base| {
            http.post(format!("{base}{UPLOADS_PATH}"))
                .header("content-type", "image/jpeg")
                .body(photo.clone())
        })
        .await
        .json()
        .await
        .unwrap();
    let body = json!({
        "model": "aitryon-plus",
        "input": {"person_image_url": uploaded.url, "top_garment_url": garment}
    });
    let key = format!("{:032x}", rand::random::<u128>());
    let response = shop
        .send(index + 2, |base| {
            http.post(format!("{base}{CREATE_TASK_PATH}"))
                .header(IDEMPOTENCY_KEY_HEADER, &key)
                .json(&body)
        })
        .await;
    assert_eq!(response.status(), 200, "shopper {index}'s create");
    let task_id = response
        .json::<CreateTaskResponse>()
        .await
        .unwrap()
        .output
        .task_id;
    created.add_permits(1);
    let started = Instant::now();
    for poll in index.. {
        let answer: TaskQueryResponse = shop
            .send(poll, |base| {
                http.get(format!("{base}{}?wait_ms=2000", task_path(&task_id)))
            })
            .await
            .json()
            .await
            .unwrap();
        let status = answer.output.task_status;
        if status.is_terminal() {
            let file = answer
                .output
                .image_url
                .and_then(|url| url.rsplit('/').next().map(str::to_owned));
            return (status, file);
        }
        // Each long poll returns on a change: only a hang reaches the bound.
        assert!(
            started.elapsed() < HANG_LIMIT,
            "shopper {index}'s job never ended"
        );
    }
    unreachable!()
}

/// A replica's process, killed when the test ends however it ends, so that a failed run
/// leaves no proxy behind.
struct Replica(std::process::Child);

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What a replica's data folder holds besides the test's own markers.
fn local_leftovers(data_dir: &Path) -> Vec<String> {
    std::fs::read_dir(data_dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with("test-"))
        .collect()
}

#[tokio::test]
#[ignore = "needs PostgreSQL and the S3 test server: scripts/backends-test.sh"]
async fn three_replicas_share_the_limits_and_survive_the_dispatchers_sigkill() {
    let sim = spawn_sim(KEY, |_| {}).await;
    // Every task the proxy sends holds before it ends, until the test lets them go: the
    // moment of the kill is then one with nothing on its way upstream.
    sim.state().hold_tasks(true);

    // One database and one bucket prefix for the three, through the markers of the
    // first replica's data folder.
    let folders: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    crate::db_backend::database_url_of(folders[0].path()).expect("a PostgreSQL test server");
    crate::store_backend::prefix_of(folders[0].path());
    crate::store_backend::s3_endpoint().expect("the S3 test server");
    for folder in &folders[1..] {
        for marker in ["test-pg-database", "test-s3-prefix"] {
            std::fs::copy(folders[0].path().join(marker), folder.path().join(marker)).unwrap();
        }
    }
    let balancer = Balancer::start().await;
    let public = format!("http://{}", balancer.addr);
    let settings = [
        ("TRYON_SHOPPER_SECRET", SHOPPER_SECRET),
        ("TRYON_PUBLIC_BASE_URL", public.as_str()),
    ];
    let mut children = Vec::new();
    let mut bases = Vec::new();
    let mut logs = Vec::new();
    for folder in &folders {
        let (child, base, log) = start_binary_configured(
            &sim,
            "127.0.0.1:0",
            folder.path(),
            Some("aitryon"),
            &settings,
        );
        children.push(Replica(child));
        bases.push(base);
        logs.push(log);
    }
    // What the replicas said of their roles and troubles, for a run that goes wrong.
    let roles = || {
        logs.iter()
            .enumerate()
            .flat_map(|(index, log)| {
                log.lock()
                    .unwrap()
                    .iter()
                    .filter(|line| {
                        line.contains("WARN")
                            || line.contains("ERROR")
                            || line.contains("dispatches")
                    })
                    .map(|line| format!("replica {index}: {line}"))
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    *balancer.targets.lock().unwrap() = bases
        .iter()
        .map(|base| base.trim_start_matches("http://").parse().unwrap())
        .collect();
    // The first replica took the lease before it served; the others follow.
    let http = shop_page_client();
    for (index, base) in bases.iter().enumerate() {
        let metrics = http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let expected = format!("tryon_replica_dispatching {}", u8::from(index == 0));
        assert!(metrics.contains(&expected), "replica {index}: {metrics}");
    }

    let shop = Shop {
        bases: Arc::new(bases.clone()),
    };
    let garment: UploadResponse = shop
        .send(1, |base| {
            http.post(format!("{base}{UPLOADS_PATH}"))
                .header("content-type", "image/png")
                .body(noise_png(300, 360, 901))
        })
        .await
        .json()
        .await
        .unwrap();
    let created = Arc::new(tokio::sync::Semaphore::new(0));
    let mut shoppers = JoinSet::new();
    for index in 0..SHOPPERS {
        shoppers.spawn(try_on(
            shop.clone(),
            index,
            garment.url.clone(),
            created.clone(),
        ));
    }
    let _all_created = tokio::time::timeout(HANG_LIMIT, created.acquire_many(SHOPPERS as u32))
        .await
        .expect("every create is answered")
        .unwrap();

    // The dispatcher fills the five running slots and holds the rest in the queue. Once
    // the store holds the upstream ids of five jobs, nothing is on its way upstream.
    crate::db_backend::until_sent(folders[0].path(), 5).await;
    assert_eq!(
        sim.state().open_tasks(),
        5,
        "nothing more is on its way upstream"
    );
    let stored = crate::db_backend::open_state(folders[0].path())
        .await
        .load_jobs()
        .await
        .unwrap()
        .len();
    assert_eq!(
        stored, SHOPPERS,
        "one job per shopper, whichever replica took it"
    );

    let mut dispatcher = children.remove(0);
    dispatcher.0.kill().expect("SIGKILL");
    dispatcher.0.wait().unwrap();
    let killed_at = Instant::now();
    let survivors: Vec<String> = bases[1..].to_vec();
    sim.state().hold_tasks(false);

    let mut outcomes = Vec::new();
    while let Some(outcome) = tokio::time::timeout(HANG_LIMIT, shoppers.join_next())
        .await
        .expect("a shopper's try-on ends")
    {
        match outcome {
            Ok(outcome) => outcomes.push(outcome),
            Err(err) => {
                let jobs = crate::db_backend::open_state(folders[1].path())
                    .await
                    .load_jobs()
                    .await
                    .unwrap();
                let unfinished: Vec<String> = jobs
                    .iter()
                    .filter(|job| !job.record.status.is_terminal())
                    .map(|job| format!("{} {:?}", job.id, job.record))
                    .collect();
                let mut metrics = String::new();
                for base in &bases[1..] {
                    if let Ok(answer) = http.get(format!("{base}/metrics")).send().await {
                        let text = answer.text().await.unwrap_or_default();
                        for line in text.lines().filter(|line| {
                            line.starts_with("tryon_queue_length")
                                || line.starts_with("tryon_running_tasks")
                                || line.starts_with("tryon_replica_dispatching")
                        }) {
                            metrics.push_str(&format!("{base}: {line}\n"));
                        }
                    }
                }
                panic!(
                    "a shopper's try-on failed: {err}\nunfinished in the store:\n{}\n{metrics}{}",
                    unfinished.join("\n"),
                    roles()
                )
            }
        }
    }
    eprintln!(
        "every try-on ended {:.1} s after the dispatcher's SIGKILL",
        killed_at.elapsed().as_secs_f64()
    );

    // Every job ended, and succeeded: the five running ones resumed from their task ids,
    // the queued ones sent by the new dispatcher.
    assert_eq!(outcomes.len(), SHOPPERS);
    for (status, _) in &outcomes {
        assert_eq!(*status, TaskStatus::Succeeded);
    }
    // The upstream saw the account's limits held shop-wide and billed exactly those.
    assert!(
        sim.state().peak_open_tasks() <= 5,
        "the upstream saw {} tasks at once",
        sim.state().peak_open_tasks()
    );
    assert_eq!(sim.state().throttled_calls(), 0, "a 429 was drawn");
    assert_eq!(sim.state().billed_images("aitryon-plus"), SHOPPERS as u64);
    // Every survivor serves every result.
    for (_, file) in &outcomes {
        let file = file.as_deref().expect("a result");
        for base in &survivors {
            let served = http
                .get(format!("{base}{}/{file}", tryon_api::proxy::FILES_PATH))
                .send()
                .await
                .unwrap();
            assert_eq!(served.status(), 200, "{file} on {base}");
        }
    }
    // Nothing of the shop is on a replica's own disk: no files, no database.
    for folder in &folders {
        assert!(
            local_leftovers(folder.path()).is_empty(),
            "{:?}",
            local_leftovers(folder.path())
        );
    }
    drop(children);
}
