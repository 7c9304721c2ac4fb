import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/config/config.ts';
import { startGes } from '../src/main/server.ts';
import { createLogger } from '../src/logging/logger.ts';
import { createTestDb, createTestTenant, TEST_DATABASE_URL } from './support/test-env.ts';
import { Redis } from 'ioredis';
import { connectRedis, dropPrefix, testPrefix, TEST_REDIS_URL } from './support/redis-env.ts';
import { waitFor } from './support/wait-for.ts';
import { buildInternalApp } from '../src/http/internal-app.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { DatabaseHealth } from '../src/store/database-health.ts';
import { CallbackService } from '../src/app/callback-service.ts';
import { CallbackEngine } from '../src/engine/callback-engine.ts';
import { simulatedEngineClock } from '../src/engine/engine-clock.ts';
import { RedisHotState, memberToId } from '../src/hot/redis-hot-state.ts';
import { SimClock } from '../src/voice/simulator/sim-clock.ts';
import { ContactCenterSimulator } from '../src/voice/simulator/contact-center-simulator.ts';
import { findTenantByName } from '../src/store/tenant-store.ts';

test('on stop the node reports not-ready at once, keeps serving through the delay, then stops listening', async () => {
  const db = await createTestDb();
  const config = loadConfig(
    {},
    {
      DATABASE_URL: TEST_DATABASE_URL,
      DATABASE_SCHEMA: db.schema,
      PORT: 0,
      INTERNAL_PORT: 0,
      HOST: '127.0.0.1',
      DEMO_SEED: 'false',
      SHUTDOWN_DELAY_SEC: 3,
      LOG_LEVEL: 'silent',
    },
  );
  const ges = await startGes(config, createLogger('silent'));
  try {
    assert.equal((await fetch(`${ges.internalUrl}/health/ready`)).status, 200);
    const stopping = ges.stop();
    const ready = await fetch(`${ges.internalUrl}/health/ready`);
    assert.equal(ready.status, 503, 'not ready as soon as shutdown starts');
    assert.equal(((await ready.json()) as { checks: { lifecycle?: string } }).checks.lifecycle, 'shutting down');
    const api = await fetch(`${ges.apiUrl}/engagement/v3/callbacks/retrieve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"id":"x"}',
    });
    assert.equal(api.status, 401, 'the API still answers during the delay');
    await stopping;
    await assert.rejects(fetch(`${ges.apiUrl}/engagement/v3/callbacks/retrieve`, { method: 'POST' }), 'no longer listening');
  } finally {
    await ges.stop();
    await db.close();
  }
});

test('with Redis, readiness reports it beside its checks; the node stops with Redis and the database reporting as before', async () => {
  const db = await createTestDb();
  const redis = await connectRedis();
  const prefix = testPrefix();
  const config = loadConfig(
    {},
    {
      DATABASE_URL: TEST_DATABASE_URL,
      DATABASE_SCHEMA: db.schema,
      PORT: 0,
      INTERNAL_PORT: 0,
      HOST: '127.0.0.1',
      DEMO_SEED: 'false',
      SHUTDOWN_DELAY_SEC: 0,
      LOG_LEVEL: 'silent',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
    },
  );
  const ges = await startGes(config, createLogger('silent'));
  try {
    const ready = await fetch(`${ges.internalUrl}/health/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'UP', checks: { database: 'UP', migrations: 'UP' }, redis: 'UP' });
    const metrics = await (await fetch(`${ges.internalUrl}/metrics`)).text();
    assert.match(metrics, /^ges_redis_up 1$/m);
    await ges.stop();
    await assert.rejects(fetch(`${ges.internalUrl}/health/live`), 'the internal port closes last, once the engine side has stopped');
  } finally {
    await ges.stop();
    await dropPrefix(redis, prefix);
    redis.disconnect();
    await db.close();
  }
});

