//! Where shopper photos and kept results are stored: unguessable file ids and a local-folder store behind a small trait.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use bytes::Bytes;

/// A boxed future, so that [`Storage`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The id of a stored file: 128 random bits as 32 lower-case hex digits.
///
/// Built only by [`FileId::random`] or [`FileId::parse`], so an id can never hold a path
/// separator or `..` and is safe to use as a file name.
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

/// A place to keep files by id. A local folder today; an object store can implement the
/// same calls later without touching the routes.
pub trait Storage: Send + Sync + 'static {
    /// The bytes still free for new files, or `None` when the store cannot tell or has no
    /// bound (an object store), so that the free-space floor does not apply.
    fn free_bytes(&self) -> BoxFuture<'_, io::Result<Option<u64>>>;
    /// Stores `bytes` under `id`, replacing nothing (ids are fresh).
    fn put<'a>(&'a self, id: &'a FileId, bytes: Bytes) -> BoxFuture<'a, io::Result<()>>;
    /// The stored bytes, or `None` when no file has this id.
    fn get<'a>(&'a self, id: &'a FileId) -> BoxFuture<'a, io::Result<Option<Bytes>>>;
    /// Deletes the file; deleting a missing file is not an error.
    fn delete<'a>(&'a self, id: &'a FileId) -> BoxFuture<'a, io::Result<()>>;
}

/// Files in one local folder, one file per id.
#[derive(Debug, Clone)]
pub struct LocalStorage {
    dir: PathBuf,
}

impl LocalStorage {
    /// Creates the folder if needed.
    pub async fn open(dir: impl AsRef<Path>) -> io::Result<LocalStorage> {
        let dir = dir.as_ref().join("files");
        tokio::fs::create_dir_all(&dir).await?;
        Ok(LocalStorage { dir })
    }

    fn path(&self, id: &FileId) -> PathBuf {
        self.dir.join(id.as_str())
    }
}

impl Storage for LocalStorage {
    fn free_bytes(&self) -> BoxFuture<'_, io::Result<Option<u64>>> {
        Box::pin(async move {
            let dir = self.dir.clone();
            // statvfs is a blocking system call; it is quick, but kept off the runtime's
            // threads like every other file operation here.
            tokio::task::spawn_blocking(move || free_space_of(&dir))
                .await
                .map_err(io::Error::other)?
        })
    }

    fn put<'a>(&'a self, id: &'a FileId, bytes: Bytes) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            // Written beside the target and renamed, so a reader never sees half a file.
            let final_path = self.path(id);
            let temp_path = self.dir.join(format!("{id}.part"));
            tokio::fs::write(&temp_path, &bytes).await?;
            tokio::fs::rename(&temp_path, &final_path).await
        })
    }

    fn delete<'a>(&'a self, id: &'a FileId) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            match tokio::fs::remove_file(self.path(id)).await {
                // Already gone is what deleting wants.
                Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
                _ => Ok(()),
            }
        })
    }

    fn get<'a>(&'a self, id: &'a FileId) -> BoxFuture<'a, io::Result<Option<Bytes>>> {
        Box::pin(async move {
            match tokio::fs::read(self.path(id)).await {
                Ok(bytes) => Ok(Some(Bytes::from(bytes))),
                Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(err) => Err(err),
            }
        })
    }
}

/// The space an unprivileged process may still use on the file system of `dir`.
#[cfg(unix)]
fn free_space_of(dir: &Path) -> io::Result<Option<u64>> {
    let stat = rustix::fs::statvfs(dir)?;
    Ok(Some(stat.f_bavail.saturating_mul(stat.f_frsize)))
}

/// Elsewhere the space is unknown, and the floor does not apply.
#[cfg(not(unix))]
fn free_space_of(_dir: &Path) -> io::Result<Option<u64>> {
    Ok(None)
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
    async fn a_stored_file_reads_back_and_an_unknown_id_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStorage::open(dir.path()).await.unwrap();
        let id = FileId::random();
        store.put(&id, Bytes::from_static(b"hello")).await.unwrap();
        assert_eq!(
            store.get(&id).await.unwrap().unwrap(),
            Bytes::from_static(b"hello")
        );
        assert_eq!(store.get(&FileId::random()).await.unwrap(), None);
        store.delete(&id).await.unwrap();
        assert_eq!(store.get(&id).await.unwrap(), None);
        store.delete(&id).await.unwrap();
    }

    #[tokio::test]
    async fn a_local_folder_knows_its_free_space() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStorage::open(dir.path()).await.unwrap();
        let free = store.free_bytes().await.unwrap();
        if cfg!(unix) {
            assert!(free.is_some_and(|bytes| bytes > 0), "{free:?}");
        }
    }
}
