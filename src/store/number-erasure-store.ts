import type { Queryable } from './db.ts';
import { STATES } from '../domain/callback-state.ts';
import { phoneToStored } from '../domain/phone-number.ts';
import { freePlacesSql } from './slot-booking-store.ts';

/** What an erasure removed: how many callbacks, and which unfinished ones the hot state may still index. */
export interface ErasedCallbacks {
  erased: number;
  unfinished: { id: string; serviceId: number }[];
}

/**
 * Erases every record of a number for a tenant (data-protection request) in one statement: the
 * callbacks in every partition, their history, their userData chunks, their idempotency keys, and
 * the capacity their unfinished callbacks held; and writes the audit event, which names the number
 * only by `subjectHash` (with `callInRequests`, the number's call-in requests erased beside it).
 */
export async function eraseNumber(
  db: Queryable,
  tenantId: number,
  phone: string,
  subjectHash: string,
  actor: string,
  callInRequests = 0,
): Promise<ErasedCallbacks> {
  const { rows } = await db.query<{ erased: number; unfinished: { id: string; serviceId: number }[] }>(
    `WITH gone AS (
       DELETE FROM callback WHERE tenant_id = $1 AND phone = $2
       RETURNING id, service_id, slot_at, state
     ), events AS (
       DELETE FROM callback_event e USING gone WHERE e.callback_id = gone.id
     ), chunks AS (
       DELETE FROM callback_data d USING gone WHERE d.callback_id = gone.id
     ), keys AS (
       DELETE FROM idempotency_key k USING gone WHERE k.tenant_id = $1 AND k.callback_id = gone.id
     ), freed AS (
       ${freePlacesSql(`SELECT service_id, slot_at, count(*)::int AS n FROM gone
                WHERE state < ${STATES.COMPLETED} AND slot_at IS NOT NULL GROUP BY 1, 2`)}
     ), audit AS (
       INSERT INTO audit_event (tenant_id, action, subject_hash, detail)
       SELECT $1, 'gdpr.forget', $3, jsonb_build_object('callbacks', count(*), 'callInRequests', $5::int, 'actor', $4::text) FROM gone
     )
     SELECT count(*)::int AS erased,
            coalesce(json_agg(json_build_object('id', id, 'serviceId', service_id)) FILTER (WHERE state < ${STATES.COMPLETED}), '[]') AS unfinished
       FROM gone`,
    [tenantId, phoneToStored(phone), subjectHash, actor, callInRequests],
  );
  return rows[0]!;
}
