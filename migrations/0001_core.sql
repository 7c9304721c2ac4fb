-- Core schema: tenants, API keys, callback services, callbacks and their history.
-- Written for PostgreSQL 15 (production) and PGlite 18 (embedded mode) alike.

CREATE TABLE tenant (
  id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name       text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Only a SHA-256 of each key is stored; the key itself is shown once when it is created.
CREATE TABLE api_key (
  id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id  integer NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
  prefix     text NOT NULL,
  key_hash   bytea NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX api_key_tenant_prefix ON api_key (tenant_id, prefix);

-- One row per callback service (= virtual queue) of a tenant; options are validated by the app.
CREATE TABLE callback_service (
  id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id  integer NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
  options    jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, name)
);

-- The callback row is kept small (see docs/BENCHMARKS.md): fixed-width columns first, ordered by
-- alignment so no padding is wasted; the phone number as a bigint (E.164 digits); state and reason
-- as smallint codes (src/domain/callback-state.ts); optional request fields in one jsonb that is
-- NULL when the client sent none. Rows live in daily partitions of desired_at, so the 14-day
-- retention drops whole tables instead of deleting rows (src/store/partition-store.ts).
CREATE TABLE callback (
  desired_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  phone      bigint NOT NULL,
  slot_at    timestamptz, -- start of the booked capacity slot (scheduled callbacks)
  id         uuid NOT NULL, -- UUIDv7 from the application (src/domain/callback-id.ts)
  tenant_id  integer NOT NULL,
  service_id integer NOT NULL,
  priority   integer NOT NULL DEFAULT 0,
  state      smallint NOT NULL,
  reason     smallint,
  attempt    smallint NOT NULL DEFAULT 0,
  data_chunks smallint NOT NULL DEFAULT 0, -- userData chunks in callback_data (0: inline or none)
  scheduled  boolean NOT NULL,
  extras     jsonb,
  user_data  jsonb -- small userData; larger goes to callback_data (src/store/user-data-codec.ts)
) PARTITION BY RANGE (desired_at);

CREATE INDEX callback_id ON callback (id);
CREATE INDEX callback_tenant_phone ON callback (tenant_id, phone);
CREATE INDEX callback_tenant_desired ON callback (tenant_id, desired_at);

-- Large userData as JSON text in page-sized chunks, stored PLAIN (never compressed or TOASTed) so a
-- chunk fills a page exactly. Partitioned like the callback; its desired_at follows on reschedule.
CREATE TABLE callback_data (
  desired_at  timestamptz NOT NULL,
  callback_id uuid NOT NULL,
  seq         smallint NOT NULL,
  chunk       bytea NOT NULL
) PARTITION BY RANGE (desired_at);
ALTER TABLE callback_data ALTER COLUMN chunk SET STORAGE PLAIN;
CREATE INDEX callback_data_callback ON callback_data (callback_id);

-- History of each callback after its creation (the creation itself is read from the callback
-- row): every later state change, reschedule and dial attempt, for reporting. Partitioned like the
-- callback (its desired_at travels with it on reschedule) so both are dropped together.
CREATE TABLE callback_event (
  desired_at  timestamptz NOT NULL,
  at          timestamptz NOT NULL DEFAULT now(),
  callback_id uuid NOT NULL,
  kind        smallint NOT NULL, -- 1 state change, 2 dial attempt, 3 reschedule
  state       smallint NOT NULL,
  reason      smallint,
  attempt     smallint NOT NULL DEFAULT 0,
  actor       smallint NOT NULL DEFAULT 0, -- 0 system, 1 API client, 2 console user
  detail      text
) PARTITION BY RANGE (desired_at);

CREATE INDEX callback_event_callback ON callback_event (callback_id);

-- Create-request deduplication for the Idempotency-Key header; rows older than 24 h are ignored
-- and removed by maintenance.
CREATE TABLE idempotency_key (
  tenant_id    integer NOT NULL,
  key          text NOT NULL,
  request_hash bytea NOT NULL,
  callback_id  uuid,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, key)
);

-- Creates the daily partitions of both partitioned tables for [p_from, p_to). Serialised with a
-- transaction-scoped advisory lock so nodes starting together do not race on CREATE TABLE.
CREATE FUNCTION ges_ensure_partitions(p_from date, p_to date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  d date := p_from;
  created integer := 0;
  suffix text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('ges_partitions'));
  WHILE d < p_to LOOP
    suffix := to_char(d, 'YYYYMMDD');
    IF to_regclass(format('callback_p%s', suffix)) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF callback FOR VALUES FROM (%L) TO (%L)',
                     'callback_p' || suffix, d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
      created := created + 1;
    END IF;
    IF to_regclass(format('callback_event_p%s', suffix)) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF callback_event FOR VALUES FROM (%L) TO (%L)',
                     'callback_event_p' || suffix, d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
    END IF;
    IF to_regclass(format('callback_data_p%s', suffix)) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF callback_data FOR VALUES FROM (%L) TO (%L)',
                     'callback_data_p' || suffix, d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
      EXECUTE format('ALTER TABLE %I ALTER COLUMN chunk SET STORAGE PLAIN', 'callback_data_p' || suffix);
    END IF;
    d := d + 1;
  END LOOP;
  RETURN created;
END $$;

-- Drops the partitions (callback, callback_event, callback_data) whose whole day ended more than p_keep_days ago. A partition that still
-- holds an unfinished callback (state < 5) is kept: retention never deletes live work.
CREATE FUNCTION ges_drop_expired_partitions(p_keep_days integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  part record;
  dropped integer := 0;
  live boolean;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('ges_partitions'));
  FOR part IN
    SELECT c.relname, to_date(substr(c.relname, 11), 'YYYYMMDD') AS day
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'callback'::regclass
       AND c.relname ~ '^callback_p[0-9]{8}$'
  LOOP
    IF part.day + 1 + p_keep_days <= (now() AT TIME ZONE 'UTC')::date THEN
      EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE state < 5)', part.relname) INTO live;
      IF NOT live THEN
        EXECUTE format('DROP TABLE %I', part.relname);
        EXECUTE format('DROP TABLE IF EXISTS %I', 'callback_event_p' || to_char(part.day, 'YYYYMMDD'));
        EXECUTE format('DROP TABLE IF EXISTS %I', 'callback_data_p' || to_char(part.day, 'YYYYMMDD'));
        dropped := dropped + 1;
      END IF;
    END IF;
  END LOOP;
  RETURN dropped;
END $$;
