// CAPTCHA on create and POST /captcha/verify, against a local fake siteverify endpoint (node:http
// on 127.0.0.1, a random port): good tokens pass once, bad, missing and replayed ones are refused,
// the provider's outage and slowness give the documented answers, the secret is sealed, never
// exported and never logged, and a service that is off ignores tokens.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { createTestDb, inMinutes, post, TEST_DATABASE_URL, type TestDb } from './support/test-env.ts';
import { loadConfig } from '../src/config/config.ts';
import { startGes } from '../src/main/server.ts';
import { buildApiApp } from '../src/main/api-app-assembly.ts';
import { CallbackService } from '../src/app/callback-service.ts';
import { AvailabilityService } from '../src/app/availability-service.ts';
import { CaptchaGate } from '../src/app/captcha-gate.ts';
import { FetchSiteverifyClient } from '../src/app/siteverify-client.ts';
import { TenantSecrets } from '../src/app/tenant-secrets.ts';
import { newSecretKey, parseSecretKey, SecretBox } from '../src/app/secret-box.ts';
import { applyTenantConfig, exportTenantConfig } from '../src/app/tenant-config.ts';
import { Maintenance } from '../src/app/maintenance.ts';
import { buildInternalApp } from '../src/http/internal-app.ts';
import { callbackRecreate } from '../src/app/callback-recreate.ts';
import { createLogger } from '../src/logging/logger.ts';
import { createMetrics, type Metrics } from '../src/metrics/metrics.ts';
import { addApiKey, findTenantByName } from '../src/store/tenant-store.ts';
import { GesError } from '../src/domain/errors.ts';

const SECRET = 'fake-provider-secret-7Qx9wLk2';
const WRONG_SECRET = 'not-the-provider-secret-3Jh8';
const SITE_KEY = '6Lc-site-key-public';
const TIMEOUT_MS = 800;

/** Every request the fake provider received: the form fields and the content type. */
interface Seen {
  path: string;
  contentType: string | undefined;
  form: URLSearchParams;
}

/**
 * A siteverify endpoint as reCAPTCHA/hCaptcha/Turnstile answer: tokens starting "good" succeed
 * (every time it is asked: replay protection is GES's job), "low"/"high" carry a score, anything
 * else fails; a secret other than SECRET is refused as invalid-input-secret. /slow never answers,
 * /broken answers 502, /garbage answers HTML.
 */
