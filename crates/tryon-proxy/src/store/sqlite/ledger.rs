//! The spend ledger, the per-shopper daily counts and the index of hosted files of the SQLite store, in the same file as the jobs.
//!
//! The ledger has one row per billed call, keyed by the job id (or the segmentation
//! request id), so that a job resumed after a crash is never billed twice. The daily
//! counts are kept apart from the jobs, so that deleting one's data does not reset one's
//! daily limit. The file index says who owns each hosted file and what it is, for the
//! garment policy, the retention sweeper and "delete my data". The upload counts
//! (`upload_usage`, one row per stored upload) are kept apart from the file index for
//! the same reason: neither the sweeper nor "delete my data" resets a shopper's limits.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::store::{
    FileEntry, FileKind, StoreError, Totals, UPLOAD_WINDOW_MS, UploadLimits, UploadTake,
};

/// The ledger tables.
pub struct Ledger {
    connection: Mutex<Connection>,
}

impl Ledger {
    /// Opens (and creates if needed) the tables in the database at `path`.
    pub fn open(path: &Path) -> Result<Ledger, StoreError> {
        let connection = super::connect(path)?;
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS ledger (
                ref TEXT PRIMARY KEY,
                day INTEGER NOT NULL,
                at_ms INTEGER NOT NULL,
                model TEXT NOT NULL,
                images INTEGER NOT NULL,
                cny REAL NOT NULL
            );
            CREATE INDEX IF NOT EXISTS ledger_day ON ledger(day);
            CREATE TABLE IF NOT EXISTS shopper_days (
                day INTEGER NOT NULL,
                shopper TEXT NOT NULL,
                creates INTEGER NOT NULL,
                PRIMARY KEY (day, shopper)
            );
            CREATE TABLE IF NOT EXISTS files (
                id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                shopper TEXT NOT NULL,
                created_ms INTEGER NOT NULL
            );
            CREATE INDEX IF NOT EXISTS files_shopper ON files(shopper);
            CREATE INDEX IF NOT EXISTS files_created ON files(created_ms);
            CREATE TABLE IF NOT EXISTS upload_usage (
                id INTEGER PRIMARY KEY,
                shopper TEXT NOT NULL,
                day INTEGER NOT NULL,
                at_ms INTEGER NOT NULL,
                bytes INTEGER NOT NULL
            );
            CREATE INDEX IF NOT EXISTS upload_usage_shopper ON upload_usage(shopper, at_ms);
            CREATE INDEX IF NOT EXISTS upload_usage_day ON upload_usage(day);",
        )?;
        Ok(Ledger {
            connection: Mutex::new(connection),
        })
    }

    /// Records a billed call once; answers false when `reference` was already billed.
    pub fn bill(
        &self,
        reference: &str,
        day: i64,
        at_ms: u64,
        model: &str,
        images: u32,
        cny: f64,
    ) -> Result<bool, StoreError> {
        let inserted = self.lock().execute(
            "INSERT OR IGNORE INTO ledger (ref, day, at_ms, model, images, cny)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![reference, day, at_ms as i64, model, images, cny],
        )?;
        Ok(inserted == 1)
    }

    /// What `day` cost so far.
    pub fn day_totals(&self, day: i64) -> Result<Totals, StoreError> {
        self.totals("WHERE day = ?1", day)
    }

    /// What every recorded day cost, by model: `(model, images, cny)`.
    pub fn totals_by_model(&self) -> Result<Vec<(String, u64, f64)>, StoreError> {
        let connection = self.lock();
        let mut statement = connection.prepare(
            "SELECT model, SUM(images), SUM(cny) FROM ledger GROUP BY model ORDER BY model",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)? as u64,
                row.get::<_, f64>(2)?,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn totals(&self, filter: &str, day: i64) -> Result<Totals, StoreError> {
        let sql = format!(
            "SELECT
                COALESCE(SUM(CASE WHEN model != 'aitryon-parsing-v1' THEN images ELSE 0 END), 0),
                COALESCE(SUM(images), 0),
                COALESCE(SUM(cny), 0.0)
             FROM ledger {filter}"
        );
        let totals = self.lock().query_row(&sql, params![day], |row| {
            Ok(Totals {
                tryon_images: row.get::<_, i64>(0)? as u64,
                all_images: row.get::<_, i64>(1)? as u64,
                cny: row.get(2)?,
            })
        })?;
        Ok(totals)
    }

    /// Counts one more try-on for `shopper` on `day` if the limit allows it; answers
    /// whether it did. Check and count happen in one statement, so concurrent creates
    /// cannot both take the last one.
    pub fn take_shopper_slot(
        &self,
        day: i64,
        shopper: &str,
        limit: u32,
    ) -> Result<bool, StoreError> {
        let connection = self.lock();
        let changed = connection.execute(
            "INSERT INTO shopper_days (day, shopper, creates) VALUES (?1, ?2, 1)
             ON CONFLICT(day, shopper) DO UPDATE SET creates = creates + 1
             WHERE creates < ?3",
            params![day, shopper, limit],
        )?;
        Ok(changed == 1)
    }

    /// Gives back a try-on counted by [`Ledger::take_shopper_slot`] (the upstream refused it).
    pub fn refund_shopper_slot(&self, day: i64, shopper: &str) -> Result<(), StoreError> {
        self.lock().execute(
            "UPDATE shopper_days SET creates = MAX(creates - 1, 0) WHERE day = ?1 AND shopper = ?2",
            params![day, shopper],
        )?;
        Ok(())
    }

    /// Try-ons `shopper` started on `day`.
    pub fn shopper_used(&self, day: i64, shopper: &str) -> Result<u32, StoreError> {
        let used = self
            .lock()
            .query_row(
                "SELECT creates FROM shopper_days WHERE day = ?1 AND shopper = ?2",
                params![day, shopper],
                |row| row.get::<_, u32>(0),
            )
            .optional()?;
        Ok(used.unwrap_or(0))
    }

    /// Counts one more stored upload of `bytes` for `shopper` at `now_ms` (on Beijing day
    /// `day`) if `limits` allow it, or answers which limit is reached. Check and count
    /// happen in one transaction under the connection's lock, so concurrent uploads of
    /// one shopper cannot together overshoot a limit.
    pub fn take_upload(
        &self,
        shopper: &str,
        day: i64,
        now_ms: u64,
        bytes: u64,
        limits: UploadLimits,
    ) -> Result<UploadTake, StoreError> {
        let mut connection = self.lock();
        // Immediate, so that the write lock is held from the first read and no other
        // connection to the file can slip a change in between.
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let window_start = now_ms.saturating_sub(UPLOAD_WINDOW_MS) as i64;
        let mut hourly_frees_at_ms = None;
        if limits.per_hour > 0 {
            let in_window: i64 = transaction.query_row(
                "SELECT COUNT(*) FROM upload_usage WHERE shopper = ?1 AND at_ms > ?2",
                params![shopper, window_start],
                |row| row.get(0),
            )?;
            let limit = i64::from(limits.per_hour);
            if in_window >= limit {
                // One more fits once all but limit - 1 of the window's uploads have left it;
                // the last of those to leave is the one at this offset, oldest first.
                let oldest_to_leave: i64 = transaction.query_row(
                    "SELECT at_ms FROM upload_usage WHERE shopper = ?1 AND at_ms > ?2
                     ORDER BY at_ms LIMIT 1 OFFSET ?3",
                    params![shopper, window_start, in_window - limit],
                    |row| row.get(0),
                )?;
                hourly_frees_at_ms = Some(oldest_to_leave as u64 + UPLOAD_WINDOW_MS);
            }
        }
        let mut daily = false;
        if limits.bytes_per_day > 0 {
            let used: i64 = transaction.query_row(
                "SELECT COALESCE(SUM(bytes), 0) FROM upload_usage WHERE shopper = ?1 AND day = ?2",
                params![shopper, day],
                |row| row.get(0),
            )?;
            daily = (used as u64).saturating_add(bytes) > limits.bytes_per_day;
        }
        if daily || hourly_frees_at_ms.is_some() {
            return Ok(UploadTake::Full {
                hourly_frees_at_ms,
                daily,
            });
        }
        transaction.execute(
            "INSERT INTO upload_usage (shopper, day, at_ms, bytes) VALUES (?1, ?2, ?3, ?4)",
            params![shopper, day, now_ms as i64, bytes as i64],
        )?;
        let id = transaction.last_insert_rowid();
        transaction.commit()?;
        Ok(UploadTake::Taken(id))
    }

    /// Gives back an upload counted by [`Ledger::take_upload`] that was not stored after all.
    pub fn refund_upload(&self, id: i64) -> Result<(), StoreError> {
        self.lock()
            .execute("DELETE FROM upload_usage WHERE id = ?1", params![id])?;
        Ok(())
    }

    /// Uploads `shopper` stored within the hour before `now_ms`, and their bytes on `day`.
    pub fn uploads_used(
        &self,
        shopper: &str,
        day: i64,
        now_ms: u64,
    ) -> Result<(u32, u64), StoreError> {
        let window_start = now_ms.saturating_sub(UPLOAD_WINDOW_MS) as i64;
        let used = self.lock().query_row(
            "SELECT
                COALESCE(SUM(CASE WHEN at_ms > ?3 THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN day = ?2 THEN bytes ELSE 0 END), 0)
             FROM upload_usage WHERE shopper = ?1",
            params![shopper, day, window_start],
            |row| Ok((row.get::<_, i64>(0)? as u32, row.get::<_, i64>(1)? as u64)),
        )?;
        Ok(used)
    }

    /// Forgets the daily counts (try-ons and uploads) of days before `day`. The rolling
    /// upload hour reaches at most into yesterday, so pruning older days loses nothing.
    pub fn prune_days(&self, day: i64) -> Result<(), StoreError> {
        let connection = self.lock();
        connection.execute("DELETE FROM shopper_days WHERE day < ?1", params![day])?;
        connection.execute("DELETE FROM upload_usage WHERE day < ?1", params![day])?;
        Ok(())
    }

    /// Records a hosted file.
    pub fn add_file(
        &self,
        id: &str,
        kind: FileKind,
        shopper: &str,
        created_ms: u64,
    ) -> Result<(), StoreError> {
        self.lock().execute(
            "INSERT OR REPLACE INTO files (id, kind, shopper, created_ms) VALUES (?1, ?2, ?3, ?4)",
            params![id, kind.as_str(), shopper, created_ms as i64],
        )?;
        Ok(())
    }

    /// A hosted file's entry.
    pub fn file(&self, id: &str) -> Result<Option<FileEntry>, StoreError> {
        let entry = self
            .lock()
            .query_row(
                "SELECT kind, shopper, created_ms FROM files WHERE id = ?1",
                params![id],
                |row| {
                    Ok(FileEntry {
                        kind: FileKind::parse(&row.get::<_, String>(0)?),
                        shopper: row.get(1)?,
                        created_ms: row.get::<_, i64>(2)? as u64,
                    })
                },
            )
            .optional()?;
        Ok(entry)
    }

    /// Ids of the files of `shopper`.
    pub fn files_of(&self, shopper: &str) -> Result<Vec<String>, StoreError> {
        self.ids("SELECT id FROM files WHERE shopper = ?1", shopper)
    }

    /// Ids of the files created before `cutoff_ms`.
    pub fn files_before(&self, cutoff_ms: u64) -> Result<Vec<String>, StoreError> {
        self.ids(
            "SELECT id FROM files WHERE created_ms < ?1",
            (cutoff_ms as i64).to_string(),
        )
    }

    fn ids(&self, sql: &str, arg: impl rusqlite::ToSql) -> Result<Vec<String>, StoreError> {
        let connection = self.lock();
        let mut statement = connection.prepare(sql)?;
        let rows = statement.query_map(params![arg], |row| row.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Forgets a hosted file.
    pub fn remove_file(&self, id: &str) -> Result<(), StoreError> {
        self.lock()
            .execute("DELETE FROM files WHERE id = ?1", params![id])?;
        Ok(())
    }

    /// Whether the database answers a write: for the readiness check.
    pub fn writable(&self) -> Result<(), StoreError> {
        self.lock()
            .execute_batch("BEGIN IMMEDIATE; DELETE FROM shopper_days WHERE day < -1; COMMIT;")?;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // Every change is one statement or one transaction, which rolls back when dropped,
        // so a panic cannot leave a half-done change.
        self.connection.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> (tempfile::TempDir, Ledger) {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("jobs.sqlite3")).unwrap();
        (dir, ledger)
    }

    #[test]
    fn a_job_is_billed_once_and_days_are_summed_apart() {
        let (_dir, ledger) = ledger();
        assert!(ledger.bill("job-1", 10, 0, "aitryon-plus", 1, 0.5).unwrap());
        assert!(!ledger.bill("job-1", 10, 0, "aitryon-plus", 1, 0.5).unwrap());
        ledger
            .bill("seg-1", 10, 0, "aitryon-parsing-v1", 1, 0.004)
            .unwrap();
        ledger.bill("job-2", 11, 0, "aitryon", 1, 0.2).unwrap();
        let day = ledger.day_totals(10).unwrap();
        assert_eq!(day.tryon_images, 1);
        assert_eq!(day.all_images, 2);
        assert!((day.cny - 0.504).abs() < 1e-9);
        assert_eq!(ledger.day_totals(12).unwrap(), Totals::default());
    }

    #[test]
    fn the_shopper_limit_stops_at_the_limit_and_refunds_give_one_back() {
        let (_dir, ledger) = ledger();
        assert!(ledger.take_shopper_slot(1, "t:a", 2).unwrap());
        assert!(ledger.take_shopper_slot(1, "t:a", 2).unwrap());
        assert!(!ledger.take_shopper_slot(1, "t:a", 2).unwrap());
        assert!(ledger.take_shopper_slot(1, "t:b", 2).unwrap());
        assert!(ledger.take_shopper_slot(2, "t:a", 2).unwrap());
        ledger.refund_shopper_slot(1, "t:a").unwrap();
        assert_eq!(ledger.shopper_used(1, "t:a").unwrap(), 1);
        assert!(ledger.take_shopper_slot(1, "t:a", 2).unwrap());
    }

    const HOUR: u64 = UPLOAD_WINDOW_MS;

    #[test]
    fn the_hourly_upload_count_rolls_and_says_when_a_slot_frees() {
        let (_dir, ledger) = ledger();
        let limits = UploadLimits {
            per_hour: 2,
            bytes_per_day: 0,
        };
        let t0 = 10 * HOUR;
        assert!(matches!(
            ledger.take_upload("t:a", 1, t0, 10, limits).unwrap(),
            UploadTake::Taken(_)
        ));
        assert!(matches!(
            ledger.take_upload("t:a", 1, t0 + 1000, 10, limits).unwrap(),
            UploadTake::Taken(_)
        ));
        // The third within the hour waits for the first to leave the window.
        assert_eq!(
            ledger.take_upload("t:a", 1, t0 + 2000, 10, limits).unwrap(),
            UploadTake::Full {
                hourly_frees_at_ms: Some(t0 + HOUR),
                daily: false
            }
        );
        assert!(matches!(
            ledger.take_upload("t:b", 1, t0 + 2000, 10, limits).unwrap(),
            UploadTake::Taken(_)
        ));
        assert_eq!(ledger.uploads_used("t:a", 1, t0 + 2000).unwrap(), (2, 20));
        assert!(matches!(
            ledger.take_upload("t:a", 1, t0 + HOUR, 10, limits).unwrap(),
            UploadTake::Taken(_)
        ));
    }

    #[test]
    fn a_lowered_hourly_limit_waits_for_enough_uploads_to_leave() {
        let (_dir, ledger) = ledger();
        let open = UploadLimits::default();
        for i in 0..4 {
            ledger
                .take_upload("t:a", 1, HOUR + i * 1000, 1, open)
                .unwrap();
        }
        let lowered = UploadLimits {
            per_hour: 2,
            bytes_per_day: 0,
        };
        // Four in the window and room for two: the first three must leave.
        assert_eq!(
            ledger
                .take_upload("t:a", 1, HOUR + 5000, 1, lowered)
                .unwrap(),
            UploadTake::Full {
                hourly_frees_at_ms: Some(2 * HOUR + 2000),
                daily: false
            }
        );
    }

    #[test]
    fn daily_upload_bytes_stop_at_the_limit_per_day_and_refunds_give_them_back() {
        let (_dir, ledger) = ledger();
        let limits = UploadLimits {
            per_hour: 0,
            bytes_per_day: 100,
        };
        let UploadTake::Taken(first) = ledger.take_upload("t:a", 1, 0, 60, limits).unwrap() else {
            panic!("the first upload fits");
        };
        assert_eq!(
            ledger.take_upload("t:a", 1, 1, 41, limits).unwrap(),
            UploadTake::Full {
                hourly_frees_at_ms: None,
                daily: true
            }
        );
        assert!(matches!(
            ledger.take_upload("t:a", 1, 2, 40, limits).unwrap(),
            UploadTake::Taken(_)
        ));
        assert!(matches!(
            ledger.take_upload("t:a", 2, 3, 100, limits).unwrap(),
            UploadTake::Taken(_)
        ));
        ledger.refund_upload(first).unwrap();
        assert_eq!(ledger.uploads_used("t:a", 1, 4).unwrap(), (2, 40));
        assert!(matches!(
            ledger.take_upload("t:a", 1, 5, 60, limits).unwrap(),
            UploadTake::Taken(_)
        ));
    }

    #[test]
    fn both_upload_limits_are_reported_when_both_are_reached() {
        let (_dir, ledger) = ledger();
        let limits = UploadLimits {
            per_hour: 1,
            bytes_per_day: 10,
        };
        ledger.take_upload("t:a", 1, HOUR, 10, limits).unwrap();
        assert_eq!(
            ledger.take_upload("t:a", 1, HOUR + 1, 1, limits).unwrap(),
            UploadTake::Full {
                hourly_frees_at_ms: Some(2 * HOUR),
                daily: true
            }
        );
        assert_eq!(ledger.uploads_used("t:a", 1, HOUR + 1).unwrap(), (1, 10));
    }

    #[test]
    fn old_upload_days_are_pruned_with_the_try_on_counts() {
        let (_dir, ledger) = ledger();
        let open = UploadLimits::default();
        ledger.take_upload("t:a", 5, 0, 10, open).unwrap();
        ledger.take_upload("t:a", 7, 1, 20, open).unwrap();
        ledger.prune_days(6).unwrap();
        assert_eq!(ledger.uploads_used("t:a", 5, 1).unwrap(), (1, 0));
        assert_eq!(ledger.uploads_used("t:a", 7, 1).unwrap(), (1, 20));
    }

    #[test]
    fn files_are_found_by_owner_and_age() {
        let (_dir, ledger) = ledger();
        ledger.add_file("a", FileKind::Upload, "t:x", 100).unwrap();
        ledger.add_file("b", FileKind::Crop, "t:y", 200).unwrap();
        assert_eq!(ledger.files_of("t:x").unwrap(), vec!["a"]);
        assert_eq!(ledger.files_before(150).unwrap(), vec!["a"]);
        assert_eq!(ledger.file("b").unwrap().unwrap().kind, FileKind::Crop);
        ledger.remove_file("a").unwrap();
        assert_eq!(ledger.file("a").unwrap(), None);
    }
}
