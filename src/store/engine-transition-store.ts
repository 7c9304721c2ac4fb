import type { Queryable } from './db.ts';
import { STATES, stateName, type CallbackState, type CompletionReason, REASONS } from '../domain/callback-state.ts';
import { phoneFromStored, phoneToStored } from '../domain/phone-number.ts';
import type { CallbackExtras } from '../domain/callback-request.ts';
import type { CallbackRecord } from '../domain/callback-record.ts';
import { isCallbackId, newCallbackId } from '../domain/callback-id.ts';
import type { Actor } from '../domain/actor.ts';
import { encodeUserData } from './user-data-codec.ts';
import { PHASES, phaseName, type AttemptPhase } from '../domain/engine/attempt-phase.ts';
import { RECORD_COLUMNS, toRecords, type CallbackRow } from './callback-row.ts';
import { EVENT_KIND } from './callback-history.ts';
import { bookPlaceSql, freePlaceSql } from './slot-booking-store.ts';

/**
 * The statements that change callbacks: those of the API and the console (create, cancel,
 * reschedule, with their reads) and the engine's fenced transitions. Each state change is one
 * statement that also writes its history event (callback-history.ts), so a callback and its
 * history can never disagree, and books or frees its slot place (slot-booking-store.ts).
 */

export interface InsertCallback {
  tenantId: number;
  serviceId: number;
  phone: string; // E.164
  desiredTime: Date | undefined; // undefined: now() of the database
  scheduled: boolean;
  priority: number;
  extras: CallbackExtras | undefined;
  userData: Record<string, unknown> | undefined;
  maxActivePerNumber: number | undefined;
  maxRequestsPer24h: number | undefined;
  slot: { start: Date; capacity: number } | undefined; // scheduled: the capacity slot to book
  executionBufferSec: number; // a scheduled callback is due in its queue this long before its desired time
}

export type InsertResult =
  | { ok: true; id: string; desiredTime: Date; createdAt: Date; dueAt: Date | null; state: CallbackState }
  | { ok: false; refusal: 'duplicate'; active: number }
  | { ok: false; refusal: 'throttled'; recent: number }
  | { ok: false; refusal: 'slot-full' };

/**
 * Inserts a callback, enforcing in-queue checking, the per-number daily limit and the capacity of
 * its slot inside the same statement: the slot counter is incremented only while below capacity
 * (concurrent bookings of the last places queue on the counter row and re-check it), and the
 * callback is inserted only if that increment happened. When a number limit applies, the caller's
 * transaction first takes {@link lockNumber}, so two concurrent creates for one number cannot both
 * see room for one more (a single statement's snapshot predates the lock, hence the separate lock).
 */