function fakeProvider() {
  const seen: Seen[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      seen.push({ path: req.url ?? '', contentType: req.headers['content-type'], form });
      if (req.url === '/slow') return; // held until the test server closes
      if (req.url === '/broken') return void res.writeHead(502).end('bad gateway');
      if (req.url === '/garbage') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
      const token = form.get('response') ?? '';
      const answer =
        form.get('secret') !== SECRET
          ? { success: false, 'error-codes': ['invalid-input-secret'] }
          : token.startsWith('good')
            ? { success: true, hostname: 'shop.example.com', challenge_ts: new Date().toISOString() }
            : token.startsWith('low')
              ? { success: true, score: 0.2, action: 'callback' }
              : token.startsWith('high')
                ? { success: true, score: 0.9, action: 'callback' }
                : { success: false, 'error-codes': ['invalid-input-response'] };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  return { server, seen };
}

let db: TestDb;
let app: FastifyInstance;
let callbacks: CallbackService;
let metrics: Metrics;
let secrets: TenantSecrets;
const provider = fakeProvider();
let base: string;
let deadUrl: string;
const logLines: string[] = [];
const keys = new Map<string, string>();
let tokenCounter = 0;
/** A fresh token of a kind; every token used is remembered to prove none reaches the log. */
const tokensUsed: string[] = [];
function token(kind: 'good' | 'bad' | 'low' | 'high'): string {
  const t = `${kind}-token-${process.pid}-${++tokenCounter}-${Math.random().toString(36).slice(2)}`;
  tokensUsed.push(t);
  return t;
}
const asked = (t: string) => provider.seen.filter((s) => s.form.get('response') === t).length;

async function tenantWith(name: string, captcha: Record<string, unknown> | undefined, services: { name: string; options?: Record<string, unknown> }[]) {
  await applyTenantConfig(db.pool, { tenant: name, services, ...(captcha ? { captcha } : {}) }, secrets);
  const t = (await findTenantByName(db.pool, name))!;
  const key = `captcha-test-key-${name}-5f0c9a7e2b1d`;
  await addApiKey(db.pool, t.id, key);
  keys.set(name, key);
  return t;
}

const create = (tenant: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  post(
    app,
    '/callbacks/create',
    { phoneNumber: `+1415555${String(1000 + (tokenCounter % 9000)).padStart(4, '0')}`, ...body },
    { 'x-api-key': keys.get(tenant)!, ...headers },
  );

before(async () => {
  await new Promise<void>((resolve) => provider.server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(provider.server.address() as AddressInfo).port}`;
  // A port nothing listens on: connection refused, the provider "down".
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  deadUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/siteverify`;
  await new Promise<void>((resolve) => probe.close(() => resolve()));

  db = await createTestDb();
  secrets = new TenantSecrets(db.pool, new SecretBox(parseSecretKey(newSecretKey())!));
  const logger = createLogger(
    'debug',
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString('utf8'));
        done();
      },
    }),
  );
  metrics = createMetrics({ defaultMetrics: false });
  const gate = new CaptchaGate({ pool: db.pool, secrets, client: new FetchSiteverifyClient(TIMEOUT_MS), logger, observer: metrics, settingsCacheMs: 0 });
  callbacks = new CallbackService(db.pool, db.clock);
  callbacks.useCaptcha(gate);
  app = await buildApiApp({
    pool: db.pool,
    callbacks,
    availability: new AvailabilityService(db.pool, db.clock),
    logger,
    bodyLimitBytes: 65536,
    captcha: gate,
    metrics,
  });
  await app.ready();

  const open = { inQueueChecking: 'false', requestsPerNumberPer24h: 0 };
  await tenantWith('shop', { provider: 'recaptcha', verifyUrl: `${base}/siteverify`, siteKey: SITE_KEY, secret: SECRET }, [
    { name: 'web', options: open },
    { name: 'ivr', options: { ...open, captcha: 'off' } },
    { name: 'strict-web', options: { inQueueChecking: 'strict', requestsPerNumberPer24h: 0 } },
  ]);
  await tenantWith('plain', undefined, [{ name: 'sales', options: open }]);
  await tenantWith('down', { provider: 'hcaptcha', verifyUrl: deadUrl, secret: SECRET }, [{ name: 'web', options: open }]);
  await tenantWith('lenient', { provider: 'turnstile', verifyUrl: deadUrl, secret: SECRET, onVerifierDown: 'accept' }, [{ name: 'web', options: open }]);
  await tenantWith('slow', { provider: 'siteverify', verifyUrl: `${base}/slow`, secret: SECRET }, [{ name: 'web', options: open }]);
  await tenantWith('broken', { provider: 'siteverify', verifyUrl: `${base}/broken`, secret: SECRET }, [{ name: 'web', options: open }]);
  await tenantWith('garbage', { provider: 'siteverify', verifyUrl: `${base}/garbage`, secret: SECRET }, [{ name: 'web', options: open }]);
  await tenantWith('miskeyed', { provider: 'recaptcha', verifyUrl: `${base}/siteverify`, secret: WRONG_SECRET }, [{ name: 'web', options: open }]);
  await tenantWith('scored', { provider: 'recaptcha', verifyUrl: `${base}/siteverify`, secret: SECRET, minScore: 0.5 }, [{ name: 'web', options: open }]);
});

after(async () => {
  await app?.close();
  provider.server.closeAllConnections();
  await new Promise<void>((resolve) => provider.server.close(() => resolve()));
  await db?.close();
});

