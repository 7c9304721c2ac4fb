// The API edge over real TCP sockets: slow clients are cut off within the configured timeouts,
// answers written before GES's handlers run (408, 414, 431, bad URL encoding, malformed framing)
// leave in the GES envelope, a client that aborts is logged as an abort (info), never at warn or
// error, and path traversal under /ges/docs/static/ is a 404.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApiApp } from '../src/main/api-app-assembly.ts';
import { CallbackService } from '../src/app/callback-service.ts';
import { AvailabilityService } from '../src/app/availability-service.ts';
import { FailedRequestLog } from '../src/app/failed-request-log.ts';
import { MemoryAttemptCounter, MemorySessionStore } from '../src/console/memory-session-store.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { isClientAbort } from '../src/http/client-abort.ts';
import { createTestDb, createTestTenant, type TestDb, type TestTenant } from './support/test-env.ts';

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** A pino logger whose lines the test reads. */
function capturingLogger() {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

async function until<T>(what: string, check: () => T | undefined | false, deadlineMs = 5000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A raw connection that collects what the server writes and when it closes. */
function open(port: number): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      data += d;
    });
    const closed = new Promise<number>((r) => socket.on('close', () => r(Date.now())));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}

/** Status and envelope of a raw HTTP/1.1 answer. */
function parseRaw(text: string): { status: number; headers: string; body: { status: { code: number; message: string; corrId: string; errorCode?: string } } } {
  const m = /^HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(text);
  assert.ok(m, `not an HTTP answer: ${JSON.stringify(text.slice(0, 200))}`);
  return { status: Number(m[1]), headers: m[2]!, body: JSON.parse(m[3]!) };
}

function assertEnvelope(answer: ReturnType<typeof parseRaw>, status: number, errorCode: string): void {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.equal(answer.body.status.code, status);
  assert.equal(answer.body.status.errorCode, errorCode);
  assert.ok(answer.body.status.corrId.length > 0);
  assert.ok(answer.body.status.message.length > 0);
  assert.match(answer.headers, /content-type: application\/json/i);
}

const REQUEST_TIMEOUT_MS = 1500;
const HEADERS_TIMEOUT_MS = 1000;

