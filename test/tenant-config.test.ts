// Tenant configuration documents (business hours, capacity rules, services): applyTenantConfig and
// exportTenantConfig directly, the real `ges config apply/export` commands as child processes, and
// the admin API of the internal app. One Postgres schema for the file; each test uses its own tenant.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import type { FastifyInstance } from 'fastify';
import { applyTenantConfig, exportTenantConfig, type TenantConfigDoc } from '../src/app/tenant-config.ts';
import { GesError, type ErrorCode } from '../src/domain/errors.ts';
import { buildInternalApp } from '../src/http/internal-app.ts';
import { DatabaseHealth } from '../src/store/database-health.ts';
import { createLogger } from '../src/logging/logger.ts';
import { ConfigError, ConfigSchema, loadConfig } from '../src/config/config.ts';
import { formatConfig, parseConfigText } from '../src/cli/config-file.ts';
import { createTestDb, TEST_DATABASE_URL, type TestDb } from './support/test-env.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const GES = join(ROOT, 'bin', 'ges.mjs');
const EXAMPLE = join(ROOT, 'examples', 'acme.yaml');
const CLI_TIMEOUT_MS = 60_000;
const ADMIN_TOKEN = 'admin-token-0123456789abcdef';

let db: TestDb;
const tmp = mkdtempSync(join(tmpdir(), 'ges-config-'));
before(async () => {
  db = await createTestDb();
});
after(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await db.close();
});

/** The example file as a plain value, renamed to `tenant` so each test has its own. */
function example(tenant: string): TenantConfigDoc {
  const doc = YAML.parse(readFileSync(EXAMPLE, 'utf8')) as TenantConfigDoc;
  return { ...doc, tenant };
}

/** Runs the real `ges` command on the test schema; never throws, returns exit code and output. */
function ges(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(ConfigSchema.properties)) delete env[key];
  delete env.NODE_TEST_CONTEXT;
  Object.assign(env, { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: db.schema, LOG_LEVEL: 'silent' });
  return new Promise((resolve) => {
    execFile(process.execPath, [GES, ...args], { cwd: ROOT, env, timeout: CLI_TIMEOUT_MS }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** Every stored row of the configuration tables, ids included, except the updated_at timestamps. */
async function snapshot(): Promise<unknown> {
  const q = async (sql: string) => (await db.pool.query(sql)).rows;
  return {
    tenants: await q('SELECT id, name FROM tenant ORDER BY id'),
    hours: await q('SELECT id, tenant_id, name, definition FROM business_hours ORDER BY id'),
    rules: await q('SELECT id, tenant_id, name, definition FROM capacity_rule ORDER BY id'),
    services: await q('SELECT id, tenant_id, name, options, business_hours_id, capacity_rule_id FROM callback_service ORDER BY id'),
  };
}

describe('ges config apply/export (child processes)', () => {
  test('examples/acme.yaml applies, and export → apply → export is a no-op round trip', { timeout: 6 * CLI_TIMEOUT_MS }, async () => {
    const applied = await ges('config', 'apply', EXAMPLE);
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(applied.stdout, 'configuration of tenant acme applied (tenant created): 1 business hours, 1 capacity rule, 2 services, 1 call-in group\n');

    // What was stored is what the file says; services gain the defaults of the options they omit.
    const file = example('acme');
    const exported = await exportTenantConfig(db.pool, 'acme');
    assert.deepEqual(exported.businessHours, file.businessHours);
    assert.deepEqual(exported.capacityRules, file.capacityRules);
    assert.deepEqual(
      exported.services!.map((s) => [s.name, s.businessHours, s.capacityRule]),
      [
        ['sales', 'london-office', 'london-agents'],
        ['support', 'london-office', null],
      ],
    );
    for (const [i, s] of file.services!.entries()) {
      for (const [key, value] of Object.entries(s.options ?? {})) assert.deepEqual(exported.services![i]!.options![key], value, `${s.name} ${key}`);
    }
    assert.equal(exported.services![1]!.options!.inQueueChecking, 'true', 'an omitted option is exported with its default');

    const json = await ges('config', 'export', 'acme', '--format', 'json');
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), exported);
    const before = await snapshot();

    // Apply the JSON export: nothing changes, not even an id.
    const jsonFile = join(tmp, 'acme.json');
    writeFileSync(jsonFile, json.stdout);
    const again = await ges('config', 'apply', jsonFile);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, 'configuration of tenant acme applied: 1 business hours, 1 capacity rule, 2 services, 1 call-in group\n');
    assert.deepEqual(await snapshot(), before);

    // The default YAML export parses to the same document, and applying it changes nothing either.
    const yaml = await ges('config', 'export', 'acme');
    assert.equal(yaml.code, 0, yaml.stderr);
    assert.deepEqual(YAML.parse(yaml.stdout), exported);
    assert.match(yaml.stdout, /^tenant: acme\nbusinessHours:\n {2}- name: london-office\n {4}timeZone: Europe\/London\n/, 'keys in the order of the schema');
    assert.match(yaml.stdout, /fri: \["08:00-12:30", "13:30-18:00", "22:00-02:00"\]/, 'times are quoted strings');
    const yamlFile = join(tmp, 'acme-export.yml');
    writeFileSync(yamlFile, yaml.stdout);
    const third = await ges('config', 'apply', yamlFile);
    assert.equal(third.code, 0, third.stderr);
    assert.deepEqual(await snapshot(), before);
    assert.deepEqual(await exportTenantConfig(db.pool, 'acme'), exported);
  });

  test('refusals print one line "ges: <message>", exit 1 and change nothing', { timeout: 5 * CLI_TIMEOUT_MS }, async () => {
    const before = await snapshot();
    const doc = example('cli-refused');
    doc.services![1]!.capacityRule = 'night-shift';
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, YAML.stringify(doc));
    const refused = await ges('config', 'apply', bad);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, 'ges: service support: capacityRule night-shift is not defined for tenant cli-refused\n');
    assert.equal(refused.stdout, '');

    const broken = join(tmp, 'broken.yaml');
    writeFileSync(broken, 'tenant: acme\nservices: [\n');
    const unparsable = await ges('config', 'apply', broken);
    assert.equal(unparsable.code, 1);
    assert.match(unparsable.stderr, /^ges: .*broken\.yaml is not valid YAML: .*line \d+, column \d+\n$/);

    const txt = await ges('config', 'apply', join(tmp, 'acme.txt'));
    assert.equal(txt.code, 1);
    assert.match(txt.stderr, /^ges: .*acme\.txt: the file name must end in \.yaml, \.yml or \.json\n$/);

    const unknown = await ges('config', 'export', 'nobody');
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, 'ges: no tenant named nobody\n');
    assert.deepEqual(await snapshot(), before);
  });
});