describe('CAPTCHA on create', () => {
  test('a good token is accepted: the provider is asked with the secret and the token, and the token is not stored with the callback', async () => {
    const t = token('good');
    const res = await create('shop', { serviceName: 'web', captchaToken: t });
    assert.equal(res.statusCode, 200, JSON.stringify(res.body));
    const asks = provider.seen.filter((s) => s.form.get('response') === t);
    assert.equal(asks.length, 1);
    assert.equal(asks[0]!.contentType, 'application/x-www-form-urlencoded');
    assert.equal(asks[0]!.form.get('secret'), SECRET);
    const id = res.body.data.id as string;
    const retrieved = await post(app, '/callbacks/retrieve', { id }, { 'x-api-key': keys.get('shop')! });
    assert.equal(retrieved.body.data.captchaToken, undefined);
    const row = await db.pool.query(`SELECT extras::text AS extras FROM callback WHERE id = $1`, [id]);
    assert.ok(!String(row.rows[0].extras ?? '').includes(t), 'the token is not kept with the callback');
    const digests = await db.pool.query(`SELECT state, digest FROM captcha_token WHERE digest = sha256(convert_to($1, 'UTF8'))`, [t]);
    assert.deepEqual(
      digests.rows.map((r) => r.state),
      ['used'],
    );
    const dump = await db.pool.query(`SELECT string_agg(encode(digest, 'escape'), '') AS all FROM captcha_token`);
    assert.ok(!String(dump.rows[0].all).includes(t), 'only digests are stored');
  });

  test('a create without a token, with an empty one or with a bad one is refused with 400', async () => {
    const missing = await create('shop', { serviceName: 'web' });
    assert.equal(missing.statusCode, 400);
    assert.equal(missing.body.status.errorCode, 'GES_CAPTCHA_REQUIRED');
    const empty = await create('shop', { serviceName: 'web', captchaToken: '' });
    assert.equal(empty.body.status.errorCode, 'GES_CAPTCHA_REQUIRED');
    const bad = await create('shop', { serviceName: 'web', captchaToken: token('bad') });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.body.status.errorCode, 'GES_CAPTCHA_INVALID');
    assert.match(bad.body.status.message, /invalid-input-response/);
  });

  test('a token is good once, even though the provider would say success again', async () => {
    const t = token('good');
    assert.equal((await create('shop', { serviceName: 'web', captchaToken: t })).statusCode, 200);
    const again = await create('shop', { serviceName: 'web', captchaToken: t });
    assert.equal(again.statusCode, 400);
    assert.equal(again.body.status.errorCode, 'GES_CAPTCHA_REUSED');
    assert.equal(asked(t), 1, 'a token GES has spent is refused without asking the provider');
  });

  test('two creates racing with one fresh token: exactly one is made', async () => {
    const t = token('good');
    const results = await Promise.all(Array.from({ length: 4 }, () => create('shop', { serviceName: 'web', captchaToken: t })));
    const codes = results.map((r) => r.statusCode).sort();
    assert.deepEqual(codes, [200, 400, 400, 400], JSON.stringify(results.map((r) => r.body.status)));
    for (const r of results.filter((x) => x.statusCode === 400)) assert.equal(r.body.status.errorCode, 'GES_CAPTCHA_REUSED');
  });

  test('an Idempotency-Key replay answers the stored result, whatever token it carries', async () => {
    const t = token('good');
    const headers = { 'idempotency-key': `captcha-idem-${tokenCounter}` };
    const body = { serviceName: 'web', phoneNumber: '+14155550142', captchaToken: t };
    const first = await create('shop', body, headers);
    assert.equal(first.statusCode, 200);
    const same = await create('shop', body, headers);
    assert.equal(same.statusCode, 200);
    assert.equal(same.body.data.id, first.body.data.id);
    assert.equal(same.headers['idempotent-replayed'], 'true');
    const fresh = await create('shop', { ...body, captchaToken: token('good') }, headers);
    assert.equal(fresh.body.data.id, first.body.data.id, 'a retry with a new token is the same request');
    const bad = await create('shop', { ...body, captchaToken: token('bad') }, headers);
    assert.equal(bad.body.data.id, first.body.data.id);
    assert.equal(asked(t), 1, 'replays do not ask the provider');
  });

  test('a create refused for another reason does not spend the token', async () => {
    const t = token('good');
    const badPhone = await create('shop', { serviceName: 'web', phoneNumber: '12', captchaToken: t });
    assert.equal(badPhone.body.status.errorCode, 'GES_PHONE_INVALID');
    assert.equal(asked(t), 0, 'the request failed its own rules before the provider was asked');
    // Refused inside the booking transaction: the spend rolls back with it.
    const phone = '+14155550177';
    assert.equal((await create('shop', { serviceName: 'strict-web', phoneNumber: phone, captchaToken: token('good') })).statusCode, 200);
    const duplicate = await create('shop', { serviceName: 'strict-web', phoneNumber: phone, captchaToken: t });
    assert.equal(duplicate.body.status.errorCode, 'GES_DUPLICATE_IN_QUEUE');
    const kept = await db.pool.query(`SELECT count(*)::int AS n FROM captcha_token WHERE digest = sha256(convert_to($1, 'UTF8'))`, [t]);
    assert.equal(kept.rows[0].n, 0);
    assert.equal((await create('shop', { serviceName: 'web', captchaToken: t })).statusCode, 200);
  });

  test('a disposition recreate (CALL_BACK_LATER) is made by GES itself and solves no CAPTCHA', async () => {
    const first = await create('shop', { serviceName: 'web', captchaToken: token('good') });
    const shop = (await findTenantByName(db.pool, 'shop'))!;
    const before = provider.seen.length;
    const outcome = await callbackRecreate(db.pool, callbacks)({ tenantId: shop.id, callbackId: first.body.data.id, desiredTime: inMinutes(120) });
    assert.ok('created' in outcome, JSON.stringify(outcome));
    assert.equal(provider.seen.length, before, 'the provider was not asked');
  });

  test("a service with captcha off ignores tokens, and a tenant without a provider needs none (today's behaviour)", async () => {
    const before = provider.seen.length;
    assert.equal((await create('shop', { serviceName: 'ivr' })).statusCode, 200);
    assert.equal((await create('shop', { serviceName: 'ivr', captchaToken: token('bad') })).statusCode, 200);
    assert.equal((await create('plain', { serviceName: 'sales' })).statusCode, 200);
    assert.equal((await create('plain', { serviceName: 'sales', captchaToken: token('bad') })).statusCode, 200);
    assert.equal(provider.seen.length, before, 'the provider was not asked');
  });

  test('minScore refuses a low score (reCAPTCHA v3) and takes a high one', async () => {
    const low = await create('scored', { serviceName: 'web', captchaToken: token('low') });
    assert.equal(low.body.status.errorCode, 'GES_CAPTCHA_INVALID');
    assert.match(low.body.status.message, /score 0.2 is below 0.5/);
    assert.equal((await create('scored', { serviceName: 'web', captchaToken: token('high') })).statusCode, 200);
    // An answer without a score cannot meet a minimum.
    assert.equal((await create('scored', { serviceName: 'web', captchaToken: token('good') })).body.status.errorCode, 'GES_CAPTCHA_INVALID');
  });
});

