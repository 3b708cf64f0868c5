//! The shared state store: PostgreSQL through `sqlx` (`TRYON_DATABASE_URL=postgres://...`), so that several replicas of one shop remember one set of jobs, bills, counts and files.
//!
//! The schema is made and brought up to date by the migrations in
//! `crates/tryon-proxy/migrations/postgres`, run once at start (sqlx holds an advisory lock
//! while it migrates, so replicas starting together do not race). Checks that count
//! (a shopper's daily try-ons, uploads per hour and bytes per day) are one statement or
//! one transaction under a per-shopper advisory lock, so replicas cannot together
//! overshoot them. Text is ordered with the "C" collation, as SQLite orders it, whatever
//! the database's locale.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row, Transaction};
use tokio::sync::mpsc;
use tryon_api::ErrorKind;
use tryon_clock::Clock;

use super::{
    CapCheck, Change, FileEntry, FileKind, JobFilter, JobRecord, JobRow, JobStat, StateStore,
    StepCount, StoreError, StoredEvent, StoredJob, StoredKey, Totals, UPLOAD_WINDOW_MS,
    UploadLimits, UploadTake,
};
use tryon_api::funnel::FunnelStep;

/// The schema, embedded in the binary so that a replica needs nothing beside it.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a statement waits for a free connection before the call fails (and the
/// shopper is told to try again): a database that does not answer must not hold requests.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections per replica: a handful of requests and poll loops write at once.
const MAX_CONNECTIONS: u32 = 10;

/// Why `TRYON_DATABASE_URL` cannot be used, found before anything connects.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DatabaseUrlError(String);

/// A checked `postgres://` URL; its password is never shown.
#[derive(Clone)]
pub struct DatabaseUrl {
    options: PgConnectOptions,
    summary: String,
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary)
    }
}

impl DatabaseUrl {
    /// Checks the URL's form: the `postgres` or `postgresql` scheme, a host (or a socket
    /// folder) and what sqlx accepts. Nothing is connected yet.
    pub fn parse(raw: &str) -> Result<DatabaseUrl, DatabaseUrlError> {
        let raw = raw.trim();
        let scheme = raw.split_once("://").map(|(scheme, _)| scheme);
        if !matches!(scheme, Some("postgres" | "postgresql")) {
            return Err(DatabaseUrlError(
                "must start with postgres:// (for example postgres://tryon@db.internal:5432/tryon)"
                    .to_owned(),
            ));
        }
        let options = PgConnectOptions::from_str(raw).map_err(|err| {
            // sqlx's message quotes no part of the URL, so the password cannot leak here.
            DatabaseUrlError(format!("is not a PostgreSQL URL sqlx accepts: {err}"))
        })?;
        let summary = format!(
            "PostgreSQL at {}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("(the user's database)")
        );
        Ok(DatabaseUrl { options, summary })
    }

    /// `PostgreSQL at host:port/database`, for the logs.
    pub fn summary(&self) -> &str {
        &self.summary
    }
}

/// The state in PostgreSQL.
pub struct PgStore {
    pool: PgPool,
    summary: String,
    /// When a job's dashboard row is first seen ended.
    clock: Clock,
}

impl PgStore {
    /// Connects and runs the migrations that this database has not had yet.
    pub async fn connect(url: &DatabaseUrl, clock: Clock) -> Result<PgStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A quiet replica keeps few connections open on the shop's database.
            .idle_timeout(Some(Duration::from_secs(60)))
            .connect_with(url.options.clone())
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(PgStore {
            pool,
            summary: url.summary.clone(),
            clock,
        })
    }