describe('configuration files', () => {
  test('YAML 1.2: times, dates and yes/no stay text; duplicate keys, empty files and NUL are refused', () => {
    assert.deepEqual(parseConfigText('a: 22:00\nb: 2026-12-25\nc: no\n', 'yaml', 'f.yaml'), { a: '22:00', b: '2026-12-25', c: 'no' });
    assert.throws(() => parseConfigText('tenant: a\ntenant: b\n', 'yaml', 'f.yaml'), /f\.yaml is not valid YAML: Map keys must be unique/);
    assert.throws(() => parseConfigText('# nothing\n', 'yaml', 'f.yaml'), /f\.yaml is empty/);
    assert.throws(() => parseConfigText('{"tenant": "a",}', 'json', 'f.json'), /f\.json is not valid JSON/);
    assert.throws(() => parseConfigText('{"tenant": "a\\u0000"}', 'json', 'f.json'), /f\.json\/tenant must not contain the NUL character/);
  });

  test('the README shows examples/acme.yaml as it is', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.split('\n## Configuration file\n')[1];
    assert.ok(section, 'README has a "Configuration file" section');
    assert.equal(/```yaml\n([\s\S]*?)```/.exec(section)?.[1], readFileSync(EXAMPLE, 'utf8'));
  });

  test('an exported YAML document parses back to itself', () => {
    const doc = example('yaml-round-trip');
    assert.deepEqual(parseConfigText(formatConfig(doc, 'yaml'), 'yaml', 'x.yaml'), doc);
    assert.deepEqual(parseConfigText(formatConfig(doc, 'json'), 'json', 'x.json'), doc);
  });
});

