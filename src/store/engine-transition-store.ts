import type { Queryable } from './db.ts';
import { STATES, type CallbackState, type CompletionReason, REASONS } from '../domain/callback-state.ts';
import { isCallbackId } from '../domain/callback-id.ts';
import { PHASES, type AttemptPhase } from '../domain/engine/attempt-phase.ts';
import { EVENT_KIND } from './callback-history.ts';
import { freePlaceSql } from './slot-booking-store.ts';
import { WAITING_INDEX_PREDICATE } from './waiting-index.ts';
import { CALL_COLUMNS, ENGINE_COLUMNS, ENGINE_JOIN, NOW, engineQuery, type EngineRow } from './engine-row.ts';

export { engineRows, type EngineRow } from './engine-row.ts';

/**
 * The engine's transitions of callbacks, with the row type it reads them as. Every statement is
 * fenced: it changes a callback only if its state, phase and attempt are still what the caller
 * saw, so a duplicate event, a slow node or a watchdog racing an event can never move a callback
 * twice. Each writes its history event in the same statement, and a completion frees its slot
 * place in it too. `now` is the engine's clock: null in production (the database clock), the
 * simulated time in simulations. The API's changes are in callback-store.ts.
 */

/** The history detail of the step where customer and agent are connected (the estimator's error is measured at it). */
export const AGENT_CONNECTED_DETAIL = 'agent connected';

/** SCHEDULED callbacks among `ids` whose due time has come join their queue (QUEUED, waiting). */
export async function queueDueScheduled(db: Queryable, ids: readonly string[], now: Date | null): Promise<EngineRow[]> {
  const valid = ids.filter(isCallbackId);
  if (valid.length === 0) return [];
  return engineQuery(
    db,
    `WITH upd AS (
       UPDATE callback SET state = ${STATES.QUEUED}, phase = ${PHASES.WAITING}, due_at = NULL, updated_at = ${NOW}
        WHERE id = ANY($1::uuid[]) AND state = ${STATES.SCHEDULED} AND due_at <= ${NOW}
        RETURNING *
     ), ev AS (
       INSERT INTO callback_event (desired_at, at, callback_id, kind, state, attempt)
       SELECT desired_at, ${NOW}, id, ${EVENT_KIND.STATE}, state, attempt FROM upd
     )
     SELECT ${ENGINE_COLUMNS} FROM upd c ${ENGINE_JOIN}`,
    [valid],
    now,
  );
}

/** A retry pause that has ended: the callback waits in its queue again. */
export async function endRetryPause(db: Queryable, id: string, attempt: number, now: Date | null): Promise<EngineRow | undefined> {
  const rows = await engineQuery(
    db,
    `WITH upd AS (
       UPDATE callback SET phase = ${PHASES.WAITING}, due_at = NULL, updated_at = ${NOW}
        WHERE id = $1 AND state = ${STATES.QUEUED} AND phase = ${PHASES.RETRY_WAIT} AND attempt = $2 AND due_at <= ${NOW}
        RETURNING *
     )
     SELECT ${ENGINE_COLUMNS} FROM upd c ${ENGINE_JOIN}`,
    [id, attempt],
    now,
  );
  return rows[0];
}

/**
 * Starts attempt n+1 of a waiting callback: the only place an attempt number is handed out, so
 * two nodes that took the same callback cannot both start it. Refused once the callback's time to
 * live has ended (the caller then expires it).
 */
export async function startAttempt(
  db: Queryable,
  id: string,
  first: 'CUSTOMER' | 'AGENT',
  watchdogSec: number,
  ttlSec: number,
  now: Date | null,
): Promise<EngineRow | undefined> {
  const phase = first === 'AGENT' ? PHASES.RESERVING : PHASES.DIALING;
  const rows = await engineQuery(
    db,
    `WITH upd AS (
       UPDATE callback SET attempt = attempt + 1, phase = $2, due_at = ${NOW} + make_interval(secs => $3), updated_at = ${NOW}
        WHERE id = $1 AND state = ${STATES.QUEUED} AND phase = ${PHASES.WAITING}
          AND desired_at + make_interval(secs => $4) > ${NOW}
        RETURNING *
     ), ev AS (
       INSERT INTO callback_event (desired_at, at, callback_id, kind, state, attempt, detail)
       SELECT desired_at, ${NOW}, id, CASE WHEN $2 = ${PHASES.DIALING} THEN ${EVENT_KIND.DIAL} ELSE ${EVENT_KIND.STATE} END, state, attempt,
              CASE WHEN $2 = ${PHASES.DIALING} THEN 'dial' ELSE 'reserve agent' END
         FROM upd
     )
     SELECT ${ENGINE_COLUMNS}, ${CALL_COLUMNS} FROM upd c ${ENGINE_JOIN}`,
    [id, phase, watchdogSec, ttlSec],
    now,
  );
  return rows[0];
}

