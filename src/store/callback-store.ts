import type { Queryable } from './db.ts';
import { STATES, stateName, type CallbackState, type CompletionReason, REASONS } from '../domain/callback-state.ts';
import { phoneToStored } from '../domain/phone-number.ts';
import type { CallbackExtras } from '../domain/callback-request.ts';
import type { CallbackRecord } from '../domain/callback-record.ts';
import { isCallbackId, newCallbackId } from '../domain/callback-id.ts';
import type { Actor } from '../domain/actor.ts';
import { encodeUserData } from './user-data-codec.ts';
import { RECORD_COLUMNS, toRecords, type CallbackRow } from './callback-row.ts';
import { EVENT_KIND } from './callback-history.ts';
import { bookPlaceSql, freePlaceSql } from './slot-booking-store.ts';

/**
 * The callback aggregate as the API and the console change it: create (with its in-queue,
 * per-number and slot-capacity checks), read, find, cancel and reschedule. Each change is one
 * statement that also writes its history event (callback-history.ts), so a callback and its
 * history can never disagree, and books or frees its slot place (slot-booking-store.ts). The
 * engine moves callbacks on with its own fenced statements (engine-transition-store.ts).
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
  const { rows } = await db.query<{
    id: string | null;
    desired_at: Date | null;
    created_at: Date | null;
    due_at: Date | null;
    active: string;
    recent: string;
    allowed: boolean;
  }>(
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
      phoneToStored(c.phone),
      c.tenantId,
      c.serviceId,
      c.desiredTime ?? null,
      c.priority,
      initial,
      c.scheduled,
      c.extras ? JSON.stringify(c.extras) : null,
      userData.inline,
      c.maxActivePerNumber ?? null,
      c.maxRequestsPer24h ?? null,
      newCallbackId(),
      userData.chunks,
      c.slot?.start ?? null,
      c.slot?.capacity ?? 0,
      c.executionBufferSec,
    ],
  );
  const r = rows[0]!;
  if (r.id && r.desired_at && r.created_at)
    return { ok: true, id: r.id, desiredTime: r.desired_at, createdAt: r.created_at, dueAt: r.due_at, state: stateName(initial) };
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
  db: Queryable,
  tenantId: number,
  id: string,
  from: readonly CallbackState[],
  reason: CompletionReason,
  actor: Actor,
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
  db: Queryable,
  tenantId: number,
  id: string,
  from: readonly CallbackState[],
  desired: Date,
  slot: { start: Date; capacity: number } | undefined,
  actor: Actor,
  executionBufferSec: number,
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
      tenantId,
      f.serviceId ?? null,
      f.phone ? phoneToStored(f.phone) : null,
      f.states ? f.states.map((s) => STATES[s]) : null,
      f.from ?? null,
      f.to ?? null,
      f.after?.desiredTime ?? null,
      f.after?.id ?? null,
      f.limit,
    ],
  );
  return toRecords(db, rows);
}