describe('CAPTCHA when the provider fails', () => {
  test('provider down: 503 GES_CAPTCHA_UNAVAILABLE (fail closed) by default', async () => {
    const res = await create('down', { serviceName: 'web', captchaToken: token('good') });
    assert.equal(res.statusCode, 503);
    assert.equal(res.body.status.errorCode, 'GES_CAPTCHA_UNAVAILABLE');
  });

  test('provider down with onVerifierDown accept: the create is made unverified, and its token still counts once', async () => {
    const t = token('bad');
    assert.equal((await create('lenient', { serviceName: 'web', captchaToken: t })).statusCode, 200);
    assert.equal((await create('lenient', { serviceName: 'web', captchaToken: t })).body.status.errorCode, 'GES_CAPTCHA_REUSED');
    assert.equal((await create('lenient', { serviceName: 'web' })).body.status.errorCode, 'GES_CAPTCHA_REQUIRED', 'a token is still required');
  });

  test('a provider that does not answer is given up after the timeout: 503', async () => {
    const started = Date.now();
    const res = await create('slow', { serviceName: 'web', captchaToken: token('good') });
    const took = Date.now() - started;
    assert.equal(res.statusCode, 503);
    assert.equal(res.body.status.errorCode, 'GES_CAPTCHA_UNAVAILABLE');
    assert.ok(took >= TIMEOUT_MS - 50 && took < TIMEOUT_MS + 2000, `took ${took} ms`);
  });

  test('an HTTP error or an answer that is not siteverify JSON is an outage (503), not a bad token', async () => {
    assert.equal((await create('broken', { serviceName: 'web', captchaToken: token('good') })).body.status.errorCode, 'GES_CAPTCHA_UNAVAILABLE');
    assert.equal((await create('garbage', { serviceName: 'web', captchaToken: token('good') })).body.status.errorCode, 'GES_CAPTCHA_UNAVAILABLE');
  });

  test("a secret the provider refuses is GES's fault: 503, never the client's 400", async () => {
    const res = await create('miskeyed', { serviceName: 'web', captchaToken: token('good') });
    assert.equal(res.statusCode, 503);
    assert.equal(res.body.status.errorCode, 'GES_CAPTCHA_UNAVAILABLE');
  });
});

