// CORS as browsers see it: Debian's chromium (playwright-core) loads a page from another origin
// (a plain node:http server on its own port) and calls the GES API listening on an ephemeral port,
// over a test schema of the real PostgreSQL. Preflight and header details are checked with
// inject() alongside.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { applyTenantConfig, exportTenantConfig } from '../src/app/tenant-config.ts';
import { GesError } from '../src/domain/errors.ts';
import { buildTestApi, createTestDb, createTestTenant, type TestDb, type TestTenant } from './support/test-env.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let db: TestDb;
let app: FastifyInstance;
let api: string;
let acme: TestTenant;
let globex: TestTenant;
let browser: Browser;
const servers: Server[] = [];
/** The shop's page, which acme allows, and a page no tenant allows. */
let shop: string;
let stranger: string;

async function pageServer(host: string): Promise<string> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>shop</title><p>A web page of a customer site.</p>');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://${host}:${(server.address() as AddressInfo).port}`;
}

async function count(tenant: TestTenant): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM callback WHERE tenant_id = $1', [tenant.id]);
  return rows[0]!.n;
}

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the browser tests need chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  db = await createTestDb();
  app = await buildTestApi(db);
  acme = await createTestTenant(db, 'acme-cors', { sales: { inQueueChecking: 'false', requestsPerNumberPer24h: 0 } });
  globex = await createTestTenant(db, 'globex-cors', { sales: { inQueueChecking: 'false', requestsPerNumberPer24h: 0 } });
  shop = await pageServer('127.0.0.1');
  stranger = await pageServer('localhost');
  await applyTenantConfig(db.pool, { tenant: 'acme-cors', cors: { allowedOrigins: [`${shop}/`] } });
  api = await app.listen({ port: 0, host: '127.0.0.1' });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  await app?.close();
  for (const s of servers) await new Promise((resolve) => s.close(resolve));
  await db?.close();
});

/** The parts of a GES envelope these tests read. */
type Envelope = { status?: { errorCode?: unknown }; data?: { id?: unknown } };
type Outcome = { status: number; body: Envelope; corrId: string | null } | { blocked: string };

/** Runs fetch inside the page, as the site's own script would; a CORS refusal surfaces as a TypeError. */
async function callFrom(page: Page, url: string, init: { method: string; headers: Record<string, string>; body?: string }): Promise<Outcome> {
  return page.evaluate(
    async ({ url, init }) => {
      try {
        const res = await fetch(url, init);
        return { status: res.status, body: (await res.json()) as Envelope, corrId: res.headers.get('x-correlation-id') };
      } catch (err) {
        return { blocked: String(err) };
      }
    },
    { url, init },
  );
}

