import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { createTestDb, createTestTenant, type TestDb } from './support/test-env.ts';
import { connectRedis, dropPrefix, testPrefix } from './support/redis-env.ts';
import { CallbackService } from '../src/app/callback-service.ts';
import { CallbackEngine } from '../src/engine/callback-engine.ts';
import { simulatedEngineClock } from '../src/engine/engine-clock.ts';
import { MemoryHotState } from '../src/hot/memory-hot-state.ts';
import { RedisHotState } from '../src/hot/redis-hot-state.ts';
import type { HotState } from '../src/hot/hot-state.ts';
import { SimClock } from '../src/voice/simulator/sim-clock.ts';
import type { VoiceCommand, VoicePort } from '../src/voice/voice-port.ts';
import { createLogger } from '../src/logging/logger.ts';
import { findTenantByName } from '../src/store/tenant-store.ts';

/**
 * The watchdog of an attempt in flight is timed only by the node that took the callback (it is not
 * announced on the wake-up index). When that node dies, another must still find it: the dead
 * node's liveness entry lapses, one node rebuilds the hot state, and the watchdog re-sends the dial.
 * When it stops cleanly, it hands its watchdogs over before leaving.
 */

const WATCHDOG_SEC = 8;

/** A platform that takes commands and never answers: every attempt stalls. */
function silentPlatform(agents: number): VoicePort & { sent: VoiceCommand[] } {
  const sent: VoiceCommand[] = [];
  return {
    sent,
    send: async (c) => {
      sent.push(c);
    },
    onEvent: () => () => undefined,
    availableAgents: () => agents,
    start: async () => undefined,
    stop: async () => undefined,
  };
}

interface Pair {
  db: TestDb;
  clock: SimClock;
  nodeA: CallbackEngine;
  nodeB: CallbackEngine;
  platformA: ReturnType<typeof silentPlatform>;
  platformB: ReturnType<typeof silentPlatform>;
  callbackId: string;
  run(ms: number): Promise<void>;
  close(): Promise<void>;
}

/** Two nodes on one hot state; node A (the only one that sees a free agent) takes and dials one callback. */
async function pair(hot: HotState): Promise<Pair> {
  const db = await createTestDb();
  const t = await createTestTenant(db, undefined, { sales: { inQueueChecking: 'false' } });
  const tenant = (await findTenantByName(db.pool, t.name))!;
  const clock = new SimClock(Math.ceil(Date.now() / 1000) * 1000);
  const platformA = silentPlatform(1);
  const platformB = silentPlatform(0);
  const engine = (voice: VoicePort) =>
    new CallbackEngine({
      db: db.pool,
      hot,
      voice,
      clock: simulatedEngineClock(clock),
      logger: createLogger('silent'),
      pollMs: 1000,
      watchdogCapSec: WATCHDOG_SEC,
    });
  const nodeA = engine(platformA);
  const nodeB = engine(platformB);
  db.clock.__test__pretendNow(clock.now());
  await nodeA.start();
  await nodeB.start();
  const callbacks = new CallbackService(db.pool, db.clock);
  callbacks.attach(nodeA, (err) => {
    throw err;
  });
  const { id } = await callbacks.create(tenant, { serviceName: 'sales', phoneNumber: '+14155550188' });
  await nodeA.idle();
  assert.deepEqual(
    platformA.sent.map((c) => c.type),
    ['dial'],
    'node A dialed the callback',
  );
  return {
    db,
    clock,
    nodeA,
    nodeB,
    platformA,
    platformB,
    callbackId: id,
    async run(ms) {
      const end = clock.now() + ms;
      while (clock.now() < end) {
        clock.advanceBy(500);
        await nodeA.idle();
        await nodeB.idle();
        db.clock.__test__pretendNow(clock.now());
      }
    },
    async close() {
      await nodeB.stop();
      await db.close();
    },
  };
}

function redials(p: Pair): string[] {
  return p.platformB.sent.filter((c) => c.type === 'dial').map((c) => ('dialKey' in c ? c.dialKey : ''));
}

function scenario(name: string, makeHot: () => Promise<{ hot: HotState; done: () => Promise<void> }>) {
  describe(`watchdogs of a node that leaves (${name})`, () => {
    test('a node that dies: its liveness entry lapses, another node rebuilds and its watchdog re-sends the dial', async () => {
      const { hot, done } = await makeHot();
      const p = await pair(hot);
      try {
        // Node A dies: it stops ticking and never renews its liveness entry nor hands anything over.
        await p.nodeA.quiesce();
        assert.equal((await hot.wakeups(10)).tenants.length, 0, 'the watchdog was never announced');
        await p.run(WATCHDOG_SEC * 1000 - 1000);
        assert.deepEqual(redials(p), [], 'not before the watchdog is due');
        await p.run(6000);
        assert.deepEqual(redials(p), [`${p.callbackId}:1`], 'node B found the watchdog and re-sent the same dial key');
        assert.equal((await hot.wakeups(10)).nodes.length, 1, "the dead node's liveness entry is gone; node B's stays");
      } finally {
        await p.close();
        await done();
      }
    });

    test('a node that stops announces its watchdogs and leaves: no rebuild needed', async () => {
      const { hot, done } = await makeHot();
      const p = await pair(hot);
      try {
        await p.nodeA.stop();
        const w = await hot.wakeups(10);
        assert.equal(w.tenants.length, 1, 'the watchdog is announced on the wake-up index');
        assert.equal(w.nodes.length, 1, 'only node B is alive');
        await p.run(WATCHDOG_SEC * 1000 + 2000);
        assert.deepEqual(redials(p), [`${p.callbackId}:1`], 'node B re-sent the dial when the watchdog fell due');
      } finally {
        await p.close();
        await done();
      }
    });
  });
}

scenario('in-process hot state', async () => ({ hot: new MemoryHotState(), done: async () => {} }));

let redis: Redis | undefined;
scenario('Redis hot state', async () => {
  redis ??= await connectRedis();
  const prefix = testPrefix();
  const r = redis;
  return { hot: new RedisHotState(r, prefix), done: () => dropPrefix(r, prefix) };
});

after(() => redis?.disconnect());
