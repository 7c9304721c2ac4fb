import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { createTestDb, createTestTenant, type TestDb } from './support/test-env.ts';
import { connectRedis, dropPrefix, startRedisCluster, testPrefix, type TestCluster } from './support/redis-env.ts';
import { CallbackService } from '../src/app/callback-service.ts';
import { CallbackEngine } from '../src/engine/callback-engine.ts';
import { simulatedEngineClock } from '../src/engine/engine-clock.ts';
import { MemoryHotState } from '../src/hot/memory-hot-state.ts';
import { RedisHotState } from '../src/hot/redis-hot-state.ts';
import type { HotState } from '../src/hot/hot-state.ts';
import { SimClock } from '../src/voice/simulator/sim-clock.ts';
import { ContactCenterSimulator } from '../src/voice/simulator/contact-center-simulator.ts';
import { createLogger } from '../src/logging/logger.ts';
import { findTenantByName } from '../src/store/tenant-store.ts';
import * as store from '../src/store/callback-history.ts';

/**
 * A contact-center stretch played on the simulator's clock against real Postgres: callbacks move
 * SCHEDULED → QUEUED → ROUTING → PROCESSING → COMPLETED with the right reasons, failed dials are
 * retried by their policy, and the simulator's ledger proves that no attempt was dialed twice —
 * also when the hot state is lost mid-run and rebuilt from Postgres.
 */

const BUSY = '+14155550101';
const INVALID = '+14155550102';
const MACHINE = '+14155550103';

interface World {
  db: TestDb;
  sim: ContactCenterSimulator;
  clock: SimClock;
  engine: CallbackEngine;
  callbacks: CallbackService;
  tenant: { id: number; name: string };
  run(ms: number, stepMs?: number): Promise<void>;
  stop(): Promise<void>;
}

async function world(hot: HotState, agents = { sales: 3, support: 2 }): Promise<World> {
  const db = await createTestDb();
  const t = await createTestTenant(db, undefined, {
    sales: { executionBufferSec: 60 },
    support: { firstConnectParty: 'AGENT' },
  });
  const tenant = (await findTenantByName(db.pool, t.name))!;
  const clock = new SimClock(Math.ceil(Date.now() / 1000) * 1000);
  const sim = new ContactCenterSimulator({
    seed: 7,
    clock,
    queues: {
      [`${tenant.name}/sales`]: { agents: agents.sales, handleTimeSec: { mean: 180, sd: 60 }, wrapUpSec: 10 },
      [`${tenant.name}/support`]: { agents: agents.support, handleTimeSec: { mean: 120, sd: 30 } },
    },
    customers: { answer: 1, busy: 0, noAnswer: 0, machine: 0, invalid: 0 },
    perNumber: (phone) =>
      phone === BUSY ? { answer: 0, busy: 1 } : phone === INVALID ? { answer: 0, invalid: 1 } : phone === MACHINE ? { answer: 0, machine: 1 } : undefined,
    customerPatienceSec: 600,
  });
  const engineClock = simulatedEngineClock(clock);
  const engine = new CallbackEngine({
    db: db.pool,
    hot,
    voice: sim,
    clock: engineClock,
    logger: createLogger('silent'),
    pollMs: 1000,
    sweepMs: 10_000,
    observer: undefined,
  });
  db.clock.__test__pretendNow(clock.now());
  const callbacks = new CallbackService(db.pool, db.clock);
  callbacks.attach(engine, (err) => {
    throw err;
  });
  await sim.start();
  await engine.start();
  return {
    db,
    sim,
    clock,
    engine,
    callbacks,
    tenant,
    async run(ms, stepMs = 1000) {
      const end = clock.now() + ms;
      while (clock.now() < end) {
        clock.advanceBy(stepMs);
        await engine.idle();
        db.clock.__test__pretendNow(clock.now());
      }
    },
    async stop() {
      await engine.stop();
      await sim.stop();
      await db.close();
    },
  };
}

