// Number validation rules end to end against the real PostgreSQL: configured in the tenant's
// configuration document, named by a service, applied by POST /callbacks/create (and by call-in to
// the rule of its target service), exported back, and refused cleanly when wrong.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { applyTenantConfig, exportTenantConfig } from '../src/app/tenant-config.ts';
import { GesError } from '../src/domain/errors.ts';
import { formatConfig, parseConfigText } from '../src/cli/config-file.ts';
import { buildTestApi, createTestDb, createTestTenant, post, type TestDb, type TestTenant } from './support/test-env.ts';

let db: TestDb;
let app: FastifyInstance;
let acme: TestTenant;

const PAKISTAN = '+923001234567';
const US = '+14155552671';

async function count(): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM callback WHERE tenant_id = $1', [acme.id]);
  return rows[0]!.n;
}

before(async () => {
  db = await createTestDb();
  app = await buildTestApi(db);
  acme = await createTestTenant(db, 'acme-numbers', {});
  await applyTenantConfig(db.pool, {
    tenant: 'acme-numbers',
    numberRules: [
      { name: 'USOnly', allowedCountries: ['US'], blocked: ['+1900*'] },
      { name: 'NoPakistan', blocked: ['+92*'], permitted: ['+923009999999'] },
    ],
    services: [
      { name: 'us-sales', numberRule: 'USOnly', options: { inQueueChecking: 'false', requestsPerNumberPer24h: 0, disallowPremiumNumbers: false } },
      { name: 'world', options: { inQueueChecking: 'false', requestsPerNumberPer24h: 0 } },
      { name: 'export', numberRule: 'NoPakistan', options: { inQueueChecking: 'false', requestsPerNumberPer24h: 0 } },
    ],
    callInGroups: [{ name: 'us-in', dnis: ['+14155550199'], accessCode: false, targetService: 'us-sales' }],
  });
});

after(async () => {
  await app?.close();
  await db?.close();
});

describe('number rules on create', () => {
  test('+923001234567 on a US-only service: 400 GES_PHONE_NOT_PERMITTED in the envelope, nothing created', async () => {
    const before = await count();
    const res = await post(app, '/callbacks/create', { serviceName: 'us-sales', phoneNumber: PAKISTAN }, { 'x-api-key': acme.apiKey });
    assert.equal(res.statusCode, 400);
    assert.equal(res.body.status.code, 400);
    assert.equal(res.body.status.errorCode, 'GES_PHONE_NOT_PERMITTED');
    assert.equal(res.body.status.message, 'phoneNumber is not permitted by number rule USOnly: Pakistan (PK) is not an allowed country (allowed: US)');
    assert.ok(res.body.status.corrId);
    assert.equal(await count(), before);
  });

  test('the same number is accepted where the service has no rule, and a US number on the US service', async () => {
    const world = await post(app, '/callbacks/create', { serviceName: 'world', phoneNumber: PAKISTAN }, { 'x-api-key': acme.apiKey });
    assert.equal(world.statusCode, 200, JSON.stringify(world.body));
    const us = await post(app, '/callbacks/create', { serviceName: 'us-sales', phoneNumber: US }, { 'x-api-key': acme.apiKey });
    assert.equal(us.statusCode, 200, JSON.stringify(us.body));
    // A national number is read in the service's country first, then judged by the rule.
    const national = await post(app, '/callbacks/create', { serviceName: 'us-sales', phoneNumber: '(202) 555-0143' }, { 'x-api-key': acme.apiKey });
    assert.equal(national.statusCode, 200, JSON.stringify(national.body));
  });

  test('blocked prefixes and permitted exceptions decide before the country list', async () => {
    const premium = await post(app, '/callbacks/create', { serviceName: 'us-sales', phoneNumber: '+19005550100' }, { 'x-api-key': acme.apiKey });
    assert.equal(premium.body.status.errorCode, 'GES_PHONE_NOT_PERMITTED');
    assert.match(premium.body.status.message, /numbers starting \+1900 are blocked/);
    const blocked = await post(app, '/callbacks/create', { serviceName: 'export', phoneNumber: PAKISTAN }, { 'x-api-key': acme.apiKey });
    assert.equal(blocked.body.status.errorCode, 'GES_PHONE_NOT_PERMITTED');
    const excepted = await post(app, '/callbacks/create', { serviceName: 'export', phoneNumber: '+923009999999' }, { 'x-api-key': acme.apiKey });
    assert.equal(excepted.statusCode, 200, JSON.stringify(excepted.body));
  });

  test("call-in: fromPhoneNumber passes the rule of the group's target service", async () => {
    const refused = await post(app, '/call-in/requests/create', { groupName: 'us-in', fromPhoneNumber: PAKISTAN }, { 'x-api-key': acme.apiKey });
    assert.equal(refused.statusCode, 400);
    assert.equal(refused.body.status.errorCode, 'GES_PHONE_NOT_PERMITTED');
    assert.match(refused.body.status.message, /^fromPhoneNumber is not permitted by number rule USOnly/);
    const ok = await post(app, '/call-in/requests/create', { groupName: 'us-in', fromPhoneNumber: US }, { 'x-api-key': acme.apiKey });
    assert.equal(ok.statusCode, 200, JSON.stringify(ok.body));
  });
});

