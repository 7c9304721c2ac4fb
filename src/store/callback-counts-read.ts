import type { Queryable } from './db.ts';
import { STATES } from '../domain/callback-state.ts';
import { WAITING_INDEX_PREDICATE } from './waiting-index.ts';

/**
 * Counts of callbacks for operations (metrics, `ges recover`). Read-only, like the other *-read
 * modules; callbacks change in callback-store and engine-transition-store.
 */

export interface ServiceWaiting {
  tenant: string;
  service: string;
  /** Booked for later, not yet due. */
  scheduled: number;
  /** QUEUED and waiting for its turn: in the queue, or pausing between attempts. */
  queued: number;
}

/**
 * Waiting callbacks of every service, zero included, for the `ges_queue_size` gauge. Reads only the
 * partial index `callback_waiting` (state < ROUTING, phase WAITING or RETRY_WAIT), so finished and
 * in-flight callbacks cost nothing however many the retention keeps.
 */
export async function waitingByService(db: Queryable): Promise<ServiceWaiting[]> {
  const { rows } = await db.query<ServiceWaiting>(
    `SELECT t.name AS tenant, s.name AS service,
            coalesce(w.scheduled, 0)::int AS scheduled, coalesce(w.queued, 0)::int AS queued
       FROM callback_service s
       JOIN tenant t ON t.id = s.tenant_id
       LEFT JOIN (
         SELECT service_id,
                count(*) FILTER (WHERE state = ${STATES.SCHEDULED}) AS scheduled,
                count(*) FILTER (WHERE state = ${STATES.QUEUED}) AS queued
           FROM callback
          WHERE ${WAITING_INDEX_PREDICATE}
          GROUP BY service_id
       ) w ON w.service_id = s.id`,
  );
  return rows;
}

/** Unfinished callbacks (any tenant): the total a hot-state rebuild walks through. */
export async function countUnfinished(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM callback WHERE state < ${STATES.COMPLETED}`);
  return rows[0]!.n;
}
