-- Callback engine. The callback row carries where its current attempt stands (phase, see
-- src/domain/engine/attempt-phase.ts) and when the engine must next look at it (due_at): the
-- queue time of a scheduled callback, the end of a retry pause, or the watchdog of an attempt in
-- flight. Redis indexes due_at for prompt wake-ups; this column is what it is rebuilt from.
ALTER TABLE callback
  ADD COLUMN phase  smallint NOT NULL DEFAULT 0,
  ADD COLUMN due_at timestamptz;

-- Callbacks that wait (scheduled, or queued and not being dialed), by desired time: the TTL sweep
-- reads only these. A partial index, so finished callbacks cost nothing in it.
CREATE INDEX callback_waiting ON callback (desired_at) WHERE state < 3 AND phase IN (0, 6);

-- Scheduled callbacks already in the database have no due time yet.
UPDATE callback c SET due_at = c.desired_at - make_interval(secs => coalesce((s.options->>'executionBufferSec')::int, 120))
  FROM callback_service s WHERE s.id = c.service_id AND c.state = 1 AND c.due_at IS NULL;

-- When the estimate given as the callback joined its queue said an agent would take it; compared
-- with the real connect time to report the estimator's error.
ALTER TABLE callback ADD COLUMN ewt_at timestamptz;