    /// Writes a job's dashboard row inside `transaction`: its state, code and model now,
    /// and, the first time it is seen ended, now as its end.
    async fn record_job_stat(
        &self,
        transaction: &mut Transaction<'_, Postgres>,
        job: &JobRow<'_>,
    ) -> Result<(), StoreError> {
        let record: &JobRecord = job.record;
        let finished_ms = record
            .status
            .is_terminal()
            .then_some(ms(self.clock.unix_ms()));
        sqlx::query(
            "INSERT INTO job_stats (id, created_ms, finished_ms, status, code, model, upstream)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET
                status = excluded.status,
                code = excluded.code,
                model = excluded.model,
                upstream = excluded.upstream,
                finished_ms = COALESCE(job_stats.finished_ms, excluded.finished_ms)",
        )
        .bind(job.id)
        .bind(ms(job.created_ms))
        .bind(finished_ms)
        .bind(record.status.as_str())
        .bind(record.code.as_deref())
        .bind(job.request.model.as_str())
        .bind(record.upstream.as_str())
        .execute(&mut **transaction)
        .await?;
        Ok(())
    }

    /// Writes a new job (with its key, dashboard row and notices) inside `transaction`.
    async fn insert_job(
        &self,
        transaction: &mut Transaction<'_, Postgres>,
        job: &JobRow<'_>,
        key: Option<(&str, &str)>,
    ) -> Result<(), StoreError> {
        let request_json = serde_json::to_string(job.request)?;
        let record_json = serde_json::to_string(job.record)?;
        sqlx::query(
            "INSERT INTO jobs (id, created_ms, shopper, request, record)
             VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)
             ON CONFLICT (id) DO UPDATE SET request = excluded.request, record = excluded.record",
        )
        .bind(job.id)
        .bind(ms(job.created_ms))
        .bind(job.shopper)
        .bind(request_json)
        .bind(record_json)
        .execute(&mut **transaction)
        .await?;
        self.record_job_stat(transaction, job).await?;
        notify(transaction, JOB_CHANNEL, job.id).await?;
        if !job.record.status.is_terminal() && job.record.upstream_id.is_none() {
            notify(transaction, QUEUE_CHANNEL, job.id).await?;
        }
        if let Some((key, fingerprint)) = key {
            sqlx::query(
                "INSERT INTO idempotency_keys (shopper, key, fingerprint, job_id, created_ms)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (shopper, key) DO UPDATE SET
                    fingerprint = excluded.fingerprint,
                    job_id = excluded.job_id,
                    created_ms = excluded.created_ms",
            )
            .bind(job.shopper)
            .bind(key)
            .bind(fingerprint)
            .bind(job.id)
            .bind(ms(job.created_ms))
            .execute(&mut **transaction)
            .await?;
        }
        Ok(())
    }

    async fn ids(
        &self,
        sql: &'static str,
        bind: impl sqlx::Encode<'static, Postgres> + sqlx::Type<Postgres> + Send + 'static,
    ) -> Result<Vec<String>, StoreError> {
        let ids = sqlx::query_scalar::<_, String>(sql)
            .bind(bind)
            .fetch_all(&self.pool)
            .await?;
        Ok(ids)
    }
}

/// The channel on which every save or delete of a job is announced, its id as payload.
const JOB_CHANNEL: &str = "tryon_job";
/// The channel on which a job joining the queue of jobs to send is announced.
const QUEUE_CHANNEL: &str = "tryon_queue";

/// Announces `payload` on `channel` when `transaction` commits (and never if it does not).
async fn notify(
    transaction: &mut Transaction<'_, Postgres>,
    channel: &str,
    payload: &str,
) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload)
        .execute(&mut **transaction)
        .await?;
    Ok(())
}

/// Counts the jobs not yet ended.
const UNFINISHED_COUNT: &str = "SELECT COUNT(*) FROM jobs WHERE COALESCE(record->>'status', '')
    NOT IN ('SUCCEEDED', 'FAILED', 'CANCELED', 'UNKNOWN')";

/// What `day` cost so far, read on `connection` (inside a transaction or not).
async fn day_totals_in(connection: &mut PgConnection, day: i64) -> Result<Totals, StoreError> {
    let (tryon_images, all_images, cny) = sqlx::query_as::<_, (i64, i64, f64)>(
        "SELECT
            COALESCE(SUM(CASE WHEN model <> 'aitryon-parsing-v1' THEN images ELSE 0 END), 0)::BIGINT,
            COALESCE(SUM(images), 0)::BIGINT,
            COALESCE(SUM(cny), 0.0)::DOUBLE PRECISION
         FROM ledger WHERE day = $1",
    )
    .bind(day)
    .fetch_one(&mut *connection)
    .await?;
    Ok(Totals {
        tryon_images: unsigned(tryon_images),
        all_images: unsigned(all_images),
        cny,
    })
}