describe('number rules in the configuration document', () => {
  test('export writes the rules and the services that name them; applying the export changes nothing', async () => {
    const exported = await exportTenantConfig(db.pool, 'acme-numbers');
    assert.deepEqual(exported.numberRules, [
      { name: 'NoPakistan', allowedCountries: [], permitted: ['+923009999999'], blocked: ['+92*'] },
      { name: 'USOnly', allowedCountries: ['US'], permitted: [], blocked: ['+1900*'] },
    ]);
    assert.deepEqual(
      exported.services!.map((s) => [s.name, s.numberRule]),
      [
        ['export', 'NoPakistan'],
        ['us-sales', 'USOnly'],
        ['world', null],
      ],
    );
    const report = await applyTenantConfig(db.pool, exported);
    assert.equal(report.numberRules, 2);
    assert.deepEqual(await exportTenantConfig(db.pool, 'acme-numbers'), exported);
  });

  test('in YAML, numbers and the country code NO are quoted, so YAML 1.1 tools read them as text too', () => {
    const doc = { tenant: 't', numberRules: [{ name: 'Nordic', allowedCountries: ['NO', 'SE'], permitted: ['+4722225555'], blocked: ['+47820*'] }] };
    const yaml = formatConfig(doc, 'yaml');
    assert.match(yaml, /allowedCountries: \["NO", SE\]/);
    assert.match(yaml, /permitted: \["\+4722225555"\]/);
    assert.deepEqual(parseConfigText(yaml, 'yaml', 'x.yaml'), doc);
  });

  test('a service naming an unknown rule, a bad rule name and a contradictory rule are refused, nothing applied', async () => {
    const refused = async (doc: unknown) => {
      try {
        await applyTenantConfig(db.pool, doc);
      } catch (err) {
        if (err instanceof GesError) return `${err.code}: ${err.message}`;
        throw err;
      }
      return 'applied';
    };
    assert.equal(
      await refused({ tenant: 'acme-numbers', services: [{ name: 'world', numberRule: 'Nope' }] }),
      'GES_CONFIG_REFERENCE_UNKNOWN: service world: numberRule Nope is not defined for tenant acme-numbers',
    );
    assert.match(await refused({ tenant: 'acme-numbers', numberRules: [{ name: 'has space' }] }), /^GES_VALIDATION: config\/numberRules\/0\/name/);
    assert.equal(
      await refused({ tenant: 'acme-numbers', numberRules: [{ name: 'Both', permitted: ['+1*'], blocked: ['+1*'] }] }),
      'GES_VALIDATION: numberRule Both: +1* is both permitted and blocked',
    );
    assert.equal(await refused({ tenant: 'acme-numbers', numberRules: [{ name: 'A' }, { name: 'A' }] }), 'GES_VALIDATION: numberRule A appears twice');
    const rules = await exportTenantConfig(db.pool, 'acme-numbers');
    assert.deepEqual(
      rules.numberRules!.map((r) => r.name),
      ['NoPakistan', 'USOnly'],
    );
    assert.equal(rules.services!.find((s) => s.name === 'world')!.numberRule, null);
  });

  test('a service entry without numberRule no longer applies one (a service entry is complete)', async () => {
    await applyTenantConfig(db.pool, {
      tenant: 'acme-numbers',
      services: [{ name: 'export', options: { inQueueChecking: 'false', requestsPerNumberPer24h: 0 } }],
    });
    const res = await post(app, '/callbacks/create', { serviceName: 'export', phoneNumber: '+923211234567' }, { 'x-api-key': acme.apiKey });
    assert.equal(res.statusCode, 200, JSON.stringify(res.body));
  });
});