export async function insertCallback(db: Queryable, c: InsertCallback): Promise<InsertResult> {
  const initial = c.scheduled ? STATES.SCHEDULED : STATES.QUEUED;
  const userData = await encodeUserData(c.userData);
  const { rows } = await db.query<{ id: string | null; desired_at: Date | null; created_at: Date | null; due_at: Date | null; active: string; recent: string; allowed: boolean }>(
    `WITH counts AS (
       SELECT count(*) FILTER (WHERE state < ${STATES.COMPLETED} AND service_id = $3) AS active,
              count(*) FILTER (WHERE service_id = $3 AND created_at > now() - interval '24 hours') AS recent
         FROM callback WHERE tenant_id = $2 AND phone = $1
     ), allowed AS (
       SELECT * FROM counts WHERE ($10::int IS NULL OR active < $10::int) AND ($11::int IS NULL OR recent < $11::int)
     ), book AS (
       ${bookPlaceSql({ service: '$3', slot: '$14::timestamptz', capacity: '$15::int', source: 'allowed', when: '$14::timestamptz IS NOT NULL' })}
     ), ins AS (
       INSERT INTO callback (desired_at, phone, slot_at, id, tenant_id, service_id, priority, state, scheduled, extras, user_data, data_chunks, due_at)
       SELECT date_trunc('milliseconds', coalesce($4::timestamptz, now())), $1, $14::timestamptz, $12, $2, $3, $5, $6, $7, $8, $9, cardinality($13::bytea[]),
              CASE WHEN $7 THEN date_trunc('milliseconds', $4::timestamptz) - make_interval(secs => $16) END
         FROM allowed
        WHERE $14::timestamptz IS NULL OR EXISTS (SELECT 1 FROM book)
       RETURNING id, desired_at, created_at, due_at
     ), data AS (
       INSERT INTO callback_data (desired_at, callback_id, seq, chunk)
       SELECT ins.desired_at, ins.id, d.seq, d.chunk FROM ins, unnest($13::bytea[]) WITH ORDINALITY AS d(chunk, seq)
     )
     SELECT ins.id, ins.desired_at, ins.created_at, ins.due_at, counts.active, counts.recent, EXISTS (SELECT 1 FROM allowed) AS allowed
       FROM counts LEFT JOIN ins ON true`,
    [
      phoneToStored(c.phone), c.tenantId, c.serviceId, c.desiredTime ?? null, c.priority, initial, c.scheduled,
      c.extras ? JSON.stringify(c.extras) : null, userData.inline,
      c.maxActivePerNumber ?? null, c.maxRequestsPer24h ?? null, newCallbackId(), userData.chunks,
      c.slot?.start ?? null, c.slot?.capacity ?? 0, c.executionBufferSec,
    ],
  );
  const r = rows[0]!;
  if (r.id && r.desired_at && r.created_at) return { ok: true, id: r.id, desiredTime: r.desired_at, createdAt: r.created_at, dueAt: r.due_at, state: stateName(initial) };
  if (r.allowed) return { ok: false, refusal: 'slot-full' };
  const active = Number(r.active);
  if (c.maxActivePerNumber !== undefined && active >= c.maxActivePerNumber) return { ok: false, refusal: 'duplicate', active };
  return { ok: false, refusal: 'throttled', recent: Number(r.recent) };
}

/** Serialises creates for one number of one tenant until the transaction ends. */
export async function lockNumber(db: Queryable, tenantId: number, phone: string): Promise<void> {
  await db.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [tenantId, phone]);
}

export async function getCallback(db: Queryable, tenantId: number, id: string): Promise<CallbackRecord | undefined> {
  if (!isCallbackId(id)) return undefined;
  const { rows } = await db.query<CallbackRow>(
    `SELECT ${RECORD_COLUMNS} FROM callback c JOIN callback_service s ON s.id = c.service_id
      WHERE c.tenant_id = $1 AND c.id = $2`,
    [tenantId, id],
  );
  return rows[0] ? (await toRecords(db, rows))[0] : undefined;
}

export type TransitionResult = { ok: true; record: CallbackRecord } | { ok: false; found: false } | { ok: false; found: true; state: CallbackState };

/**
 * Completes a callback with a cancellation reason if it is in one of `from` states; one statement
 * writes the new state and its history event and frees its capacity slot. When nothing changed, tells whether the callback
 * exists and its state, so the caller can say why.
 */
export async function cancelCallback(
  db: Queryable, tenantId: number, id: string, from: readonly CallbackState[], reason: CompletionReason, actor: Actor,
): Promise<TransitionResult> {
  if (!isCallbackId(id)) return { ok: false, found: false };
  const { rows } = await db.query<CallbackRow & { changed: boolean }>(
    `WITH upd AS (
       UPDATE callback SET state = ${STATES.COMPLETED}, reason = $4, phase = 0, due_at = NULL, updated_at = now()
        WHERE tenant_id = $1 AND id = $2 AND state = ANY($3::smallint[])
        RETURNING *
     ), freed AS (
       ${freePlaceSql('upd')}
     ), ev AS (
       INSERT INTO callback_event (desired_at, callback_id, kind, state, reason, attempt, actor)
       SELECT desired_at, id, ${EVENT_KIND.STATE}, state, reason, attempt, $5 FROM upd
     )
     SELECT ${RECORD_COLUMNS}, true AS changed FROM upd c JOIN callback_service s ON s.id = c.service_id`,
    [tenantId, id, from.map((s) => STATES[s]), REASONS[reason], actor],
  );
  if (rows[0]) return { ok: true, record: (await toRecords(db, rows))[0]! };
  return explainNoChange(db, tenantId, id);
}

