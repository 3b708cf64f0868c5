//! Files in one local folder, one file per id: the default store (`{TRYON_DATA_DIR}/files`), or a shared folder named by `TRYON_STORAGE_URL=file:///...`.

use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::{BoxFuture, FileId, Storage};

/// Files in one local folder, one file per id.
#[derive(Debug, Clone)]
pub struct LocalStorage {
    dir: PathBuf,
}

impl LocalStorage {
    /// Keeps the files in `dir` itself, creating it if needed.
    pub async fn open(dir: impl AsRef<Path>) -> io::Result<LocalStorage> {
        let dir = dir.as_ref().to_owned();
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
            if let Err(err) = tokio::fs::write(&temp_path, &bytes).await {
                // A write cut short (a full disk) leaves no partial file behind.
                let _ = tokio::fs::remove_file(&temp_path).await;
                return Err(err);
            }
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

    fn describe(&self) -> String {
        // The path stays in the start-up log's own line; the readiness answer, which
        // anyone can read, says only what kind of store it is.
        "local folder".to_owned()
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

    #[tokio::test]
    async fn a_folder_replaced_by_a_plain_file_fails_every_call() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStorage::open(dir.path().join("files")).await.unwrap();
        // A plain file where the folder was: what a lost mount looks like, and what
        // refuses writes even to root, which ignores permission bits.
        std::fs::remove_dir(dir.path().join("files")).unwrap();
        std::fs::write(dir.path().join("files"), b"not a folder").unwrap();
        let id = FileId::random();
        assert!(store.put(&id, Bytes::from_static(b"x")).await.is_err());
        assert!(store.get(&id).await.is_err());
        assert!(store.delete(&id).await.is_err());
    }
}
