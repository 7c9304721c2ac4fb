import type { Queryable } from '../store/db.ts';
import { activeCallbacks, type EngineRow } from '../store/engine-transition-store.ts';
import type { HotState } from '../hot/hot-state.ts';

export interface RebuildCounts {
  scheduled: number;
  queued: number;
  retrying: number;
  inFlight: number;
  /** Services that have waiting callbacks: serviceId → tenantId. */
  services: Map<number, number>;
}

const PAGE = 2000;

/**
 * Refills the hot state from Postgres, the source of truth: every unfinished callback goes back in
 * the index its row says (due index for scheduled callbacks, retry pauses and attempts in flight;
 * its queue for a waiting one). Only adds, never clears: it runs while other nodes keep working,
 * and an entry made stale meanwhile is dropped when the engine meets it. Idempotent. `onProgress`
 * hears the number of callbacks put back so far after each page (`ges recover`'s progress bar).
 */
export async function rebuildHotState(
  db: Queryable,
  hot: HotState,
  scoreOf: (row: EngineRow) => Promise<number>,
  onProgress?: (done: number) => void,
): Promise<RebuildCounts> {
  const counts: RebuildCounts = { scheduled: 0, queued: 0, retrying: 0, inFlight: 0, services: new Map() };
  let after: string | null = null;
  for (;;) {
    const rows = await activeCallbacks(db, after, PAGE);
    if (rows.length === 0) break;
    after = rows.at(-1)!.id;
    const due = new Map<number, { id: string; atMs: number }[]>();
    const queues = new Map<string, { tenantId: number; serviceId: number; entries: { id: string; score: number }[] }>();
    for (const r of rows) {
      if (r.state === 'QUEUED' && r.phase === 'WAITING') {
        const key = `${r.tenantId}:${r.serviceId}`;
        const q = queues.get(key) ?? { tenantId: r.tenantId, serviceId: r.serviceId, entries: [] };
        q.entries.push({ id: r.id, score: await scoreOf(r) });
        queues.set(key, q);
        counts.services.set(r.serviceId, r.tenantId);
        counts.queued++;
        continue;
      }
      // Anything else the engine must look at on time; a row without a due time is looked at now.
      const atMs = r.dueAt?.getTime() ?? 0;
      due.set(r.tenantId, [...(due.get(r.tenantId) ?? []), { id: r.id, atMs }]);
      if (r.state === 'SCHEDULED') counts.scheduled++;
      else if (r.phase === 'RETRY_WAIT') counts.retrying++;
      else counts.inFlight++;
    }
    for (const [tenantId, entries] of due) await hot.setDue(tenantId, entries);
    for (const q of queues.values()) await hot.enqueue(q.tenantId, q.serviceId, q.entries);
    onProgress?.(counts.scheduled + counts.queued + counts.retrying + counts.inFlight);
    if (rows.length < PAGE) break;
  }
  await hot.markIntact();
  return counts;
}
