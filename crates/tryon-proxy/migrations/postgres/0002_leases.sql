-- Roles that one replica at a time holds (the dispatcher, which alone talks to the
-- upstream within the account's limits), each until its lease expires unless renewed.
-- Times are Unix milliseconds of the replicas' clocks.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_ms BIGINT NOT NULL
);

-- The queue of jobs waiting to be sent is read by their state; this keeps that read
-- short however many ended jobs the retention period holds.
CREATE INDEX jobs_unsent ON jobs (seq)
    WHERE (record->>'upstream_id') IS NULL
      AND NOT COALESCE((record->>'submit_attempted')::boolean, false);
