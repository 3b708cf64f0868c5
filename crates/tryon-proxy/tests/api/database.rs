//! The state database: a wrong `TRYON_DATABASE_URL` stops the binary at start (one line, exit code 2, no password); on PostgreSQL (`scripts/backends-test.sh`), a database that is down answers shoppers 503 `Proxy.DatabaseUnavailable` with nothing half-written and `/readyz` naming it, everything works once it is back, replicas that start together make the schema once, a job made on one replica is answered by another whose long poll hears its end, and a burst over two replicas cannot overshoot a cap.

use serde_json::Value;
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tryon_api::TaskStatus;
use tryon_api::wire::{CREATE_TASK_PATH, CreateTaskResponse, TaskQueryResponse, task_path};
use tryon_proxy::admission::AdmissionLimits;
use tryon_proxy::configuration::UpstreamSettings;
use tryon_proxy::policy::PolicySettings;

use crate::db_backend::{database_url_of, route_through, server_addr};
use crate::helpers::{
    TIME_SCALE, TestApp, error_body, new_shopper, noise_jpeg, noise_png, spawn_app_full,
    spawn_app_on,
};
use crate::storage::run_binary_until_it_exits;
use crate::store_backend::{Gate, GateMode};

#[test]
fn a_wrong_database_url_stops_the_binary_at_start_with_one_line_and_exit_code_2() {
    for (raw, reason) in [
        ("mysql://db.internal/shop", "must start with postgres://"),
        (
            "postgres://tryon:s3cret-word@db.internal:notaport/shop",
            "is not a PostgreSQL URL",
        ),
    ] {
        let (code, stderr) = run_binary_until_it_exits(&[("TRYON_DATABASE_URL", raw)]);
        assert_eq!(code, Some(2), "{raw}: {stderr}");
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|line| line.contains("TRYON_DATABASE_URL"))
            .collect();
        assert_eq!(lines.len(), 1, "{raw}: {stderr}");
        assert!(lines[0].contains(reason), "{raw}: {stderr}");
        assert!(
            !stderr.contains("s3cret-word"),
            "the password is shown: {stderr}"
        );
    }
}

async fn readiness(app: &TestApp) -> (u16, Value) {
    let response = app.http.get(app.url("/readyz")).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn assert_database_unavailable(response: reqwest::Response, what: &str) {
    assert_eq!(response.status(), 503, "{what}");
    let body = error_body(response).await;
    assert_eq!(body.code, "Proxy.DatabaseUnavailable", "{what}");
    assert!(
        !body.message.contains("127.0.0.1"),
        "{what}: {}",
        body.message
    );
}

#[tokio::test]
#[ignore = "needs the PostgreSQL test server: scripts/backends-test.sh"]
async fn a_database_that_is_down_answers_503_keeps_nothing_half_written_and_works_once_back() {
    let data_dir = tempfile::tempdir().unwrap();
    let gate = Gate::to(server_addr()).await;
    route_through(data_dir.path(), gate.addr);
    let app = spawn_app_on(
        UpstreamSettings::Embedded {
            time_scale: TIME_SCALE,
        },
        AdmissionLimits::default(),
        Some(data_dir),
    )
    .await;
    let body = app.tryon_body(noise_jpeg(360, 540, 71)).await;
    let files_before = app.stored_files().await;

    gate.set(GateMode::Cut);
    let response = app.upload(noise_png(200, 160, 72), "image/png").await;
    assert_database_unavailable(response, "an upload").await;
    assert_eq!(
        app.stored_files().await,
        files_before,
        "a refused upload left its file"
    );
    assert_database_unavailable(app.create(&body).await, "a create").await;
    let (status, ready) = readiness(&app).await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["ready"], false);
    let named = ready["database"].as_str().unwrap();
    assert!(
        named.starts_with("PostgreSQL at 127.0.0.1:") && named.ends_with(": not writable"),
        "{named}"
    );
    assert_eq!(ready["storage"], "ok");

    gate.set(GateMode::Open);
    let (status, ready) = readiness(&app).await;
    assert_eq!((status, &ready["database"]), (200, &Value::from("ok")));
    let response = app.create(&body).await;
    assert_eq!(
        response.status(),
        200,
        "the create works once the database is back"
    );
    let created: tryon_api::wire::CreateTaskResponse = response.json().await.unwrap();
    let done = app.wait_until_done(&created.output.task_id).await;
    assert_eq!(done.output.task_status, tryon_api::TaskStatus::Succeeded);
}