/**
 * Holds a waiting callback out of its queue while its service is closed, as a pause between
 * attempts: same attempt number, no dial spent, due again at `until` (the next opening) or at the
 * end of its time to live if that comes first, when it rejoins its queue as a retry pause does (or
 * expires). Fenced like startAttempt: only a callback still waiting in its queue, and alive.
 */
export async function holdUntilOpening(db: Queryable, id: string, until: Date, ttlSec: number, now: Date | null): Promise<EngineRow | undefined> {
  const rows = await engineQuery(
    db,
    `WITH upd AS (
       UPDATE callback SET phase = ${PHASES.RETRY_WAIT}, due_at = least($2::timestamptz, desired_at + make_interval(secs => $3)), updated_at = ${NOW}
        WHERE id = $1 AND state = ${STATES.QUEUED} AND phase = ${PHASES.WAITING}
          AND desired_at + make_interval(secs => $3) > ${NOW}
        RETURNING *
     ), ev AS (
       INSERT INTO callback_event (desired_at, at, callback_id, kind, state, attempt, detail)
       SELECT desired_at, ${NOW}, id, ${EVENT_KIND.STATE}, state, attempt, 'closed: held until opening' FROM upd
     )
     SELECT ${ENGINE_COLUMNS} FROM upd c ${ENGINE_JOIN}`,
    [id, until, ttlSec],
    now,
  );
  return rows[0];
}

export interface PhaseChange {
  id: string;
  attempt: number;
  from: readonly AttemptPhase[];
  to: AttemptPhase;
  state: CallbackState;
  /** Seconds until the watchdog looks at the attempt if no event has moved it on. */
  watchdogSec: number;
  kind: 'STATE' | 'DIAL';
  detail: string;
  /** The agent the platform now holds for this attempt (agent_reserved), or 'connected': the agent is the call's now. */
  agent?: { holds: string } | 'connected';
}

/** Moves an attempt on to its next phase (and API state) after a platform event. */
export async function advanceAttempt(db: Queryable, c: PhaseChange, now: Date | null): Promise<EngineRow | undefined> {
  const rows = await engineQuery(
    db,
    `WITH upd AS (
       UPDATE callback SET phase = $4, state = $5, due_at = ${NOW} + make_interval(secs => $6), updated_at = ${NOW},
              held_agent = CASE WHEN $9::text IS NOT NULL THEN $9 WHEN $10 THEN NULL ELSE held_agent END,
              held_attempt = CASE WHEN $9::text IS NOT NULL THEN attempt WHEN $10 THEN NULL ELSE held_attempt END
        WHERE id = $1 AND attempt = $2 AND phase = ANY($3::smallint[]) AND state IN (${STATES.QUEUED}, ${STATES.ROUTING}, ${STATES.PROCESSING})
        RETURNING *
     ), ev AS (
       INSERT INTO callback_event (desired_at, at, callback_id, kind, state, attempt, detail)
       SELECT desired_at, ${NOW}, id, $7, state, attempt, $8 FROM upd
     )
     SELECT ${ENGINE_COLUMNS} FROM upd c ${ENGINE_JOIN}`,
    [
      c.id,
      c.attempt,
      c.from.map((p) => PHASES[p]),
      PHASES[c.to],
      STATES[c.state],
      c.watchdogSec,
      EVENT_KIND[c.kind],
      c.detail,
      typeof c.agent === 'object' ? c.agent.holds : null,
      c.agent === 'connected',
    ],
    now,
  );
  return rows[0];
}

/** Extends an attempt's watchdog without changing it (a phase that legitimately lasts long). */
export async function extendWatchdog(
  db: Queryable,
  id: string,
  attempt: number,
  phase: AttemptPhase,
  seconds: number,
  now: Date | null,
): Promise<EngineRow | undefined> {
  const rows = await engineQuery(
    db,
    `WITH upd AS (
       UPDATE callback SET due_at = ${NOW} + make_interval(secs => $4)
        WHERE id = $1 AND attempt = $2 AND phase = $3 AND state < ${STATES.COMPLETED}
        RETURNING *
     )
     SELECT ${ENGINE_COLUMNS} FROM upd c ${ENGINE_JOIN}`,
    [id, attempt, PHASES[phase], seconds],
    now,
  );
  return rows[0];
}

/** Ends an attempt that did not reach an agent; the callback pauses until `retryAt`, out of its queue. */
export function pauseForRetry(
  db: Queryable,
  id: string,
  attempt: number,
  from: readonly AttemptPhase[],
  retryAt: Date,
  detail: string,
  now: Date | null,
): Promise<EngineRow | undefined> {
  return endAttemptWithoutAgent(db, id, attempt, from, 'RETRY_WAIT', retryAt, 'DIAL', detail, now);
}