test('a node whose Redis does not answer stays ready (it still serves the API) and live, and says Redis is down', async () => {
  const db = await createTestDb();
  const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  const metrics = createMetrics({ defaultMetrics: false });
  const internal = await buildInternalApp({
    pool: db.pool,
    logger: createLogger('silent'),
    isShuttingDown: () => false,
    adminToken: '',
    metrics,
    databaseHealth: new DatabaseHealth(db.pool),
    redisUp: async () => (await dead.ping()) === 'PONG',
  });
  try {
    const ready = await internal.inject('/health/ready');
    assert.equal(ready.statusCode, 200, 'a load balancer keeps the node: creates commit to PostgreSQL without Redis');
    assert.equal(ready.json().redis, 'DOWN');
    assert.equal(ready.json().checks.database, 'UP');
    assert.equal(ready.json().checks.redis, undefined, 'Redis is not one of the checks');
    assert.equal((await internal.inject('/health/live')).statusCode, 200, 'liveness does not depend on Redis');
    assert.match(await metrics.registry.metrics(), /^ges_redis_up 0$/m, 'the readiness probe sets the gauge');
  } finally {
    await internal.close();
    dead.disconnect();
    await db.close();
  }
});

test('a stopping engine claims no new due work and leaves no lease behind', async () => {
  const db = await createTestDb();
  const redis = await connectRedis();
  const prefix = testPrefix();
  const t = await createTestTenant(db, 'draining', { sales: { executionBufferSec: 60, inQueueChecking: 'false', requestsPerNumberPer24h: 0 } });
  const tenant = (await findTenantByName(db.pool, t.name))!;
  const clock = new SimClock(Math.ceil(Date.now() / 1000) * 1000);
  // No agent: callbacks that come due stay in their queue, so the only work is the due index.
  const sim = new ContactCenterSimulator({ seed: 1, clock, queues: { 'draining/sales': { agents: 0, handleTimeSec: { mean: 60, sd: 1 } } } });
  let stopping: Promise<void> | undefined;
  const BATCH = 5;
  const engine: CallbackEngine = new CallbackEngine({
    db: db.pool,
    hot: new RedisHotState(redis, prefix),
    voice: sim,
    clock: simulatedEngineClock(clock),
    logger: createLogger('silent'),
    pollMs: 1000,
    batch: BATCH,
    leaseMs: 30_000,
    // SIGTERM arrives while the first batch of due callbacks is being handled.
    observer: {
      transition: ({ to }) => {
        if (to === 'QUEUED') stopping ??= engine.stop();
      },
    },
  });
  db.clock.__test__pretendNow(clock.now());
  const callbacks = new CallbackService(db.pool, db.clock);
  callbacks.attach(engine, (err) => {
    throw err;
  });
  await sim.start();
  await engine.start();
  try {
    const desiredTime = new Date(clock.now() + 5 * 60_000).toISOString();
    for (let i = 0; i < 40; i++) await callbacks.create(tenant, { serviceName: 'sales', phoneNumber: `+1415555${String(4000 + i)}`, desiredTime });
    await engine.idle();
    clock.advanceBy(5 * 60_000);
    await waitFor(() => stopping !== undefined, 'the first due callback to be queued');
    await stopping;

    const states = (await db.pool.query<{ state: number; n: number }>('SELECT state, count(*)::int AS n FROM callback GROUP BY 1 ORDER BY 1')).rows;
    assert.deepEqual(
      states,
      [
        { state: 1, n: 40 - BATCH },
        { state: 2, n: BATCH },
      ],
      'the batch in hand was finished, and no other was claimed',
    );

    // Every due entry left sits at its callback's due time: none is leased (a lease would move it to claim time + 30 s).
    const dueAt = new Map(
      (await db.pool.query<{ id: string; due: Date }>('SELECT id, due_at AS due FROM callback WHERE state = 1')).rows.map((r) => [r.id, r.due.getTime()]),
    );
    const flat = await redis.zrangeBuffer(`${prefix}{t${tenant.id}}:due`, '0', '-1', 'WITHSCORES');
    const entries = new Map<string, number>();
    for (let i = 0; i < flat.length; i += 2) entries.set(memberToId(flat[i]!), Number(flat[i + 1]!.toString()));
    assert.equal(entries.size, 40 - BATCH);
    for (const [id, score] of entries) assert.equal(score, dueAt.get(id), `due entry of ${id}`);
    const hot = new RedisHotState(redis, prefix);
    assert.equal(
      (await hot.counts(tenant.id, (await db.pool.query('SELECT id FROM callback_service')).rows[0].id)).waiting,
      BATCH,
      'the queued ones are in their queue',
    );
  } finally {
    await engine.stop();
    await sim.stop();
    await dropPrefix(redis, prefix);
    redis.disconnect();
    await db.close();
  }
});
