import type { Queryable } from './db.ts';
import { STATES } from '../domain/callback-state.ts';
import { PHASES } from '../domain/engine/attempt-phase.ts';
import { EVENT_KIND } from './callback-history.ts';
import { ENGINE_COLUMNS, ENGINE_JOIN, NOW, engineQuery, type EngineRow } from './engine-row.ts';

/**
 * The transitions of USERORIGINATED (push) callbacks (docs/ENGINE.md, "Push callbacks"), fenced
 * like every engine statement (engine-transition-store.ts). A push is an attempt: its number
 * fences the app's answer and the push's expiry exactly as it fences a dial's events.
 */

/** The history detail of a push started (then PUSH_SENT n/m or PUSH_FAILED once FCM answered). */
export const PUSH_DETAIL = 'push';

/**
 * Starts push n+1 of a waiting USERORIGINATED callback: taken from its queue, due at the push's
 * expiry. Fenced like startAttempt: only a callback still waiting in its queue, and alive.
 */
export async function startPush(db: Queryable, id: string, expirySec: number, ttlSec: number, now: Date | null): Promise<EngineRow | undefined> {
  const rows = await engineQuery(
    db,
    `WITH upd AS (
       UPDATE callback SET attempt = attempt + 1, phase = ${PHASES.PUSHED}, due_at = ${NOW} + make_interval(secs => $2), updated_at = ${NOW}
        WHERE id = $1 AND state = ${STATES.QUEUED} AND phase = ${PHASES.WAITING}
          AND desired_at + make_interval(secs => $3) > ${NOW}
        RETURNING *
     ), ev AS (
       INSERT INTO callback_event (desired_at, at, callback_id, kind, state, attempt, detail)
       SELECT desired_at, ${NOW}, id, ${EVENT_KIND.STATE}, state, attempt, '${PUSH_DETAIL}' FROM upd
     )
     SELECT ${ENGINE_COLUMNS} FROM upd c ${ENGINE_JOIN}`,
    [id, expirySec, ttlSec],
    now,
  );
  return rows[0];
}

/** Pushes that reached the app so far (the confirmation-attempt cap counts them; one FCM could not deliver does not count). */
export async function pushCount(db: Queryable, id: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM callback_event WHERE callback_id = $1 AND kind = ${EVENT_KIND.STATE} AND detail LIKE 'PUSH\\_SENT%'`,
    [id],
  );
  return rows[0]!.n;
}

/** The push targets the callback was created with (request extras); none for a callback without. */
export async function pushTargetsOf(db: Queryable, id: string): Promise<{ channel: string; target: string }[]> {
  const { rows } = await db.query<{ targets: unknown }>(`SELECT extras->'pushTargets' AS targets FROM callback WHERE id = $1`, [id]);
  const targets = rows[0]?.targets;
  return Array.isArray(targets) ? (targets as { channel: string; target: string }[]) : [];
}

/**
 * Records how a push went (PUSH_SENT with the targets reached, PUSH_FAILED) in the callback's
 * history, only while that push is still the callback's (an answer or expiry meanwhile wins).
 */
export async function recordPushOutcome(db: Queryable, id: string, attempt: number, detail: string, now: Date | null): Promise<boolean> {
  const text = `INSERT INTO callback_event (desired_at, at, callback_id, kind, state, attempt, detail)
     SELECT desired_at, coalesce($4::timestamptz, now()), id, ${EVENT_KIND.STATE}, state, attempt, $3 FROM callback
      WHERE id = $1 AND attempt = $2 AND phase = ${PHASES.PUSHED} AND state = ${STATES.QUEUED}`;
  const { rowCount } = await db.query(text, [id, attempt, detail, now]);
  return rowCount === 1;
}

/**
 * The app confirmed the push and GES calls the customer: the same attempt goes on as a dial
 * (customer first) or an agent reservation (agent first), with its watchdog; the confirmation and
 * the dial are both recorded by this one statement.
 */
export async function confirmPushToDial(
  db: Queryable,
  id: string,
  attempt: number,
  first: 'CUSTOMER' | 'AGENT',
  watchdogSec: number,
  now: Date | null,
): Promise<EngineRow | undefined> {
  const phase = first === 'AGENT' ? PHASES.RESERVING : PHASES.DIALING;
  const rows = await engineQuery(
    db,
    `WITH upd AS (
       UPDATE callback SET phase = $3, due_at = ${NOW} + make_interval(secs => $4), updated_at = ${NOW}
        WHERE id = $1 AND attempt = $2 AND state = ${STATES.QUEUED} AND phase = ${PHASES.PUSHED}
        RETURNING *
     ), ev AS (
       INSERT INTO callback_event (desired_at, at, callback_id, kind, state, attempt, detail)
       SELECT desired_at, ${NOW}, id, k.kind, state, attempt, k.detail FROM upd
        CROSS JOIN (VALUES (${EVENT_KIND.STATE}, 'PUSH_CONFIRMED'),
                           (CASE WHEN $3 = ${PHASES.DIALING} THEN ${EVENT_KIND.DIAL} ELSE ${EVENT_KIND.STATE} END,
                            CASE WHEN $3 = ${PHASES.DIALING} THEN 'dial' ELSE 'reserve agent' END)) AS k(kind, detail)
     )
     SELECT ${ENGINE_COLUMNS} FROM upd c ${ENGINE_JOIN}`,
    [id, attempt, phase, watchdogSec],
    now,
  );
  return rows[0];
}

/**
 * The app snoozed the push (or FCM was down: `detail` says so): out of the queue until the snooze ends (database clock), when it
 * rejoins its queue at the score of its row, as a retry pause does, so its place is kept.
 */
export async function snoozePush(
  db: Queryable,
  id: string,
  attempt: number,
  snoozeSec: number,
  now: Date | null,
  detail = 'PUSH_SNOOZED',
): Promise<EngineRow | undefined> {
  const rows = await engineQuery(
    db,
    `WITH upd AS (
       UPDATE callback SET phase = ${PHASES.RETRY_WAIT}, due_at = ${NOW} + make_interval(secs => $3), updated_at = ${NOW}
        WHERE id = $1 AND attempt = $2 AND state = ${STATES.QUEUED} AND phase = ${PHASES.PUSHED}
        RETURNING *
     ), ev AS (
       INSERT INTO callback_event (desired_at, at, callback_id, kind, state, attempt, detail)
       SELECT desired_at, ${NOW}, id, ${EVENT_KIND.STATE}, state, attempt, $4 FROM upd
     )
     SELECT ${ENGINE_COLUMNS} FROM upd c ${ENGINE_JOIN}`,
    [id, attempt, snoozeSec, detail],
    now,
  );
  return rows[0];
}
