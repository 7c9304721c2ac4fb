// Tenants' secrets at rest: sealed with AES-256-GCM under the node key, never in clear in
// PostgreSQL, bound to their tenant and name, readable across a key rotation, and refused with a
// clear error on a node that has no key.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newSecretKey, parseSecretKey, SecretBox, SecretOpenError } from '../src/app/secret-box.ts';
import { TenantSecrets } from '../src/app/tenant-secrets.ts';
import { EMBEDDED_KEY_FILE, secretBoxFor } from '../src/main/tenant-secret-key.ts';
import { GesError } from '../src/domain/errors.ts';
import { createTestDb, createTestTenant, type TestDb } from './support/test-env.ts';

const keyA = parseSecretKey(newSecretKey())!;
const keyB = parseSecretKey(newSecretKey())!;
const SERVICE_ACCOUNT = JSON.stringify({ type: 'service_account', private_key: '-----BEGIN PRIVATE KEY-----\nMIIEv...\n-----END PRIVATE KEY-----\n' });

describe('SecretBox', () => {
  test('reads keys as 64 hex digits or base64, and nothing shorter or longer', () => {
    assert.equal(parseSecretKey('ab'.repeat(32))?.length, 32);
    assert.equal(parseSecretKey(Buffer.alloc(32, 7).toString('base64'))?.length, 32);
    assert.equal(parseSecretKey(Buffer.alloc(32, 7).toString('base64url'))?.length, 32);
    assert.equal(parseSecretKey('ab'.repeat(31)), undefined);
    assert.equal(parseSecretKey(Buffer.alloc(24).toString('base64')), undefined);
    assert.equal(parseSecretKey('correct horse battery staple'), undefined);
  });

  test('a sealed value holds no clear text, opens only with its context, and not once altered', () => {
    const box = new SecretBox(keyA);
    const sealed = box.seal(SERVICE_ACCOUNT, 'tenant_secret:1:fcm');
    assert.ok(!sealed.toString('latin1').includes('service_account'));
    assert.equal(box.open(sealed, 'tenant_secret:1:fcm'), SERVICE_ACCOUNT);
    assert.throws(() => box.open(sealed, 'tenant_secret:2:fcm'), SecretOpenError);
    const altered = Buffer.from(sealed);
    altered.writeUInt8(altered.readUInt8(altered.length - 1) ^ 1, altered.length - 1);
    assert.throws(() => box.open(altered, 'tenant_secret:1:fcm'), SecretOpenError);
    // Two seals of one value differ (fresh nonce), so equal secrets are not visible as equal rows.
    assert.notDeepEqual(box.seal('x', 'c'), box.seal('x', 'c'));
  });

  test('after a rotation the previous key still opens old values, which count as stale', () => {
    const old = new SecretBox(keyA).seal('s3cret', 'c');
    const rotated = new SecretBox(keyB, [keyA]);
    assert.equal(rotated.open(old, 'c'), 's3cret');
    assert.equal(rotated.isStale(old), true);
    assert.equal(rotated.isStale(rotated.seal('s3cret', 'c')), false);
    assert.throws(() => new SecretBox(keyB).open(old, 'c'), /does not have/);
  });
});

