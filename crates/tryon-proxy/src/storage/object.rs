//! Files in an S3-compatible object store (`TRYON_STORAGE_URL=s3://bucket/prefix`) through the `object_store` crate: one object per file id under the prefix, every call bounded in time.
//!
//! Every replica of the proxy that names the same bucket and prefix serves every file,
//! since nothing of a file is kept on the replica's own disk. A put is one S3 `PUT`, which
//! the store makes visible only once complete, so a reader never sees half a file.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, PutPayload, RetryConfig};
use secrecy::ExposeSecret;

use super::{BoxFuture, FileId, Storage};
use crate::configuration::S3Settings;

/// How long one call to the store may take, its retries included, unless the settings
/// say otherwise: well inside the proxy's 40 s request limit, so that an upload to a hung
/// store answers 503 `Proxy.StorageUnavailable` instead of the request timing out.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long opening a connection to the store may take: a store that does not accept
/// connections is down, and waiting longer only delays the shopper's answer.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Retries of a failed request (connection errors, 5xx, 429). The crate's default of ten
/// retries over three minutes suits batch jobs; a shopper waiting on an upload is better
/// served by a quick, clear refusal.
const RETRIES: usize = 2;

/// Files in one bucket of an S3-compatible store, under one prefix.
#[derive(Debug)]
pub struct ObjectStorage {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    url: String,
    call_timeout: Duration,
}

impl ObjectStorage {
    /// Builds the client for `settings`; nothing is sent until the first call, so a store
    /// that is down at start is found by `/readyz`, not by a failed start.
    pub fn open(settings: &S3Settings) -> object_store::Result<ObjectStorage> {
        let store = ObjectStorage::builder(settings).build()?;
        Ok(ObjectStorage {
            store: Arc::new(store),
            prefix: Path::parse(&settings.prefix)?,
            url: settings.url(),
            call_timeout: settings.call_timeout,
        })
    }

    /// The `object_store` builder for `settings`, with the proxy's timeouts and retries.
    /// The configuration check calls it too, so that whatever the crate refuses is
    /// reported at start with the other mistakes.
    pub fn builder(settings: &S3Settings) -> AmazonS3Builder {
        let client = ClientOptions::new()
            .with_allow_http(settings.allow_http)
            .with_timeout(settings.call_timeout)
            .with_connect_timeout(CONNECT_TIMEOUT.min(settings.call_timeout));
        let retry = RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: RETRIES,
            retry_timeout: settings.call_timeout,
        };
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_virtual_hosted_style_request(settings.virtual_hosted_style);
        // The further credential sources go in first: the client options and the retry
        // policy below must not be replaced by any of them.
        for (variable, value) in &settings.other {
            if let Ok(key) = variable.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                builder = builder.with_config(key, value);
            }
        }
        builder = builder.with_client_options(client).with_retry(retry);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(region) = &settings.region {
            builder = builder.with_region(region);
        }
        if let Some(key) = &settings.access_key_id {
            builder = builder.with_access_key_id(key.expose_secret());
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret.expose_secret());
        }
        if let Some(token) = &settings.session_token {
            builder = builder.with_token(token.expose_secret());
        }
        builder
    }

    /// A store over another `object_store` backend, for the unit tests of the key layout
    /// and error mapping.
    #[cfg(test)]
    fn over(store: Arc<dyn ObjectStore>, prefix: &str, call_timeout: Duration) -> ObjectStorage {
        ObjectStorage {
            store,
            prefix: Path::parse(prefix).unwrap(),
            url: format!("memory:///{prefix}"),
            call_timeout,
        }
    }

    /// The object key of a file: its id under the prefix.
    fn path(&self, id: &FileId) -> Path {
        self.prefix.child(id.as_str())
    }

    /// Runs one call to the store within the call timeout. A missing object becomes
    /// `NotFound`, which the callers turn into "no such file"; a timeout becomes
    /// `TimedOut`, naming the store (never a key: the crate's errors carry none either).
    async fn bounded<T>(
        &self,
        call: impl Future<Output = object_store::Result<T>>,
    ) -> io::Result<T> {
        match tokio::time::timeout(self.call_timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(object_store::Error::NotFound { path, .. })) => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no object {path}"),
            )),
            Ok(Err(err)) => Err(io::Error::other(err)),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{} did not answer within {} ms",
                    self.url,
                    self.call_timeout.as_millis()
                ),
            )),
        }
    }
}

impl Storage for ObjectStorage {
    fn free_bytes(&self) -> BoxFuture<'_, io::Result<Option<u64>>> {
        // A bucket has no size to run out of that the proxy could read, so the shop's
        // free-space floor does not apply to it.
        Box::pin(async { Ok(None) })
    }

    fn put<'a>(&'a self, id: &'a FileId, bytes: Bytes) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let path = self.path(id);
            self.bounded(self.store.put(&path, PutPayload::from(bytes)))
                .await
                .map(|_| ())
        })
    }

    fn get<'a>(&'a self, id: &'a FileId) -> BoxFuture<'a, io::Result<Option<Bytes>>> {
        Box::pin(async move {
            let path = self.path(id);
            // The body is read inside the same bound: a store that answers the headers
            // and then stalls must not hold the request either.
            let read = self.bounded(async { self.store.get(&path).await?.bytes().await });
            match read.await {
                Ok(bytes) => Ok(Some(bytes)),
                Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(err) => Err(err),
            }
        })
    }

    fn delete<'a>(&'a self, id: &'a FileId) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let path = self.path(id);
            // S3 answers a delete of a missing key with success; other stores behind the
            // same crate answer NotFound, which is what deleting wants as well.
            match self.bounded(self.store.delete(&path)).await {
                Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
                _ => Ok(()),
            }
        })
    }

    fn describe(&self) -> String {
        self.url.clone()
    }
}

#[cfg(test)]
mod tests {
    use object_store::memory::InMemory;

    use super::*;

    #[tokio::test]
    async fn files_live_under_the_prefix_and_a_missing_one_is_none() {
        let memory = Arc::new(InMemory::new());
        let store = ObjectStorage::over(memory.clone(), "shop/photos", DEFAULT_CALL_TIMEOUT);
        let id = FileId::random();
        store.put(&id, Bytes::from_static(b"hello")).await.unwrap();
        let key = Path::from(format!("shop/photos/{id}"));
        let raw = memory.get(&key).await.unwrap().bytes().await.unwrap();
        assert_eq!(raw, Bytes::from_static(b"hello"));
        assert_eq!(
            store.get(&id).await.unwrap(),
            Some(Bytes::from_static(b"hello"))
        );
        assert_eq!(store.get(&FileId::random()).await.unwrap(), None);
        store.delete(&id).await.unwrap();
        assert_eq!(store.get(&id).await.unwrap(), None);
        store.delete(&id).await.unwrap();
        assert_eq!(store.free_bytes().await.unwrap(), None);
    }

    // Paused time runs the ten seconds at once.
    #[tokio::test(start_paused = true)]
    async fn a_call_that_does_not_end_in_time_is_a_timeout_naming_the_store() {
        let store = ObjectStorage::over(Arc::new(InMemory::new()), "p", DEFAULT_CALL_TIMEOUT);
        let never = std::future::pending::<object_store::Result<()>>();
        let err = store.bounded(never).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(err.to_string().contains("memory:///p"), "{err}");
    }
}
