import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics } from '../src/metrics/metrics.ts';
import { Maintenance } from '../src/app/maintenance.ts';
import { DbClock } from '../src/store/db-clock.ts';
import { createPool } from '../src/store/db.ts';
import { createLogger } from '../src/logging/logger.ts';
import { createTestDb, createTestTenant } from './support/test-env.ts';
import { waitFor } from './support/wait-for.ts';
import { CallbackService } from '../src/app/callback-service.ts';
import { analyzeStalePartitions } from '../src/store/partition-store.ts';

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

test('maintenance analyzes the daily partitions that filled up since their statistics, once (where autovacuum would, or does not run)', async () => {
  const db = await createTestDb();
  try {
    const tenant = await createTestTenant(db, undefined, { sales: { requestsPerNumberPer24h: 0 } });
    // As where autovacuum is off (or absent, as in PGlite): only maintenance will analyze them.
    await db.pool.query(`DO $$ DECLARE r record; BEGIN
      FOR r IN SELECT c.oid::regclass::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = current_schema() AND c.relname ~ '^callback(_event|_data)?_p[0-9]{8}$' LOOP
        EXECUTE format('ALTER TABLE %s SET (autovacuum_enabled = false)', r.name);
      END LOOP; END $$`);
    const callbacks = new CallbackService(db.pool, db.clock);
    for (let i = 0; i < 120; i++) await callbacks.create(tenant, { serviceName: 'sales', phoneNumber: `+1415555${String(1000 + i)}` });
    // Statistics counters reach the views when the writing backend flushes them (at most 10 s idle):
    // the condition is the round finding the partition, not a time.
    let analyzed = 0;
    await waitFor(async () => (analyzed += await analyzeStalePartitions(db.pool, 8)) > 0, 'the filled partition analyzed', 20_000);
    const { rows } = await db.pool.query<{ relname: string }>(
      `SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname ~ '^callback_p[0-9]{8}$' AND last_analyze IS NOT NULL`,
    );
    assert.ok(rows.length >= 1, "today's callback partition has statistics");
    // Nothing changed since: the next round has nothing to do.
    assert.equal(await analyzeStalePartitions(db.pool, 8), 0);
    const report = await new Maintenance(db.pool, db.clock, createLogger('silent'), 14, 60_000).runOnce();
    assert.equal(report.partitionsAnalyzed, 0);
  } finally {
    await db.close();
  }
});