export type RescheduleResult = TransitionResult | { ok: false; found: true; slotFull: true };

/**
 * Moves a callback to a new desired time and slot if it is in one of `from` states. One statement
 * books the new slot (only while below `capacity`), frees the old one, and moves the row, its
 * history and its userData chunks to the partition of the new day.
 */
export async function rescheduleCallback(
  db: Queryable, tenantId: number, id: string, from: readonly CallbackState[], desired: Date,
  slot: { start: Date; capacity: number } | undefined, actor: Actor, executionBufferSec: number,
): Promise<RescheduleResult> {
  if (!isCallbackId(id)) return { ok: false, found: false };
  const { rows } = await db.query<CallbackRow & { matched: number }>(
    `WITH prev AS (
       SELECT id, service_id, desired_at, slot_at FROM callback
        WHERE tenant_id = $1 AND id = $2 AND state = ANY($3::smallint[])
        FOR UPDATE
     ), book AS (
       ${bookPlaceSql({ service: 'prev.service_id', slot: '$6::timestamptz', capacity: '$7::int', source: 'prev', when: '$6::timestamptz IS NOT NULL AND prev.slot_at IS DISTINCT FROM $6::timestamptz' })}
     ), upd AS (
       UPDATE callback c SET desired_at = date_trunc('milliseconds', $4::timestamptz), slot_at = $6::timestamptz, updated_at = now(),
              due_at = date_trunc('milliseconds', $4::timestamptz) - make_interval(secs => $8)
         FROM prev
        WHERE c.tenant_id = $1 AND c.id = prev.id AND c.state = ANY($3::smallint[])
          AND ($6::timestamptz IS NULL OR prev.slot_at IS NOT DISTINCT FROM $6::timestamptz OR EXISTS (SELECT 1 FROM book))
        RETURNING c.*, prev.desired_at AS previous_desired_at, prev.slot_at AS previous_slot_at
     ), freed AS (
       ${freePlaceSql('upd', { slotColumn: 'previous_slot_at', when: 'upd.previous_slot_at IS DISTINCT FROM upd.slot_at' })}
     ), moved AS (
       UPDATE callback_event e SET desired_at = upd.desired_at FROM upd WHERE e.callback_id = upd.id
     ), moved_data AS (
       UPDATE callback_data d SET desired_at = upd.desired_at FROM upd WHERE d.callback_id = upd.id
     ), ev AS (
       INSERT INTO callback_event (desired_at, callback_id, kind, state, attempt, actor, detail)
       SELECT desired_at, id, ${EVENT_KIND.RESCHEDULE}, state, attempt, $5,
              'from ' || to_char(previous_desired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
         FROM upd
     )
     SELECT ${RECORD_COLUMNS}, (SELECT count(*) FROM prev)::int AS matched
       FROM (SELECT 1) one
       LEFT JOIN (upd c JOIN callback_service s ON s.id = c.service_id) ON true`,
    [tenantId, id, from.map((s) => STATES[s]), desired, actor, slot?.start ?? null, slot?.capacity ?? 0, executionBufferSec],
  );
  const r = rows[0]!;
  if (r.id) return { ok: true, record: (await toRecords(db, [r]))[0]! };
  if (r.matched > 0) return { ok: false, found: true, slotFull: true };
  return explainNoChange(db, tenantId, id);
}