describe('API edge over TCP', () => {
  let db: TestDb;
  let tenant: TestTenant;
  let app: FastifyInstance;
  let port: number;
  let logs: ReturnType<typeof capturingLogger>;
  const metrics = createMetrics({ defaultMetrics: false });

  before(async () => {
    db = await createTestDb();
    tenant = await createTestTenant(db);
    logs = capturingLogger();
    const callbacks = new CallbackService(db.pool, db.clock);
    const availability = new AvailabilityService(db.pool, db.clock);
    const failedRequests = new FailedRequestLog(db.pool);
    app = await buildApiApp({
      pool: db.pool,
      callbacks,
      availability,
      logger: logs.logger,
      bodyLimitBytes: 64 * 1024,
      metrics,
      failedRequests,
      edge: { requestTimeoutMs: REQUEST_TIMEOUT_MS, headersTimeoutMs: HEADERS_TIMEOUT_MS, keepAliveTimeoutMs: 5000, maxConnections: 50 },
      console: {
        pool: db.pool,
        callbacks,
        availability,
        failedRequests,
        sessions: new MemorySessionStore(),
        loginAttempts: new MemoryAttemptCounter(),
        sessionIdleMs: 60_000,
        secureCookie: 'false',
      },
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;
  });
  after(async () => {
    await app.close();
    await db.close();
  });

  const errorLines = () => logs.lines.filter((l) => l.level >= 40);

  for (const [what, path, headers] of [
    ['an authenticated create', '/engagement/v3/callbacks/create', () => `x-api-key: ${tenant.apiKey}\r\ncontent-type: application/json\r\n`],
    ['an anonymous console sign-in', '/ges/login', () => 'content-type: application/x-www-form-urlencoded\r\n'],
  ] as const) {
    test(`a body trickled one byte at a time (${what}) is cut off with 408 within the request timeout`, async () => {
      const c = await open(port);
      const started = Date.now();
      c.socket.write(`POST ${path} HTTP/1.1\r\nhost: x\r\n${headers()}content-length: 1000\r\n\r\n{`);
      // One byte every 200 ms: without a request timeout this would hold the connection for 200 s.
      const trickle = setInterval(() => {
        if (!c.socket.destroyed) c.socket.write(' ');
      }, 200);
      try {
        const closedAt = await Promise.race([c.closed, new Promise<number>((_, reject) => setTimeout(() => reject(new Error('still open after 6 s')), 6000))]);
        // Node checks deadlines every few hundred ms here, so allow one interval plus scheduling.
        assert.ok(closedAt - started < REQUEST_TIMEOUT_MS + 1500, `closed after ${closedAt - started} ms`);
        assert.ok(closedAt - started >= REQUEST_TIMEOUT_MS - 50, `closed too early, after ${closedAt - started} ms`);
      } finally {
        clearInterval(trickle);
      }
      assertEnvelope(parseRaw(c.received()), 408, 'GES_REQUEST_TIMEOUT');
    });
  }

  test('headers trickled one byte at a time (slowloris) are cut off with 408 within the headers timeout', async () => {
    const c = await open(port);
    const started = Date.now();
    c.socket.write('GET /engagement/v3/callbacks/queue-status/sales HTTP/1.1\r\nhost: x\r\nx-slow: ');
    const trickle = setInterval(() => {
      if (!c.socket.destroyed) c.socket.write('a');
    }, 100);
    try {
      const closedAt = await Promise.race([c.closed, new Promise<number>((_, reject) => setTimeout(() => reject(new Error('still open after 5 s')), 5000))]);
      assert.ok(closedAt - started < HEADERS_TIMEOUT_MS + 1500, `closed after ${closedAt - started} ms`);
    } finally {
      clearInterval(trickle);
    }
    assertEnvelope(parseRaw(c.received()), 408, 'GES_REQUEST_TIMEOUT');
  });

  test('headers over 16 KiB get 431 in the envelope', async () => {
    const c = await open(port);
    c.socket.write(`GET /engagement/v3/callbacks/queue-status/sales HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    await c.closed;
    assertEnvelope(parseRaw(c.received()), 431, 'GES_HEADERS_TOO_LARGE');
  });

  for (const [what, request] of [
    ['a malformed Content-Length', 'POST /engagement/v3/callbacks/create HTTP/1.1\r\nhost: x\r\ncontent-length: abc\r\n\r\n'],
    [
      'Content-Length with Transfer-Encoding',
      'POST /engagement/v3/callbacks/create HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
    [
      'a bad chunk size',
      'POST /engagement/v3/callbacks/create HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\ncontent-type: application/json\r\n\r\nzz\r\n',
    ],
    ['a header without a colon', 'GET /engagement/v3/callbacks/queue-status/sales HTTP/1.1\r\nhost: x\r\nbroken header\r\n\r\n'],
    ['a request line that is not HTTP', 'HELLO THERE\r\n\r\n'],
  ] as const) {
    test(`malformed framing (${what}) gets 400 GES_BAD_REQUEST in the envelope`, async () => {
      const c = await open(port);
      c.socket.write(request);
      await c.closed;
      assertEnvelope(parseRaw(c.received()), 400, 'GES_BAD_REQUEST');
    });
  }

  test('framing errors of Content-Length count as the original INVALID_CONTENT_LENGTH', async () => {
    const before = (await metrics.edge.invalidContentLength.get()).values[0]?.value ?? 0;
    const c = await open(port);
    c.socket.write('POST /engagement/v3/callbacks/create HTTP/1.1\r\nhost: x\r\ncontent-length: 1x\r\n\r\n');
    await c.closed;
    assert.equal((await metrics.edge.invalidContentLength.get()).values[0]?.value, before + 1);
    const refused = await metrics.edge.connectionsRefused.get();
    assert.ok(refused.values.some((v) => v.labels.reason === 'invalid_content_length' && v.value >= 1));
  });

  test('a bad percent-encoding in the path gets 400 GES_BAD_URL in the envelope', async () => {
    const res = await app.inject({ method: 'GET', url: '/engagement/v3/callbacks/availability/%E0%A4%A', headers: { 'x-api-key': tenant.apiKey } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().status.errorCode, 'GES_BAD_URL');
    assert.equal(res.json().status.corrId, res.headers['x-correlation-id']);
  });

  test('an over-long path parameter gets 414 GES_URI_TOO_LONG in the envelope', async () => {
    for (const route of ['callbacks/availability', 'callbacks/open-for', 'callbacks/queue-status']) {
      const res = await app.inject({ method: 'GET', url: `/engagement/v3/${route}/${'s'.repeat(150)}`, headers: { 'x-api-key': tenant.apiKey } });
      assert.equal(res.statusCode, 414, route);
      assert.equal(res.json().status.errorCode, 'GES_URI_TOO_LONG');
      assert.equal(res.json().status.code, 414);
    }
  });

  test('a client that aborts its body is logged as an aborted request at info, not as unavailable', async () => {
    logs.lines.length = 0;
    const c = await open(port);
    c.socket.write(
      `POST /engagement/v3/callbacks/create HTTP/1.1\r\nhost: x\r\nx-api-key: ${tenant.apiKey}\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{"serviceName":`,
    );
    await until('the server to read the start of the body', () => logs.lines.some((l) => l.msg === 'incoming request'));
    c.socket.destroy();
    const line = await until('the abort to be logged', () => logs.lines.find((l) => l.msg === 'request aborted by the client'));
    assert.equal(line.level, 30, 'info');
    assert.deepEqual(errorLines(), [], 'nothing at warn or above');
    assert.ok(!logs.lines.some((l) => /unavailable/.test(l.msg)));
    assert.ok(((await metrics.edge.abortedRequests.get()).values[0]?.value ?? 0) >= 1);
  });

  test('a connection reset after the body arrived whole is an outage, not a client abort', () => {
    // What the fault suite met: a PostgreSQL restart resets pg's socket (ECONNRESET) while the
    // handler runs; the request message is already destroyed because its body was read.
    const request = (raw: Record<string, unknown>) => ({ raw }) as unknown as Parameters<typeof isClientAbort>[1];
    const reset = { code: 'ECONNRESET', message: 'read ECONNRESET' };
    assert.equal(isClientAbort(reset, request({ complete: true, destroyed: true, aborted: false })), false);
    assert.equal(isClientAbort(reset, request({ complete: false, destroyed: true, aborted: false })), true);
    assert.equal(isClientAbort({ message: 'aborted' }, request({ complete: false, aborted: true })), true);
    assert.equal(isClientAbort(reset, request({ complete: false, destroyed: false, aborted: false, socket: { destroyed: false } })), false);
  });

  test('path traversal under /ges/docs/static/ answers 404 and logs nothing at warn or above', async () => {
    logs.lines.length = 0;
    for (const url of [
      '/ges/docs/static/../../../../etc/passwd',
      '/ges/docs/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      '/ges/docs/static/..%2f..%2f..%2fetc%2fpasswd',
      '/ges/docs/static/%2e%2e%5c%2e%2e%5cpackage.json',
      '/ges/docs/static/....//....//package.json',
      '/ges/docs/static/%252e%252e/package.json',
      '/ges/docs/static/..%00/package.json',
    ]) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 404, `${url}: ${res.body.slice(0, 200)}`);
      assert.equal(res.json().status.code, 404, url);
      assert.doesNotMatch(res.body, /root:|"name": ?"ges"/, url);
    }
    assert.deepEqual(errorLines(), []);
    const ok = await app.inject({ method: 'GET', url: '/ges/docs/static/index.css' });
    assert.notEqual(ok.statusCode, 500);
  });

  test('the original alert counters move: a body over the limit is INVALID_CONTENT_LENGTH, a throttled number CB_ENQUEUE_LIMIT_REACHED', async () => {
    const invalidBefore = (await metrics.edge.invalidContentLength.get()).values[0]?.value ?? 0;
    const big = await app.inject({
      method: 'POST',
      url: '/engagement/v3/callbacks/create',
      headers: { 'x-api-key': tenant.apiKey, 'content-type': 'application/json' },
      payload: JSON.stringify({ serviceName: 'sales', phoneNumber: '+14155550100', userData: { blob: 'x'.repeat(70 * 1024) } }),
    });
    assert.equal(big.statusCode, 413);
    assert.equal((await metrics.edge.invalidContentLength.get()).values[0]?.value, invalidBefore + 1);

    const strict = await createTestTenant(db, undefined, { sales: { inQueueChecking: 'false', requestsPerNumberPer24h: 1 } });
    const create = () =>
      app.inject({
        method: 'POST',
        url: '/engagement/v3/callbacks/create',
        headers: { 'x-api-key': strict.apiKey, 'content-type': 'application/json' },
        payload: JSON.stringify({ serviceName: 'sales', phoneNumber: '+14155550123' }),
      });
    assert.equal((await create()).statusCode, 200);
    const throttled = await create();
    assert.equal(throttled.statusCode, 429);
    assert.equal(throttled.json().status.errorCode, 'GES_NUMBER_THROTTLED');
    const enqueue = (await metrics.edge.enqueueLimitReached.get()).values;
    assert.deepEqual(
      enqueue.map((v) => [v.labels.exported_tenant, v.value]),
      [[strict.name, 1]],
    );
  });

  test('a connection beyond HTTP_MAX_CONNECTIONS is closed at once, and served again once one is freed', async () => {
    const held = await Promise.all(Array.from({ length: 50 }, () => open(port)));
    const count = () => new Promise<number>((r) => app.server.getConnections((_e, n) => r(n)));
    let accepted = 0;
    await until('the server to hold 50 connections', () => {
      void count().then((n) => {
        accepted = n;
      });
      return accepted === 50;
    });
    const extra = await open(port);
    await extra.closed;
    assert.equal(extra.received(), '', 'closed without an answer');
    held[0]!.socket.destroy();
    await until('a slot to be freed', () => {
      void count().then((n) => {
        accepted = n;
      });
      return accepted === 49;
    });
    const next = await open(port);
    next.socket.write('GET /engagement/v3/callbacks/queue-status/sales HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    await next.closed;
    assert.match(next.received(), /^HTTP\/1\.1 401 /, 'served (401: no API key)');
    for (const h of held) h.socket.destroy();
  });

  test('the node bounds its open connections', () => {
    assert.equal(app.server.maxConnections, 50);
    assert.equal(app.server.requestTimeout, REQUEST_TIMEOUT_MS);
    assert.equal(app.server.headersTimeout, HEADERS_TIMEOUT_MS);
    assert.equal(app.server.keepAliveTimeout, 5000);
  });
});

describe('API edge while closing', () => {
  test('a request arriving while the node closes gets 503 GES_UNAVAILABLE in the envelope, the one in flight finishes', async () => {
    const db = await createTestDb();
    const tenant = await createTestTenant(db);
    const logs = capturingLogger();
    const app = await buildApiApp({
      pool: db.pool,
      callbacks: new CallbackService(db.pool, db.clock),
      availability: new AvailabilityService(db.pool, db.clock),
      logger: logs.logger,
      bodyLimitBytes: 64 * 1024,
    });
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const c = await open((app.server.address() as { port: number }).port);
      const body = JSON.stringify({ id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b' });
      const head = (len: number) =>
        `POST /engagement/v3/callbacks/retrieve HTTP/1.1\r\nhost: x\r\nx-api-key: ${tenant.apiKey}\r\ncontent-type: application/json\r\ncontent-length: ${len}\r\n\r\n`;
      // The first request is in flight (half its body sent) when the node starts closing.
      c.socket.write(head(body.length) + body.slice(0, 5));
      await until('the first request to be in flight', () => logs.lines.some((l) => l.msg === 'incoming request'));
      const closed = app.close();
      // Once the node has stopped listening: the rest of its body, and a second request behind it.
      await until('the node to stop listening', () => !app.server.listening);
      c.socket.write(body.slice(5) + head(body.length) + body);
      await c.closed;
      await closed;
      const answers = c.received().split(/(?=HTTP\/1\.1 )/);
      assert.equal(answers.length, 2, c.received());
      assert.equal(parseRaw(answers[0]!).status, 404, 'the request in flight is answered normally');
      const second = parseRaw(answers[1]!);
      assertEnvelope(second, 503, 'GES_UNAVAILABLE');
      assert.match(second.headers, /connection: close/i);
    } finally {
      await app.close();
      await db.close();
    }
  });
});