describe('applyTenantConfig', () => {
  test('is idempotent and leaves items the document does not mention alone', async () => {
    const doc = example('idempotent');
    assert.deepEqual(await applyTenantConfig(db.pool, doc), { tenantCreated: true, businessHours: 1, capacityRules: 1, services: 2, callInGroups: 1 });
    const first = await exportTenantConfig(db.pool, 'idempotent');
    const rows = await snapshot();
    assert.deepEqual(await applyTenantConfig(db.pool, doc), { tenantCreated: false, businessHours: 1, capacityRules: 1, services: 2, callInGroups: 1 });
    assert.deepEqual(await snapshot(), rows);
    assert.deepEqual(await applyTenantConfig(db.pool, first), { tenantCreated: false, businessHours: 1, capacityRules: 1, services: 2, callInGroups: 1 });
    assert.deepEqual(await snapshot(), rows);

    // A document naming one new service and new hours adds them and leaves the rest as it was.
    await applyTenantConfig(db.pool, {
      tenant: 'idempotent',
      businessHours: [{ name: 'weekend', timeZone: 'Europe/Paris', weekly: { sat: ['10:00-16:00'], sun: ['10:00-24:00'] } }],
      services: [{ name: 'weekend-sales', businessHours: 'weekend', capacityRule: 'london-agents', options: { horizonDays: 3 } }],
    });
    const after = await exportTenantConfig(db.pool, 'idempotent');
    assert.deepEqual(
      after.businessHours!.map((h) => h.name),
      ['london-office', 'weekend'],
    );
    assert.deepEqual(after.capacityRules, first.capacityRules);
    assert.deepEqual(
      after.services!.filter((s) => s.name !== 'weekend-sales'),
      first.services,
    );
    const added = after.services!.find((s) => s.name === 'weekend-sales')!;
    assert.deepEqual([added.businessHours, added.capacityRule, added.options!.horizonDays, added.options!.slotMinutes], ['weekend', 'london-agents', 3, 5]);
  });

  describe('refuses a bad document with a clear message, all or nothing', () => {
    const cases: { name: string; code: ErrorCode; message: RegExp; spoil: (doc: TenantConfigDoc) => void }[] = [
      {
        name: 'unknown time zone',
        code: 'GES_TIMEZONE_INVALID',
        message: /^businessHours london-office: unknown time zone Europe\/Londres$/,
        spoil: (d) => {
          d.businessHours![0]!.timeZone = 'Europe/Londres';
        },
      },
      {
        name: "range text '9:00-17:00'",
        code: 'GES_VALIDATION',
        message: /^config\/businessHours\/0\/weekly\/mon\/0 must be a time range HH:MM-HH:MM/,
        spoil: (d) => {
          d.businessHours![0]!.weekly.mon![0] = '9:00-17:00';
        },
      },
      {
        name: 'special day that is no date',
        code: 'GES_VALIDATION',
        message: /^businessHours london-office: 2026-02-30 is not a date$/,
        spoil: (d) => {
          d.businessHours![0]!.specialDays![0]!.date = '2026-02-30';
        },
      },
      {
        name: 'capacity range crossing midnight',
        code: 'GES_VALIDATION',
        message: /^capacityRule london-agents fri: 22:00-02:00 must end after it starts \(capacity ranges do not cross midnight\)$/,
        spoil: (d) => {
          d.capacityRules![0]!.weekly.fri![1] = { from: '22:00', to: '02:00', capacity: 2 };
        },
      },
      {
        name: 'service naming an unknown capacity rule',
        code: 'GES_CONFIG_REFERENCE_UNKNOWN',
        message: /^service support: capacityRule night-shift is not defined for tenant \S+$/,
        spoil: (d) => {
          d.services![1]!.capacityRule = 'night-shift';
        },
      },
      {
        name: 'service naming unknown business hours',
        code: 'GES_CONFIG_REFERENCE_UNKNOWN',
        message: /^service sales: businessHours paris-office is not defined for tenant \S+$/,
        spoil: (d) => {
          d.services![0]!.businessHours = 'paris-office';
        },
      },
      {
        name: 'two services of one name',
        code: 'GES_VALIDATION',
        message: /^service sales appears twice$/,
        spoil: (d) => {
          d.services!.push(structuredClone(d.services![0]!));
        },
      },
      {
        name: 'two business hours of one name',
        code: 'GES_VALIDATION',
        message: /^businessHours london-office appears twice$/,
        spoil: (d) => {
          d.businessHours!.push(structuredClone(d.businessHours![0]!));
        },
      },
      {
        name: 'two capacity rules of one name',
        code: 'GES_VALIDATION',
        message: /^capacityRule london-agents appears twice$/,
        spoil: (d) => {
          d.capacityRules!.push(structuredClone(d.capacityRules![0]!));
        },
      },
      {
        name: 'option out of range',
        code: 'GES_VALIDATION',
        message: /^service sales: service options\/horizonDays: must be <= 30$/,
        spoil: (d) => {
          d.services![0]!.options!.horizonDays = 90;
        },
      },
      {
        name: 'unknown option',
        code: 'GES_VALIDATION',
        message: /^service support: service options: colour is not a known field$/,
        spoil: (d) => {
          d.services![1]!.options!.colour = 'red';
        },
      },
      {
        name: 'unknown key',
        code: 'GES_VALIDATION',
        message: /^config: service is not a known field$/,
        spoil: (d) => {
          (d as Record<string, unknown>).service = [];
        },
      },
    ];

    let existing: unknown;
    before(async () => {
      await applyTenantConfig(db.pool, example('refusals'));
    });

    for (const c of cases) {
      test(c.name, async () => {
        existing ??= await snapshot();
        // Next to the fault, the document changes everything else it can, so a partial apply would show.
        for (const tenant of ['refusals', 'refusals-new']) {
          const doc = example(tenant);
          doc.businessHours![0]!.weekly.sun = ['10:00-14:00'];
          doc.capacityRules![0]!.defaultCapacity = 7;
          doc.services![0]!.options!.horizonDays = 2;
          doc.services!.push({ name: 'added', options: {} });
          c.spoil(doc);
          await assert.rejects(applyTenantConfig(db.pool, doc), (err: unknown) => {
            assert.ok(err instanceof GesError, String(err));
            assert.equal(err.code, c.code);
            assert.match(err.message, c.message);
            return true;
          });
        }
        assert.deepEqual(await snapshot(), existing, 'nothing changed');
      });
    }
  });
});