/** Puts an attempt that never dialed (no agent could be reserved) back in its queue at once. */
export function returnToQueue(
  db: Queryable,
  id: string,
  attempt: number,
  from: readonly AttemptPhase[],
  detail: string,
  now: Date | null,
): Promise<EngineRow | undefined> {
  return endAttemptWithoutAgent(db, id, attempt, from, 'WAITING', null, 'STATE', detail, now);
}

/** The callback is QUEUED again after an attempt ended before an agent took it: waiting, or pausing until `dueAt`. */
async function endAttemptWithoutAgent(
  db: Queryable,
  id: string,
  attempt: number,
  from: readonly AttemptPhase[],
  to: 'WAITING' | 'RETRY_WAIT',
  dueAt: Date | null,
  kind: 'STATE' | 'DIAL',
  detail: string,
  now: Date | null,
): Promise<EngineRow | undefined> {
  const rows = await engineQuery(
    db,
    `WITH upd AS (
       UPDATE callback SET phase = $4, state = ${STATES.QUEUED}, due_at = $5, updated_at = ${NOW}
        WHERE id = $1 AND attempt = $2 AND phase = ANY($3::smallint[]) AND state IN (${STATES.QUEUED}, ${STATES.ROUTING})
        RETURNING *
     ), ev AS (
       INSERT INTO callback_event (desired_at, at, callback_id, kind, state, attempt, detail)
       SELECT desired_at, ${NOW}, id, $6, state, attempt, $7 FROM upd
     )
     SELECT ${ENGINE_COLUMNS} FROM upd c ${ENGINE_JOIN}`,
    [id, attempt, from.map((p) => PHASES[p]), PHASES[to], dueAt, EVENT_KIND[kind], detail],
    now,
  );
  return rows[0];
}

/**
 * Completes a callback from the engine (success or failure) and frees its capacity slot in the
 * same statement, as cancel does. `attempt` and `from` fence it; `attempt` null completes a
 * callback that is waiting whatever its attempt (TTL expiry of a queued callback).
 */
export async function completeAttempt(
  db: Queryable,
  id: string,
  attempt: number | null,
  from: readonly AttemptPhase[],
  reason: CompletionReason,
  detail: string,
  now: Date | null,
  /** The agent whose preview reject ends the callback: recorded with it (recordPreviewReject). */
  rejectedBy?: string,
): Promise<EngineRow | undefined> {
  const rows = await engineQuery(
    db,
    `WITH upd AS (
       UPDATE callback SET state = ${STATES.COMPLETED}, reason = $4, phase = ${PHASES.WAITING}, due_at = NULL, updated_at = ${NOW},
              preview_rejects = ${appendRejectSql('$6')},
              -- Served: the agent talked to the customer, it is not GES's to give back.
              held_agent = CASE WHEN $4::smallint = ${REASONS.AGENT_CONNECTED} THEN NULL ELSE held_agent END,
              held_attempt = CASE WHEN $4::smallint = ${REASONS.AGENT_CONNECTED} THEN NULL ELSE held_attempt END
        WHERE id = $1 AND ($2::smallint IS NULL OR attempt = $2) AND phase = ANY($3::smallint[]) AND state < ${STATES.COMPLETED}
        RETURNING *
     ), freed AS (
       ${freePlaceSql('upd')}
     ), ev AS (
       INSERT INTO callback_event (desired_at, at, callback_id, kind, state, reason, attempt, detail)
       SELECT desired_at, ${NOW}, id, ${EVENT_KIND.STATE}, state, reason, attempt, $5 FROM upd
     )
     SELECT ${ENGINE_COLUMNS} FROM upd c ${ENGINE_JOIN}`,
    [id, attempt, from.map((p) => PHASES[p]), REASONS[reason], detail, rejectedBy ?? null],
    now,
  );
  return rows[0];
}

/** preview_rejects with the agent of parameter `param` added once (unchanged when it is null). */
function appendRejectSql(param: string): string {
  return `CASE WHEN ${param}::text IS NULL OR ${param}::text = ANY(coalesce(preview_rejects, '{}')) THEN preview_rejects
              ELSE array_append(coalesce(preview_rejects, '{}'), ${param}::text) END`;
}

export interface PreviewReject {
  id: string;
  attempt: number;
  agentId: string;
  /** Where the attempt asks for another agent: RESERVING (agent first) or AWAITING_AGENT (customer on the line). */
  to: 'RESERVING' | 'AWAITING_AGENT';
  /** Seconds until the watchdog looks at the attempt (the retry pause included). */
  watchdogSec: number;
  detail: string;
}

