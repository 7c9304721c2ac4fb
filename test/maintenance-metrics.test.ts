import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics } from '../src/metrics/metrics.ts';
import { Maintenance } from '../src/app/maintenance.ts';
import { DbClock } from '../src/store/db-clock.ts';
import { createPool } from '../src/store/db.ts';
import { createLogger } from '../src/logging/logger.ts';
import { createTestDb } from './support/test-env.ts';

test('maintenance rounds move their metrics, and a failed round is counted', async () => {
  const db = await createTestDb();
  const metrics = createMetrics({ defaultMetrics: false });
  try {
    await new Maintenance(db.pool, new DbClock(), createLogger('silent'), 14, 60_000, metrics).runOnce();
    const dead = createPool({ url: 'postgres://root@127.0.0.1:1/none', max: 1 });
    await assert.rejects(new Maintenance(dead, new DbClock(), createLogger('silent'), 14, 60_000, metrics).runOnce());
    await dead.end();
    const text = await metrics.registry.metrics();
    assert.match(text, /^ges_maintenance_runs_total\{result="ok"\} 1$/m);
    assert.match(text, /^ges_maintenance_runs_total\{result="failed"\} 1$/m);
    assert.match(text, /^ges_retention_partitions_dropped_total 0$/m);
    const skew = Number(/^ges_db_clock_skew_seconds (\S+)$/m.exec(text)?.[1]);
    assert.ok(Number.isFinite(skew) && Math.abs(skew) < 5, `skew ${skew} measured against the local database`);
  } finally {
    await db.close();
  }
});
