//! The job and idempotency-key tables of the SQLite store (`{TRYON_DATA_DIR}/jobs.sqlite3`), so that a restarted proxy still answers old jobs and resumes polling the unfinished ones.
//!
//! Writes are small single-row upserts done synchronously under a mutex: SQLite in WAL
//! mode finishes them in well under a millisecond, far less than the network calls that
//! cause them, and doing them in order keeps an older state from overwriting a newer one.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use tryon_api::wire::CreateTaskRequest;
use tryon_clock::Clock;

use super::analytics;
use crate::store::{JobFilter, JobRecord, StoreError, StoredJob, StoredKey};

/// The job table.
pub struct JobDb {
    connection: Mutex<Connection>,
    /// When a job's dashboard row is first seen ended (see [`analytics::record_job`]).
    clock: Clock,
}

impl JobDb {
    /// Opens (and creates if needed) the database file.
    pub fn open(path: &Path) -> Result<JobDb, StoreError> {
        let connection = super::connect(path)?;
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS jobs (
                id TEXT PRIMARY KEY,
                created_ms INTEGER NOT NULL,
                request TEXT NOT NULL,
                record TEXT NOT NULL
            );",
        )?;
        // Databases written before jobs remembered their shopper get the column; their
        // jobs belong to nobody, which answers them like unknown ones.
        let has_shopper: bool = connection
            .prepare("SELECT 1 FROM pragma_table_info('jobs') WHERE name = 'shopper'")?
            .exists([])?;
        if !has_shopper {
            connection
                .execute_batch("ALTER TABLE jobs ADD COLUMN shopper TEXT NOT NULL DEFAULT ''")?;
        }
        // Added with idempotent creates; older databases simply get the empty table.
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS idempotency_keys (
                shopper TEXT NOT NULL,
                key TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                job_id TEXT NOT NULL,
                created_ms INTEGER NOT NULL,
                PRIMARY KEY (shopper, key)
            );
            CREATE INDEX IF NOT EXISTS idempotency_keys_job ON idempotency_keys(job_id);
            CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys(created_ms);",
        )?;
        // Every save also writes the job's dashboard row, so its table must exist first.
        analytics::migrate(&connection)?;
        Ok(JobDb {
            connection: Mutex::new(connection),
            clock: Clock::system(),
        })
    }

    /// The same database, with the ends of jobs read from `clock` (the proxy's own).
    pub fn with_clock(mut self, clock: Clock) -> JobDb {
        self.clock = clock;
        self
    }

    /// Writes a new job and, when its create carried one, its idempotency key, in one
    /// transaction: after a crash either both are there or neither is, so a repeat can
    /// never find a key without its job nor a job made twice for one key.
    pub fn save_new(
        &self,
        id: &str,
        created_ms: u64,
        shopper: &str,
        request: &CreateTaskRequest,
        record: &JobRecord,
        key: Option<(&str, &str)>,
    ) -> Result<(), StoreError> {
        let request_json = serde_json::to_string(request)?;
        let record_json = serde_json::to_string(record)?;
        let mut connection = self.lock();
        let transaction = connection.transaction()?;
        transaction.execute(
            "INSERT INTO jobs (id, created_ms, shopper, request, record) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(id) DO UPDATE SET request = excluded.request, record = excluded.record",
            params![id, created_ms as i64, shopper, request_json, record_json],
        )?;
        analytics::record_job(
            &transaction,
            id,
            created_ms,
            &request.model,
            record,
            self.clock.unix_ms(),
        )?;
        if let Some((key, fingerprint)) = key {
            transaction.execute(
                "INSERT OR REPLACE INTO idempotency_keys (shopper, key, fingerprint, job_id, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![shopper, key, fingerprint, id, created_ms as i64],
            )?;
        }
        transaction.commit()?;
        Ok(())
    }

    /// Every stored idempotency key.
    pub fn load_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let connection = self.lock();
        let mut statement = connection.prepare(
            "SELECT shopper, key, fingerprint, job_id, created_ms FROM idempotency_keys",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(StoredKey {
                shopper: row.get(0)?,
                key: row.get(1)?,
                fingerprint: row.get(2)?,
                job_id: row.get(3)?,
                created_ms: u64::try_from(row.get::<_, i64>(4)?).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Forgets the idempotency keys made before `cutoff_ms`.
    pub fn delete_keys_before(&self, cutoff_ms: u64) -> Result<(), StoreError> {
        self.lock().execute(
            "DELETE FROM idempotency_keys WHERE created_ms < ?1",
            params![cutoff_ms as i64],
        )?;
        Ok(())
    }

    /// Forgets every idempotency key of `shopper`.
    pub fn delete_keys_of(&self, shopper: &str) -> Result<(), StoreError> {
        self.lock().execute(
            "DELETE FROM idempotency_keys WHERE shopper = ?1",
            params![shopper],
        )?;
        Ok(())
    }

    /// Writes the job's current state, replacing the previous one (the store's
    /// [`crate::store::StateStore::save_job`] does it through [`JobDb::save_new`]).
    #[cfg(test)]
    pub fn save(
        &self,
        id: &str,
        created_ms: u64,
        shopper: &str,
        request: &CreateTaskRequest,
        record: &JobRecord,
    ) -> Result<(), StoreError> {
        self.save_new(id, created_ms, shopper, request, record, None)
    }

    /// Deletes a job's row and the idempotency keys that lead to it, in one transaction:
    /// a key whose job is gone (refused, swept or deleted by its shopper) is free again.
    /// Its anonymous dashboard row stays (see [`analytics`]), for the month's figures.
    pub fn delete(&self, id: &str) -> Result<(), StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction()?;
        transaction.execute("DELETE FROM jobs WHERE id = ?1", params![id])?;
        transaction.execute(
            "DELETE FROM idempotency_keys WHERE job_id = ?1",
            params![id],
        )?;
        transaction.commit()?;
        Ok(())
    }

    /// One stored job.
    pub fn load_one(&self, id: &str) -> Result<Option<StoredJob>, StoreError> {
        let row = self
            .lock()
            .query_row(
                "SELECT id, created_ms, shopper, request, record FROM jobs WHERE id = ?1",
                params![id],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, String>(4)?,
                    ))
                },
            )
            .optional()?;
        let Some((id, created_ms, shopper, request, record)) = row else {
            return Ok(None);
        };
        Ok(Some(StoredJob {
            id,
            created_ms: u64::try_from(created_ms).unwrap_or_default(),
            shopper,
            request: serde_json::from_str(&request)?,
            record: serde_json::from_str(&record)?,
        }))
    }

    /// The fingerprint and job of `shopper`'s idempotency key `key`.
    pub fn key(&self, shopper: &str, key: &str) -> Result<Option<(String, String)>, StoreError> {
        let found = self
            .lock()
            .query_row(
                "SELECT fingerprint, job_id FROM idempotency_keys WHERE shopper = ?1 AND key = ?2",
                params![shopper, key],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        Ok(found)
    }

    /// Ids of the stored jobs `filter` picks.
    pub fn ids(&self, filter: JobFilter<'_>) -> Result<Vec<String>, StoreError> {
        let connection = self.lock();
        let (sql, arg) = match filter {
            JobFilter::OfShopper(shopper) => (
                "SELECT id FROM jobs WHERE shopper = ?1",
                rusqlite::types::Value::Text(shopper.to_owned()),
            ),
            JobFilter::FinishedBefore(cutoff_ms) => (
                "SELECT id FROM jobs WHERE created_ms < ?1 AND COALESCE(json_extract(record, '$.status'), '')
                 IN ('SUCCEEDED', 'FAILED', 'CANCELED', 'UNKNOWN')",
                rusqlite::types::Value::Integer(cutoff_ms as i64),
            ),
        };
        let mut statement = connection.prepare(sql)?;
        let rows = statement.query_map(params![arg], |row| row.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many jobs have not ended.
    pub fn count_unfinished(&self) -> Result<u64, StoreError> {
        let count: i64 = self.lock().query_row(
            "SELECT COUNT(*) FROM jobs WHERE COALESCE(json_extract(record, '$.status'), '')
             NOT IN ('SUCCEEDED', 'FAILED', 'CANCELED', 'UNKNOWN')",
            [],
            |row| row.get(0),
        )?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    /// Every stored job, oldest first (the order in which queued ones are resumed).
    pub fn load_all(&self) -> Result<Vec<StoredJob>, StoreError> {
        let connection = self.lock();
        let mut statement = connection.prepare(
            "SELECT id, created_ms, shopper, request, record FROM jobs ORDER BY created_ms, rowid",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
            ))
        })?;
        let mut jobs = Vec::new();
        for row in rows {
            let (id, created_ms, shopper, request, record) = row?;
            jobs.push(StoredJob {
                id,
                created_ms: u64::try_from(created_ms).unwrap_or_default(),
                shopper,
                request: serde_json::from_str(&request)?,
                record: serde_json::from_str(&record)?,
            });
        }
        Ok(jobs)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic inside a single statement leaves SQLite consistent; keep using it.
        self.connection.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use tryon_api::TaskStatus;
    use tryon_api::generation::UpstreamKind;
    use tryon_api::wire::TryOnInput;

    use super::*;

    #[test]
    fn a_saved_job_loads_back_with_its_latest_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.sqlite3");
        let request = CreateTaskRequest {
            model: "aitryon-plus".into(),
            input: TryOnInput {
                person_image_url: "http://p".into(),
                top_garment_url: Some("http://t".into()),
                ..Default::default()
            },
            parameters: None,
        };
        let mut record = JobRecord::pending(UpstreamKind::QwenImage);
        {
            let db = JobDb::open(&path).unwrap();
            db.save("a", 1, "t:a", &request, &record).unwrap();
            record.status = TaskStatus::Running;
            record.upstream_id = Some("up-1".into());
            db.save("a", 1, "t:a", &request, &record).unwrap();
            db.save(
                "b",
                2,
                "t:b",
                &request,
                &JobRecord::pending(UpstreamKind::Aitryon),
            )
            .unwrap();
        }
        let loaded = JobDb::open(&path).unwrap().load_all().unwrap();
        assert_eq!(loaded.len(), 2);
        assert_eq!(loaded[0].id, "a");
        assert_eq!(loaded[0].record, record);
        assert_eq!(loaded[0].request, request);
        assert_eq!(loaded[0].shopper, "t:a");
        assert_eq!(loaded[1].record.status, TaskStatus::Pending);
        assert_eq!(loaded[0].record.upstream, UpstreamKind::QwenImage);
    }

    #[test]
    fn a_key_is_saved_with_its_job_and_deleted_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.sqlite3");
        let request = CreateTaskRequest {
            model: "aitryon-plus".into(),
            input: TryOnInput::default(),
            parameters: None,
        };
        let record = JobRecord::pending(UpstreamKind::Aitryon);
        {
            let db = JobDb::open(&path).unwrap();
            db.save_new("a", 10, "t:a", &request, &record, Some(("k1", "f1")))
                .unwrap();
            db.save_new("b", 20, "t:a", &request, &record, Some(("k2", "f2")))
                .unwrap();
            db.save_new("c", 30, "t:b", &request, &record, None)
                .unwrap();
        }
        let db = JobDb::open(&path).unwrap();
        let keys = db.load_keys().unwrap();
        assert_eq!(keys.len(), 2);
        assert!(keys.contains(&StoredKey {
            shopper: "t:a".into(),
            key: "k1".into(),
            fingerprint: "f1".into(),
            job_id: "a".into(),
            created_ms: 10,
        }));
        db.delete("a").unwrap();
        assert_eq!(db.load_keys().unwrap().len(), 1);
        db.delete_keys_before(21).unwrap();
        assert!(db.load_keys().unwrap().is_empty());
        assert_eq!(db.load_all().unwrap().len(), 2, "only the keys were swept");
    }

    #[test]
    fn a_deleted_job_keeps_its_dashboard_row_with_the_time_it_ended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.sqlite3");
        let time = tryon_clock::ManualClock::new();
        let db = JobDb::open(&path).unwrap().with_clock(time.clock());
        let request = CreateTaskRequest {
            model: "aitryon".into(),
            input: TryOnInput::default(),
            parameters: None,
        };
        let mut record = JobRecord::pending(UpstreamKind::Aitryon);
        let created = time.clock().unix_ms();
        db.save_new("a", created, "t:a", &request, &record, None)
            .unwrap();
        time.advance(std::time::Duration::from_secs(12));
        record.fail(tryon_api::ErrorKind::InvalidPerson, None);
        db.save("a", created, "t:a", &request, &record).unwrap();
        db.delete("a").unwrap();
        assert!(db.load_all().unwrap().is_empty());
        let rows = analytics::Analytics::open(&path)
            .unwrap()
            .jobs_since(0, 0)
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].finished_ms, Some(created + 12_000));
        assert_eq!(rows[0].code.as_deref(), Some("InvalidPerson"));
        assert_eq!(rows[0].model, "aitryon");
    }

    #[test]
    fn a_record_saved_before_the_upstream_seam_loads_as_the_seeds() {
        // The shape rows had before jobs remembered their upstream.
        let old = r#"{"status":"SUCCEEDED","upstream_id":"up-1","submit_time":null,
            "scheduled_time":null,"end_time":null,"code":null,"message":null,
            "image_url":"http://proxy/api/v1/tryon/files/x","usage":{"image_count":1}}"#;
        let record: JobRecord = serde_json::from_str(old).unwrap();
        assert_eq!(record.upstream, UpstreamKind::Aitryon);
        assert_eq!(record.status, TaskStatus::Succeeded);
    }
}
