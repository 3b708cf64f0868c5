//! The state database: a wrong `TRYON_DATABASE_URL` stops the binary at start (one line, exit code 2, no password); on PostgreSQL (`scripts/backends-test.sh`), a database that is down answers shoppers 503 `Proxy.DatabaseUnavailable` with nothing half-written and `/readyz` naming it, everything works once it is back, and replicas that start together make the schema once.

use serde_json::Value;
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tryon_proxy::admission::AdmissionLimits;
use tryon_proxy::configuration::UpstreamSettings;

use crate::db_backend::{database_url_of, route_through, server_addr};
use crate::helpers::{TIME_SCALE, TestApp, error_body, noise_jpeg, noise_png, spawn_app_on};
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
    assert_eq!(applied, vec![(1, true)]);
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
