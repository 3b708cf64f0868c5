//! The state database the test proxies run on: SQLite in the data folder by default, or, with `TRYON_TEST_DATABASE_URL` set (`scripts/pg-test.sh` starts PostgreSQL and sets it), a database of its own on that server for each data folder.
//!
//! A proxy restarted on the same data folder finds the same database again, as a
//! restarted replica finds the shop's, so the tests of restarts run unchanged on both.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tryon_clock::Clock;
use tryon_proxy::configuration::DatabaseSettings;
use tryon_proxy::store::StateStore;
use tryon_proxy::store::postgres::{DatabaseUrl, PgStore};
use tryon_proxy::store::sqlite::SqliteStore;

/// The variable naming the PostgreSQL test server, such as
/// `postgres://tryon@127.0.0.1:45432/postgres` (a database to connect to for creating
/// the tests' own).
pub const DATABASE_URL_VARIABLE: &str = "TRYON_TEST_DATABASE_URL";
/// Where a data folder remembers the name of its database.
const DATABASE_FILE: &str = "test-pg-database";

/// The PostgreSQL test server of this run, or `None` for SQLite.
pub fn server_url() -> Option<String> {
    std::env::var(DATABASE_URL_VARIABLE)
        .ok()
        .map(|raw| raw.trim().to_owned())
        .filter(|raw| !raw.is_empty())
}

/// The URL of the database of the proxy on `data_dir`, made on first use; `None` for
/// SQLite. The folder remembers the URL, so that a test may route it through a gate
/// ([`route_through`]). Runs on a thread of its own, so that sync and async callers
/// alike can wait.
pub fn database_url_of(data_dir: &Path) -> Option<String> {
    let server = server_url()?;
    let marker = data_dir.join(DATABASE_FILE);
    if let Ok(url) = std::fs::read_to_string(&marker) {
        return Some(url.trim().to_owned());
    }
    let name = format!("proxy_{:016x}", rand::random::<u64>());
    let (on_server, created) = (server.clone(), name.clone());
    std::thread::spawn(move || create_database(&on_server, &created))
        .join()
        .expect("creating the test database does not panic");
    let url = replace_database(&server, &name);
    std::fs::write(&marker, &url).expect("the data folder takes the database marker");
    Some(url)
}

/// Makes the proxy on `data_dir` reach its database through `gate` from now on (its
/// next start), so that a test can cut the connection; answers the database's URL.
pub fn route_through(data_dir: &Path, gate: SocketAddr) -> String {
    let direct = database_url_of(data_dir).expect("a PostgreSQL test server");
    let mut url = url::Url::parse(&direct).expect("the database URL is a URL");
    url.set_ip_host(gate.ip()).expect("an IP host");
    url.set_port(Some(gate.port())).expect("a port");
    std::fs::write(data_dir.join(DATABASE_FILE), url.as_str())
        .expect("the data folder takes the database marker");
    direct
}

/// The address of the PostgreSQL test server.
pub fn server_addr() -> SocketAddr {
    let url = url::Url::parse(&server_url().expect("a PostgreSQL test server"))
        .expect("the test server URL is a URL");
    let host = url.host_str().expect("a host");
    format!("{host}:{}", url.port().unwrap_or(5432))
        .parse()
        .expect("the test server is on an IP address")
}

/// The settings of the proxy on `data_dir`: SQLite, or its own PostgreSQL database.
pub fn database_settings(data_dir: &Path) -> DatabaseSettings {
    match database_url_of(data_dir) {
        None => DatabaseSettings::Sqlite,
        Some(url) => DatabaseSettings::Postgres(Box::new(
            DatabaseUrl::parse(&url).expect("the test database URL is accepted"),
        )),
    }
}

/// The variables that put a proxy binary on `data_dir` onto this run's database, and
/// those it must not inherit.
pub fn binary_env(data_dir: &Path) -> (Vec<(String, String)>, Vec<&'static str>) {
    match database_url_of(data_dir) {
        None => (Vec::new(), vec!["TRYON_DATABASE_URL"]),
        Some(url) => (vec![("TRYON_DATABASE_URL".to_owned(), url)], Vec::new()),
    }
}

/// The state of the proxy that ran on `data_dir`, opened as that proxy did, for tests
/// that look into what it remembered.
pub async fn open_state(data_dir: &Path) -> Arc<dyn StateStore> {
    match database_settings(data_dir) {
        DatabaseSettings::Sqlite => Arc::new(
            SqliteStore::open(&data_dir.join("jobs.sqlite3"), Clock::system())
                .expect("the proxy's SQLite file opens"),
        ),
        DatabaseSettings::Postgres(url) => Arc::new(
            PgStore::connect(&url, Clock::system())
                .await
                .expect("the proxy's PostgreSQL database opens"),
        ),
    }
}

/// `server` with its database part replaced by `name`.
fn replace_database(server: &str, name: &str) -> String {
    let mut url = url::Url::parse(server).expect("the test server URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

fn create_database(server: &str, name: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for creating the test database");
    runtime.block_on(async {
        let mut connection = PgConnection::connect(server)
            .await
            .unwrap_or_else(|err| panic!("the PostgreSQL test server at {server} answers: {err}"));
        // The name is made here of hex digits only, so it is safe inside the statement.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut connection)
            .await
            .expect("the test database is created");
        let _ = connection.close().await;
    });
}

/// Waits until the proxy on `data_dir` (a binary, another process) has stored the
/// upstream task ids of `count` unfinished jobs: the moment nothing it sent is still
/// unanswered on its side. PostgreSQL announces every save, so each look follows one; an
/// SQLite file announces nothing, so it is looked at again every few milliseconds. Fails
/// the test only on a hang.
pub async fn until_sent(data_dir: &Path, count: usize) {
    let state = open_state(data_dir).await;
    let mut listener = match database_url_of(data_dir) {
        Some(url) => {
            let mut listener = sqlx::postgres::PgListener::connect(&url)
                .await
                .expect("the test database listens");
            listener.listen("tryon_job").await.unwrap();
            Some(listener)
        }
        None => None,
    };
    let sent = async {
        loop {
            let jobs = state.load_jobs().await.expect("the jobs are read");
            let unfinished_sent = jobs
                .iter()
                .filter(|job| job.record.upstream_id.is_some() && !job.record.status.is_terminal())
                .count();
            if unfinished_sent >= count {
                return;
            }
            match listener.as_mut() {
                Some(listener) => {
                    listener.recv().await.expect("a change is heard");
                }
                None => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            }
        }
    };
    tokio::time::timeout(crate::helpers::HANG_LIMIT, sent)
        .await
        .expect("the proxy stores what it sent");
}
