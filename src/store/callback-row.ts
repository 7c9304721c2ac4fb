import type { Queryable } from './db.ts';
import { stateName, reasonName } from '../domain/callback-state.ts';
import { phoneFromStored } from '../domain/phone-number.ts';
import type { CallbackExtras } from '../domain/callback-request.ts';
import type { CallbackRecord, CallbackSummary } from '../domain/callback-record.ts';
import { phaseName } from '../domain/engine/attempt-phase.ts';
import { decodeUserData } from './user-data-codec.ts';

/**
 * The one mapping of callback rows to what the layers above read (src/domain/callback-record.ts):
 * the columns selected, and the decoding of phone, state, reason, phase and chunked userData. The
 * statements that return callbacks select these columns from `callback c JOIN callback_service s`.
 */

export interface CallbackSummaryRow {
  id: string;
  service_name: string;
  phone: string;
  desired_at: Date;
  created_at: Date;
  updated_at: Date;
  state: number;
  reason: number | null;
  scheduled: boolean;
}

export interface CallbackRow extends CallbackSummaryRow {
  attempt: number;
  priority: number;
  extras: CallbackExtras | null;
  user_data: Record<string, unknown> | null;
  data_chunks: number;
  phase: number;
  service_id: number;
}

export const SUMMARY_COLUMNS = 'c.id, s.name AS service_name, c.phone, c.desired_at, c.created_at, c.updated_at, c.state, c.reason, c.scheduled';
export const RECORD_COLUMNS = `${SUMMARY_COLUMNS}, c.attempt, c.priority, c.extras, c.user_data, c.data_chunks, c.phase, c.service_id`;

export function toSummary(r: CallbackSummaryRow): CallbackSummary {
  return {
    id: r.id,
    serviceName: r.service_name,
    phoneNumber: phoneFromStored(r.phone),
    desiredTime: r.desired_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    state: stateName(r.state),
    reason: reasonName(r.reason),
    scheduled: r.scheduled,
  };
}

/** Maps rows to records, fetching chunked userData of the page in one query. */
export async function toRecords(db: Queryable, rows: CallbackRow[]): Promise<CallbackRecord[]> {
  const chunked = rows.filter((r) => r.data_chunks > 0).map((r) => r.id);
  const chunks = new Map<string, Buffer[]>();
  if (chunked.length > 0) {
    const res = await db.query<{ callback_id: string; chunk: Buffer }>(
      'SELECT callback_id, chunk FROM callback_data WHERE callback_id = ANY($1::uuid[]) ORDER BY callback_id, seq',
      [chunked],
    );
    for (const r of res.rows) chunks.set(r.callback_id, [...(chunks.get(r.callback_id) ?? []), r.chunk]);
  }
  return Promise.all(
    rows.map(async (r) => {
      const record = toRecord(r);
      const parts = chunks.get(r.id);
      return parts ? { ...record, userData: await decodeUserData(parts) } : record;
    }),
  );
}

function toRecord(r: CallbackRow): CallbackRecord {
  return {
    ...toSummary(r),
    attempt: r.attempt,
    priority: r.priority,
    extras: r.extras,
    userData: r.user_data,
    phase: phaseName(r.phase),
    serviceId: r.service_id,
  };
}