/**
 * An agent rejected the preview (or let it time out): the attempt goes back to asking for an
 * agent (QUEUED again, the same attempt, no dial spent) and the agent joins the callback's
 * rejects, in one statement fenced on PREVIEWING. The agent stays in held_agent until it is given
 * back (takeHeldAgent takes an agent who rejected), so a node that dies before the release leaves
 * it to the sweep.
 */
export async function recordPreviewReject(db: Queryable, r: PreviewReject, now: Date | null): Promise<EngineRow | undefined> {
  const rows = await engineQuery(
    db,
    `WITH upd AS (
       UPDATE callback SET phase = $3, state = ${STATES.QUEUED}, due_at = ${NOW} + make_interval(secs => $4), updated_at = ${NOW},
              preview_rejects = ${appendRejectSql('$5')}
        WHERE id = $1 AND attempt = $2 AND phase = ${PHASES.PREVIEWING} AND state IN (${STATES.QUEUED}, ${STATES.ROUTING})
        RETURNING *
     ), ev AS (
       INSERT INTO callback_event (desired_at, at, callback_id, kind, state, attempt, detail)
       SELECT desired_at, ${NOW}, id, ${EVENT_KIND.STATE}, state, attempt, $6 FROM upd
     )
     SELECT ${ENGINE_COLUMNS} FROM upd c ${ENGINE_JOIN}`,
    [r.id, r.attempt, PHASES[r.to], r.watchdogSec, r.agentId, r.detail],
    now,
  );
  return rows[0];
}

/** Dials placed for a callback so far (the retry policies cap this). */
export async function dialCount(db: Queryable, id: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM callback_event WHERE callback_id = $1 AND kind = ${EVENT_KIND.DIAL} AND detail = 'dial'`,
    [id],
  );
  return rows[0]!.n;
}

/**
 * Completes with FAIL_TIMEOUT_TTL every waiting callback (scheduled, queued, or pausing between
 * attempts) whose time to live has ended. Reads only the partial index of waiting callbacks: its
 * WHERE repeats the index's predicate (waiting-index.ts).
 */
export async function expireOverdue(db: Queryable, now: Date | null, limit = 1000): Promise<EngineRow[]> {
  return engineQuery(
    db,
    `WITH due AS (
       SELECT c.id FROM callback c JOIN callback_service s ON s.id = c.service_id
        WHERE ${WAITING_INDEX_PREDICATE}
          AND c.desired_at < ${NOW} - interval '60 seconds'
          AND c.desired_at + make_interval(secs => coalesce((s.options->>'ttlSec')::int, 86400)) <= ${NOW}
        LIMIT $1
     ), upd AS (
       UPDATE callback c SET state = ${STATES.COMPLETED}, reason = ${REASONS.FAIL_TIMEOUT_TTL}, phase = ${PHASES.WAITING}, due_at = NULL, updated_at = ${NOW}
         FROM due WHERE c.id = due.id AND ${WAITING_INDEX_PREDICATE}
        RETURNING c.*
     ), freed AS (
       ${freePlaceSql('upd')}
     ), ev AS (
       INSERT INTO callback_event (desired_at, at, callback_id, kind, state, reason, attempt, detail)
       SELECT desired_at, ${NOW}, id, ${EVENT_KIND.STATE}, state, reason, attempt, 'ttl' FROM upd
     )
     SELECT ${ENGINE_COLUMNS} FROM upd c ${ENGINE_JOIN}`,
    [limit],
    now,
  );
}

/** Unfinished callbacks in id order, a page at a time: what the hot state is rebuilt from. */
export async function activeCallbacks(db: Queryable, afterId: string | null, limit: number, tenantId?: number): Promise<EngineRow[]> {
  return engineQuery(
    db,
    `SELECT ${ENGINE_COLUMNS} FROM callback c ${ENGINE_JOIN}
      WHERE c.state < ${STATES.COMPLETED} AND ($1::uuid IS NULL OR c.id > $1) AND ($3::int IS NULL OR c.tenant_id = $3)
      ORDER BY c.id LIMIT $2`,
    [afterId, limit, tenantId ?? null],
    null,
  );
}

/**
 * Keeps the wait predicted as a callback first joined its queue, as the instant an agent should take
 * it (`now + seconds`). Only the first prediction counts: a retry re-entering the queue keeps it, so
 * the error is measured against what the customer was first told.
 */
export async function recordPrediction(db: Queryable, id: string, predictedSec: number, now: Date | null): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE callback SET ewt_at = coalesce($3::timestamptz, now()) + make_interval(secs => $2)
      WHERE id = $1 AND ewt_at IS NULL AND state < ${STATES.COMPLETED}`,
    [id, predictedSec, now],
  );
  return rowCount === 1;
}

// ---- agents held for attempts ---------------------------------------------------------------------