/// A job row of `SELECT id, created_ms, shopper, request::text, record::text`.
fn stored_job(row: &PgRow) -> Result<StoredJob, StoreError> {
    Ok(StoredJob {
        id: row.try_get(0)?,
        created_ms: unsigned(row.try_get(1)?),
        shopper: row.try_get(2)?,
        request: serde_json::from_str(row.try_get::<&str, _>(3)?)?,
        record: serde_json::from_str(row.try_get::<&str, _>(4)?)?,
    })
}

/// Milliseconds as PostgreSQL's BIGINT: every time here is after 1970 and before 2262.
fn ms(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A BIGINT read back as the unsigned figure it was written from.
fn unsigned(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

#[async_trait]
impl StateStore for PgStore {
    fn describe(&self) -> String {
        self.summary.clone()
    }

    async fn writable(&self) -> Result<(), StoreError> {
        // A write that changes nothing still needs a primary that accepts writes.
        sqlx::query("DELETE FROM shopper_days WHERE day < -1")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn save_new_job(
        &self,
        job: JobRow<'_>,
        key: Option<(&str, &str)>,
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await?;
        self.insert_job(&mut transaction, &job, key).await?;
        transaction.commit().await?;
        Ok(())
    }

    async fn admit_job(
        &self,
        job: JobRow<'_>,
        key: Option<(&str, &str)>,
        day: i64,
        check: &CapCheck,
    ) -> Result<Result<(), ErrorKind>, StoreError> {
        let mut transaction = self.pool.begin().await?;
        // Every replica's admissions take this lock in turn, so the bills and jobs read
        // here stay what they are until this job is written or refused.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('tryon-admission', 0))")
            .execute(&mut *transaction)
            .await?;
        let totals = day_totals_in(&mut transaction, day).await?;
        let unfinished = sqlx::query_scalar::<_, i64>(UNFINISHED_COUNT)
            .fetch_one(&mut *transaction)
            .await?;
        if let Err(refusal) = check(totals, unsigned(unfinished)) {
            return Ok(Err(refusal));
        }
        self.insert_job(&mut transaction, &job, key).await?;
        transaction.commit().await?;
        Ok(Ok(()))
    }

    async fn job_ids(&self, filter: JobFilter<'_>) -> Result<Vec<String>, StoreError> {
        let ids =
            match filter {
                JobFilter::OfShopper(shopper) => {
                    sqlx::query_scalar::<_, String>("SELECT id FROM jobs WHERE shopper = $1")
                        .bind(shopper)
                        .fetch_all(&self.pool)
                        .await?
                }
                JobFilter::FinishedBefore(cutoff_ms) => sqlx::query_scalar::<_, String>(
                    "SELECT id FROM jobs WHERE created_ms < $1 AND COALESCE(record->>'status', '')
                     IN ('SUCCEEDED', 'FAILED', 'CANCELED', 'UNKNOWN')",
                )
                .bind(ms(cutoff_ms))
                .fetch_all(&self.pool)
                .await?,
            };
        Ok(ids)
    }

    async fn queue_position(&self, id: &str) -> Result<Option<u32>, StoreError> {
        let position = sqlx::query_scalar::<_, Option<i64>>(
            "SELECT CASE WHEN (job.record->>'upstream_id') IS NULL
                AND NOT COALESCE((job.record->>'submit_attempted')::boolean, false)
                AND COALESCE(job.record->>'status', '') NOT IN
                    ('SUCCEEDED', 'FAILED', 'CANCELED', 'UNKNOWN')
             THEN (SELECT COUNT(*) FROM jobs AS ahead
                   WHERE ahead.seq < job.seq AND (ahead.record->>'upstream_id') IS NULL
                     AND NOT COALESCE((ahead.record->>'submit_attempted')::boolean, false)
                     AND COALESCE(ahead.record->>'status', '') NOT IN
                        ('SUCCEEDED', 'FAILED', 'CANCELED', 'UNKNOWN'))
             END
             FROM jobs AS job WHERE job.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(position
            .flatten()
            .map(|ahead| u32::try_from(ahead).unwrap_or(u32::MAX)))
    }

    async fn save_job(&self, job: JobRow<'_>) -> Result<(), StoreError> {
        let request_json = serde_json::to_string(job.request)?;
        let record_json = serde_json::to_string(job.record)?;
        let mut transaction = self.pool.begin().await?;
        // An update only: a job another replica deleted stays deleted. And an ended job
        // keeps its end: a replica that has not heard of a cancel yet cannot undo it.
        let updated = sqlx::query(
            "UPDATE jobs SET request = $2::jsonb, record = $3::jsonb
             WHERE id = $1 AND COALESCE(record->>'status', '') NOT IN
                ('SUCCEEDED', 'FAILED', 'CANCELED', 'UNKNOWN')",
        )
        .bind(job.id)
        .bind(request_json)
        .bind(record_json)
        .execute(&mut *transaction)
        .await?;
        if updated.rows_affected() == 1 {
            self.record_job_stat(&mut transaction, &job).await?;
        }
        // Heard also when nothing changed, so that the writer reads the stored end back.
        notify(&mut transaction, JOB_CHANNEL, job.id).await?;
        transaction.commit().await?;
        Ok(())
    }

    async fn load_job(&self, id: &str) -> Result<Option<StoredJob>, StoreError> {
        let row = sqlx::query(
            "SELECT id, created_ms, shopper, request::text, record::text FROM jobs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| stored_job(&row)).transpose()
    }

    async fn job_for_key(
        &self,
        shopper: &str,
        key: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        let found = sqlx::query_as::<_, (String, String)>(
            "SELECT fingerprint, job_id FROM idempotency_keys WHERE shopper = $1 AND key = $2",
        )
        .bind(shopper)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found)
    }

    fn is_shared(&self) -> bool {
        true
    }

    async fn claim_submission(
        &self,
        id: &str,
        replica: &str,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let claimed = sqlx::query(
            "UPDATE jobs SET record = record || jsonb_build_object(
                'submit_attempted', true, 'claimed_by', $2::text, 'claimed_ms', $3::bigint)
             WHERE id = $1 AND (record->>'upstream_id') IS NULL
               AND NOT COALESCE((record->>'submit_attempted')::boolean, false)
               AND COALESCE(record->>'status', '') NOT IN
                  ('SUCCEEDED', 'FAILED', 'CANCELED', 'UNKNOWN')",
        )
        .bind(id)
        .bind(replica)
        .bind(ms(now_ms))
        .execute(&mut *transaction)
        .await?;
        notify(&mut transaction, JOB_CHANNEL, id).await?;
        transaction.commit().await?;
        Ok(claimed.rows_affected() == 1)
    }

    async fn cancel_unsent(&self, id: &str) -> Result<bool, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let cancelled = sqlx::query(
            "UPDATE jobs SET record = jsonb_set(record, '{status}', '\"CANCELED\"')
             WHERE id = $1 AND (record->>'upstream_id') IS NULL
               AND NOT COALESCE((record->>'submit_attempted')::boolean, false)
               AND COALESCE(record->>'status', '') NOT IN
                  ('SUCCEEDED', 'FAILED', 'CANCELED', 'UNKNOWN')",
        )
        .bind(id)
        .execute(&mut *transaction)
        .await?;
        if cancelled.rows_affected() == 1 {
            sqlx::query(
                "UPDATE job_stats SET status = 'CANCELED',
                    finished_ms = COALESCE(finished_ms, $2) WHERE id = $1",
            )
            .bind(id)
            .bind(ms(self.clock.unix_ms()))
            .execute(&mut *transaction)
            .await?;
        }
        notify(&mut transaction, JOB_CHANNEL, id).await?;
        transaction.commit().await?;
        Ok(cancelled.rows_affected() == 1)
    }

    async fn queued_job_ids(&self) -> Result<Vec<String>, StoreError> {
        let ids = sqlx::query_scalar::<_, String>(
            "SELECT id FROM jobs
             WHERE (record->>'upstream_id') IS NULL
               AND NOT COALESCE((record->>'submit_attempted')::boolean, false)
               AND COALESCE(record->>'status', '') NOT IN
                  ('SUCCEEDED', 'FAILED', 'CANCELED', 'UNKNOWN')
             ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(ids)
    }

    async fn count_unfinished(&self) -> Result<u64, StoreError> {
        let count = sqlx::query_scalar::<_, i64>(UNFINISHED_COUNT)
            .fetch_one(&self.pool)
            .await?;
        Ok(unsigned(count))
    }

    async fn hold_lease(
        &self,
        name: &str,
        holder: &str,
        now_ms: u64,
        ttl_ms: u64,
    ) -> Result<bool, StoreError> {
        let held = sqlx::query_scalar::<_, String>(
            "INSERT INTO leases (name, holder, expires_ms) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                expires_ms = excluded.expires_ms
             WHERE leases.holder = excluded.holder OR leases.expires_ms < $4
             RETURNING holder",
        )
        .bind(name)
        .bind(holder)
        .bind(ms(now_ms.saturating_add(ttl_ms)))
        .bind(ms(now_ms))
        .fetch_optional(&self.pool)
        .await?;
        Ok(held.is_some())
    }

    async fn lease_held(&self, name: &str, now_ms: u64) -> Result<bool, StoreError> {
        let held = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM leases WHERE name = $1 AND expires_ms >= $2",
        )
        .bind(name)
        .bind(ms(now_ms))
        .fetch_one(&self.pool)
        .await?;
        Ok(held > 0)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn watch_changes(&self) -> Result<Option<mpsc::Receiver<Change>>, StoreError> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen_all([JOB_CHANNEL, QUEUE_CHANNEL]).await?;
        let (changes, received) = mpsc::channel(1024);
        let clock = self.clock.clone();
        tokio::spawn(async move {
            loop {
                // The receiver gone (the proxy stops), the listening connection goes too.
                let received = tokio::select! {
                    received = listener.try_recv() => received,
                    () = changes.closed() => return,
                };
                let change = match received {
                    Ok(Some(notification)) if notification.channel() == QUEUE_CHANNEL => {
                        Change::Queued
                    }
                    Ok(Some(notification)) => Change::Job(notification.payload().to_owned()),
                    // The connection was lost; the next receive connects again, and what
                    // was said meanwhile is read afresh by the receiver.
                    Ok(None) => Change::Resync,
                    Err(err) => {
                        tracing::warn!(error = %err, "the database's change notices are cut off; connecting again");
                        clock.sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                if changes.send(change).await.is_err() {
                    return;
                }
            }
        });
        Ok(Some(received))
    }

    async fn delete_job(&self, id: &str) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await?;
        notify(&mut transaction, JOB_CHANNEL, id).await?;
        sqlx::query("DELETE FROM jobs WHERE id = $1")
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        sqlx::query("DELETE FROM idempotency_keys WHERE job_id = $1")
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    async fn load_jobs(&self) -> Result<Vec<StoredJob>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, created_ms, shopper, request::text, record::text FROM jobs
             ORDER BY created_ms, seq",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(stored_job).collect()
    }

    async fn load_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let rows = sqlx::query_as::<_, (String, String, String, String, i64)>(
            "SELECT shopper, key, fingerprint, job_id, created_ms FROM idempotency_keys",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(shopper, key, fingerprint, job_id, created_ms)| StoredKey {
                    shopper,
                    key,
                    fingerprint,
                    job_id,
                    created_ms: unsigned(created_ms),
                },
            )
            .collect())
    }

    async fn delete_keys_before(&self, cutoff_ms: u64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE created_ms < $1")
            .bind(ms(cutoff_ms))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_keys_of(&self, shopper: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE shopper = $1")
            .bind(shopper)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn bill(
        &self,
        reference: &str,
        day: i64,
        at_ms: u64,
        model: &str,
        images: u32,
        cny: f64,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO ledger (ref, day, at_ms, model, images, cny)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (ref) DO NOTHING",
        )
        .bind(reference)
        .bind(day)
        .bind(ms(at_ms))
        .bind(model)
        .bind(i32::try_from(images).unwrap_or(i32::MAX))
        .bind(cny)
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn day_totals(&self, day: i64) -> Result<Totals, StoreError> {
        let mut connection = self.pool.acquire().await?;
        day_totals_in(&mut connection, day).await
    }

    async fn totals_by_model(&self) -> Result<Vec<(String, u64, f64)>, StoreError> {
        let rows = sqlx::query_as::<_, (String, i64, f64)>(
            "SELECT model, SUM(images)::BIGINT, SUM(cny)::DOUBLE PRECISION FROM ledger
             GROUP BY model ORDER BY model COLLATE \"C\"",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(model, images, cny)| (model, unsigned(images), cny))
            .collect())
    }

    async fn take_shopper_slot(
        &self,
        day: i64,
        shopper: &str,
        limit: u32,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(
            "INSERT INTO shopper_days (day, shopper, creates) VALUES ($1, $2, 1)
             ON CONFLICT (day, shopper) DO UPDATE SET creates = shopper_days.creates + 1
             WHERE shopper_days.creates < $3",
        )
        .bind(day)
        .bind(shopper)
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await?;
        Ok(changed.rows_affected() == 1)
    }

    async fn refund_shopper_slot(&self, day: i64, shopper: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE shopper_days SET creates = GREATEST(creates - 1, 0)
             WHERE day = $1 AND shopper = $2",
        )
        .bind(day)
        .bind(shopper)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn shopper_used(&self, day: i64, shopper: &str) -> Result<u32, StoreError> {
        let used = sqlx::query_scalar::<_, i32>(
            "SELECT creates FROM shopper_days WHERE day = $1 AND shopper = $2",
        )
        .bind(day)
        .bind(shopper)
        .fetch_optional(&self.pool)
        .await?;
        Ok(used.map_or(0, |used| u32::try_from(used).unwrap_or_default()))
    }

    async fn take_upload(
        &self,
        shopper: &str,
        day: i64,
        now_ms: u64,
        bytes: u64,
        limits: UploadLimits,
    ) -> Result<UploadTake, StoreError> {
        let mut transaction = self.pool.begin().await?;
        // One shopper's uploads are counted one at a time across every replica: the lock
        // is held until the transaction ends, and other shoppers do not wait for it.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('tryon-upload:' || $1, 0))")
            .bind(shopper)
            .execute(&mut *transaction)
            .await?;
        let window_start = ms(now_ms.saturating_sub(UPLOAD_WINDOW_MS));
        let mut hourly_frees_at_ms = None;
        if limits.per_hour > 0 {
            let in_window = sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM upload_usage WHERE shopper = $1 AND at_ms > $2",
            )
            .bind(shopper)
            .bind(window_start)
            .fetch_one(&mut *transaction)
            .await?;
            let limit = i64::from(limits.per_hour);
            if in_window >= limit {
                // One more fits once all but limit - 1 of the window's uploads have left it;
                // the last of those to leave is the one at this offset, oldest first.
                let oldest_to_leave = sqlx::query_scalar::<_, i64>(
                    "SELECT at_ms FROM upload_usage WHERE shopper = $1 AND at_ms > $2
                     ORDER BY at_ms, id LIMIT 1 OFFSET $3",
                )
                .bind(shopper)
                .bind(window_start)
                .bind(in_window - limit)
                .fetch_one(&mut *transaction)
                .await?;
                hourly_frees_at_ms = Some(unsigned(oldest_to_leave) + UPLOAD_WINDOW_MS);
            }
        }
        let mut daily = false;
        if limits.bytes_per_day > 0 {
            let used = sqlx::query_scalar::<_, i64>(
                "SELECT COALESCE(SUM(bytes), 0)::BIGINT FROM upload_usage
                 WHERE shopper = $1 AND day = $2",
            )
            .bind(shopper)
            .bind(day)
            .fetch_one(&mut *transaction)
            .await?;
            daily = unsigned(used).saturating_add(bytes) > limits.bytes_per_day;
        }
        if daily || hourly_frees_at_ms.is_some() {
            return Ok(UploadTake::Full {
                hourly_frees_at_ms,
                daily,
            });
        }
        let id = sqlx::query_scalar::<_, i64>(
            "INSERT INTO upload_usage (shopper, day, at_ms, bytes) VALUES ($1, $2, $3, $4)
             RETURNING id",
        )
        .bind(shopper)
        .bind(day)
        .bind(ms(now_ms))
        .bind(ms(bytes))
        .fetch_one(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(UploadTake::Taken(id))
    }

    async fn refund_upload(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM upload_usage WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn uploads_used(
        &self,
        shopper: &str,
        day: i64,
        now_ms: u64,
    ) -> Result<(u32, u64), StoreError> {
        let (count, bytes) = sqlx::query_as::<_, (i64, i64)>(
            "SELECT
                COALESCE(SUM(CASE WHEN at_ms > $3 THEN 1 ELSE 0 END), 0)::BIGINT,
                COALESCE(SUM(CASE WHEN day = $2 THEN bytes ELSE 0 END), 0)::BIGINT
             FROM upload_usage WHERE shopper = $1",
        )
        .bind(shopper)
        .bind(day)
        .bind(ms(now_ms.saturating_sub(UPLOAD_WINDOW_MS)))
        .fetch_one(&self.pool)
        .await?;
        Ok((u32::try_from(count).unwrap_or(u32::MAX), unsigned(bytes)))
    }

    async fn prune_days(&self, day: i64) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query("DELETE FROM shopper_days WHERE day < $1")
            .bind(day)
            .execute(&mut *transaction)
            .await?;
        sqlx::query("DELETE FROM upload_usage WHERE day < $1")
            .bind(day)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    async fn add_file(
        &self,
        id: &str,
        kind: FileKind,
        shopper: &str,
        created_ms: u64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO files (id, kind, shopper, created_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET
                kind = excluded.kind, shopper = excluded.shopper, created_ms = excluded.created_ms",
        )
        .bind(id)
        .bind(kind.as_str())
        .bind(shopper)
        .bind(ms(created_ms))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn file(&self, id: &str) -> Result<Option<FileEntry>, StoreError> {
        let row = sqlx::query_as::<_, (String, String, i64)>(
            "SELECT kind, shopper, created_ms FROM files WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(kind, shopper, created_ms)| FileEntry {
            kind: FileKind::parse(&kind),
            shopper,
            created_ms: unsigned(created_ms),
        }))
    }

    async fn files_of(&self, shopper: &str) -> Result<Vec<String>, StoreError> {
        self.ids(
            "SELECT id FROM files WHERE shopper = $1",
            shopper.to_owned(),
        )
        .await
    }

    async fn files_before(&self, cutoff_ms: u64) -> Result<Vec<String>, StoreError> {
        self.ids("SELECT id FROM files WHERE created_ms < $1", ms(cutoff_ms))
            .await
    }

    async fn remove_file(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM files WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn record_events(&self, events: &[StoredEvent]) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await?;
        for event in events {
            sqlx::query(
                "INSERT INTO funnel_events (at_ms, product, step, shopper) VALUES ($1, $2, $3, $4)",
            )
            .bind(ms(event.at_ms))
            .bind(event.product.as_str())
            .bind(event.step.as_str())
            .bind(event.shopper.as_str())
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn link_product(&self, job_id: &str, product: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE job_stats SET product = $2 WHERE id = $1 AND product IS NULL")
            .bind(job_id)
            .bind(product)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn jobs_since(&self, since_ms: u64, since_day: i64) -> Result<Vec<JobStat>, StoreError> {
        // A job is billed when it ends, never before it was made, so the bills of the
        // period's jobs are all on or after its first day (the ledger is indexed by day).
        let rows = sqlx::query(
            "SELECT s.id, s.created_ms, s.finished_ms, s.status, s.code, s.model, s.upstream,
                    s.product, COALESCE(bill.images, 0)::BIGINT,
                    COALESCE(bill.cny, 0.0)::DOUBLE PRECISION
             FROM job_stats s
             LEFT JOIN (SELECT ref, SUM(images) AS images, SUM(cny) AS cny FROM ledger
                        WHERE day >= $2 GROUP BY ref) AS bill
             ON bill.ref = s.id
             WHERE s.created_ms >= $1 ORDER BY s.created_ms, s.id COLLATE \"C\"",
        )
        .bind(ms(since_ms))
        .bind(since_day)
        .fetch_all(&self.pool)
        .await?;
        let mut stats = Vec::with_capacity(rows.len());
        for row in rows {
            stats.push(JobStat {
                id: row.try_get(0)?,
                created_ms: unsigned(row.try_get(1)?),
                finished_ms: row.try_get::<Option<i64>, _>(2)?.map(unsigned),
                status: row.try_get(3)?,
                code: row.try_get(4)?,
                model: row.try_get(5)?,
                upstream: row.try_get(6)?,
                product: row.try_get(7)?,
                images: unsigned(row.try_get(8)?),
                cny: row.try_get(9)?,
            });
        }
        Ok(stats)
    }

    async fn funnel_since(&self, since_ms: u64) -> Result<Vec<StepCount>, StoreError> {
        let mut counts = Vec::new();
        for (sql, by_product) in [
            (
                "SELECT product, step, COUNT(*), COUNT(DISTINCT shopper) FROM funnel_events
                 WHERE at_ms >= $1 GROUP BY product, step",
                true,
            ),
            (
                "SELECT '', step, COUNT(*), COUNT(DISTINCT shopper) FROM funnel_events
                 WHERE at_ms >= $1 GROUP BY step",
                false,
            ),
        ] {
            let rows = sqlx::query_as::<_, (String, String, i64, i64)>(sql)
                .bind(ms(since_ms))
                .fetch_all(&self.pool)
                .await?;
            for (product, step, events, shoppers) in rows {
                // Only known steps are ever stored; a row of another would be skipped.
                if let Some(step) = FunnelStep::parse(&step) {
                    counts.push(StepCount {
                        product: by_product.then_some(product),
                        step,
                        events: unsigned(events),
                        shoppers: unsigned(shoppers),
                    });
                }
            }
        }
        Ok(counts)
    }

    async fn prune_stats_before(&self, cutoff_ms: u64) -> Result<(u64, u64), StoreError> {
        let events = sqlx::query("DELETE FROM funnel_events WHERE at_ms < $1")
            .bind(ms(cutoff_ms))
            .execute(&self.pool)
            .await?;
        let jobs = sqlx::query("DELETE FROM job_stats WHERE created_ms < $1")
            .bind(ms(cutoff_ms))
            .execute(&self.pool)
            .await?;
        Ok((events.rows_affected(), jobs.rows_affected()))
    }

    async fn forget_events_of(&self, shopper: &str) -> Result<u64, StoreError> {
        let deleted = sqlx::query("DELETE FROM funnel_events WHERE shopper = $1")
            .bind(shopper)
            .execute(&self.pool)
            .await?;
        Ok(deleted.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_url_is_checked_before_anything_connects_and_its_password_never_shown() {
        let url = DatabaseUrl::parse("postgres://tryon:s3cret@db.internal:6543/shop").unwrap();
        assert_eq!(url.summary(), "PostgreSQL at db.internal:6543/shop");
        assert!(!format!("{url:?}").contains("s3cret"));
        let wrong = DatabaseUrl::parse("mysql://db/shop")
            .unwrap_err()
            .to_string();
        assert!(wrong.contains("postgres://"), "{wrong}");
        let garbled = DatabaseUrl::parse("postgres://tryon:s3cret@db:notaport/shop")
            .unwrap_err()
            .to_string();
        assert!(!garbled.contains("s3cret"), "{garbled}");
    }
}