describe('admin API (internal port)', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await buildInternalApp({
      pool: db.pool,
      logger: createLogger('silent'),
      isShuttingDown: () => false,
      adminToken: ADMIN_TOKEN,
      databaseHealth: new DatabaseHealth(db.pool),
    });
  });
  after(() => app.close());
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

  test('does not exist while ADMIN_TOKEN is empty; the probes are unchanged', async () => {
    const off = await buildInternalApp({
      pool: db.pool,
      logger: createLogger('silent'),
      isShuttingDown: () => false,
      adminToken: '',
      databaseHealth: new DatabaseHealth(db.pool),
    });
    for (const req of [
      { method: 'PUT' as const, url: '/admin/v1/config', payload: example('off') },
      { method: 'GET' as const, url: '/admin/v1/tenants/acme/config' },
    ]) {
      const res = await off.inject({ ...req, headers: { authorization: 'Bearer ' } });
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().status.errorCode, 'GES_ROUTE_NOT_FOUND');
    }
    assert.deepEqual((await off.inject('/health/live')).json(), { status: 'UP' });
    assert.deepEqual((await off.inject('/health/ready')).json(), { status: 'UP', checks: { database: 'UP', migrations: 'UP' } });
    await off.close();
    assert.deepEqual((await app.inject('/health/live')).json(), { status: 'UP' });
    assert.equal((await app.inject('/health/ready')).statusCode, 200);
    assert.equal(loadConfig({}).ADMIN_TOKEN, '');
  });

  test('needs Authorization: Bearer <ADMIN_TOKEN>', async () => {
    const wrongs: Record<string, string>[] = [
      {},
      { authorization: '' },
      { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` },
      { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}x` },
      { authorization: `Bearer ${ADMIN_TOKEN}x` },
      { authorization: 'Bearer ' },
    ];
    for (const headers of wrongs) {
      for (const req of [
        { method: 'PUT' as const, url: '/admin/v1/config', payload: example('unauthorized') },
        { method: 'GET' as const, url: '/admin/v1/tenants/acme/config' },
      ]) {
        const res = await app.inject({ ...req, headers });
        assert.equal(res.statusCode, 401, JSON.stringify(headers));
        const body = res.json();
        assert.equal(body.status.code, 401);
        assert.equal(body.status.errorCode, 'GES_ADMIN_TOKEN_INVALID');
        assert.equal(typeof body.status.corrId, 'string');
        assert.ok(!res.body.includes(ADMIN_TOKEN), 'the token is never echoed');
      }
    }
    assert.equal((await exportTenantConfig(db.pool, 'unauthorized').catch((e: Error) => e)) instanceof GesError, true, 'nothing was applied');
    assert.equal(
      (await app.inject({ method: 'GET', url: '/admin/v1/tenants/acme/config', headers: { authorization: `bearer  ${ADMIN_TOKEN}` } })).statusCode,
      200,
      'the scheme is case-insensitive',
    );
  });

  test('PUT /admin/v1/config applies, GET /admin/v1/tenants/:tenant/config exports', async () => {
    const put = await app.inject({ method: 'PUT', url: '/admin/v1/config', headers: auth, payload: example('over-http') });
    assert.equal(put.statusCode, 200, put.body);
    const body = put.json();
    assert.deepEqual(body, {
      status: { code: 200, message: 'Successful', corrId: body.status.corrId },
      data: { tenantCreated: true, businessHours: 1, capacityRules: 1, services: 2, callInGroups: 1 },
    });
    assert.equal(put.headers['x-correlation-id'], body.status.corrId);

    const get = await app.inject({ method: 'GET', url: '/admin/v1/tenants/over-http/config', headers: auth });
    assert.equal(get.statusCode, 200);
    assert.equal(get.json().status.message, 'Successful');
    const exported = get.json().data;
    assert.deepEqual(exported, await exportTenantConfig(db.pool, 'over-http'));

    const rows = await snapshot();
    const again = await app.inject({ method: 'PUT', url: '/admin/v1/config', headers: auth, payload: exported });
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().data.tenantCreated, false);
    assert.deepEqual(await snapshot(), rows, 'applying the export changes nothing');
  });

  test('a bad document is a 400 in the GES envelope and changes nothing', async () => {
    const rows = await snapshot();
    const unknownRule = example('over-http-bad');
    unknownRule.services![0]!.capacityRule = 'night-shift';
    const badRange = example('over-http-bad');
    badRange.businessHours![0]!.weekly.tue = ['9:00-17:00'];
    const refusals: { payload: string | object; contentType?: string; status: number; code: ErrorCode; message: RegExp }[] = [
      { payload: unknownRule, status: 400, code: 'GES_CONFIG_REFERENCE_UNKNOWN', message: /^service sales: capacityRule night-shift is not defined/ },
      { payload: badRange, status: 400, code: 'GES_VALIDATION', message: /^config\/businessHours\/0\/weekly\/tue\/0 must be a time range/ },
      {
        payload: { tenant: 'over-http-bad', services: [{ name: 'x', options: { defaultCountry: 'gb' } }] },
        status: 400,
        code: 'GES_VALIDATION',
        message: /^service x: service options\/defaultCountry/,
      },
      { payload: '{"tenant": ', status: 400, code: 'GES_BAD_JSON', message: /not valid JSON/ },
      { payload: '[]', status: 400, code: 'GES_VALIDATION', message: /^config: / },
      { payload: '{"tenant": "a\\u0000"}', status: 400, code: 'GES_VALIDATION', message: /NUL/ },
      { payload: 'tenant: acme', contentType: 'text/plain', status: 415, code: 'GES_UNSUPPORTED_MEDIA_TYPE', message: /application\/json/ },
    ];
    for (const r of refusals) {
      const res = await app.inject({
        method: 'PUT',
        url: '/admin/v1/config',
        headers: { ...auth, 'content-type': r.contentType ?? 'application/json' },
        payload: typeof r.payload === 'string' ? r.payload : JSON.stringify(r.payload),
      });
      assert.equal(res.statusCode, r.status, res.body);
      const { status } = res.json();
      assert.equal(status.code, r.status);
      assert.equal(status.errorCode, r.code);
      assert.match(status.message, r.message);
      assert.equal(typeof status.corrId, 'string');
    }
    const missing = await app.inject({ method: 'GET', url: '/admin/v1/tenants/nobody/config', headers: auth });
    assert.equal(missing.statusCode, 400);
    assert.deepEqual(missing.json().status.message, 'no tenant named nobody');
    assert.deepEqual(await snapshot(), rows);
  });

  test('ADMIN_TOKEN must be 16 to 512 visible characters and is never echoed', () => {
    assert.equal(loadConfig({ ADMIN_TOKEN }).ADMIN_TOKEN, ADMIN_TOKEN);
    for (const token of ['short-secret', 'a token with spaces inside']) {
      assert.throws(
        () => loadConfig({ ADMIN_TOKEN: token }),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.match(err.message, /ADMIN_TOKEN: .*\(got \d+ characters\)/);
          assert.ok(!err.message.includes(token));
          return true;
        },
      );
    }
  });
});
