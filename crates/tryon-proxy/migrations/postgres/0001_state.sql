-- The proxy's shared state on PostgreSQL: the same tables as the embedded SQLite file,
-- with identity columns where SQLite used its rowid. Times are Unix milliseconds of the
-- proxy's clock and days are Beijing days, as in SQLite, so both stores read alike.

-- Jobs and the idempotency keys of their creates. `seq` keeps the order in which jobs
-- were made, for resuming queued ones oldest first.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    created_ms BIGINT NOT NULL,
    shopper TEXT NOT NULL DEFAULT '',
    request JSONB NOT NULL,
    record JSONB NOT NULL
);
CREATE INDEX jobs_created ON jobs (created_ms, seq);

CREATE TABLE idempotency_keys (
    shopper TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    job_id TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (shopper, key)
);
CREATE INDEX idempotency_keys_job ON idempotency_keys (job_id);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_ms);

-- One row per billed call, keyed by the job id (or segmentation request id), so that a
-- job resumed after a crash is never billed twice.
CREATE TABLE ledger (
    ref TEXT PRIMARY KEY,
    day BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    model TEXT NOT NULL,
    images INTEGER NOT NULL,
    cny DOUBLE PRECISION NOT NULL
);
CREATE INDEX ledger_day ON ledger (day);

CREATE TABLE shopper_days (
    day BIGINT NOT NULL,
    shopper TEXT NOT NULL,
    creates INTEGER NOT NULL,
    PRIMARY KEY (day, shopper)
);

CREATE TABLE files (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    shopper TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX files_shopper ON files (shopper);
CREATE INDEX files_created ON files (created_ms);

CREATE TABLE upload_usage (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shopper TEXT NOT NULL,
    day BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    bytes BIGINT NOT NULL
);
CREATE INDEX upload_usage_shopper ON upload_usage (shopper, at_ms);
CREATE INDEX upload_usage_day ON upload_usage (day);

-- The dashboard's anonymous job rows and the widget's funnel events, kept 90 days.
CREATE TABLE job_stats (
    id TEXT PRIMARY KEY,
    created_ms BIGINT NOT NULL,
    finished_ms BIGINT,
    status TEXT NOT NULL,
    code TEXT,
    model TEXT NOT NULL,
    upstream TEXT NOT NULL,
    product TEXT
);
CREATE INDEX job_stats_created ON job_stats (created_ms);

CREATE TABLE funnel_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    product TEXT NOT NULL,
    step TEXT NOT NULL,
    shopper TEXT NOT NULL
);
CREATE INDEX funnel_events_at ON funnel_events (at_ms);
CREATE INDEX funnel_events_shopper ON funnel_events (shopper);
