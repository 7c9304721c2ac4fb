import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKeyCache } from '../src/http/api-key-cache.ts';

test('valid keys are remembered for the TTL, unknown keys never, and TTL 0 always looks up', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
  let lookups = 0;
  const tenant = { id: 7, name: 'acme' };
  const lookup = async (key: string) => {
    lookups += 1;
    return key === 'good-key' ? tenant : undefined;
  };
  const cache = new ApiKeyCache(5000);
  assert.deepEqual(await cache.resolve('good-key', lookup), tenant);
  assert.deepEqual(await cache.resolve('good-key', lookup), tenant);
  assert.equal(lookups, 1, 'second request served from memory');
  t.mock.timers.tick(5001);
  await cache.resolve('good-key', lookup);
  assert.equal(lookups, 2, 'looked up again after the TTL (a revocation takes effect)');
  assert.equal(await cache.resolve('bad-key', lookup), undefined);
  assert.equal(await cache.resolve('bad-key', lookup), undefined);
  assert.equal(lookups, 4, 'misses are not cached, so a new key works at once');
  const off = new ApiKeyCache(0);
  await off.resolve('good-key', lookup);
  await off.resolve('good-key', lookup);
  assert.equal(lookups, 6);
});
