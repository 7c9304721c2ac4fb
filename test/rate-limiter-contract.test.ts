// One contract for both rate limiters: the Redis one (one Lua script, shared by every node) and
// the in-process one (embedded mode, and the fallback while Redis does not answer).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { MemoryRateLimiter } from '../src/hot/memory-rate-limiter.ts';
import { RedisRateLimiter } from '../src/hot/redis-rate-limiter.ts';
import { FallbackRateLimiter } from '../src/hot/fallback-rate-limiter.ts';
import type { RateLimiter, RateRule } from '../src/hot/rate-limiter.ts';
import { connectRedis, dropPrefix, startRedisCluster, testPrefix, type TestCluster } from './support/redis-env.ts';

async function until(what: string, check: () => Promise<boolean>, deadlineMs = 5000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const rule = (bucket: string, limit: number, periodMs = 60_000): RateRule => ({ bucket, limit, periodMs });

function contract(name: string, make: () => RateLimiter) {
  describe(`rate limiter contract: ${name}`, () => {
    test('a burst of `limit` passes, the next is refused with the wait until one more fits', async () => {
      const limiter = make();
      for (let i = 0; i < 5; i++) assert.equal((await limiter.take(1, [rule('k', 5)])).allowed, true, `request ${i + 1}`);
      const refused = await limiter.take(1, [rule('k', 5)]);
      assert.equal(refused.allowed, false);
      assert.equal(refused.refusedBy, 0);
      // One request is earned back every 60 s / 5 = 12 s.
      assert.ok(refused.retryAfterMs > 11_000 && refused.retryAfterMs <= 12_000, String(refused.retryAfterMs));
    });

    test('buckets are separate per name and per tenant', async () => {
      const limiter = make();
      for (let i = 0; i < 3; i++) await limiter.take(1, [rule('a', 3)]);
      assert.equal((await limiter.take(1, [rule('a', 3)])).allowed, false);
      assert.equal((await limiter.take(1, [rule('b', 3)])).allowed, true, 'another bucket of the tenant');
      assert.equal((await limiter.take(2, [rule('a', 3)])).allowed, true, 'the same bucket name of another tenant');
    });

    test('two rules: counted in both or in neither; the refusal names the rule that refused', async () => {
      const limiter = make();
      // key bucket 10, tenant bucket 3: the tenant's runs out first.
      for (let i = 0; i < 3; i++) assert.equal((await limiter.take(7, [rule('key1', 10), rule('tenant', 3)])).allowed, true);
      const refused = await limiter.take(7, [rule('key1', 10), rule('tenant', 3)]);
      assert.equal(refused.allowed, false);
      assert.equal(refused.refusedBy, 1);
      // The refused requests did not use up key1's bucket: 7 more fit once the tenant's is out of the way.
      for (let i = 0; i < 7; i++) assert.equal((await limiter.take(7, [rule('key1', 10)])).allowed, true, `key1 request ${i + 1}`);
      assert.equal((await limiter.take(7, [rule('key1', 10)])).allowed, false);
      // A key bucket that is empty refuses even when the tenant's has room.
      const byKey = await limiter.take(7, [rule('key1', 10), rule('other-tenant-bucket', 100)]);
      assert.equal(byKey.allowed, false);
      assert.equal(byKey.refusedBy, 0);
      assert.equal((await limiter.take(7, [rule('other-tenant-bucket', 100)])).allowed, true);
    });

    test('a bucket refills over its period', async () => {
      const limiter = make();
      const fast = rule('fast', 4, 400); // one request back every 100 ms
      for (let i = 0; i < 4; i++) assert.equal((await limiter.take(3, [fast])).allowed, true);
      assert.equal((await limiter.take(3, [fast])).allowed, false);
      await until('the bucket to refill', async () => (await limiter.take(3, [fast])).allowed);
    });
  });
}

contract('in process', () => new MemoryRateLimiter());

let redis: Redis;
let cluster: TestCluster;
const prefixes: string[] = [];
before(async () => {
  redis = await connectRedis();
  // Our own 3-master cluster: the script's two keys share the tenant's hash tag, so it runs on one slot.
  cluster = await startRedisCluster();
});
after(async () => {
  for (const p of prefixes) await dropPrefix(redis, p);
  redis.disconnect();
  await cluster.stop();
});
contract('Redis', () => {
  const prefix = testPrefix();
  prefixes.push(prefix);
  return new RedisRateLimiter(redis, prefix);
});

contract('Redis Cluster', () => new RedisRateLimiter(cluster.client, testPrefix()));

describe('Redis rate limiter specifics', () => {
  test('keys carry the tenant hash tag and expire once the bucket has refilled', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const limiter = new RedisRateLimiter(redis, prefix);
    await limiter.take(42, [rule('create:k:abc', 10), rule('create:t', 100)]);
    const key = limiter.keyOf(42, 'create:k:abc');
    assert.equal(key, `${prefix}{t42}:rl:create:k:abc`);
    const ttl = await redis.pttl(key);
    assert.ok(ttl > 0 && ttl <= 6000, `one request of 10 per minute is forgotten after 6 s (ttl ${ttl})`);
    const tenantTtl = await redis.pttl(limiter.keyOf(42, 'create:t'));
    assert.ok(tenantTtl > 0 && tenantTtl <= 600, String(tenantTtl));
  });

  test('two nodes on one Redis share the limit', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const nodeA = new RedisRateLimiter(redis, prefix);
    const nodeB = new RedisRateLimiter(redis, prefix);
    for (let i = 0; i < 3; i++) assert.equal((await nodeA.take(5, [rule('k', 6)])).allowed, true);
    for (let i = 0; i < 3; i++) assert.equal((await nodeB.take(5, [rule('k', 6)])).allowed, true);
    assert.equal((await nodeA.take(5, [rule('k', 6)])).allowed, false);
    assert.equal((await nodeB.take(5, [rule('k', 6)])).allowed, false);
  });

  test('while the shared limiter fails, the fallback decides in process and says so', async () => {
    const failing: RateLimiter = { take: () => Promise.reject(new Error('Redis down')) };
    const hanging: RateLimiter = { take: () => new Promise(() => undefined) };
    for (const shared of [failing, hanging]) {
      const fallbacks: unknown[] = [];
      const limiter = new FallbackRateLimiter(shared, new MemoryRateLimiter(), (err) => fallbacks.push(err), 50);
      for (let i = 0; i < 2; i++) assert.equal((await limiter.take(1, [rule('k', 2)])).allowed, true);
      assert.equal((await limiter.take(1, [rule('k', 2)])).allowed, false, 'the node still limits');
      assert.equal(fallbacks.length, 3);
    }
  });
});
