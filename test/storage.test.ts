import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createTestDb, createTestTenant, TEST_DATABASE_URL, type TestDb, type TestTenant } from './support/test-env.ts';
import { createPool } from '../src/store/db.ts';
import { migrate, pendingMigrations, listMigrations } from '../src/store/migrator.ts';
import { dropExpiredPartitions } from '../src/store/partition-store.ts';
import { CallbackService } from '../src/app/callback-service.ts';
import { findTenantByName, revokeApiKeys, tenantForApiKey, addApiKey } from '../src/store/tenant-store.ts';

let db: TestDb;
let tenant: TestTenant;

before(async () => {
  db = await createTestDb();
  tenant = await createTestTenant(db, 'store', { sales: { inQueueChecking: 'false', requestsPerNumberPer24h: 0 } });
});
after(() => db.close());

async function insertAt(daysAgo: number, state: number): Promise<string> {
  // Maintenance keeps no partition for days already past retention; make the one this test needs.
  await db.pool.query(`SELECT ges_ensure_partitions((now() AT TIME ZONE 'UTC')::date - $1::int, (now() AT TIME ZONE 'UTC')::date - $1::int + 1)`, [daysAgo]);
  const { rows } = await db.pool.query(
    `WITH s AS (SELECT id FROM callback_service WHERE tenant_id = $1 AND name = 'sales'),
          c AS (INSERT INTO callback (desired_at, phone, id, tenant_id, service_id, state, scheduled)
                SELECT ((now() AT TIME ZONE 'UTC')::date - $2::int)::timestamp AT TIME ZONE 'UTC' + interval '30 minutes', 12125550100, gen_random_uuid(), $1, s.id, $3, true FROM s
                RETURNING id, desired_at, state),
          e AS (INSERT INTO callback_event (desired_at, callback_id, kind, state) SELECT desired_at, id, 1, state FROM c),
          d AS (INSERT INTO callback_data (desired_at, callback_id, seq, chunk) SELECT desired_at, id, 1, '\\x7b7d' FROM c)
     SELECT id FROM c`,
    [tenant.id, daysAgo, state],
  );
  return rows[0].id;
}

const count = async (sql: string, params: unknown[] = []) => (await db.pool.query(sql, params)).rows[0].n as number;

describe('retention', () => {
  test('a day is dropped whole once 14 days have passed since it ended, never while it holds live work', async () => {
    const old = await insertAt(15, 1); // SCHEDULED: still live, must survive
    const recent = await insertAt(13, 5);
    assert.equal(await dropExpiredPartitions(db.pool, 14), 0);
    assert.equal(await count('SELECT count(*)::int AS n FROM callback WHERE id = $1', [old]), 1);

    await db.pool.query('UPDATE callback SET state = 5, reason = 5 WHERE id = $1', [old]);
    assert.equal(await dropExpiredPartitions(db.pool, 14), 1);
    assert.equal(await count('SELECT count(*)::int AS n FROM callback WHERE id = $1', [old]), 0);
    assert.equal(await count('SELECT count(*)::int AS n FROM callback_event WHERE callback_id = $1', [old]), 0, 'history goes with it');
    assert.equal(await count('SELECT count(*)::int AS n FROM callback_data WHERE callback_id = $1', [old]), 0, 'and so does its userData');
    assert.equal(await count('SELECT count(*)::int AS n FROM callback WHERE id = $1', [recent]), 1);
    assert.equal(
      await count(
        `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1 AND tablename = 'callback_p' || to_char((now() AT TIME ZONE 'UTC')::date - 15, 'YYYYMMDD')`,
        [db.schema],
      ),
      0,
    );
  });

  test('a create on a day whose partition is missing heals it', async () => {
    const day = new Date(Date.now() + 5 * 86_400_000);
    const suffix = day.toISOString().slice(0, 10).replace(/-/g, '');
    await db.pool.query(`DROP TABLE callback_p${suffix}`);
    await db.pool.query(`DROP TABLE callback_event_p${suffix}`);
    const service = new CallbackService(db.pool, db.clock);
    const t = (await findTenantByName(db.pool, 'store'))!;
    const created = await service.create(t, { serviceName: 'sales', phoneNumber: '+12125550111', desiredTime: day.toISOString() });
    assert.equal((await service.retrieve(t, created.id)).state, 'SCHEDULED');
  });
});

describe('migrations', () => {
  test('nodes migrating at once apply each migration exactly once', async () => {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const pools = [0, 1, 2].map(() => createPool({ url: TEST_DATABASE_URL, max: 2, schema }));
    try {
      assert.deepEqual(
        await pendingMigrations(pools[0]!),
        listMigrations().map((m) => m.name),
      );
      const results = await Promise.all(pools.map((p) => migrate(p)));
      assert.deepEqual(
        results.flat().sort(),
        listMigrations()
          .map((m) => m.name)
          .sort(),
      );
      assert.deepEqual(await pendingMigrations(pools[0]!), []);
      assert.deepEqual(await migrate(pools[1]!), []);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    }
  });
});

describe('API keys', () => {
  test('only a hash is stored; revoking by prefix works and refuses ambiguity', async () => {
    const t = (await findTenantByName(db.pool, 'store'))!;
    const stored = await db.pool.query('SELECT key_hash, prefix FROM api_key WHERE tenant_id = $1', [t.id]);
    for (const row of stored.rows) assert.ok(!row.key_hash.toString('utf8').includes(tenant.apiKey));
    assert.equal((await tenantForApiKey(db.pool, tenant.apiKey))?.id, t.id);

    await addApiKey(db.pool, t.id, 'same-prefix-key-0001');
    await addApiKey(db.pool, t.id, 'same-prefix-key-0002');
    assert.deepEqual(await revokeApiKeys(db.pool, t.id, 'same-pref'), { revoked: 0, ambiguous: true });
    assert.deepEqual(await revokeApiKeys(db.pool, t.id, tenant.apiKey.slice(0, 10)), { revoked: 1, ambiguous: false });
    assert.equal(await tenantForApiKey(db.pool, tenant.apiKey), undefined);
    assert.deepEqual(await revokeApiKeys(db.pool, t.id, ''), { revoked: 0, ambiguous: false });
  });
});