#[tokio::test]
#[ignore = "needs the PostgreSQL test server: scripts/backends-test.sh"]
async fn replicas_that_start_together_on_a_new_database_make_its_schema_once() {
    let first = tempfile::tempdir().unwrap();
    let url = database_url_of(first.path()).expect("a PostgreSQL test server");
    let second = tempfile::tempdir().unwrap();
    std::fs::copy(
        first.path().join("test-pg-database"),
        second.path().join("test-pg-database"),
    )
    .unwrap();
    let embedded = || UpstreamSettings::Embedded {
        time_scale: TIME_SCALE,
    };
    let (a, b) = tokio::join!(
        spawn_app_on(embedded(), AdmissionLimits::default(), Some(first)),
        spawn_app_on(embedded(), AdmissionLimits::default(), Some(second)),
    );
    let mut connection = PgConnection::connect(&url).await.unwrap();
    let applied: Vec<(i64, bool)> =
        sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut connection)
            .await
            .unwrap();
    assert_eq!(applied, vec![(1, true), (2, true)]);
    // Both replicas answer from the one schema, and a restart finds it made.
    for app in [&a, &b] {
        assert_eq!(readiness(app).await.0, 200);
    }
    let job_tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'jobs'",
    )
    .fetch_one(&mut connection)
    .await
    .unwrap();
    assert_eq!(job_tables, 1);
}

/// Two in-process replicas of one shop on this run's database (and store): one shopper
/// secret, `policy` for both; the first holds the dispatcher lease.
async fn two_replicas(policy: PolicySettings) -> (TestApp, TestApp) {
    let policy = PolicySettings {
        shopper_secret: Some(secrecy::SecretString::from(
            "two-replicas-shopper-secret-0123456789abcdef".to_owned(),
        )),
        ..policy
    };
    let first_folder = tempfile::tempdir().unwrap();
    database_url_of(first_folder.path()).expect("a PostgreSQL test server");
    crate::store_backend::prefix_of(first_folder.path());
    let second_folder = tempfile::tempdir().unwrap();
    for marker in ["test-pg-database", "test-s3-prefix"] {
        std::fs::copy(
            first_folder.path().join(marker),
            second_folder.path().join(marker),
        )
        .unwrap();
    }
    let embedded = || UpstreamSettings::Embedded {
        time_scale: TIME_SCALE,
    };
    let first = spawn_app_full(
        embedded(),
        AdmissionLimits::default(),
        Some(first_folder),
        policy.clone(),
        None,
    )
    .await;
    let second = spawn_app_full(
        embedded(),
        AdmissionLimits::default(),
        Some(second_folder),
        policy,
        None,
    )
    .await;
    (first, second)
}

