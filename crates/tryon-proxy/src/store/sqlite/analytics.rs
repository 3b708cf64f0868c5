//! The dashboard's tables of the SQLite store, in the same file as the jobs: the widget's funnel events and one anonymous row per job, both kept for 90 days.
//!
//! Jobs themselves are deleted after the retention period (24 h by default) and on
//! "delete my data", which is right for records that lead to a shopper's photos, but a
//! month of figures needs more. So every job also has a row in `job_stats` holding only
//! what the figures need: its times, state, catalogue code, model, upstream and, once an
//! event names it, its product. No shopper key, photo or URL is in it. The row is written
//! by [`super::jobs::JobDb`] in the same transaction as the job itself
//! ([`record_job`]), so the two cannot disagree, and it stays when the job is deleted.
//!
//! Funnel events (`funnel_events`) keep the product, the step, the time and the shopper
//! key: the key counts each shopper once per step, and lets "delete my data" delete that
//! shopper's events too.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, params};
use tryon_api::funnel::FunnelStep;

use crate::store::{JobRecord, JobStat, StepCount, StoreError, StoredEvent};

/// The dashboard's tables.
pub struct Analytics {
    connection: Mutex<Connection>,
}

/// Creates the dashboard's tables if needed. A database written before `job_stats`
/// existed gets a row for every job it still holds, once, when the table is made, so the
/// figures start with what is there (without end times, which were never recorded).
pub fn migrate(connection: &Connection) -> Result<(), StoreError> {
    let had_stats: bool = connection
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'job_stats'")?
        .exists([])?;
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS job_stats (
            id TEXT PRIMARY KEY,
            created_ms INTEGER NOT NULL,
            finished_ms INTEGER,
            status TEXT NOT NULL,
            code TEXT,
            model TEXT NOT NULL,
            upstream TEXT NOT NULL,
            product TEXT
        );
        CREATE INDEX IF NOT EXISTS job_stats_created ON job_stats(created_ms);
        CREATE TABLE IF NOT EXISTS funnel_events (
            id INTEGER PRIMARY KEY,
            at_ms INTEGER NOT NULL,
            product TEXT NOT NULL,
            step TEXT NOT NULL,
            shopper TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS funnel_events_at ON funnel_events(at_ms);
        CREATE INDEX IF NOT EXISTS funnel_events_shopper ON funnel_events(shopper);",
    )?;
    let has_jobs: bool = connection
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'jobs'")?
        .exists([])?;
    if !had_stats && has_jobs {
        let copied = connection.execute(
            "INSERT OR IGNORE INTO job_stats (id, created_ms, finished_ms, status, code, model, upstream)
             SELECT id, created_ms, NULL,
                    COALESCE(json_extract(record, '$.status'), 'UNKNOWN'),
                    json_extract(record, '$.code'),
                    COALESCE(json_extract(request, '$.model'), ''),
                    COALESCE(json_extract(record, '$.upstream'), 'aitryon')
             FROM jobs",
            [],
        )?;
        if copied > 0 {
            tracing::info!(
                jobs = copied,
                "the dashboard's job rows were filled from the stored jobs"
            );
        }
    }
    Ok(())
}

/// Writes a job's dashboard row inside the caller's transaction: its state, code and
/// model now, and, the first time it is seen ended, `now_ms` as its end.
pub fn record_job(
    connection: &Connection,
    id: &str,
    created_ms: u64,
    model: &str,
    record: &JobRecord,
    now_ms: u64,
) -> Result<(), StoreError> {
    let finished_ms = record.status.is_terminal().then_some(now_ms as i64);
    connection.execute(
        "INSERT INTO job_stats (id, created_ms, finished_ms, status, code, model, upstream)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(id) DO UPDATE SET
            status = excluded.status,
            code = excluded.code,
            model = excluded.model,
            upstream = excluded.upstream,
            finished_ms = COALESCE(job_stats.finished_ms, excluded.finished_ms)",
        params![
            id,
            created_ms as i64,
            finished_ms,
            record.status.as_str(),
            record.code,
            model,
            record.upstream.as_str()
        ],
    )?;
    Ok(())
}

impl Analytics {
    /// Opens (and creates if needed) the tables in the database at `path`.
    pub fn open(path: &Path) -> Result<Analytics, StoreError> {
        let connection = super::connect(path)?;
        migrate(&connection)?;
        Ok(Analytics {
            connection: Mutex::new(connection),
        })
    }

