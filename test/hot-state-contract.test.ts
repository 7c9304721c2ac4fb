import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import type { HotState } from '../src/hot/hot-state.ts';
import { MemoryHotState } from '../src/hot/memory-hot-state.ts';
import { RedisHotState } from '../src/hot/redis-hot-state.ts';
import { newCallbackId } from '../src/domain/callback-id.ts';
import { connectRedis, dropPrefix, startRedisCluster, testPrefix, type TestCluster } from './support/redis-env.ts';

/**
 * One contract, three stores: the in-process hot state of embedded mode, Redis, and a 3-master
 * Redis Cluster. What the engine relies on must hold identically in all of them.
 */
const ids = (n: number) => Array.from({ length: n }, () => newCallbackId());

function contract(name: string, make: () => Promise<{ hot: HotState; done: () => Promise<void> }>): void {
  describe(`hot state contract: ${name}`, () => {
    test('due entries are claimed once per lease, in time order, and come back when the lease ends', async () => {
      const { hot, done } = await make();
      try {
        const [a, b, c] = ids(3);
        await hot.setDue(7, [{ id: a!, atMs: 1000 }, { id: b!, atMs: 2000 }, { id: c!, atMs: 5000 }]);
        assert.deepEqual(await hot.claimDue(7, 2500, 10_000, 10), [a, b]);
        assert.deepEqual(await hot.claimDue(7, 2500, 10_000, 10), [], 'a lease hides claimed entries');
        assert.deepEqual(await hot.claimDue(7, 12_600, 10_000, 1), [c], 'limit and order');
        assert.deepEqual((await hot.claimDue(7, 12_600, 10_000, 10)).sort(), [a, b].sort(), 'lease expired: they come back');
        await hot.removeDue(7, [a!, b!, c!]);
        assert.deepEqual(await hot.claimDue(7, 1e12, 10, 10), []);
      } finally {
        await done();
      }
    });

    test('wake-ups point at each tenant\'s earliest due entry and report a lost index', async () => {
      const { hot, done } = await make();
      try {
        assert.equal((await hot.wakeups(10)).intact, false, 'a fresh store has not been rebuilt');
        await hot.markIntact();
        const [a, b] = ids(2);
        await hot.setDue(1, [{ id: a!, atMs: 5000 }]);
        await hot.setDue(2, [{ id: b!, atMs: 3000 }]);
        let w = await hot.wakeups(10);
        assert.equal(w.intact, true);
        assert.deepEqual(w.tenants, [{ tenantId: 2, atMs: 3000 }, { tenantId: 1, atMs: 5000 }]);
        await hot.claimDue(2, 3000, 60_000, 10);
        await hot.settleWakeup(2);
        w = await hot.wakeups(10);
        assert.deepEqual(w.tenants, [{ tenantId: 1, atMs: 5000 }, { tenantId: 2, atMs: 63_000 }], 'moved to the lease end');
        await hot.removeDue(2, [b!]);
        await hot.settleWakeup(2);
        assert.deepEqual((await hot.wakeups(10)).tenants, [{ tenantId: 1, atMs: 5000 }]);
      } finally {
        await done();
      }
    });

    test('queues serve by score; pacing caps pending callbacks; requeue restores the place', async () => {
      const { hot, done } = await make();
      try {
        const [a, b, c] = ids(3);
        await hot.enqueue(3, 9, [{ id: b!, score: 200 }, { id: a!, score: 100 }, { id: c!, score: 300 }]);
        assert.equal(await hot.position(3, 9, a!), 1);
        assert.equal(await hot.position(3, 9, c!), 3);
        assert.equal(await hot.takeHead(3, 9, 1, 50_000), a);
        assert.equal(await hot.takeHead(3, 9, 1, 50_000), 'paced', 'one pending at most');
        assert.deepEqual(await hot.counts(3, 9), { waiting: 2, pending: 1 });
        assert.equal(await hot.position(3, 9, a!), undefined);
        assert.deepEqual(await hot.claimDue(3, 50_000, 1000, 10), [a], 'a taken callback is watched');
        await hot.requeue(3, 9, a!, 100);
        assert.equal(await hot.position(3, 9, a!), 1, 'back at its own place');
        assert.deepEqual(await hot.claimDue(3, 1e12, 1000, 10), [], 'requeued: no watchdog left');
        assert.equal(await hot.takeHead(3, 9, 2, 60_000), a);
        await hot.agentFound(3, 9, a!);
        assert.equal(await hot.takeHead(3, 9, 1, 60_000), b, 'an agent found frees a pacing place');
        await hot.pause(3, 9, b!, 90_000);
        assert.deepEqual(await hot.counts(3, 9), { waiting: 1, pending: 0 });
        const claimed = await hot.claimDue(3, 90_000, 1000, 10);
        assert.ok(claimed.includes(b!), 'the pause is due at its end');
        assert.deepEqual(await hot.claimDue(3, 90_000, 1000, 10), [], 'leased entries are not claimed twice');
      } finally {
        await done();
      }
    });

    test('finish removes a callback everywhere and keeps the last 32 samples', async () => {
      const { hot, done } = await make();
      try {
        const [a, b] = ids(2);
        await hot.enqueue(4, 1, [{ id: a!, score: 1 }, { id: b!, score: 2 }]);
        await hot.setDue(4, [{ id: b!, atMs: 10 }]);
        await hot.finish(4, 1, b!);
        assert.deepEqual(await hot.counts(4, 1), { waiting: 1, pending: 0 });
        assert.deepEqual(await hot.claimDue(4, 1e12, 1, 10), []);
        for (let i = 0; i < 70; i++) await hot.finish(4, 1, a!, { atMs: i, handleSec: 100 + i, waitSec: i / 2 });
        const samples = await hot.samples(4, 1);
        assert.equal(samples.length, 32);
        assert.deepEqual(samples.at(-1), { atMs: 69, handleSec: 169, waitSec: 34.5 });
        assert.deepEqual(samples[0], { atMs: 38, handleSec: 138, waitSec: 19 });
      } finally {
        await done();
      }
    });

  });
}

contract('in-process', async () => ({ hot: new MemoryHotState(), done: async () => {} }));

let redis: Redis;
contract('Redis', async () => {
  redis ??= await connectRedis();
  const prefix = testPrefix();
  return { hot: new RedisHotState(redis, prefix), done: () => dropPrefix(redis, prefix) };
});

let cluster: TestCluster | undefined;
contract('Redis Cluster (3 masters)', async () => {
  cluster ??= await startRedisCluster();
  return { hot: new RedisHotState(cluster.client, testPrefix()), done: async () => {} };
});

after(async () => {
  redis?.disconnect();
  await cluster?.stop();
});
before(() => {});
