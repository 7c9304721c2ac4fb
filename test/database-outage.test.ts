// A PostgreSQL backend terminated under a node (failover, pg_terminate_backend, a restart) must
// never end the node: every connection checked out for a transaction carries an 'error' guard, the
// requests caught in it are answered 503 in the GES envelope, and the node goes on serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../src/config/config.ts';
import { startGes } from '../src/main/server.ts';
import { createLogger } from '../src/logging/logger.ts';
import { createTestDb, createTestTenant, TEST_DATABASE_URL } from './support/test-env.ts';
import { waitFor } from './support/wait-for.ts';

const CREATES = 240;
const CONCURRENCY = 24;

test('pg_terminate_backend of every node connection mid-burst: no crash, every create answered 200 or 503 in the envelope', { timeout: 120_000 }, async () => {
  const db = await createTestDb();
  const tenant = await createTestTenant(db, undefined, { sales: { inQueueChecking: 'false', requestsPerNumberPer24h: 0 } });
  // Our node's connections carry their own application_name, so only they are terminated.
  const appName = `ges-outage-${randomBytes(4).toString('hex')}`;
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('application_name', appName);
  const config = loadConfig(
    {},
    {
      DATABASE_URL: url.toString(),
      DATABASE_SCHEMA: db.schema,
      DATABASE_POOL_MAX: 8,
      PORT: 0,
      INTERNAL_PORT: 0,
      HOST: '127.0.0.1',
      DEMO_SEED: 'false',
      LOG_LEVEL: 'silent',
      MIGRATE_ON_START: false,
      MAINTENANCE_INTERVAL_SEC: 86400,
    },
  );
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  const ges = await startGes(config, createLogger('silent'));
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    const statuses = new Map<number, number>();
    let terminated = 0;
    let answered = 0;
    const create = async (i: number) => {
      const res = await fetch(`${ges.apiUrl}/engagement/v3/callbacks/create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': tenant.apiKey },
        body: JSON.stringify({ serviceName: 'sales', phoneNumber: `+1415555${String(3000 + i)}` }),
      });
      const body = (await res.json()) as { status: { code: number; message: string; corrId: string } };
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      assert.ok(res.status === 200 || res.status === 503, `create ${i}: ${res.status} ${body.status.message}`);
      assert.equal(body.status.code, res.status, 'the envelope carries the status');
      assert.ok(body.status.corrId, 'and a corrId');
      if (res.status === 503) assert.match(body.status.message, /unavailable; retry later/);
      answered += 1;
    };
    // Terminate every backend of the node three times while the burst runs.
    const killer = (async () => {
      for (const at of [CREATES * 0.2, CREATES * 0.45, CREATES * 0.7]) {
        await waitFor(() => answered >= at, `${at} creates answered`, 60_000);
        const { rowCount } = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [appName]);
        terminated += rowCount ?? 0;
      }
    })();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < CREATES) await create(next++);
      }),
    );
    await killer;
    assert.ok(terminated > 0, 'backends were terminated');
    assert.equal(answered, CREATES, 'every create was answered');
    assert.deepEqual(uncaught, [], 'no uncaught error');

    // The node is still up and serving: a create succeeds once the pool has new connections.
    assert.equal((await fetch(`${ges.internalUrl}/health/live`)).status, 200);
    await waitFor(async () => (await fetch(`${ges.internalUrl}/health/ready`)).status === 200, 'ready again', 15_000);
    await create(CREATES + 1);
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM callback');
    assert.ok(rows[0]!.n >= (statuses.get(200) ?? 0), 'every create answered 200 is stored');
    process.stdout.write(`# ${terminated} backends terminated; answers ${JSON.stringify(Object.fromEntries(statuses))}\n`);
  } finally {
    process.off('uncaughtException', onUncaught);
    await admin.end();
    await ges.stop();
    await db.close();
  }
});