    /// Stores a batch of events in one transaction: all of them or none.
    pub fn record_events(&self, events: &[StoredEvent]) -> Result<(), StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction()?;
        {
            let mut insert = transaction.prepare_cached(
                "INSERT INTO funnel_events (at_ms, product, step, shopper) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for event in events {
                insert.execute(params![
                    event.at_ms as i64,
                    event.product,
                    event.step.as_str(),
                    event.shopper
                ])?;
            }
        }
        transaction.commit()?;
        Ok(())
    }

    /// Ties a job to its product, unless an earlier event already did.
    pub fn link_product(&self, job_id: &str, product: &str) -> Result<(), StoreError> {
        self.lock().execute(
            "UPDATE job_stats SET product = ?2 WHERE id = ?1 AND product IS NULL",
            params![job_id, product],
        )?;
        Ok(())
    }

    /// The job rows created at or after `since_ms`, oldest first, with what the ledger
    /// billed for each.
    pub fn jobs_since(&self, since_ms: u64, since_day: i64) -> Result<Vec<JobStat>, StoreError> {
        let connection = self.lock();
        // The ledger's table is made by the ledger's own connection at start; without it
        // (a database the ledger never opened) nothing was billed.
        let has_ledger: bool = connection
            .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ledger'")?
            .exists([])?;
        // A job is billed when it ends, never before it was made, so the bills of the
        // period's jobs are all on or after its first day (the ledger is indexed by day).
        let billed = if has_ledger {
            "LEFT JOIN (SELECT ref, SUM(images) AS images, SUM(cny) AS cny FROM ledger
                        WHERE day >= ?2 GROUP BY ref) AS bill
             ON bill.ref = job_stats.id"
        } else {
            "LEFT JOIN (SELECT NULL AS ref, NULL AS images, NULL AS cny WHERE ?2 IS NOT NULL) AS bill ON 0"
        };
        let sql = format!(
            "SELECT id, created_ms, finished_ms, status, code, model, upstream, product,
                    COALESCE(bill.images, 0), COALESCE(bill.cny, 0.0)
             FROM job_stats {billed}
             WHERE created_ms >= ?1 ORDER BY created_ms, id"
        );
        let mut statement = connection.prepare(&sql)?;
        let rows = statement.query_map(params![since_ms as i64, since_day], |row| {
            Ok(JobStat {
                id: row.get(0)?,
                created_ms: row.get::<_, i64>(1)? as u64,
                finished_ms: row.get::<_, Option<i64>>(2)?.map(|ms| ms as u64),
                status: row.get(3)?,
                code: row.get(4)?,
                model: row.get(5)?,
                upstream: row.get(6)?,
                product: row.get(7)?,
                images: row.get::<_, i64>(8)? as u64,
                cny: row.get(9)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Events and distinct shoppers per step since `since_ms`: per product, and in total
    /// (a shopper who reached a step on two products counts once in the total).
    pub fn funnel_since(&self, since_ms: u64) -> Result<Vec<StepCount>, StoreError> {
        let connection = self.lock();
        let mut counts = Vec::new();
        for (sql, by_product) in [
            (
                "SELECT product, step, COUNT(*), COUNT(DISTINCT shopper) FROM funnel_events
                 WHERE at_ms >= ?1 GROUP BY product, step",
                true,
            ),
            (
                "SELECT '', step, COUNT(*), COUNT(DISTINCT shopper) FROM funnel_events
                 WHERE at_ms >= ?1 GROUP BY step",
                false,
            ),
        ] {
            let mut statement = connection.prepare(sql)?;
            let rows = statement.query_map(params![since_ms as i64], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)? as u64,
                    row.get::<_, i64>(3)? as u64,
                ))
            })?;
            for row in rows {
                let (product, step, events, shoppers) = row?;
                // Only known steps are ever stored; a row of another would be skipped.
                if let Some(step) = FunnelStep::parse(&step) {
                    counts.push(StepCount {
                        product: by_product.then_some(product),
                        step,
                        events,
                        shoppers,
                    });
                }
            }
        }
        Ok(counts)
    }

    /// Deletes the events and job rows older than `cutoff_ms`; answers how many of each.
    pub fn prune_before(&self, cutoff_ms: u64) -> Result<(u64, u64), StoreError> {
        let connection = self.lock();
        let events = connection.execute(
            "DELETE FROM funnel_events WHERE at_ms < ?1",
            params![cutoff_ms as i64],
        )?;
        let jobs = connection.execute(
            "DELETE FROM job_stats WHERE created_ms < ?1",
            params![cutoff_ms as i64],
        )?;
        Ok((events as u64, jobs as u64))
    }

    /// Deletes every event of `shopper` (who deletes their data); answers how many.
    pub fn forget_shopper(&self, shopper: &str) -> Result<u64, StoreError> {
        let deleted = self.lock().execute(
            "DELETE FROM funnel_events WHERE shopper = ?1",
            params![shopper],
        )?;
        Ok(deleted as u64)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // Every change is one statement or one transaction, which rolls back when dropped.
        self.connection.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use tryon_api::TaskStatus;
    use tryon_api::generation::UpstreamKind;

    use super::*;

    fn event(at_ms: u64, product: &str, step: FunnelStep, shopper: &str) -> StoredEvent {
        StoredEvent {
            at_ms,
            product: product.into(),
            step,
            shopper: shopper.into(),
        }
    }

    #[test]
    fn the_funnel_counts_events_and_each_shopper_once_per_step() {
        let dir = tempfile::tempdir().unwrap();
        let analytics = Analytics::open(&dir.path().join("jobs.sqlite3")).unwrap();
        analytics
            .record_events(&[
                event(10, "tee", FunnelStep::Open, "t:a"),
                event(11, "tee", FunnelStep::Open, "t:a"),
                event(12, "tee", FunnelStep::Open, "t:b"),
                event(13, "dress", FunnelStep::Open, "t:a"),
                event(14, "tee", FunnelStep::AddToCart, "t:b"),
                event(1, "tee", FunnelStep::Open, "t:c"),
            ])
            .unwrap();
        let counts = analytics.funnel_since(10).unwrap();
        let find = |product: Option<&str>, step| {
            counts
                .iter()
                .find(|c| c.product.as_deref() == product && c.step == step)
                .map(|c| (c.events, c.shoppers))
        };
        assert_eq!(find(Some("tee"), FunnelStep::Open), Some((3, 2)));
        assert_eq!(find(Some("dress"), FunnelStep::Open), Some((1, 1)));
        assert_eq!(
            find(None, FunnelStep::Open),
            Some((4, 2)),
            "t:a once in total"
        );
        assert_eq!(find(Some("tee"), FunnelStep::AddToCart), Some((1, 1)));
        assert_eq!(find(Some("tee"), FunnelStep::Photo), None);

        assert_eq!(analytics.forget_shopper("t:b").unwrap(), 2);
        assert_eq!(analytics.prune_before(11).unwrap(), (2, 0));
        let left = analytics.funnel_since(0).unwrap();
        let total: u64 = left
            .iter()
            .filter(|c| c.product.is_none())
            .map(|c| c.events)
            .sum();
        assert_eq!(total, 2, "{left:?}");
    }

    #[test]
    fn a_job_row_keeps_its_first_end_and_its_product() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.sqlite3");
        let analytics = Analytics::open(&path).unwrap();
        let connection = Connection::open(&path).unwrap();
        let mut record = JobRecord::pending(UpstreamKind::QwenImage);
        record_job(&connection, "j1", 1_000, "qwen-image-2.0", &record, 1_000).unwrap();
        assert_eq!(analytics.jobs_since(0, 0).unwrap()[0].finished_ms, None);
        record.status = TaskStatus::Succeeded;
        record_job(&connection, "j1", 1_000, "qwen-image-2.0", &record, 9_000).unwrap();
        record_job(&connection, "j1", 1_000, "qwen-image-2.0", &record, 20_000).unwrap();
        analytics.link_product("j1", "tee-01").unwrap();
        analytics.link_product("j1", "other").unwrap();
        let rows = analytics.jobs_since(0, 0).unwrap();
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.finished_ms, Some(9_000), "the first end is kept");
        assert_eq!(row.status, "SUCCEEDED");
        assert_eq!(row.upstream, "qwen-image");
        assert_eq!(
            row.product.as_deref(),
            Some("tee-01"),
            "the first product is kept"
        );
        assert_eq!((row.images, row.cny), (0, 0.0), "no ledger, nothing billed");
        assert!(analytics.jobs_since(1_001, 0).unwrap().is_empty());
    }

    #[test]
    fn an_older_database_gets_a_row_for_each_stored_job_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.sqlite3");
        {
            // The jobs table as every earlier version wrote it, and no job_stats.
            let connection = Connection::open(&path).unwrap();
            connection
                .execute_batch(
                    r#"CREATE TABLE jobs (id TEXT PRIMARY KEY, created_ms INTEGER NOT NULL,
                        request TEXT NOT NULL, record TEXT NOT NULL, shopper TEXT NOT NULL DEFAULT '');
                    INSERT INTO jobs VALUES ('old', 5, '{"model":"aitryon-plus","input":{}}',
                        '{"status":"FAILED","code":"InvalidPerson","upstream_id":null,"submit_time":null,
                          "scheduled_time":null,"end_time":null,"message":null,"image_url":null,"usage":null}', 't:x');"#,
                )
                .unwrap();
        }
        let analytics = Analytics::open(&path).unwrap();
        let rows = analytics.jobs_since(0, 0).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].status, "FAILED");
        assert_eq!(rows[0].code.as_deref(), Some("InvalidPerson"));
        assert_eq!(rows[0].model, "aitryon-plus");
        assert_eq!(rows[0].upstream, "aitryon");
        // The copy is made when the table is, not at every start.
        Connection::open(&path)
            .unwrap()
            .execute("DELETE FROM job_stats", [])
            .unwrap();
        let analytics = Analytics::open(&path).unwrap();
        assert!(analytics.jobs_since(0, 0).unwrap().is_empty());
    }
}
