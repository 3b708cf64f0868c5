//! Where shopper photos, kept results and crops are stored: unguessable file ids, and the stores behind one small trait (a local folder, or any S3-compatible object store).
//!
//! The routes, the poll loops and the sweeper only ever see [`Storage`]; which store is
//! behind it is decided once at start by [`open`], from `TRYON_STORAGE_URL`.

mod local;
mod object;

use std::fmt;
use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;

pub use local::LocalStorage;
pub use object::{CONNECT_TIMEOUT, DEFAULT_CALL_TIMEOUT, ObjectStorage};

use crate::configuration::StorageSettings;

/// A boxed future, so that [`Storage`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The id of a stored file: 128 random bits as 32 lower-case hex digits.
///
/// Built only by [`FileId::random`] or [`FileId::parse`], so an id can never hold a path
/// separator or `..` and is safe to use as a file name or an object key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileId(String);

impl FileId {
    /// A fresh id from the operating system's random source: unguessable, so the URL
    /// of a shopper's photo is its only key.
    pub fn random() -> FileId {
        FileId(format!("{:032x}", rand::random::<u128>()))
    }

    /// Accepts exactly 32 lower-case hex digits.
    pub fn parse(raw: &str) -> Option<FileId> {
        let valid = raw.len() == 32
            && raw
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| FileId(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A place to keep files by id: a local folder ([`LocalStorage`]) or an object store
/// ([`ObjectStorage`]), without the routes knowing which.
///
/// Every call either completes or fails with an `io::Error` within a bounded time, so a
/// store that is down or hangs turns into an answer (503 `Proxy.StorageUnavailable`),
/// never into a request that waits for ever.
pub trait Storage: Send + Sync + 'static {
    /// The bytes still free for new files, or `None` when the store cannot tell or has no
    /// bound (an object store), so that the free-space floor does not apply.
    fn free_bytes(&self) -> BoxFuture<'_, io::Result<Option<u64>>>;
    /// Stores `bytes` under `id`, replacing nothing (ids are fresh). A reader never sees
    /// part of the file: it is there whole or not at all.
    fn put<'a>(&'a self, id: &'a FileId, bytes: Bytes) -> BoxFuture<'a, io::Result<()>>;
    /// The stored bytes, or `None` when no file has this id.
    fn get<'a>(&'a self, id: &'a FileId) -> BoxFuture<'a, io::Result<Option<Bytes>>>;
    /// Deletes the file; deleting a missing file is not an error.
    fn delete<'a>(&'a self, id: &'a FileId) -> BoxFuture<'a, io::Result<()>>;
    /// What the store is, for the start-up log and the readiness answer: `local folder`
    /// or the object store's `s3://bucket/prefix`. Never a key, never an endpoint's
    /// credentials.
    fn describe(&self) -> String;
}

/// Deletes the file of a put that failed, in the background, so that the shopper's
/// answer does not wait a second time on a store that is down. A put that timed out may
/// still have landed in an object store; the id is fresh, so deleting it can only
/// remove that put's own bytes.
pub fn clean_up_failed_put(storage: &Arc<dyn Storage>, id: &FileId) {
    let (storage, id) = (storage.clone(), id.clone());
    tokio::spawn(async move {
        if let Err(err) = storage.delete(&id).await {
            tracing::warn!(file = %id, error = %err, "a failed put could not be cleaned up; if its bytes landed, the bucket's lifecycle rule expires them");
        }
    });
}

/// Why the configured store could not be opened at start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("could not use the folder {path}: {source}")]
    Folder { path: String, source: io::Error },
    #[error("could not set up the object store {url}: {source}")]
    ObjectStore {
        url: String,
        source: object_store::Error,
    },
}

/// Opens the store `settings` name: the data folder's `files/` by default, another
/// folder for `file://`, an object store for `s3://`.
pub async fn open(
    settings: &StorageSettings,
    data_dir: &Path,
) -> Result<Arc<dyn Storage>, OpenError> {
    match settings {
        StorageSettings::Local { folder } => {
            let folder = folder.clone().unwrap_or_else(|| data_dir.join("files"));
            let store = LocalStorage::open(&folder)
                .await
                .map_err(|source| OpenError::Folder {
                    path: folder.display().to_string(),
                    source,
                })?;
            Ok(Arc::new(store))
        }
        StorageSettings::S3(s3) => {
            let store = ObjectStorage::open(s3).map_err(|source| OpenError::ObjectStore {
                url: s3.url(),
                source,
            })?;
            Ok(Arc::new(store))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_hex_digits_and_parse_refuses_anything_else() {
        let id = FileId::random();
        assert_eq!(id.as_str().len(), 32);
        assert_eq!(FileId::parse(id.as_str()), Some(id.clone()));
        assert_ne!(FileId::random(), id);
        for bad in [
            "",
            "../../etc/passwd",
            &"A".repeat(32),
            &"0".repeat(31),
            &"g".repeat(32),
        ] {
            assert_eq!(FileId::parse(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn the_default_store_is_the_data_folders_files_and_a_file_url_names_its_own() {
        let data = tempfile::tempdir().unwrap();
        let store = open(&StorageSettings::Local { folder: None }, data.path())
            .await
            .unwrap();
        let id = FileId::random();
        store.put(&id, Bytes::from_static(b"one")).await.unwrap();
        assert!(data.path().join("files").join(id.as_str()).is_file());
        assert_eq!(store.describe(), "local folder");

        let elsewhere = tempfile::tempdir().unwrap();
        let folder = elsewhere.path().join("shared");
        let store = open(
            &StorageSettings::Local {
                folder: Some(folder.clone()),
            },
            data.path(),
        )
        .await
        .unwrap();
        store.put(&id, Bytes::from_static(b"two")).await.unwrap();
        assert!(folder.join(id.as_str()).is_file());
    }
}
