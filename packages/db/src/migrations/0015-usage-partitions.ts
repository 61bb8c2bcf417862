import type { Migration } from '../migrator';

/**
 * usage_events (the metering table, which is also the raw tool-call log) partitioned by UTC month
 * (issue 21): the table grows by every tool call and model turn, forever; month partitions let a
 * month whose invoices are final be detached whole (`detachUsagePartition`) instead of deleted row
 * by row, and keep each month's indexes the size of one month.
 *
 * Keys. A unique index of a partitioned table must contain the partition key (occurred_at), so
 * `idempotency_key` can no longer be UNIQUE on the table: a row written twice with two different
 * occurred_at values (a model turn's row takes now(); a step re-run after its checkpoint failed
 * takes the new call's time; either may cross a month boundary) would be two rows. Exactly-once
 * therefore moves to `usage_event_keys`, a plain table with the key as its primary key: a BEFORE
 * INSERT trigger on usage_events claims the key there (`ON CONFLICT DO NOTHING`) and drops the row
 * when the key was already claimed. The claim is an ordinary unique-index insert in the writer's
 * transaction, so it has the semantics the old UNIQUE had: a concurrent writer of the same key
 * waits for the first one's commit (then drops its row) or rollback (then writes it). Every
 * writer, whatever statement it uses, goes through the trigger; the writers no longer name a
 * conflict target (none exists on a partitioned table). The row's `id` is claimed there too, so
 * it stays unique across months (an id taken under another key is a unique violation, as before).
 * `month` lets retention drop a detached month's keys; rows arrive in time order, so a BRIN index
 * serves that monthly delete at almost no write cost. On usage_events itself (seq, occurred_at)
 * is the primary key and (id, occurred_at) is unique (it serves the tool-call log's cursor lookups).
 *
 * Partitions. `usage_events_YYYY_MM` covers [first of month, first of next month) in UTC;
 * `usage_events_default` catches any other time (a clock far off, a month already detached), so no
 * insert is ever refused. `usage_events_ensure_partition(month)` creates a month's partition under
 * an advisory lock, moving that month's rows out of the default partition first when there are
 * any; the billing cycle calls it for the current month and the ones ahead (ensureUsagePartitions).
 * It builds the partition as a plain table and ATTACHes it, which takes SHARE UPDATE EXCLUSIVE on
 * usage_events (inserts go on) where CREATE TABLE … PARTITION OF would take ACCESS EXCLUSIVE.
 *
 * Migration. Existing rows are copied with their seq, id and txid (so the rollup watermark and
 * every cursor stay valid) into partitions from the oldest row's month to two months ahead, their
 * keys into usage_event_keys; the old table is dropped and the sequence moves to the new one.
 * This rewrites the table in the migration's transaction: usage writes wait for it. Processes of
 * the previous release name `ON CONFLICT (idempotency_key)`, which the partitioned table refuses
 * (42P10): stop them before this migration runs (their in-flight checkpoints fail and the job is
 * retried from its last stored step by the new release, so nothing is metered twice or lost).
 */
