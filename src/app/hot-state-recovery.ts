import type { Queryable } from '../store/db.ts';
import type { HotState } from '../hot/hot-state.ts';
import { rebuildHotState, type RebuildCounts } from '../engine/hot-state-rebuild.ts';
import { ServiceDirectory } from '../engine/service-directory.ts';
import { countUnfinished } from '../store/callback-counts-read.ts';

export interface RecoveryReport {
  scheduled: number;
  queued: number;
  retrying: number;
  inFlight: number;
  /** Services with callbacks waiting in their queue. */
  services: number;
}

/**
 * `ges recover`: refills the hot state from Postgres, as an engine does by itself when it finds the
 * store flushed, but on demand (after restoring or replacing Redis, before nodes start). Queue
 * scores use each service's own priority step, as when the callbacks joined their queues. Only
 * adds: running nodes are not disturbed. `onProgress` gets (callbacks done, callbacks to do).
 */
export async function recoverHotState(db: Queryable, hot: HotState, onProgress?: (done: number, total: number) => void): Promise<RecoveryReport> {
  const total = onProgress ? await countUnfinished(db) : 0;
  const services = new ServiceDirectory(db);
  const counts: RebuildCounts = await rebuildHotState(
    db,
    hot,
    (row) => services.queueScore(row),
    onProgress ? (done) => onProgress(done, Math.max(total, done)) : undefined,
  );
  return { scheduled: counts.scheduled, queued: counts.queued, retrying: counts.retrying, inFlight: counts.inFlight, services: counts.services.size };
}
