import type { Queryable } from './db.ts';
import { REASONS, STATES } from '../domain/callback-state.ts';
import { isCallbackId } from '../domain/callback-id.ts';
import { DISPOSITION_STORED } from '../domain/disposition.ts';
import { EVENT_KIND } from './callback-history.ts';

/**
 * All SQL of dispositions (docs/ENGINE.md, "Disposition"): the dialog asked for, the outcome
 * recorded, and the outcomes that never came recorded as TIMEOUT. A disposition belongs to a
 * COMPLETED callback, so none of these goes through the attempt fence of
 * engine-transition-store.ts; their own fence is callback.disposition, which only moves from NULL
 * to REQUESTED and from REQUESTED to an outcome, each with its history event in the same statement.
 * `now` is the engine's clock (null: the database's).
 */

const NOW = (n: number) => `coalesce($${n}::timestamptz, now())`;

/** A served callback's dialog is being shown; false when it was asked for already (or the callback was not served). */
export async function requestDisposition(db: Queryable, id: string, timeoutSec: number, now: Date | null): Promise<boolean> {
  if (!isCallbackId(id)) return false;
  const { rowCount } = await db.query(
    `WITH upd AS (
       UPDATE callback SET disposition = ${DISPOSITION_STORED.REQUESTED}, updated_at = ${NOW(3)}
        WHERE id = $1 AND state = ${STATES.COMPLETED} AND reason = ${REASONS.AGENT_CONNECTED} AND disposition IS NULL
        RETURNING *
     )
     INSERT INTO callback_event (desired_at, at, callback_id, kind, state, reason, attempt, detail)
     SELECT desired_at, ${NOW(3)}, id, ${EVENT_KIND.DISPOSITION}, state, reason, attempt, 'disposition requested (' || $2::int || ' s)' FROM upd`,
    [id, timeoutSec, now],
  );
  return rowCount === 1;
}

/** A callback as a disposition sees it: where its dialog stands, and what a recreate copies. */
export interface DispositionTarget {
  id: string;
  tenantId: number;
  tenantName: string;
  serviceId: number;
  serviceName: string;
  attempt: number;
  /** callback.disposition: null (none asked), 0 (awaited) or an outcome's stored code. */
  stored: number | null;
  /** When the dialog was asked for (the row's last change while it is awaited). */
  requestedAt: Date;
}

export async function dispositionTarget(db: Queryable, id: string): Promise<DispositionTarget | undefined> {
  if (!isCallbackId(id)) return undefined;
  const { rows } = await db.query<{
    id: string;
    tenant_id: number;
    tenant_name: string;
    service_id: number;
    service_name: string;
    attempt: number;
    disposition: number | null;
    updated_at: Date;
  }>(
    `SELECT c.id, c.tenant_id, t.name AS tenant_name, c.service_id, s.name AS service_name, c.attempt, c.disposition, c.updated_at
       FROM callback c JOIN callback_service s ON s.id = c.service_id JOIN tenant t ON t.id = c.tenant_id
      WHERE c.id = $1`,
    [id],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    id: r.id,
    tenantId: r.tenant_id,
    tenantName: r.tenant_name,
    serviceId: r.service_id,
    serviceName: r.service_name,
    attempt: r.attempt,
    stored: r.disposition,
    requestedAt: r.updated_at,
  };
}

export interface DispositionRecord {
  id: string;
  /** The outcome's stored code (not REQUESTED). */
  stored: number;
  detail: string;
  /** The callback it recreated: its history gets `recreatedDetail` in the same statement. */
  recreated?: { id: string; detail: string };
}

/** Records an awaited disposition; false when one was recorded already (a redelivery, another node, or the timeout). */
export async function recordDisposition(db: Queryable, d: DispositionRecord, now: Date | null): Promise<boolean> {
  if (!isCallbackId(d.id)) return false;
  const { rows } = await db.query<{ n: number }>(
    `WITH upd AS (
       UPDATE callback SET disposition = $2, updated_at = ${NOW(6)}
        WHERE id = $1 AND state = ${STATES.COMPLETED} AND disposition = ${DISPOSITION_STORED.REQUESTED}
        RETURNING *
     ), ev AS (
       INSERT INTO callback_event (desired_at, at, callback_id, kind, state, reason, attempt, detail)
       SELECT desired_at, ${NOW(6)}, id, ${EVENT_KIND.DISPOSITION}, state, reason, attempt, $3 FROM upd
     ), linked AS (
       INSERT INTO callback_event (desired_at, at, callback_id, kind, state, attempt, detail)
       SELECT n.desired_at, ${NOW(6)}, n.id, ${EVENT_KIND.STATE}, n.state, n.attempt, $5
         FROM callback n JOIN upd ON n.tenant_id = upd.tenant_id
        WHERE $4::uuid IS NOT NULL AND n.id = $4::uuid
     )
     SELECT count(*)::int AS n FROM upd`,
    [d.id, d.stored, d.detail, d.recreated?.id ?? null, d.recreated?.detail ?? null, now],
  );
  return rows[0]!.n === 1;
}

/**
 * Records TIMEOUT for every dialog still awaited `graceSec` after its service's
 * agentDispositionTimeoutSec; returns the callbacks it recorded, for the metric. Reads only the
 * partial index of awaited dialogs.
 */
export async function timeOutDispositions(
  db: Queryable,
  detail: string,
  graceSec: number,
  now: Date | null,
  limit = 1000,
): Promise<{ tenantName: string; serviceName: string }[]> {
  const { rows } = await db.query<{ tenant_name: string; service_name: string }>(
    `WITH due AS (
       SELECT c.id FROM callback c JOIN callback_service s ON s.id = c.service_id
        WHERE c.disposition = ${DISPOSITION_STORED.REQUESTED}
          AND c.updated_at + make_interval(secs => coalesce((s.options->>'agentDispositionTimeoutSec')::int, 45) + $2) <= ${NOW(3)}
        LIMIT $4
     ), upd AS (
       UPDATE callback c SET disposition = ${DISPOSITION_STORED.TIMEOUT}, updated_at = ${NOW(3)}
         FROM due WHERE c.id = due.id AND c.disposition = ${DISPOSITION_STORED.REQUESTED}
        RETURNING c.*
     ), ev AS (
       INSERT INTO callback_event (desired_at, at, callback_id, kind, state, reason, attempt, detail)
       SELECT desired_at, ${NOW(3)}, id, ${EVENT_KIND.DISPOSITION}, state, reason, attempt, $1 FROM upd
     )
     SELECT t.name AS tenant_name, s.name AS service_name FROM upd c JOIN callback_service s ON s.id = c.service_id JOIN tenant t ON t.id = c.tenant_id`,
    [detail, graceSec, now, limit],
  );
  return rows.map((r) => ({ tenantName: r.tenant_name, serviceName: r.service_name }));
}
