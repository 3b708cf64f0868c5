//! The file store the test proxies run on: the data folder by default, or, with `TRYON_TEST_S3_ENDPOINT` set (`scripts/backends-test.sh` starts moto and sets it), a fresh prefix of a bucket on that S3-compatible server, reached through a gate that a test can cut or hang.
//!
//! Every test that stores files therefore runs against whichever backend the run names,
//! unchanged; the tests of faults take the store down with [`TestStore::down`], which
//! breaks the folder or cuts the connection to the S3 server, as the backend has it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use object_store::ObjectStore;
use object_store::aws::AmazonS3;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tryon_proxy::configuration::{
    AWS_PASSTHROUGH_VARIABLES, AWS_VARIABLES, S3Settings, StorageSettings,
};
use tryon_proxy::storage::ObjectStorage;

/// The variable naming the S3-compatible test server, such as `http://127.0.0.1:41234`.
pub const S3_ENDPOINT_VARIABLE: &str = "TRYON_TEST_S3_ENDPOINT";
/// The one bucket of a run; each proxy's files go under a prefix of their own.
pub const BUCKET: &str = "tryon-tests";
/// Where a data folder remembers its prefix, so that a proxy restarted on the folder
/// finds its files again, as a restarted replica would.
const PREFIX_FILE: &str = "test-s3-prefix";
/// The test server's key: moto accepts any, and these are the names its own docs use.
const ACCESS_KEY: &str = "testing";
const SECRET_KEY: &str = "testing";
const REGION: &str = "us-east-1";

/// The S3 test server of this run, or `None` for the data folder.
pub fn s3_endpoint() -> Option<String> {
    std::env::var(S3_ENDPOINT_VARIABLE)
        .ok()
        .map(|raw| raw.trim().trim_end_matches('/').to_owned())
        .filter(|raw| !raw.is_empty())
}

/// The S3 test server, for the tests that exist only for it; they are `#[ignore]`d, so
/// this fails when one is run without a server rather than letting it pass unseen.
pub fn required_s3_endpoint() -> String {
    s3_endpoint().unwrap_or_else(|| {
        panic!(
            "{S3_ENDPOINT_VARIABLE} is not set: run scripts/backends-test.sh, which starts an \
             S3-compatible server (moto) and runs these tests against it"
        )
    })
}

/// The settings of the S3 test server at `endpoint`, files under `prefix`.
pub fn s3_settings(endpoint: &str, prefix: &str) -> S3Settings {
    S3Settings {
        endpoint: Some(endpoint.to_owned()),
        region: Some(REGION.to_owned()),
        access_key_id: Some(ACCESS_KEY.to_owned().into()),
        secret_access_key: Some(SECRET_KEY.to_owned().into()),
        allow_http: true,
        ..S3Settings::new(BUCKET, prefix)
    }
}

/// The prefix of the files of the proxy on `data_dir`: made on first use, then read
/// back from the folder.
pub fn prefix_of(data_dir: &Path) -> String {
    let marker = data_dir.join(PREFIX_FILE);
    if let Ok(prefix) = std::fs::read_to_string(&marker) {
        return prefix.trim().to_owned();
    }
    let prefix = format!("proxy-{:016x}", rand::random::<u64>());
    std::fs::write(&marker, &prefix).expect("the data folder takes the prefix marker");
    prefix
}