describe('POST /captcha/verify (Genesys CaptchaApi.verifyCaptchaExternal)', () => {
  /** Exactly what engagement-client-js 9.0.18-19 sends: superagent's headers, VerifyCaptchaParms' fields in order. */
  const verifyOnWire = (tenant: string, siteKey: string, captchaToken: string) =>
    app.inject({
      method: 'POST',
      url: '/engagement/v3/captcha/verify',
      headers: {
        'x-api-key': keys.get(tenant)!,
        'content-type': 'application/json',
        accept: 'application/json',
        'user-agent': 'node-superagent/3.7.0',
      },
      payload: JSON.stringify({ siteKey, captchaToken }),
    });

  test('a good token verifies once, and the create that follows carries it without a second question', async () => {
    const t = token('good');
    const res = await verifyOnWire('shop', SITE_KEY, t);
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), ['data', 'status']);
    assert.deepEqual(body.data, { success: true });
    assert.equal(body.status.code, 200);
    assert.equal(body.status.message, 'Successful');
    assert.equal(typeof body.status.corrId, 'string');
    assert.deepEqual((await verifyOnWire('shop', SITE_KEY, t)).json().data, { success: false }, 'a token verifies once');
    assert.equal((await create('shop', { serviceName: 'web', captchaToken: t })).statusCode, 200);
    assert.equal(asked(t), 1);
    assert.equal((await create('shop', { serviceName: 'web', captchaToken: t })).body.status.errorCode, 'GES_CAPTCHA_REUSED');
  });

  test('a bad token answers success false; a wrong site key or a tenant without CAPTCHA is a 400 in the envelope', async () => {
    assert.deepEqual((await verifyOnWire('shop', SITE_KEY, token('bad'))).json().data, { success: false });
    const wrongKey = await verifyOnWire('shop', 'someone-elses-site-key', token('good'));
    assert.equal(wrongKey.statusCode, 400);
    assert.equal(wrongKey.json().status.errorCode, 'GES_VALIDATION');
    const none = await verifyOnWire('plain', SITE_KEY, token('good'));
    assert.equal(none.statusCode, 400);
    assert.equal(none.json().status.errorCode, 'GES_CAPTCHA_NOT_CONFIGURED');
    const down = await verifyOnWire('down', 'any', token('good'));
    assert.equal(down.statusCode, 503);
    assert.equal(down.json().status.errorCode, 'GES_CAPTCHA_UNAVAILABLE');
  });
});