async function explainNoChange(db: Queryable, tenantId: number, id: string): Promise<TransitionResult> {
  const { rows } = await db.query<{ state: number }>('SELECT state FROM callback WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return rows[0] ? { ok: false, found: true, state: stateName(rows[0].state) } : { ok: false, found: false };
}

export interface FindFilter {
  serviceId?: number;
  phone?: string; // E.164
  states?: readonly CallbackState[];
  from?: Date;
  to?: Date;
  after?: { desiredTime: Date; id: string };
  limit: number;
}

/** Callbacks of a tenant ordered by (desired time, id), read with a keyset cursor. */
export async function findCallbacks(db: Queryable, tenantId: number, f: FindFilter): Promise<CallbackRecord[]> {
  const { rows } = await db.query<CallbackRow>(
    `SELECT ${RECORD_COLUMNS} FROM callback c JOIN callback_service s ON s.id = c.service_id
      WHERE c.tenant_id = $1
        AND ($2::int IS NULL OR c.service_id = $2)
        AND ($3::bigint IS NULL OR c.phone = $3)
        AND ($4::smallint[] IS NULL OR c.state = ANY($4))
        AND ($5::timestamptz IS NULL OR c.desired_at >= $5)
        AND ($6::timestamptz IS NULL OR c.desired_at < $6)
        AND ($7::timestamptz IS NULL OR (c.desired_at, c.id) > ($7, $8::uuid))
      ORDER BY c.desired_at, c.id
      LIMIT $9`,
    [
      tenantId, f.serviceId ?? null, f.phone ? phoneToStored(f.phone) : null, f.states ? f.states.map((s) => STATES[s]) : null,
      f.from ?? null, f.to ?? null, f.after?.desiredTime ?? null, f.after?.id ?? null, f.limit,
    ],
  );
  return toRecords(db, rows);
}

// ---- Engine transitions ------------------------------------------------------------------------
// Every statement below is fenced: it changes a callback only if its state, phase and attempt are
// still what the caller saw, so a duplicate event, a slow node or a watchdog racing an event can
// never move a callback twice. Each writes its history event in the same statement. `now` is the
// engine's clock: null in production (the database clock), the simulated time in simulations.

/** What the engine needs of a callback, with the names the voice platform is told. */
export interface EngineRow {
  id: string;
  tenantId: number;
  tenantName: string;
  serviceId: number;
  serviceName: string;
  state: CallbackState;
  phase: AttemptPhase;
  attempt: number;
  dueAt: Date | null;
  desiredAt: Date;
  createdAt: Date;
  priority: number;
  scheduled: boolean;
  phone: string; // E.164
  /** When the prediction made as the callback first joined its queue said an agent would take it. */
  ewtAt: Date | null;
}

interface EngineDbRow {
  id: string; tenant_id: number; tenant_name: string; service_id: number; service_name: string; state: number; phase: number;
  attempt: number; due_at: Date | null; desired_at: Date; created_at: Date; priority: number; scheduled: boolean; phone: string; ewt_at: Date | null;
}

const ENGINE_COLUMNS = `c.id, c.tenant_id, t.name AS tenant_name, c.service_id, s.name AS service_name, c.state, c.phase,
  c.attempt, c.due_at, c.desired_at, c.created_at, c.priority, c.scheduled, c.phone, c.ewt_at`;
const ENGINE_JOIN = 'JOIN callback_service s ON s.id = c.service_id JOIN tenant t ON t.id = c.tenant_id';

function toEngineRow(r: EngineDbRow): EngineRow {
  return {
    id: r.id, tenantId: r.tenant_id, tenantName: r.tenant_name, serviceId: r.service_id, serviceName: r.service_name,
    state: stateName(r.state), phase: phaseName(r.phase), attempt: r.attempt, dueAt: r.due_at, desiredAt: r.desired_at,
    createdAt: r.created_at, priority: r.priority, scheduled: r.scheduled, phone: phoneFromStored(r.phone),
    ewtAt: r.ewt_at,
  };
}

const NOW = 'coalesce($NOW::timestamptz, now())';

/** The history detail of the step where customer and agent are connected (the estimator's error is measured at it). */
export const AGENT_CONNECTED_DETAIL = 'agent connected';

/** Runs an engine statement whose clock parameter is written $NOW (appended as the last parameter). */
async function engineQuery(db: Queryable, sql: string, params: unknown[], now: Date | null): Promise<EngineRow[]> {
  const usesNow = sql.includes('$NOW');
  const text = usesNow ? sql.replaceAll('$NOW', `$${params.length + 1}`) : sql;
  const { rows } = await db.query<EngineDbRow>(text, usesNow ? [...params, now] : params);
  return rows.map(toEngineRow);
}

/** The engine's view of some callbacks (any state), for reconciling due entries. */
export async function engineRows(db: Queryable, ids: readonly string[]): Promise<EngineRow[]> {
  const valid = ids.filter(isCallbackId);
  if (valid.length === 0) return [];
  return engineQuery(db, `SELECT ${ENGINE_COLUMNS} FROM callback c ${ENGINE_JOIN} WHERE c.id = ANY($1::uuid[])`, [valid], null);
}

/** SCHEDULED callbacks among `ids` whose due time has come join their queue (QUEUED, waiting). */
export async function queueDueScheduled(db: Queryable, ids: readonly string[], now: Date | null): Promise<EngineRow[]> {
  const valid = ids.filter(isCallbackId);
  if (valid.length === 0) return [];
  return engineQuery(db,
    `WITH upd AS (
       UPDATE callback SET state = ${STATES.QUEUED}, phase = ${PHASES.WAITING}, due_at = NULL, updated_at = ${NOW}
        WHERE id = ANY($1::uuid[]) AND state = ${STATES.SCHEDULED} AND due_at <= ${NOW}
        RETURNING *
     ), ev AS (
       INSERT INTO callback_event (desired_at, at, callback_id, kind, state, attempt)
       SELECT desired_at, ${NOW}, id, ${EVENT_KIND.STATE}, state, attempt FROM upd
     )
     SELECT ${ENGINE_COLUMNS} FROM upd c ${ENGINE_JOIN}`,
    [valid], now);
}

/** A retry pause that has ended: the callback waits in its queue again. */
export async function endRetryPause(db: Queryable, id: string, attempt: number, now: Date | null): Promise<EngineRow | undefined> {
  const rows = await engineQuery(db,
    `WITH upd AS (
       UPDATE callback SET phase = ${PHASES.WAITING}, due_at = NULL, updated_at = ${NOW}
        WHERE id = $1 AND state = ${STATES.QUEUED} AND phase = ${PHASES.RETRY_WAIT} AND attempt = $2 AND due_at <= ${NOW}
        RETURNING *
     )
     SELECT ${ENGINE_COLUMNS} FROM upd c ${ENGINE_JOIN}`,
    [id, attempt], now);
  return rows[0];
}

/**
 * Starts attempt n+1 of a waiting callback: the only place an attempt number is handed out, so
 * two nodes that took the same callback cannot both start it. Refused once the callback's time to
 * live has ended (the caller then expires it).
 */
export async function startAttempt(
  db: Queryable, id: string, first: 'CUSTOMER' | 'AGENT', watchdogSec: number, ttlSec: number, now: Date | null,
): Promise<EngineRow | undefined> {
  const phase = first === 'AGENT' ? PHASES.RESERVING : PHASES.DIALING;
  const rows = await engineQuery(db,
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
     SELECT ${ENGINE_COLUMNS} FROM upd c ${ENGINE_JOIN}`,
    [id, phase, watchdogSec, ttlSec], now);
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
}

/** Moves an attempt on to its next phase (and API state) after a platform event. */
export async function advanceAttempt(db: Queryable, c: PhaseChange, now: Date | null): Promise<EngineRow | undefined> {
  const rows = await engineQuery(db,
    `WITH upd AS (
       UPDATE callback SET phase = $4, state = $5, due_at = ${NOW} + make_interval(secs => $6), updated_at = ${NOW}
        WHERE id = $1 AND attempt = $2 AND phase = ANY($3::smallint[]) AND state IN (${STATES.QUEUED}, ${STATES.ROUTING}, ${STATES.PROCESSING})
        RETURNING *
     ), ev AS (
       INSERT INTO callback_event (desired_at, at, callback_id, kind, state, attempt, detail)
       SELECT desired_at, ${NOW}, id, $7, state, attempt, $8 FROM upd
     )
     SELECT ${ENGINE_COLUMNS} FROM upd c ${ENGINE_JOIN}`,
    [c.id, c.attempt, c.from.map((p) => PHASES[p]), PHASES[c.to], STATES[c.state], c.watchdogSec, EVENT_KIND[c.kind], c.detail], now);
  return rows[0];
}

/** Extends an attempt's watchdog without changing it (a phase that legitimately lasts long). */
export async function extendWatchdog(db: Queryable, id: string, attempt: number, phase: AttemptPhase, seconds: number, now: Date | null): Promise<EngineRow | undefined> {
  const rows = await engineQuery(db,
    `WITH upd AS (
       UPDATE callback SET due_at = ${NOW} + make_interval(secs => $4)
        WHERE id = $1 AND attempt = $2 AND phase = $3 AND state < ${STATES.COMPLETED}
        RETURNING *
     )
     SELECT ${ENGINE_COLUMNS} FROM upd c ${ENGINE_JOIN}`,
    [id, attempt, PHASES[phase], seconds], now);
  return rows[0];
}

/** Ends an attempt that did not reach an agent; the callback pauses until `retryAt`, out of its queue. */
export function pauseForRetry(
  db: Queryable, id: string, attempt: number, from: readonly AttemptPhase[], retryAt: Date, detail: string, now: Date | null,
): Promise<EngineRow | undefined> {
  return endAttemptWithoutAgent(db, id, attempt, from, 'RETRY_WAIT', retryAt, 'DIAL', detail, now);
}

/** Puts an attempt that never dialed (no agent could be reserved) back in its queue at once. */
export function returnToQueue(
  db: Queryable, id: string, attempt: number, from: readonly AttemptPhase[], detail: string, now: Date | null,
): Promise<EngineRow | undefined> {
  return endAttemptWithoutAgent(db, id, attempt, from, 'WAITING', null, 'STATE', detail, now);
}

/** The callback is QUEUED again after an attempt ended before an agent took it: waiting, or pausing until `dueAt`. */
async function endAttemptWithoutAgent(
  db: Queryable, id: string, attempt: number, from: readonly AttemptPhase[], to: 'WAITING' | 'RETRY_WAIT', dueAt: Date | null,
  kind: 'STATE' | 'DIAL', detail: string, now: Date | null,
): Promise<EngineRow | undefined> {
  const rows = await engineQuery(db,
    `WITH upd AS (
       UPDATE callback SET phase = $4, state = ${STATES.QUEUED}, due_at = $5, updated_at = ${NOW}
        WHERE id = $1 AND attempt = $2 AND phase = ANY($3::smallint[]) AND state IN (${STATES.QUEUED}, ${STATES.ROUTING})
        RETURNING *
     ), ev AS (
       INSERT INTO callback_event (desired_at, at, callback_id, kind, state, attempt, detail)
       SELECT desired_at, ${NOW}, id, $6, state, attempt, $7 FROM upd
     )
     SELECT ${ENGINE_COLUMNS} FROM upd c ${ENGINE_JOIN}`,
    [id, attempt, from.map((p) => PHASES[p]), PHASES[to], dueAt, EVENT_KIND[kind], detail], now);
  return rows[0];
}

/**
 * Completes a callback from the engine (success or failure) and frees its capacity slot in the
 * same statement, as cancel does. `attempt` and `from` fence it; `attempt` null completes a
 * callback that is waiting whatever its attempt (TTL expiry of a queued callback).
 */
export async function completeAttempt(
  db: Queryable, id: string, attempt: number | null, from: readonly AttemptPhase[], reason: CompletionReason, detail: string, now: Date | null,
): Promise<EngineRow | undefined> {
  const rows = await engineQuery(db,
    `WITH upd AS (
       UPDATE callback SET state = ${STATES.COMPLETED}, reason = $4, phase = ${PHASES.WAITING}, due_at = NULL, updated_at = ${NOW}
        WHERE id = $1 AND ($2::smallint IS NULL OR attempt = $2) AND phase = ANY($3::smallint[]) AND state < ${STATES.COMPLETED}
        RETURNING *
     ), freed AS (
       ${freePlaceSql('upd')}
     ), ev AS (
       INSERT INTO callback_event (desired_at, at, callback_id, kind, state, reason, attempt, detail)
       SELECT desired_at, ${NOW}, id, ${EVENT_KIND.STATE}, state, reason, attempt, $5 FROM upd
     )
     SELECT ${ENGINE_COLUMNS} FROM upd c ${ENGINE_JOIN}`,
    [id, attempt, from.map((p) => PHASES[p]), REASONS[reason], detail], now);
  return rows[0];
}

/** Dials placed for a callback so far (the retry policies cap this). */
export async function dialCount(db: Queryable, id: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM callback_event WHERE callback_id = $1 AND kind = ${EVENT_KIND.DIAL} AND detail = 'dial'`, [id]);
  return rows[0]!.n;
}

/**
 * Completes with FAIL_TIMEOUT_TTL every waiting callback (scheduled, queued, or pausing between
 * attempts) whose time to live has ended. Reads only the partial index of waiting callbacks.
 */
export async function expireOverdue(db: Queryable, now: Date | null, limit = 1000): Promise<EngineRow[]> {
  return engineQuery(db,
    `WITH due AS (
       SELECT c.id FROM callback c JOIN callback_service s ON s.id = c.service_id
        WHERE c.state < 3 AND c.phase IN (${PHASES.WAITING}, ${PHASES.RETRY_WAIT})
          AND c.desired_at < ${NOW} - interval '60 seconds'
          AND c.desired_at + make_interval(secs => coalesce((s.options->>'ttlSec')::int, 86400)) <= ${NOW}
        LIMIT $1
     ), upd AS (
       UPDATE callback c SET state = ${STATES.COMPLETED}, reason = ${REASONS.FAIL_TIMEOUT_TTL}, phase = ${PHASES.WAITING}, due_at = NULL, updated_at = ${NOW}
         FROM due WHERE c.id = due.id AND c.state < 3 AND c.phase IN (${PHASES.WAITING}, ${PHASES.RETRY_WAIT})
        RETURNING c.*
     ), freed AS (
       ${freePlaceSql('upd')}
     ), ev AS (
       INSERT INTO callback_event (desired_at, at, callback_id, kind, state, reason, attempt, detail)
       SELECT desired_at, ${NOW}, id, ${EVENT_KIND.STATE}, state, reason, attempt, 'ttl' FROM upd
     )
     SELECT ${ENGINE_COLUMNS} FROM upd c ${ENGINE_JOIN}`,
    [limit], now);
}

/** Unfinished callbacks in id order, a page at a time: what the hot state is rebuilt from. */
export async function activeCallbacks(db: Queryable, afterId: string | null, limit: number, tenantId?: number): Promise<EngineRow[]> {
  return engineQuery(db,
    `SELECT ${ENGINE_COLUMNS} FROM callback c ${ENGINE_JOIN}
      WHERE c.state < ${STATES.COMPLETED} AND ($1::uuid IS NULL OR c.id > $1) AND ($3::int IS NULL OR c.tenant_id = $3)
      ORDER BY c.id LIMIT $2`,
    [afterId, limit, tenantId ?? null], null);
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
    [id, predictedSec, now]);
  return rowCount === 1;
}