/// The variables that put a proxy binary on `data_dir` onto this run's store: the
/// bucket's prefix of the folder with S3, or none of the storage variables at all (so
/// that the developer's own `AWS_*` cannot leak in) with the data folder.
pub fn binary_env(data_dir: &Path) -> (Vec<(String, String)>, Vec<&'static str>) {
    let unset: Vec<&'static str> = std::iter::once("TRYON_STORAGE_URL")
        .chain(AWS_VARIABLES.iter().copied())
        .chain(AWS_PASSTHROUGH_VARIABLES.iter().copied())
        .collect();
    let Some(endpoint) = s3_endpoint() else {
        return (Vec::new(), unset);
    };
    ensure_bucket(&endpoint);
    let set = [
        (
            "TRYON_STORAGE_URL",
            format!("s3://{BUCKET}/{}", prefix_of(data_dir)),
        ),
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ALLOW_HTTP", "true".to_owned()),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
        ("AWS_REGION", REGION.to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    (set, unset)
}

/// Creates the run's bucket once per test process. A plain HTTP `PUT /{bucket}` is
/// S3's CreateBucket; moto takes it unsigned, and answers it again for a bucket that
/// exists, so several test processes of one run do not race.
pub fn ensure_bucket(endpoint: &str) {
    static CREATED: OnceLock<()> = OnceLock::new();
    CREATED.get_or_init(|| {
        let addr = socket_addr_of(endpoint);
        let mut stream = StdTcpStream::connect_timeout(&addr, Duration::from_secs(10))
            .unwrap_or_else(|err| panic!("the S3 test server at {endpoint} answers: {err}"));
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        write!(
            stream,
            "PUT /{BUCKET} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        let status = answer.split(' ').nth(1).unwrap_or_default();
        assert!(
            status == "200" || status == "409",
            "creating the bucket {BUCKET}: {answer}"
        );
    });
}

fn socket_addr_of(endpoint: &str) -> SocketAddr {
    endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|_| {
            panic!("{S3_ENDPOINT_VARIABLE} must be http://127.0.0.1:PORT, not {endpoint:?}")
        })
}

/// The store behind one test proxy, as the test sees it from outside the proxy.
pub enum TestStore {
    /// The data folder's `files/`.
    Local { data_dir: PathBuf },
    /// A prefix of the run's bucket: the proxy reaches the server through `gate`, the
    /// test lists it directly.
    S3 {
        gate: Gate,
        direct: AmazonS3,
        prefix: object_store::path::Path,
        url: String,
    },
}

impl TestStore {
    /// The store of this run for the proxy on `data_dir`, and the proxy's settings for
    /// it; `call_timeout` shortens the object store's bound on one call.
    pub async fn for_data_dir(
        data_dir: &Path,
        call_timeout: Option<Duration>,
    ) -> (TestStore, StorageSettings) {
        let Some(endpoint) = s3_endpoint() else {
            let store = TestStore::Local {
                data_dir: data_dir.to_owned(),
            };
            return (store, StorageSettings::Local { folder: None });
        };
        ensure_bucket(&endpoint);
        let prefix = prefix_of(data_dir);
        let gate = Gate::to(socket_addr_of(&endpoint)).await;
        let mut settings = s3_settings(&format!("http://{}", gate.addr), &prefix);
        if let Some(timeout) = call_timeout {
            settings.call_timeout = timeout;
        }
        let direct = ObjectStorage::builder(&s3_settings(&endpoint, &prefix))
            .build()
            .expect("a client of the S3 test server");
        let store = TestStore::S3 {
            gate,
            direct,
            prefix: object_store::path::Path::from(prefix.as_str()),
            url: settings.url(),
        };
        (store, StorageSettings::S3(settings))
    }

    /// Whether this run stores files in S3.
    pub fn is_s3(&self) -> bool {
        matches!(self, TestStore::S3 { .. })
    }

    /// How the proxy names this store in `/readyz`.
    pub fn described(&self) -> String {
        match self {
            TestStore::Local { .. } => "local folder".to_owned(),
            TestStore::S3 { url, .. } => url.clone(),
        }
    }

    /// How many files the store holds for this proxy.
    pub async fn count(&self) -> usize {
        self.names().await.len()
    }

    /// The names of the files the store holds for this proxy (their ids), sorted.
    pub async fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = match self {
            TestStore::Local { data_dir } => std::fs::read_dir(data_dir.join("files"))
                .map(|entries| {
                    entries
                        .filter_map(Result::ok)
                        .map(|entry| entry.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default(),
            TestStore::S3 { direct, prefix, .. } => direct
                .list_with_delimiter(Some(prefix))
                .await
                .expect("the S3 test server lists the prefix")
                .objects
                .into_iter()
                .filter_map(|object| object.location.filename().map(str::to_owned))
                .collect(),
        };
        names.sort();
        names
    }

    /// Takes the store down: the folder is replaced by a plain file (what a lost mount
    /// looks like, and what refuses even root), or every connection to the S3 server is
    /// cut and new ones are refused.
    pub fn down(&self) {
        match self {
            TestStore::Local { data_dir } => {
                std::fs::rename(data_dir.join("files"), data_dir.join("files.away"))
                    .expect("the files folder moves away");
                std::fs::write(data_dir.join("files"), b"the store is down").unwrap();
            }
            TestStore::S3 { gate, .. } => gate.set(GateMode::Cut),
        }
    }

    /// Brings the store back as it was.
    pub fn up(&self) {
        match self {
            TestStore::Local { data_dir } => {
                std::fs::remove_file(data_dir.join("files")).unwrap();
                std::fs::rename(data_dir.join("files.away"), data_dir.join("files"))
                    .expect("the files folder comes back");
            }
            TestStore::S3 { gate, .. } => gate.set(GateMode::Open),
        }
    }

    /// Makes the S3 server hang: connections are taken and never answered.
    pub fn hang(&self) {
        match self {
            TestStore::Local { .. } => panic!("a local folder cannot be made to hang"),
            TestStore::S3 { gate, .. } => gate.set(GateMode::Hung),
        }
    }
}

/// How many entries the data folder's `files/` holds (none when it does not exist).
pub fn local_files(data_dir: &Path) -> usize {
    std::fs::read_dir(data_dir.join("files"))
        .map(|entries| entries.count())
        .unwrap_or(0)
}

/// What the gate does with connections to the S3 server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateMode {
    /// Forwards them both ways.
    Open,
    /// Closes every open one and each new one at once: a store that is down.
    Cut,
    /// Takes new ones and never answers: a store that hangs.
    Hung,
}

/// A TCP forwarder on a loopback port of its own between a proxy and the S3 server, so
/// that a test can take a real store away and bring it back.
pub struct Gate {
    pub addr: SocketAddr,
    mode: watch::Sender<GateMode>,
    forwarder: tokio::task::JoinHandle<()>,
}

impl Gate {
    /// A gate to `target`, open.
    pub async fn to(target: SocketAddr) -> Gate {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("a loopback port for the gate");
        let addr = listener.local_addr().unwrap();
        let (mode, watching) = watch::channel(GateMode::Open);
        let forwarder = tokio::spawn(async move {
            // Held here, so that dropping the gate (which aborts this task) closes every
            // connection through it as well.
            let mut connections = JoinSet::new();
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                while connections.try_join_next().is_some() {}
                let mut watching = watching.clone();
                let mode = *watching.borrow_and_update();
                match mode {
                    GateMode::Cut => drop(inbound),
                    GateMode::Hung => {
                        connections.spawn(async move {
                            let _held = inbound;
                            let _ = watching.wait_for(|mode| *mode != GateMode::Hung).await;
                        });
                    }
                    GateMode::Open => {
                        connections.spawn(async move {
                            let Ok(mut outbound) = TcpStream::connect(target).await else {
                                return;
                            };
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                                _ = watching.wait_for(|mode| *mode != GateMode::Open) => {}
                            }
                        });
                    }
                }
            }
        });
        Gate {
            addr,
            mode,
            forwarder,
        }
    }

    pub fn set(&self, mode: GateMode) {
        self.mode.send_replace(mode);
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.forwarder.abort();
    }
}
