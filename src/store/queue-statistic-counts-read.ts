import type { Queryable } from './db.ts';
import { STATES } from '../domain/callback-state.ts';
import { PHASES } from '../domain/engine/attempt-phase.ts';
import { AGENT_CONNECTED_DETAIL } from './engine-transition-store.ts';

/**
 * What get-statistic-ex needs from Postgres about one service
 * (src/domain/statistics/queue-statistics-input.ts). Read-only, like the other *-read modules.
 */
export interface QueueStatisticCounts {
  scheduled: number;
  routing: number;
  processing: number;
  completedToday: number;
  /** Queue entry (epoch ms) of the callback waiting longest in the queue, if one waits. */
  oldestQueuedAt?: number;
  estimatorError: { meanAbsSec: number; count: number };
}

/**
 * Counts of one service's callbacks, read in one statement. Active callbacks and those completed
 * since `since` (local midnight) are all younger than the retention, so the scan is bounded by it.
 * The estimator's error compares each prediction (ewt_at) with the moment an agent was connected at
 * the first attempt (its history event).
 */
export async function queueStatisticCounts(
  db: Queryable,
  tenantId: number,
  serviceId: number,
  executionBufferSec: number,
  since: Date,
  retentionDays: number,
): Promise<QueueStatisticCounts> {
  const { rows } = await db.query<{
    scheduled: number;
    routing: number;
    processing: number;
    completed_today: number;
    oldest: Date | null;
    mae: number | null;
    n: number;
  }>(
    `WITH c AS (
       SELECT * FROM callback
        WHERE tenant_id = $1 AND service_id = $2 AND desired_at >= now() - make_interval(days => $5)
     )
     SELECT
       (SELECT count(*)::int FROM c WHERE state = ${STATES.SCHEDULED}) AS scheduled,
       (SELECT count(*)::int FROM c WHERE state = ${STATES.ROUTING}) AS routing,
       (SELECT count(*)::int FROM c WHERE state = ${STATES.PROCESSING}) AS processing,
       (SELECT count(*)::int FROM c WHERE state = ${STATES.COMPLETED} AND updated_at >= $4) AS completed_today,
       (SELECT min(CASE WHEN scheduled THEN desired_at - make_interval(secs => $3) ELSE created_at END)
          FROM c WHERE state = ${STATES.QUEUED} AND phase = ${PHASES.WAITING}) AS oldest,
       e.mae, e.n
     FROM (SELECT avg(abs(extract(epoch FROM ev.at - c.ewt_at)))::float8 AS mae, count(*)::int AS n
             FROM c JOIN callback_event ev ON ev.callback_id = c.id AND ev.desired_at = c.desired_at
            WHERE c.ewt_at IS NOT NULL AND ev.at >= $4 AND ev.attempt = 1 AND ev.detail = '${AGENT_CONNECTED_DETAIL}') e`,
    [tenantId, serviceId, executionBufferSec, since, retentionDays],
  );
  const r = rows[0]!;
  return {
    scheduled: r.scheduled,
    routing: r.routing,
    processing: r.processing,
    completedToday: r.completed_today,
    ...(r.oldest ? { oldestQueuedAt: r.oldest.getTime() } : {}),
    estimatorError: { meanAbsSec: r.mae ?? 0, count: r.n },
  };
}
