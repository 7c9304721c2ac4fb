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
        await hot.setDue(7, [
          { id: a!, atMs: 1000 },
          { id: b!, atMs: 2000 },
          { id: c!, atMs: 5000 },
        ]);
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

    test("wake-ups point at each tenant's earliest due entry and report a lost index", async () => {
      const { hot, done } = await make();
      try {
        assert.equal((await hot.wakeups(10)).intact, false, 'a fresh store has not been rebuilt');
        await hot.markIntact();
        const [a, b] = ids(2);
        await hot.setDue(1, [{ id: a!, atMs: 5000 }]);
        await hot.setDue(2, [{ id: b!, atMs: 3000 }]);
        let w = await hot.wakeups(10);
        assert.equal(w.intact, true);
        assert.deepEqual(w.tenants, [
          { tenantId: 2, atMs: 3000 },
          { tenantId: 1, atMs: 5000 },
        ]);
        await hot.claimDue(2, 3000, 60_000, 10);
        assert.equal(await hot.settleWakeup(2), 63_000, 'settling tells the new wake-up');
        w = await hot.wakeups(10);
        assert.deepEqual(
          w.tenants,
          [
            { tenantId: 1, atMs: 5000 },
            { tenantId: 2, atMs: 63_000 },
          ],
          'moved to the lease end',
        );
        await hot.removeDue(2, [b!]);
        assert.equal(await hot.settleWakeup(2), undefined, 'nothing due: no wake-up');
        assert.deepEqual((await hot.wakeups(10)).tenants, [{ tenantId: 1, atMs: 5000 }]);
      } finally {
        await done();
      }
    });

    test('queues serve by score; pacing caps pending callbacks; requeue restores the place', async () => {
      const { hot, done } = await make();
      try {
        const [a, b, c] = ids(3);
        assert.equal(await hot.hasWaiting(3, 9), false);
        await hot.enqueue(3, 9, [
          { id: b!, score: 200 },
          { id: a!, score: 100 },
          { id: c!, score: 300 },
        ]);
        assert.equal(await hot.hasWaiting(3, 9), true);
        assert.equal(await hot.position(3, 9, a!), 1);
        assert.equal(await hot.position(3, 9, c!), 3);
        assert.deepEqual(await hot.take(3, 9, 1, 50_000), { ids: [a], drained: false });
        assert.deepEqual(await hot.take(3, 9, 1, 50_000), { ids: [], drained: false }, 'one pending at most');
        assert.deepEqual(await hot.counts(3, 9), { waiting: 2, pending: 1 });
        assert.equal(await hot.position(3, 9, a!), undefined, 'a pending callback has no place');
        assert.equal(await hot.position(3, 9, b!), 1, 'pending callbacks are not counted ahead');
        assert.deepEqual(await hot.claimDue(3, 50_000, 1000, 10), [a], 'a taken callback is watched');
        await hot.requeue(3, 9, a!, 100);
        assert.equal(await hot.position(3, 9, a!), 1, 'back at its own place');
        assert.deepEqual(await hot.counts(3, 9), { waiting: 3, pending: 0 });
        assert.deepEqual(await hot.claimDue(3, 1e12, 1000, 10), [], 'requeued: no watchdog left');
        assert.deepEqual(await hot.take(3, 9, 2, 60_000), { ids: [a, b], drained: false }, 'one take fills every place pacing allows');
        await hot.agentFound(3, 9, a!);
        assert.deepEqual(await hot.counts(3, 9), { waiting: 1, pending: 1 });
        assert.deepEqual(await hot.take(3, 9, 2, 60_000), { ids: [c], drained: true }, 'an agent found frees a pacing place; the queue is empty after it');
        await hot.pause(3, 9, b!, 90_000);
        assert.deepEqual(await hot.counts(3, 9), { waiting: 0, pending: 1 });
        const claimed = await hot.claimDue(3, 90_000, 1000, 10);
        assert.ok(claimed.includes(b!), 'the pause is due at its end');
        assert.deepEqual(await hot.claimDue(3, 90_000, 1000, 10), [], 'leased entries are not claimed twice');
        assert.equal(await hot.hasWaiting(3, 9), false, 'only a pending callback is left');
        assert.deepEqual(await hot.take(3, 9, 5, 99_000), { ids: [], drained: true }, 'nothing waits');
        assert.deepEqual(await hot.take(3, 9, 0, 99_000), { ids: [], drained: false }, 'no free agent: nothing taken, nothing learnt');
      } finally {
        await done();
      }
    });

    test('watchdogs of taken callbacks are not announced; moveDue moves only existing entries, unannounced', async () => {
      const { hot, done } = await make();
      try {
        await hot.markIntact();
        const [a, b] = ids(2);
        await hot.enqueue(5, 2, [{ id: a!, score: 10 }]);
        assert.deepEqual((await hot.take(5, 2, 3, 40_000)).ids, [a]);
        assert.deepEqual((await hot.wakeups(10)).tenants, [], 'the taking node times its watchdogs itself');
        await hot.moveDue(5, [
          { id: a!, atMs: 70_000 },
          { id: b!, atMs: 1000 },
        ]);
        assert.deepEqual((await hot.wakeups(10)).tenants, [], 'still not announced');
        assert.deepEqual(await hot.claimDue(5, 69_999, 1000, 10), [], 'moved later; an absent entry is not created');
        assert.deepEqual(await hot.claimDue(5, 70_000, 1000, 10), [a]);
        await hot.finish(5, 2, a!);
        await hot.moveDue(5, [{ id: a!, atMs: 1 }]);
        assert.deepEqual(await hot.claimDue(5, 1e12, 1000, 10), [], 'a finished callback is not brought back');
        await hot.settleWakeup(5);
        assert.deepEqual((await hot.wakeups(10)).tenants, []);
      } finally {
        await done();
      }
    });

    test('liveness entries: renewed by their node, listed with the wake-ups, removed once', async () => {
      const { hot, done } = await make();
      try {
        await hot.markIntact();
        const [a] = ids(1);
        await hot.setDue(8, [{ id: a!, atMs: 5000 }]);
        await hot.heartbeat('node-a', 9000);
        await hot.heartbeat('node-b', 3000);
        let w = await hot.wakeups(10);
        assert.equal(w.intact, true);
        assert.deepEqual(w.tenants, [{ tenantId: 8, atMs: 5000 }], 'liveness entries are not tenants');
        assert.deepEqual(w.nodes, [
          { node: 'node-b', atMs: 3000 },
          { node: 'node-a', atMs: 9000 },
        ]);
        await hot.heartbeat('node-b', 12_000);
        w = await hot.wakeups(10);
        assert.deepEqual(
          w.nodes,
          [
            { node: 'node-a', atMs: 9000 },
            { node: 'node-b', atMs: 12_000 },
          ],
          'renewed',
        );
        assert.equal(await hot.retire('node-a'), true);
        assert.equal(await hot.retire('node-a'), false, 'only one caller removes it (and recovers for it)');
        assert.deepEqual((await hot.wakeups(10)).nodes, [{ node: 'node-b', atMs: 12_000 }]);
        await hot.retire('node-b');
      } finally {
        await done();
      }
    });

    test('a pending entry left over long after its watchdog is dropped by the next take', async () => {
      const { hot, done } = await make();
      try {
        const [a, b] = ids(2);
        const hour = 3600_000;
        await hot.enqueue(6, 1, [
          { id: a!, score: 1 },
          { id: b!, score: 2 },
        ]);
        assert.deepEqual((await hot.take(6, 1, 1, 10 * hour)).ids, [a]);
        assert.deepEqual((await hot.take(6, 1, 1, 10 * hour + 60_000)).ids, [], 'still pending: pacing holds');
        assert.deepEqual((await hot.take(6, 1, 1, 11 * hour + 1)).ids, [b], 'an hour past its watchdog: its place is given back');
        assert.deepEqual(await hot.counts(6, 1), { waiting: 0, pending: 1 });
      } finally {
        await done();
      }
    });

    test('finish removes a callback everywhere and keeps the last 32 samples', async () => {
      const { hot, done } = await make();
      try {
        const [a, b] = ids(2);
        await hot.enqueue(4, 1, [
          { id: a!, score: 1 },
          { id: b!, score: 2 },
        ]);
        await hot.setDue(4, [{ id: b!, atMs: 10 }]);
        await hot.finish(4, 1, b!);
        assert.deepEqual(await hot.counts(4, 1), { waiting: 1, pending: 0 });
        assert.deepEqual(await hot.claimDue(4, 1e12, 1, 10), []);
        assert.deepEqual((await hot.take(4, 1, 1, 20)).ids, [a]);
        await hot.agentFound(4, 1, a!);
        for (let i = 0; i < 70; i++) await hot.finish(4, 1, a!, { atMs: i, handleSec: 100 + i, waitSec: i / 2 });
        assert.deepEqual(await hot.counts(4, 1), { waiting: 0, pending: 0 });
        assert.deepEqual(await hot.claimDue(4, 1e12, 1, 10), [], 'its watchdog is gone with it');
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