async function events(w: World, id: string) {
  return store.listEvents(w.db.pool, w.tenant.id, id);
}

function assertLedgerClean(w: World, dialsInDb: number): void {
  assert.equal(w.sim.ledger.duplicates, 0, 'no dial command was ever repeated for a key');
  assert.equal(w.sim.dialsPlaced(), dialsInDb, 'every dial recorded in history was placed once, and nothing else');
}

async function dialsRecorded(w: World): Promise<number> {
  const { rows } = await w.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM callback_event WHERE kind = 2 AND detail = 'dial'`);
  return rows[0]!.n;
}

function scenario(name: string, makeHot: () => Promise<{ hot: HotState; lose: () => Promise<void>; done: () => Promise<void> }>) {
  describe(`engine on a simulated contact center (${name})`, () => {
    test('immediate and scheduled callbacks are served, failures retried by policy, each attempt dialed once', async () => {
      const { hot, lose, done } = await makeHot();
      const w = await world(hot);
      try {
        const tenant = { id: w.tenant.id, name: w.tenant.name };
        const start = w.clock.now();
        const immediate: string[] = [];
        for (let i = 0; i < 12; i++) {
          const r = await w.callbacks.create(tenant, { serviceName: i % 3 === 0 ? 'support' : 'sales', phoneNumber: `+1415555${String(2000 + i)}` });
          immediate.push(r.id);
        }
        const scheduled: string[] = [];
        for (let i = 0; i < 6; i++) {
          const desiredTime = new Date(start + (10 + i * 5) * 60_000).toISOString();
          scheduled.push((await w.callbacks.create(tenant, { serviceName: 'sales', phoneNumber: `+1415555${String(3000 + i)}`, desiredTime })).id);
        }
        const busy = (await w.callbacks.create(tenant, { serviceName: 'sales', phoneNumber: BUSY })).id;
        const invalid = (await w.callbacks.create(tenant, { serviceName: 'sales', phoneNumber: INVALID })).id;
        const machine = (await w.callbacks.create(tenant, { serviceName: 'support', phoneNumber: MACHINE })).id;

        await w.run(5 * 60_000);
        const early = await w.callbacks.retrieve(tenant, scheduled.at(-1)!);
        assert.equal(early.state, 'SCHEDULED', 'a scheduled callback waits for its time');

        await lose(); // the hot state is lost mid-run: the engine must notice and rebuild it from Postgres
        await w.run(90 * 60_000, 2000);

        for (const id of [...immediate, ...scheduled]) {
          const r = await w.callbacks.retrieve(tenant, id);
          assert.equal(r.state, 'COMPLETED', `${id} completed`);
          assert.equal(r.reason, 'AGENT_CONNECTED', `${id} reached an agent`);
          const h = await events(w, id);
          const states = h.map((e) => e.state);
          assert.ok(states.includes('ROUTING') && states.includes('PROCESSING'), `${id} went through ROUTING and PROCESSING: ${states.join(',')}`);
        }
        for (const id of scheduled) {
          const h = await events(w, id);
          assert.equal(h[0]!.state, 'SCHEDULED');
          const queued = h.find((e) => e.kind === 'STATE' && e.state === 'QUEUED')!;
          const r = await w.callbacks.retrieve(tenant, id);
          assert.ok(queued.at.getTime() >= r.desiredTime.getTime() - 60_000, 'queued no earlier than desired time minus the execution buffer');
          assert.ok(queued.at.getTime() <= r.desiredTime.getTime() - 60_000 + 2000, 'and within a poll of it');
        }

        const b = await w.callbacks.retrieve(tenant, busy);
        assert.equal(b.reason, 'FAIL_CALL_TO_CUSTOMER');
        const dials = (await events(w, busy)).filter((e) => e.kind === 'DIAL' && e.detail === 'dial');
        assert.equal(dials.length, 3, 'busy: three attempts in all');
        for (let i = 1; i < dials.length; i++) assert.ok(dials[i]!.at.getTime() - dials[i - 1]!.at.getTime() >= 300_000, 'retries 300 s apart');

        const inv = await w.callbacks.retrieve(tenant, invalid);
        assert.equal(inv.reason, 'FAIL_CALL_TO_CUSTOMER');
        assert.equal((await events(w, invalid)).filter((e) => e.detail === 'dial').length, 1, 'an invalid number is not retried');

        const m = await w.callbacks.retrieve(tenant, machine);
        assert.equal(m.reason, 'FAIL_CALL_TO_CUSTOMER');
        assert.equal((await events(w, machine)).filter((e) => e.detail === 'dial').length, 3, 'agent first: answering machine retried to the limit');

        const sales = (await w.callbacks.retrieve(tenant, busy)).serviceId;
        for (const mode of ['mode1', 'mode2', 'mode3'] as const) {
          const ewt = await w.engine.queueWait(tenant.id, tenant.name, sales, mode);
          assert.ok(ewt && ewt.estimate.seconds !== undefined && ewt.estimate.seconds >= 0, `${mode}: completed interactions give an estimate`);
        }
        assertLedgerClean(w, await dialsRecorded(w));
      } finally {
        await w.stop();
        await done();
      }
    });

    test('cancel stops a callback in any phase before PROCESSING; a queued one shows its place and wait', async () => {
      const { hot, done } = await makeHot();
      const w = await world(hot, { sales: 1, support: 1 });
      try {
        const tenant = { id: w.tenant.id, name: w.tenant.name };
        const ids: string[] = [];
        for (let i = 0; i < 4; i++) ids.push((await w.callbacks.create(tenant, { serviceName: 'sales', phoneNumber: `+1415555${4000 + i}` })).id);
        await w.run(20_000);
        const third = await w.callbacks.retrieveLive(tenant, ids[2]!);
        assert.equal(third.state, 'QUEUED');
        assert.equal(third.positionInQueue, 2, 'one agent: the first is being served, the second waits ahead of the third');
        assert.ok(third.estimatedWaitTime !== undefined);
        await w.callbacks.cancel(tenant, ids[1]!);
        assert.equal((await w.callbacks.retrieveLive(tenant, ids[2]!)).positionInQueue, 1, 'cancel frees the place');
        await w.run(30 * 60_000, 2000);
        assert.equal((await w.callbacks.retrieve(tenant, ids[1]!)).reason, 'CANCELLED');
        for (const id of [ids[0]!, ids[2]!, ids[3]!]) assert.equal((await w.callbacks.retrieve(tenant, id)).reason, 'AGENT_CONNECTED');
        assertLedgerClean(w, await dialsRecorded(w));
      } finally {
        await w.stop();
        await done();
      }
    });
  });
}

scenario('in-process hot state', async () => {
  const hot = new MemoryHotState();
  return { hot, lose: async () => hot.flush(), done: async () => {} };
});

let redis: Redis | undefined;
scenario('Redis hot state', async () => {
  redis ??= await connectRedis();
  const prefix = testPrefix();
  const r = redis;
  return { hot: new RedisHotState(r, prefix), lose: () => dropPrefix(r, prefix), done: () => dropPrefix(r, prefix) };
});

// The same day on a 3-master Redis Cluster the test starts itself: every key and script of the engine is slot-safe.
let cluster: TestCluster | undefined;
scenario('Redis Cluster hot state (3 masters)', async () => {
  cluster ??= await startRedisCluster();
  const c = cluster;
  const prefix = testPrefix();
  const drop = async () => {
    for (const node of c.client.nodes('master')) await dropPrefix(node, prefix);
  };
  return { hot: new RedisHotState(c.client, prefix), lose: drop, done: drop };
});

after(async () => {
  redis?.disconnect();
  await cluster?.stop();
});