describe('TenantSecrets on PostgreSQL', () => {
  let db: TestDb;
  before(async () => {
    db = await createTestDb();
  });
  after(async () => {
    await db.close();
  });

  test('put, get, list and remove; the table holds ciphertext only', async () => {
    const t = await createTestTenant(db);
    const secrets = new TenantSecrets(db.pool, new SecretBox(keyA));
    assert.equal(await secrets.get(t.id, 'fcm'), undefined);
    await secrets.put(t.id, 'fcm', SERVICE_ACCOUNT);
    await secrets.put(t.id, 'captcha', 'provider-secret-1');
    assert.equal(await secrets.get(t.id, 'fcm'), SERVICE_ACCOUNT);
    assert.deepEqual(
      (await secrets.names(t.id)).map((n) => n.name),
      ['captcha', 'fcm'],
    );
    const { rows } = await db.pool.query<{ dump: string }>("SELECT string_agg(encode(sealed, 'escape'), '') AS dump FROM tenant_secret WHERE tenant_id = $1", [
      t.id,
    ]);
    assert.ok(!rows[0]!.dump.includes('provider-secret-1') && !rows[0]!.dump.includes('service_account'));
    // A new value replaces the old one at once on this node (its cache is dropped).
    await secrets.put(t.id, 'captcha', 'provider-secret-2');
    assert.equal(await secrets.get(t.id, 'captcha'), 'provider-secret-2');
    assert.equal(await secrets.remove(t.id, 'captcha'), true);
    assert.equal(await secrets.get(t.id, 'captcha'), undefined);
    assert.equal(await secrets.remove(t.id, 'captcha'), false);
  });

  test("a tenant never opens another tenant's secret, even with the row copied over", async () => {
    const a = await createTestTenant(db);
    const b = await createTestTenant(db);
    const secrets = new TenantSecrets(db.pool, new SecretBox(keyA));
    await secrets.put(a.id, 'captcha', 'only-for-a');
    await db.pool.query(
      "INSERT INTO tenant_secret (tenant_id, name, sealed) SELECT $2, name, sealed FROM tenant_secret WHERE tenant_id = $1 AND name = 'captcha'",
      [a.id, b.id],
    );
    await assert.rejects(new TenantSecrets(db.pool, new SecretBox(keyA)).get(b.id, 'captcha'), SecretOpenError);
  });

  test('without a node key nothing is stored, and a stored secret is refused, both with a clear code', async () => {
    const t = await createTestTenant(db);
    const keyless = new TenantSecrets(db.pool, undefined);
    assert.equal(keyless.available, false);
    await assert.rejects(keyless.put(t.id, 'captcha', 'x'), (e: unknown) => e instanceof GesError && e.code === 'GES_SECRET_STORAGE_OFF');
    await new TenantSecrets(db.pool, new SecretBox(keyA)).put(t.id, 'captcha', 'x');
    await assert.rejects(keyless.get(t.id, 'captcha'), (e: unknown) => e instanceof GesError && e.code === 'GES_SECRET_STORAGE_OFF');
  });

  test('names and sizes are bounded', async () => {
    const t = await createTestTenant(db);
    const secrets = new TenantSecrets(db.pool, new SecretBox(keyA));
    for (const bad of ['', 'Upper', '../x', 'x'.repeat(64)])
      await assert.rejects(secrets.put(t.id, bad, 'v'), (e: unknown) => e instanceof GesError && e.code === 'GES_VALIDATION', bad);
    await assert.rejects(secrets.put(t.id, 'big', 'v'.repeat(16385)), (e: unknown) => e instanceof GesError && e.code === 'GES_VALIDATION');
    await assert.rejects(secrets.put(t.id, 'empty', ''), (e: unknown) => e instanceof GesError && e.code === 'GES_VALIDATION');
  });
});

describe('the node key', () => {
  test('embedded mode generates one key in its data folder, private, and keeps it across starts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ges-key-'));
    const config = { TENANT_SECRET_KEY: '', TENANT_SECRET_KEY_PREVIOUS: '', DATA_DIR: dir };
    const sealed = secretBoxFor(config, true)!.seal('v', 'c');
    const file = join(dir, EMBEDDED_KEY_FILE);
    assert.equal(statSync(file).mode & 0o077, 0);
    assert.equal(secretBoxFor(config, true)!.open(sealed, 'c'), 'v');
    assert.ok(parseSecretKey(readFileSync(file, 'utf8')));
  });

  test('a server without TENANT_SECRET_KEY has no box; a malformed key is refused without echoing it', () => {
    assert.equal(secretBoxFor({ TENANT_SECRET_KEY: '', TENANT_SECRET_KEY_PREVIOUS: '', DATA_DIR: '/nonexistent' }, false), undefined);
    const hex = newSecretKey();
    assert.ok(secretBoxFor({ TENANT_SECRET_KEY: hex, TENANT_SECRET_KEY_PREVIOUS: '', DATA_DIR: '/nonexistent' }, false));
    assert.throws(
      () => secretBoxFor({ TENANT_SECRET_KEY: 'zz'.repeat(32), TENANT_SECRET_KEY_PREVIOUS: '', DATA_DIR: '/x' }, false),
      (e: Error) => /TENANT_SECRET_KEY: not a 32-byte key/.test(e.message) && !e.message.includes('zz'),
    );
  });
});