#[tokio::test]
#[ignore = "needs PostgreSQL and the S3 test server: scripts/backends-test.sh"]
async fn a_job_made_on_one_replica_is_answered_by_another_whose_long_poll_hears_its_end() {
    let (first, second) = two_replicas(PolicySettings::open()).await;
    let (_, shopper) = new_shopper(&first).await;
    let person = first
        .upload_ok(noise_jpeg(360, 540, 81), "image/jpeg")
        .await;
    let garment = first.upload_ok(noise_png(300, 360, 82), "image/png").await;
    let body = serde_json::json!({
        "model": "aitryon-plus",
        "input": {"person_image_url": person.url, "top_garment_url": garment.url}
    });
    let response = shopper
        .post(second.url(CREATE_TASK_PATH))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the create on the second replica");
    let created: CreateTaskResponse = response.json().await.unwrap();
    let id = created.output.task_id;

    // The shopper asks the other replica, which never held the job, and waits there for
    // its end: each answer comes at a change, heard from the replica that ran it.
    let mut seen = TaskStatus::Pending;
    let mut changes = 0;
    while !seen.is_terminal() {
        let answer: TaskQueryResponse = shopper
            .get(format!(
                "{}?wait_ms=25000&since={}",
                first.url(&task_path(&id)),
                seen.as_str()
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_ne!(
            answer.output.task_status, seen,
            "the long poll ran out without hearing the change"
        );
        seen = answer.output.task_status;
        changes += 1;
        assert!(changes < 10, "more changes than a try-on has");
    }
    assert_eq!(seen, TaskStatus::Succeeded);
    // Another shopper's job is as unknown on every replica.
    let (_, stranger) = new_shopper(&second).await;
    let foreign = stranger
        .get(second.url(&task_path(&id)))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 404);
}

#[tokio::test]
#[ignore = "needs PostgreSQL and the S3 test server: scripts/backends-test.sh"]
async fn a_burst_spread_over_two_replicas_cannot_overshoot_the_daily_image_cap() {
    let (first, second) = two_replicas(PolicySettings {
        daily_image_cap: Some(3),
        ..PolicySettings::open()
    })
    .await;
    let body = first.tryon_body(noise_jpeg(360, 540, 83)).await;
    // Eight creates at once, alternating between the replicas.
    let (a, b, c, d, e, f, g, h) = tokio::join!(
        first.create(&body),
        second.create(&body),
        first.create(&body),
        second.create(&body),
        first.create(&body),
        second.create(&body),
        first.create(&body),
        second.create(&body),
    );
    let mut accepted = 0;
    for response in [a, b, c, d, e, f, g, h] {
        match response.status().as_u16() {
            200 => accepted += 1,
            503 => assert_eq!(error_body(response).await.code, "Proxy.DailyImageCap"),
            other => panic!("unexpected answer {other}"),
        }
    }
    assert_eq!(accepted, 3, "the cap counts every replica's jobs");
}

#[tokio::test]
#[ignore = "needs PostgreSQL and the S3 test server: scripts/backends-test.sh"]
async fn a_database_of_an_older_schema_is_brought_up_to_date_once_keeping_its_jobs() {
    // A database made by the first release of the schema, holding a job, as a shop's
    // would be before an upgrade.
    let folder = tempfile::tempdir().unwrap();
    let url = database_url_of(folder.path()).expect("a PostgreSQL test server");
    let first_release = tempfile::tempdir().unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/migrations/postgres/0001_state.sql"
        ),
        first_release.path().join("0001_state.sql"),
    )
    .unwrap();
    let mut connection = PgConnection::connect(&url).await.unwrap();
    sqlx::migrate::Migrator::new(first_release.path())
        .await
        .unwrap()
        .run(&mut connection)
        .await
        .unwrap();
    let record = serde_json::to_string(&tryon_proxy::jobs::JobRecord::pending(
        tryon_api::generation::UpstreamKind::Aitryon,
    ))
    .unwrap();
    sqlx::query(
        "INSERT INTO jobs (id, created_ms, shopper, request, record)
         VALUES ('job-before-upgrade', 1, 't:someone', $1::jsonb, $2::jsonb)",
    )
    .bind(r#"{"model":"aitryon-plus","input":{"person_image_url":"http://p/x.jpg"}}"#)
    .bind(record)
    .execute(&mut connection)
    .await
    .unwrap();

    let app = spawn_app_on(
        UpstreamSettings::Embedded {
            time_scale: TIME_SCALE,
        },
        AdmissionLimits::default(),
        Some(folder),
    )
    .await;
    let applied: Vec<(i64, bool)> =
        sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut connection)
            .await
            .unwrap();
    assert_eq!(applied, vec![(1, true), (2, true)]);
    assert!(app.proxy.state.jobs.get("job-before-upgrade").is_some());
}