export const m0015UsagePartitions: Migration = {
  id: '0015-usage-partitions',
  sql: `
ALTER TABLE usage_events RENAME TO usage_events_unpartitioned;
ALTER TABLE usage_events_unpartitioned DROP CONSTRAINT usage_events_pkey;
ALTER TABLE usage_events_unpartitioned DROP CONSTRAINT usage_events_id_key;
ALTER TABLE usage_events_unpartitioned DROP CONSTRAINT usage_events_idempotency_key_key;
DROP INDEX usage_events_job, usage_events_tenant_time, usage_events_txid, usage_events_session, usage_events_environment_time;

CREATE TABLE usage_events (
  seq              bigint NOT NULL DEFAULT nextval('usage_events_seq_seq'),
  id               text NOT NULL,
  idempotency_key  text NOT NULL,
  tenant_id        text NOT NULL,
  environment      text NOT NULL CHECK (environment IN ('test','live')),
  job_id           text REFERENCES jobs(id),
  kind             text NOT NULL CHECK (kind IN ('tool_call','model_turn')),
  server           text,
  tool             text,
  success          boolean NOT NULL,
  denied           boolean NOT NULL DEFAULT false,
  error_code       text,
  duration_ms      integer NOT NULL DEFAULT 0,
  input_tokens     integer NOT NULL DEFAULT 0,
  output_tokens    integer NOT NULL DEFAULT 0,
  metadata         jsonb NOT NULL DEFAULT '{}',
  occurred_at      timestamptz NOT NULL DEFAULT now(),
  txid             xid8 NOT NULL DEFAULT pg_current_xact_id(),
  session_id       text,
  CONSTRAINT usage_events_pkey PRIMARY KEY (seq, occurred_at),
  CONSTRAINT usage_events_id_key UNIQUE (id, occurred_at)
) PARTITION BY RANGE (occurred_at);
CREATE TABLE usage_events_default PARTITION OF usage_events DEFAULT;

CREATE TABLE usage_event_keys (
  idempotency_key  text PRIMARY KEY,
  -- The row's id, unique across months as it was on the unpartitioned table (tool-call ids are cursors).
  id               text NOT NULL UNIQUE,
  -- The UTC month of the row's occurred_at (its partition): retention drops a detached month's keys.
  month            date NOT NULL
);
CREATE INDEX usage_event_keys_month ON usage_event_keys USING brin (month);

-- The UTC month of an instant, as the first day of it.
CREATE FUNCTION usage_month(t timestamptz) RETURNS date
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN date_trunc('month', t AT TIME ZONE 'UTC')::date;

-- Claims the row's key; a key claimed before (committed, or by a transaction that then commits)
-- drops the row, as ON CONFLICT (idempotency_key) DO NOTHING did; an id taken under another key
-- is a unique violation (23505), as it was.
CREATE FUNCTION usage_events_claim_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO usage_event_keys (idempotency_key, id, month) VALUES (NEW.idempotency_key, NEW.id, usage_month(NEW.occurred_at))
    ON CONFLICT (idempotency_key) DO NOTHING;
  IF FOUND THEN
    RETURN NEW;
  END IF;
  RETURN NULL;
END
$$;

-- Creates the partition of the month starting at m (a first of month); returns its name, or NULL
-- when the month already has its table (attached, or detached by retention: never re-created).
CREATE FUNCTION usage_events_ensure_partition(m date) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  part text := 'usage_events_' || to_char(m, 'YYYY_MM');
  lo timestamptz := m::timestamp AT TIME ZONE 'UTC';
  hi timestamptz := (m + interval '1 month')::timestamp AT TIME ZONE 'UTC';
BEGIN
  IF m <> date_trunc('month', m)::date THEN
    RAISE EXCEPTION 'usage_events_ensure_partition: % is not the first day of a month', m USING ERRCODE = '22023';
  END IF;
  -- "bill" + 1: partition changes serialise among themselves, never with the rollup.
  PERFORM pg_advisory_xact_lock(1651076205);
  -- A query on pg_class, not to_regclass(): after waiting for the lock this backend's catalog
  -- cache may not have seen the table another one just created; a fresh snapshot has.
  IF EXISTS (SELECT 1 FROM pg_class WHERE relname = part AND relnamespace = current_schema()::regnamespace) THEN
    RETURN NULL;
  END IF;
  EXECUTE format('CREATE TABLE %I (LIKE usage_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
  -- The bound as a CHECK lets ATTACH skip its validation scan; it is dropped once attached.
  EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (occurred_at >= %L AND occurred_at < %L)', part, part || '_bound', lo, hi);
  IF EXISTS (SELECT 1 FROM usage_events_default WHERE occurred_at >= lo AND occurred_at < hi) THEN
    -- Rows of this month in the default partition move with seq, id and txid unchanged: the
    -- rollup counts each exactly once whether it had already taken it or not. Their keys are
    -- claimed already, and this plain table has no trigger.
    LOCK TABLE usage_events_default IN ACCESS EXCLUSIVE MODE;
    EXECUTE format('WITH moved AS (DELETE FROM usage_events_default WHERE occurred_at >= %L AND occurred_at < %L RETURNING *)
                    INSERT INTO %I SELECT * FROM moved', lo, hi, part);
  END IF;
  EXECUTE format('ALTER TABLE usage_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
  EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', part, part || '_bound');
  RETURN part;
END
$$;

SELECT usage_events_ensure_partition(m::date)
  FROM generate_series(
         usage_month(least(now(), coalesce((SELECT min(occurred_at) FROM usage_events_unpartitioned), now())))::timestamp,
         (usage_month(now()) + interval '2 months')::timestamp,
         interval '1 month') AS m;

INSERT INTO usage_events (seq, id, idempotency_key, tenant_id, environment, job_id, kind, server, tool, success, denied,
                          error_code, duration_ms, input_tokens, output_tokens, metadata, occurred_at, txid, session_id)
  SELECT seq, id, idempotency_key, tenant_id, environment, job_id, kind, server, tool, success, denied,
         error_code, duration_ms, input_tokens, output_tokens, metadata, occurred_at, txid, session_id
    FROM usage_events_unpartitioned;
INSERT INTO usage_event_keys (idempotency_key, id, month)
  SELECT idempotency_key, id, usage_month(occurred_at) FROM usage_events_unpartitioned;

ALTER SEQUENCE usage_events_seq_seq OWNED BY NONE;
DROP TABLE usage_events_unpartitioned;
ALTER SEQUENCE usage_events_seq_seq OWNED BY usage_events.seq;

CREATE TRIGGER usage_events_claim_key BEFORE INSERT ON usage_events FOR EACH ROW EXECUTE FUNCTION usage_events_claim_key();
CREATE INDEX usage_events_job ON usage_events (job_id, seq);
CREATE INDEX usage_events_tenant_time ON usage_events (tenant_id, occurred_at);
CREATE INDEX usage_events_txid ON usage_events (txid);
CREATE INDEX usage_events_session ON usage_events (session_id, seq) WHERE session_id IS NOT NULL;
CREATE INDEX usage_events_environment_time ON usage_events (environment, occurred_at, seq) WHERE kind = 'tool_call';
ANALYZE usage_events;
`,
};