describe('CAPTCHA settings', () => {
  test('the secret is sealed in the database and the export leaves it out; applying the export keeps it', async () => {
    const shop = (await findTenantByName(db.pool, 'shop'))!;
    const sealed = await db.pool.query(`SELECT sealed FROM tenant_secret WHERE tenant_id = $1 AND name = 'captcha'`, [shop.id]);
    assert.equal(sealed.rowCount, 1);
    assert.ok(!(sealed.rows[0].sealed as Buffer).toString('latin1').includes(SECRET));
    const exported = await exportTenantConfig(db.pool, 'shop');
    assert.deepEqual(exported.captcha, { provider: 'recaptcha', verifyUrl: `${base}/siteverify`, siteKey: SITE_KEY, onVerifierDown: 'refuse' });
    assert.ok(!JSON.stringify(exported).includes(SECRET));
    assert.equal((await applyTenantConfig(db.pool, exported, secrets)).captcha, true);
    assert.equal((await create('shop', { serviceName: 'web', captchaToken: token('good') })).statusCode, 200, 'the secret is still there');
  });

  test('refusals: no secret the first time, a required service without a provider, plain http to another host, a secret without a key', async () => {
    const refused = async (doc: unknown, code: string, pattern: RegExp, withSecrets: TenantSecrets | 'none' = secrets) =>
      assert.rejects(
        applyTenantConfig(db.pool, doc, withSecrets === 'none' ? undefined : withSecrets),
        (e: unknown) => e instanceof GesError && e.code === code && pattern.test(e.message),
      );
    await refused({ tenant: 'fresh', captcha: { provider: 'recaptcha' } }, 'GES_VALIDATION', /secret is needed/);
    await refused({ tenant: 'fresh', services: [{ name: 'web', options: { captcha: 'required' } }] }, 'GES_VALIDATION', /no captcha provider/);
    await refused({ tenant: 'fresh', captcha: { provider: 'siteverify', secret: 'x' } }, 'GES_VALIDATION', /needs a verifyUrl/);
    await refused({ tenant: 'fresh', captcha: { provider: 'siteverify', verifyUrl: 'http://verify.example.com/x', secret: 'x' } }, 'GES_VALIDATION', /https/);
    await refused({ tenant: 'fresh', captcha: { provider: 'recaptcha', secret: 'x' } }, 'GES_SECRET_STORAGE_OFF', /TENANT_SECRET_KEY/, 'none');
    await refused(
      { tenant: 'fresh', captcha: { provider: 'recaptcha', secret: 'x' } },
      'GES_SECRET_STORAGE_OFF',
      /TENANT_SECRET_KEY/,
      new TenantSecrets(db.pool, undefined),
    );
    await tenantWith('needy', { provider: 'recaptcha', verifyUrl: `${base}/siteverify`, secret: SECRET }, [{ name: 'web', options: { captcha: 'required' } }]);
    await refused({ tenant: 'needy', captcha: null }, 'GES_VALIDATION', /service web: option captcha is required/);
    assert.ok((await exportTenantConfig(db.pool, 'needy')).captcha, 'the refused removal left the provider');
    assert.equal(await findTenantByName(db.pool, 'fresh'), undefined, 'nothing was applied');
  });

  test('a required service of a tenant whose provider is removed fails closed; removing the provider drops its secret', async () => {
    await tenantWith('leaving', { provider: 'recaptcha', verifyUrl: `${base}/siteverify`, secret: SECRET }, [
      { name: 'web', options: { requestsPerNumberPer24h: 0 } },
    ]);
    const t = (await findTenantByName(db.pool, 'leaving'))!;
    assert.equal((await create('leaving', { serviceName: 'web' })).body.status.errorCode, 'GES_CAPTCHA_REQUIRED');
    assert.equal((await applyTenantConfig(db.pool, { tenant: 'leaving', captcha: null }, secrets)).captcha, false);
    assert.equal((await db.pool.query(`SELECT 1 FROM tenant_secret WHERE tenant_id = $1`, [t.id])).rowCount, 0);
    assert.equal((await exportTenantConfig(db.pool, 'leaving')).captcha, undefined);
    assert.equal((await create('leaving', { serviceName: 'web' })).statusCode, 200, 'default tenant mode: no provider, no check');
    // A service set to required behind the configuration's back (the console's option editor goes through
    // applyTenantConfig; a direct row change does not) is refused 503, never let through.
    await db.pool.query(`UPDATE callback_service SET options = options || '{"captcha":"required"}' WHERE tenant_id = $1`, [t.id]);
    const res = await create('leaving', { serviceName: 'web', captchaToken: token('good') });
    assert.equal(res.statusCode, 503);
    assert.equal(res.body.status.errorCode, 'GES_CAPTCHA_UNAVAILABLE');
  });

  test('the admin API takes the secret write-only and exports the settings without it', async () => {
    const adminToken = 'captcha-admin-token-2b7e';
    const internal = await buildInternalApp({ pool: db.pool, logger: createLogger('silent'), isShuttingDown: () => false, adminToken, tenantSecrets: secrets });
    try {
      const auth = { authorization: `Bearer ${adminToken}` };
      const doc = { tenant: 'over-admin', captcha: { provider: 'hcaptcha', secret: SECRET, onVerifierDown: 'accept' }, services: [{ name: 'web' }] };
      const put = await internal.inject({ method: 'PUT', url: '/admin/v1/config', headers: auth, payload: doc });
      assert.equal(put.statusCode, 200, put.body);
      assert.equal(put.json().data.captcha, true);
      const got = await internal.inject({ method: 'GET', url: '/admin/v1/tenants/over-admin/config', headers: auth });
      assert.deepEqual(got.json().data.captcha, { provider: 'hcaptcha', verifyUrl: 'https://api.hcaptcha.com/siteverify', onVerifierDown: 'accept' });
      assert.ok(!got.body.includes(SECRET));
      const keyless = await buildInternalApp({ pool: db.pool, logger: createLogger('silent'), isShuttingDown: () => false, adminToken });
      const refused = await keyless.inject({ method: 'PUT', url: '/admin/v1/config', headers: auth, payload: doc });
      await keyless.close();
      assert.equal(refused.statusCode, 400);
      assert.equal(refused.json().status.errorCode, 'GES_SECRET_STORAGE_OFF');
    } finally {
      await internal.close();
    }
  });

  test('maintenance purges digests past their keeping time', async () => {
    const t = token('good');
    assert.equal((await create('shop', { serviceName: 'web', captchaToken: t })).statusCode, 200);
    await db.pool.query(`UPDATE captcha_token SET expires_at = now() - interval '1 second' WHERE digest = sha256(convert_to($1, 'UTF8'))`, [t]);
    const report = await new Maintenance(db.pool, db.clock, createLogger('silent'), 14, 60_000).runOnce();
    assert.ok(report.captchaTokensPurged >= 1);
    assert.equal((await db.pool.query(`SELECT 1 FROM captcha_token WHERE digest = sha256(convert_to($1, 'UTF8'))`, [t])).rowCount, 0);
  });
});

