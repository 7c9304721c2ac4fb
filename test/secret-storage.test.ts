// Secrets at rest: custom API keys must carry at least 128 bits of secret past the prefix stored
// in clear, and console session ids never appear in clear in Redis key names or the memory store.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { customApiKeyProblem, estimatedSecretBits, MIN_SECRET_BITS } from '../src/domain/api-key-strength.ts';
import { API_KEY_PREFIX_LENGTH, generateApiKey } from '../src/store/tenant-store.ts';
import { newSessionId, parseSessionId, sessionDigest } from '../src/console/session-store.ts';
import { MemorySessionStore } from '../src/console/memory-session-store.ts';
import { RedisSessionStore } from '../src/console/redis-session-store.ts';
import { connectRedis, dropPrefix, testPrefix } from './support/redis-env.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createTestDb, createTestTenant, TEST_DATABASE_URL } from './support/test-env.ts';
import { tenantForApiKey } from '../src/store/tenant-store.ts';

const run = promisify(execFile);

const problem = (key: string) => customApiKeyProblem(key, API_KEY_PREFIX_LENGTH);

describe('custom API keys need 128 bits of secret', () => {
  test('generated keys pass', () => {
    for (let i = 0; i < 20; i++) assert.equal(problem(generateApiKey()), undefined);
  });

  test('strong custom keys pass: 32 hex digits or 22 base64url characters past the clear prefix', () => {
    assert.equal(problem(`acme-prod-${randomBytes(16).toString('hex')}`), undefined);
    assert.equal(problem(`acme-prod-${randomBytes(17).toString('base64url').slice(0, 22)}`), undefined);
    assert.equal(problem(randomBytes(32).toString('base64')), undefined);
  });

  test('short, patterned or UUID keys are refused with a message that says why and what to do', () => {
    const uuid = '0b5c3a4e-8d6f-4c1b-9a2e-7f3d5b6c8e9a';
    for (const weak of [
      'secret-key-123456',
      'ges_abcdef123456',
      uuid,
      `prefix1234${'a'.repeat(100)}`,
      `prefix1234${'ab'.repeat(60)}`,
      `acme-prod-${randomBytes(12).toString('hex')}`,
    ]) {
      const message = problem(weak);
      assert.ok(message, `${weak} should be refused`);
      assert.match(message, /at least 128 bits/);
      assert.match(message, /first 10 characters/);
      assert.match(message, /Leave out --key/);
    }
    assert.match(problem('has space in it 0123456789abcdefABCDEF')!, /visible ASCII/);
    assert.match(problem('x'.repeat(513))!, /at most 512/);
  });

  test('ges apikey create --key refuses a weak key and takes a strong one', { timeout: 60_000 }, async () => {
    const db = await createTestDb();
    try {
      const tenant = await createTestTenant(db);
      const env = { ...process.env, DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: db.schema, LOG_LEVEL: 'silent' };
      const weak = await run('node', ['bin/ges.mjs', 'apikey', 'create', tenant.name, '--key', 'acme-prod-0123456789'], { env }).then(
        () => undefined,
        (err: { code: number; stderr: string }) => err,
      );
      assert.ok(weak, 'the weak key is refused');
      assert.notEqual(weak.code, 0);
      assert.match(weak.stderr, /--key refused: .*at least 128 bits/);
      const strong = `acme-prod-${randomBytes(16).toString('hex')}`;
      const ok = await run('node', ['bin/ges.mjs', 'apikey', 'create', tenant.name, '--key', strong], { env });
      assert.equal(ok.stdout.trim(), strong);
      assert.equal((await tenantForApiKey(db.pool, strong))?.id, tenant.id);
    } finally {
      await db.close();
    }
  });

  test('the estimate counts hex as 4 bits a digit and mixed alphabets by their size', () => {
    assert.equal(estimatedSecretBits('0123456789abcdef'), 64);
    assert.equal(estimatedSecretBits('0b5c3a4e-8d6f-4c1b'), 64, 'dashes add nothing');
    assert.equal(estimatedSecretBits('abcdefghijklmnopqrstuvwxyz'.toUpperCase() + 'g'), Math.floor(27 * Math.log2(52)));
    assert.ok(estimatedSecretBits(randomBytes(16).toString('hex')) >= MIN_SECRET_BITS);
  });
});

describe('console session ids are stored as digests', () => {
  test('memory store: lookups work, the stored names are digests of the id', async () => {
    const store = new MemorySessionStore();
    const id = newSessionId(7);
    await store.set(id, { userId: 1, tenantId: 7, role: 'ADMINISTRATOR', csrf: 'c' }, 60_000);
    assert.deepEqual(await store.get(id), { userId: 1, tenantId: 7, role: 'ADMINISTRATOR', csrf: 'c' });
    assert.deepEqual(store.storedKeys, [sessionDigest(id)]);
    assert.ok(!store.storedKeys.some((k) => k.includes(parseSessionId(id)!.secret)));
    await store.touch(id, 60_000);
    await store.destroy(id);
    assert.equal(await store.get(id), undefined);
  });

  test('Redis store: no key name holds the session secret; get, touch and destroy still find it', async () => {
    const redis = await connectRedis();
    const prefix = testPrefix();
    try {
      const store = new RedisSessionStore(redis, prefix);
      const id = newSessionId(9);
      const secret = parseSessionId(id)!.secret;
      await store.set(id, { userId: 2, tenantId: 9, role: 'MONITOR', csrf: 'x' }, 60_000);
      const [, keys] = await redis.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 100);
      assert.deepEqual(keys, [`${prefix}{t9}:session:${sessionDigest(secret)}`]);
      assert.ok(!keys.some((k) => k.includes(secret)));
      assert.equal((await store.get(id))?.userId, 2);
      await store.touch(id, 120_000);
      assert.ok((await redis.pttl(keys[0]!)) > 60_000);
      await store.destroy(id);
      assert.equal(await store.get(id), undefined);
      assert.equal(await redis.exists(keys[0]!), 0);
    } finally {
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
  });
});