async function open(origin: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${origin}/booking.html`);
  return page;
}

const create = (key: string) => ({
  method: 'POST',
  headers: { 'x-api-key': key, 'content-type': 'application/json', 'idempotency-key': `k-${Math.random()}` },
  body: JSON.stringify({ serviceName: 'sales', phoneNumber: '+14155552671' }),
});

describe('from a real page in chromium', () => {
  test('the allowed origin books a callback and reads the answer, its correlation id included', async () => {
    const page = await open(shop);
    const before = await count(acme);
    const out = await callFrom(page, `${api}/engagement/v3/callbacks/create`, create(acme.apiKey));
    assert.ok('status' in out, `blocked: ${'blocked' in out ? out.blocked : ''}`);
    assert.equal(out.status, 200);
    assert.equal(typeof out.body.data?.id, 'string');
    assert.ok(out.corrId, 'x-correlation-id is exposed to the page');
    assert.equal(await count(acme), before + 1);
    const slots = await callFrom(page, `${api}/engagement/v3/callbacks/availability/sales`, { method: 'GET', headers: { 'x-api-key': acme.apiKey } });
    assert.ok('status' in slots && slots.status === 200, JSON.stringify(slots));
    await page.context().close();
  });

  test('a page of another origin is blocked by the browser, and nothing is created', async () => {
    const page = await open(stranger);
    const before = await count(acme);
    const out = await callFrom(page, `${api}/engagement/v3/callbacks/create`, create(acme.apiKey));
    assert.ok('blocked' in out, `the page read an answer: ${JSON.stringify(out)}`);
    assert.match(out.blocked, /TypeError/);
    assert.equal(await count(acme), before);
    await page.context().close();
  });

  test('an origin allowed by one tenant cannot act with the key of another: 403, readable, nothing created', async () => {
    const page = await open(shop);
    const before = await count(globex);
    const out = await callFrom(page, `${api}/engagement/v3/callbacks/create`, create(globex.apiKey));
    assert.ok('status' in out, JSON.stringify(out));
    assert.equal(out.status, 403);
    assert.equal(out.body.status?.errorCode, 'GES_CORS_ORIGIN_REFUSED');
    assert.equal(await count(globex), before);
    await page.context().close();
  });
});

describe('preflight and headers', () => {
  const preflight = (url: string, origin: string, method = 'POST', headers = 'content-type,x-api-key') =>
    app.inject({
      method: 'OPTIONS',
      url,
      headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
    });

  test("an allowed origin gets exactly its origin, the path's method and minimal headers, no credentials", async () => {
    const res = await preflight('/engagement/v3/callbacks/create', shop);
    assert.equal(res.statusCode, 204);
    assert.equal(res.headers['access-control-allow-origin'], shop);
    assert.equal(res.headers['access-control-allow-methods'], 'POST');
    assert.equal(res.headers['access-control-allow-headers'], 'x-api-key, content-type, idempotency-key');
    assert.equal(res.headers['access-control-max-age'], '600');
    assert.equal(res.headers['access-control-allow-credentials'], undefined);
    assert.match(String(res.headers.vary), /Origin/);
    const get = await preflight('/engagement/v3/callbacks/queue-status/sales', shop, 'GET', 'x-api-key');
    assert.deepEqual([get.statusCode, get.headers['access-control-allow-methods'], get.headers['access-control-allow-headers']], [204, 'GET', 'x-api-key']);
    const stats = await preflight('/engagement/v3/statistics/operations/get-statistic-ex', shop);
    assert.equal(stats.headers['access-control-allow-headers'], 'x-api-key, content-type, cache-control');
    const ingress = await preflight('/ges/engagement/v3/estimated-wait-time', shop, 'GET', 'x-api-key');
    assert.equal(ingress.statusCode, 204);
  });

  test('every ingress path of the deployment guide answers a preflight; others do not', async () => {
    for (const path of [
      '/callbacks/create',
      '/callbacks/cancel',
      '/callbacks/retrieve',
      '/callbacks/availability/sales',
      '/callbacks/queue-status/sales',
      '/callbacks/open-for/sales',
      '/estimated-wait-time',
      '/call-in/requests/create',
      '/statistics/operations/get-statistic-ex',
    ]) {
      assert.equal((await preflight(`/engagement/v3${path}`, shop)).statusCode, 204, path);
    }
    const find = await preflight('/engagement/v3/callbacks/find', shop);
    assert.equal(find.statusCode, 404);
    assert.equal(find.json().status.errorCode, 'GES_ROUTE_NOT_FOUND');
  });

  test('an origin no tenant allows: 403 in the envelope without CORS headers; by default nothing is allowed', async () => {
    const res = await preflight('/engagement/v3/callbacks/create', stranger);
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().status.errorCode, 'GES_CORS_ORIGIN_REFUSED');
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    assert.equal((await preflight('/engagement/v3/callbacks/create', 'null')).statusCode, 403);
    assert.equal((await preflight('/engagement/v3/callbacks/create', `https://${'a'.repeat(400)}.example`)).statusCode, 403);
  });

  test('server-side clients (no Origin) and same-origin pages are not affected', async () => {
    const plain = await app.inject({ method: 'GET', url: '/engagement/v3/callbacks/open-for/sales', headers: { 'x-api-key': globex.apiKey } });
    assert.equal(plain.statusCode, 200);
    assert.equal(plain.headers['access-control-allow-origin'], undefined);
    const same = await app.inject({
      method: 'GET',
      url: '/engagement/v3/callbacks/open-for/sales',
      headers: { 'x-api-key': globex.apiKey, origin: 'http://ges.example.com', host: 'ges.example.com' },
    });
    assert.equal(same.statusCode, 200);
    const options = await app.inject({ method: 'OPTIONS', url: '/engagement/v3/callbacks/create' });
    assert.deepEqual([options.statusCode, options.headers.allow], [204, 'POST, OPTIONS']);
  });

  test('cors.allowedOrigins: normalised, replaced as a whole, exported, and refused when not an origin', async () => {
    await applyTenantConfig(db.pool, { tenant: 'globex-cors', cors: { allowedOrigins: ['HTTPS://Shop.Example.COM:443/', 'http://localhost:8080'] } });
    assert.deepEqual((await exportTenantConfig(db.pool, 'globex-cors')).cors, { allowedOrigins: ['http://localhost:8080', 'https://shop.example.com'] });
    await applyTenantConfig(db.pool, { tenant: 'globex-cors', cors: { allowedOrigins: ['http://localhost:8080'] } });
    assert.deepEqual((await exportTenantConfig(db.pool, 'globex-cors')).cors, { allowedOrigins: ['http://localhost:8080'] });
    await applyTenantConfig(db.pool, { tenant: 'globex-cors', services: [] });
    assert.deepEqual(
      (await exportTenantConfig(db.pool, 'globex-cors')).cors,
      { allowedOrigins: ['http://localhost:8080'] },
      'a document without cors leaves it alone',
    );
    await applyTenantConfig(db.pool, { tenant: 'globex-cors', cors: { allowedOrigins: [] } });
    assert.equal((await exportTenantConfig(db.pool, 'globex-cors')).cors, undefined);
    for (const bad of ['https://shop.example.com/path', '*.example.com', 'https://*.example.com', 'ftp://x.example', 'https://u:p@x.example']) {
      await assert.rejects(
        applyTenantConfig(db.pool, { tenant: 'globex-cors', cors: { allowedOrigins: [bad] } }),
        (err) => err instanceof GesError && err.code === 'GES_VALIDATION',
        bad,
      );
    }
  });
});