describe('CAPTCHA observability', () => {
  test('ges_captcha_checks_total counts checks by result', async () => {
    const text = await metrics.registry.metrics();
    const value = (result: string) => Number(new RegExp(`^ges_captcha_checks_total\\{result="${result}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    for (const r of ['accepted', 'rejected', 'reused', 'missing', 'unavailable', 'misconfigured', 'accepted_unverified']) assert.ok(value(r) >= 1, r);
  });

  test('neither the secret nor any token ever reaches the log', () => {
    const log = logLines.join('');
    assert.ok(log.includes('CAPTCHA provider unreachable'), 'the outage was logged');
    assert.ok(!log.includes(SECRET) && !log.includes(WRONG_SECRET), 'no secret in the log');
    for (const t of tokensUsed) assert.ok(!log.includes(t), `token ${t.slice(0, 12)}… in the log`);
  });
});

test('an immediate or scheduled create both pass the gate (the token is checked once per create)', async () => {
  const res = await create('shop', { serviceName: 'web', desiredTime: inMinutes(180), captchaToken: token('good') });
  assert.equal(res.statusCode, 200, JSON.stringify(res.body));
});

test('a running node wires it all: the secret given to the admin API checks creates on the API port, counted on /metrics', async () => {
  const own = await createTestDb();
  const adminToken = 'node-admin-token-8c1d';
  const config = loadConfig(
    {},
    {
      DATABASE_URL: TEST_DATABASE_URL,
      DATABASE_SCHEMA: own.schema,
      PORT: 0,
      INTERNAL_PORT: 0,
      HOST: '127.0.0.1',
      DEMO_SEED: 'false',
      LOG_LEVEL: 'silent',
      ADMIN_TOKEN: adminToken,
      SHUTDOWN_DELAY_SEC: 0,
      TENANT_SECRET_KEY: newSecretKey(),
    },
  );
  const ges = await startGes(config, createLogger('silent'));
  try {
    const admin = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
    const doc = { tenant: 'node-co', captcha: { provider: 'recaptcha', verifyUrl: `${base}/siteverify`, secret: SECRET }, services: [{ name: 'web' }] };
    const put = await fetch(`${ges.internalUrl}/admin/v1/config`, { method: 'PUT', headers: admin, body: JSON.stringify(doc) });
    assert.equal(put.status, 200, await put.text());
    const t = (await findTenantByName(own.pool, 'node-co'))!;
    await addApiKey(own.pool, t.id, 'node-co-api-key-3f9a1c7e5b2d');
    const createOn = (captchaToken?: string) =>
      fetch(`${ges.apiUrl}/engagement/v3/callbacks/create`, {
        method: 'POST',
        headers: { 'x-api-key': 'node-co-api-key-3f9a1c7e5b2d', 'content-type': 'application/json' },
        body: JSON.stringify({ serviceName: 'web', phoneNumber: '+14155550123', ...(captchaToken ? { captchaToken } : {}) }),
      });
    assert.equal((await createOn(token('good'))).status, 200);
    const bad = await createOn(token('bad'));
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { status: { errorCode: string } }).status.errorCode, 'GES_CAPTCHA_INVALID');
    const scrape = await (await fetch(`${ges.internalUrl}/metrics`)).text();
    assert.match(scrape, /^ges_captcha_checks_total\{result="accepted"\} 1$/m);
    assert.match(scrape, /^ges_captcha_checks_total\{result="rejected"\} 1$/m);
  } finally {
    await ges.stop();
    await own.close();
  }
});
