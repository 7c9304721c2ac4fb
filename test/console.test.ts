// The supervisor console through HTTP (fastify inject) against a real PostgreSQL: permissions on
// every route, CSRF, sessions and their idle timeout, the sign-in slowdown, tenant isolation, the
// list's keyset paging over thousands of callbacks, CSV export, failed-request recording, and the
// session stores (the Redis one against a real Redis).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { createTestDb, createTestTenant, inMinutes, type TestDb, type TestTenant } from './support/test-env.ts';
import { buildConsoleApp, createRoleUsers, get, PASSWORD, postForm, postLogin, signIn, type ConsoleApp, type Signed } from './support/console-env.ts';
import { ACTIONS, can, isAction, type Action } from '../src/console/permissions.ts';
import { ROLES, type Role } from '../src/domain/roles.ts';
import { consolePlugin } from '../src/console/console-plugin.ts';
import { assembleConsole } from '../src/main/console-assembly.ts';
import { MemoryAttemptCounter, MemorySessionStore } from '../src/console/memory-session-store.ts';
import { RedisAttemptCounter, RedisSessionStore } from '../src/console/redis-session-store.ts';
import { LoginThrottle } from '../src/console/login-throttle.ts';
import { newSessionId, sessionDigest } from '../src/console/session-store.ts';
import { CallbackService } from '../src/app/callback-service.ts';
import { AvailabilityService } from '../src/app/availability-service.ts';
import { Maintenance } from '../src/app/maintenance.ts';
import { ensureDemoTenant } from '../src/app/demo-seed.ts';
import { applyTenantConfig } from '../src/app/tenant-config.ts';
import { createLogger } from '../src/logging/logger.ts';
import { upsertService } from '../src/store/service-store.ts';
import { parseServiceOptions } from '../src/domain/service-options.ts';
import { listApiKeys } from '../src/store/tenant-store.ts';
import { listCapacityRules } from '../src/store/calendar-store.ts';
import { TEST_DATABASE_URL } from './support/test-env.ts';

let db: TestDb;
let c: ConsoleApp;
let acme: TestTenant;
let globex: TestTenant;
const signed = new Map<Role, { at: number; s: Signed }>();

/** A signed-in session of the role's acme user, signed in again when tests have moved the clock. */
async function as(role: Role): Promise<Signed> {
  const hit = signed.get(role);
  if (hit && hit.at === c.clock.offsetMs) return hit.s;
  const s = await signIn(c.app, 'acme', role.toLowerCase());
  signed.set(role, { at: c.clock.offsetMs, s });
  return s;
}

before(async () => {
  db = await createTestDb();
  c = await buildConsoleApp(db, { idleMs: 60_000 });
  acme = await createTestTenant(db, 'acme', { sales: { inQueueChecking: 'false', requestsPerNumberPer24h: 0 } });
  globex = await createTestTenant(db, 'globex', { support: {} });
  await createRoleUsers(c.users, acme);
  await c.users.create(globex, 'administrator', 'ADMINISTRATOR', PASSWORD);
});

after(async () => {
  await c.app.close();
  await db.close();
});

let seq = 0;
const phone = () => `+1212555${String(1000 + (++seq % 9000)).padStart(4, '0')}`;
const tenantOf = (t: TestTenant) => ({ id: t.id, name: t.name });
async function scheduled(t: TestTenant = acme, service = 'sales'): Promise<string> {
  return (await c.callbacks.create(tenantOf(t), { serviceName: service, phoneNumber: phone(), desiredTime: inMinutes(24 * 60 + seq) })).id;
}
const stateOf = async (id: string, t: TestTenant = acme) => {
  const r = await c.callbacks.retrieve(tenantOf(t), id);
  return r.reason ? `${r.state} (${r.reason})` : r.state;
};

describe('permissions', () => {
  test('every action has roles; administrators may do everything; docs/CONSOLE.md shows the same matrix', () => {
    const doc = readFileSync(new URL('../docs/CONSOLE.md', import.meta.url), 'utf8');
    for (const [name, a] of Object.entries(ACTIONS)) {
      assert.ok(a.roles.length > 0, name);
      assert.ok(can('ADMINISTRATOR', name as Action), name);
      const row = new RegExp(`^\\| \`${name.replace('.', '\\.')}\` \\|(.*)\\|$`, 'm').exec(doc);
      assert.ok(row, `docs/CONSOLE.md has no row for ${name}`);
      const cells = row[1]!.split('|').map((s) => s.trim());
      // Columns: what, then one per role in ROLES order.
      ROLES.forEach((role, i) => assert.equal(cells[i + 1], can(role, name as Action) ? 'yes' : '—', `${name} / ${role}`));
    }
    assert.ok(!can('MONITOR', 'callbacks.cancel') && !can('MONITOR', 'callbacks.create') && !can('MONITOR', 'callbacks.export'));
    assert.ok(!can('SUPERVISOR', 'config.edit') && !can('SUPERVISOR', 'developer.view') && can('SUPERVISOR', 'callbacks.export'));
    assert.ok(can('DEVELOPER', 'developer.view') && !can('DEVELOPER', 'callbacks.cancel'));
  });

  test('every console route names a known action, and every POST route one that changes state', async () => {
    const routes: { method: string; url: string; action?: string }[] = [];
    const app = Fastify();
    app.addHook('onRoute', (r) => {
      for (const m of [r.method].flat()) routes.push({ method: m, url: r.url, action: (r.config as { action?: string } | undefined)?.action });
    });
    await app.register(
      consolePlugin(
        assembleConsole({
          pool: db.pool,
          callbacks: new CallbackService(db.pool, db.clock),
          availability: new AvailabilityService(db.pool, db.clock),
          sessions: new MemorySessionStore(),
          sessionIdleMs: 60_000,
          secureCookie: 'false',
        }),
      ),
      { prefix: '/ges' },
    );
    await app.ready();
    const pages = routes.filter((r) => !r.url.startsWith('/ges/static/') && r.method !== 'HEAD');
    for (const r of pages) {
      assert.ok(r.action === 'public' || (r.action !== undefined && isAction(r.action)), `${r.method} ${r.url}: ${r.action}`);
      if (r.method === 'POST' && r.action !== 'public') assert.ok(ACTIONS[r.action].changes, `${r.url}`);
    }
    const posts = pages
      .filter((r) => r.method === 'POST')
      .map((r) => r.url)
      .sort();
    assert.deepEqual(posts, [...POST_ROUTES.map((p) => p.pattern), '/ges/login', '/ges/logout'].sort(), 'the matrix test below covers every POST route');
    await app.close();
  });

  // Bodies that an allowed role gets refused for content (400/404) or that change nothing important;
  // the cancel is confirmed only for roles that may not cancel, to prove it changes nothing.
  const POST_ROUTES: { pattern: string; url: (id: string) => string; action: Action; body: (allowed: boolean, id: string) => Record<string, string> }[] = [
    { pattern: '/ges/callbacks', url: () => '/ges/callbacks', action: 'callbacks.create', body: () => ({ service: 'sales' }) },
    {
      pattern: '/ges/callbacks/cancel',
      url: () => '/ges/callbacks/cancel',
      action: 'callbacks.cancel',
      body: (allowed, id): Record<string, string> => (allowed ? { id } : { id, confirm: 'yes' }),
    },
    {
      pattern: '/ges/callbacks/:id/reschedule',
      url: (id) => `/ges/callbacks/${id}/reschedule`,
      action: 'callbacks.reschedule',
      body: (allowed): Record<string, string> => (allowed ? {} : { slot: inMinutes(3 * 24 * 60) }),
    },
    {
      pattern: '/ges/config/business-hours',
      url: () => '/ges/config/business-hours',
      action: 'config.edit',
      body: () => ({ name: 'x', timeZone: 'Nowhere/Else' }),
    },
    { pattern: '/ges/config/capacity/rule', url: () => '/ges/config/capacity/rule', action: 'config.edit', body: () => ({ name: '', slotMinutes: '30' }) },
    { pattern: '/ges/config/services', url: () => '/ges/config/services', action: 'config.edit', body: () => ({ name: '' }) },
    { pattern: '/ges/config/call-in', url: () => '/ges/config/call-in', action: 'config.edit', body: () => ({ name: '' }) },
    { pattern: '/ges/config/number-rules', url: () => '/ges/config/number-rules', action: 'config.edit', body: () => ({ name: 'bad name' }) },
    {
      pattern: '/ges/config/number-rules/test',
      url: () => '/ges/config/number-rules/test',
      action: 'numbers.test',
      body: () => ({ number: '+14155552671', target: 'service:sales' }),
    },
    { pattern: '/ges/config/browser-access', url: () => '/ges/config/browser-access', action: 'config.edit', body: () => ({ origins: 'not an origin' }) },
    { pattern: '/ges/api-keys', url: () => '/ges/api-keys', action: 'apikeys.manage', body: () => ({}) },
    { pattern: '/ges/api-keys/revoke', url: () => '/ges/api-keys/revoke', action: 'apikeys.manage', body: () => ({ prefix: 'ges_nothing' }) },
    { pattern: '/ges/users', url: () => '/ges/users', action: 'users.manage', body: () => ({ login: 'x', role: 'nope' }) },
    { pattern: '/ges/users/update', url: () => '/ges/users/update', action: 'users.manage', body: () => ({ login: 'nobody', state: 'disabled' }) },
    { pattern: '/ges/users/reset-password', url: () => '/ges/users/reset-password', action: 'users.manage', body: () => ({ login: 'nobody' }) },
    { pattern: '/ges/preferences', url: () => '/ges/preferences', action: 'session.change', body: () => ({ zone: 'tenant', clock: '24' }) },
    {
      pattern: '/ges/preferences/password',
      url: () => '/ges/preferences/password',
      action: 'session.change',
      body: () => ({ currentPassword: 'wrong', newPassword: 'a', confirmPassword: 'b' }),
    },
  ];

  test('each role is refused (403) exactly the state-changing routes the matrix denies it, and nothing changes', async () => {
    const victim = await scheduled();
    const keysBefore = (await listApiKeys(db.pool, acme.id)).length;
    for (const route of POST_ROUTES) {
      for (const role of ROLES) {
        const allowed = can(role, route.action);
        const res = await postForm(c.app, await as(role), route.url(victim), route.body(allowed, victim));
        if (allowed) assert.notEqual(res.statusCode, 403, `${role} ${route.pattern}: ${res.body.slice(0, 200)}`);
        else {
          assert.equal(res.statusCode, 403, `${role} ${route.pattern}`);
          assert.equal(res.headers['x-ges-error-code'], 'GES_CONSOLE_FORBIDDEN');
        }
      }
    }
    assert.equal(await stateOf(victim), 'SCHEDULED', 'no cancel or reschedule got through');
    assert.equal((await listApiKeys(db.pool, acme.id)).length, keysBefore + ROLES.filter((r) => can(r, 'apikeys.manage')).length);
    assert.deepEqual((await c.users.list(acme.id)).map((u) => u.login).sort(), ['administrator', 'developer', 'monitor', 'supervisor']);
  });

  test('pages are refused to roles without the action', async () => {
    const pages: [string, Action][] = [
      ['/ges/callbacks', 'callbacks.view'],
      ['/ges/callbacks/export.csv', 'callbacks.export'],
      ['/ges/callbacks/new', 'callbacks.create'],
      ['/ges/queues', 'queues.view'],
      ['/ges/config/business-hours', 'config.view'],
      ['/ges/config/business-hours/edit', 'config.edit'],
      ['/ges/config/capacity', 'config.view'],
      ['/ges/config/services', 'config.view'],
      ['/ges/config/services/edit', 'config.edit'],
      ['/ges/config/call-in', 'config.view'],
      ['/ges/config/number-rules', 'config.view'],
      ['/ges/config/number-rules/edit', 'config.edit'],
      ['/ges/config/browser-access', 'config.view'],
      ['/ges/api-keys', 'apikeys.view'],
      ['/ges/developer', 'developer.view'],
      ['/ges/users', 'users.view'],
      ['/ges/preferences', 'session.use'],
    ];
    for (const [url, action] of pages) {
      for (const role of ROLES) {
        const res = await get(c.app, await as(role), url);
        assert.equal(res.statusCode, can(role, action) ? 200 : 403, `${role} GET ${url}`);
      }
    }
  });

  test('a JSON client gets the refusal in the GES envelope', async () => {
    const res = await postForm(c.app, await as('MONITOR'), '/ges/callbacks/cancel', { id: await scheduled(), confirm: 'yes' }, { accept: 'application/json' });
    assert.equal(res.statusCode, 403);
    const body = res.json<{ status: { code: number; errorCode: string; corrId: string } }>();
    assert.equal(body.status.code, 403);
    assert.equal(body.status.errorCode, 'GES_CONSOLE_FORBIDDEN');
    assert.ok(body.status.corrId);
  });
});

describe('sessions and CSRF', () => {
  test('without a session, pages redirect to sign-in and forms are refused with 401', async () => {
    const page = await get(c.app, undefined, '/ges/callbacks?range=all');
    assert.equal(page.statusCode, 303);
    assert.equal(page.headers.location, `/ges/login?next=${encodeURIComponent('/ges/callbacks?range=all')}`);
    const form = await c.app.inject({
      method: 'POST',
      url: '/ges/callbacks/cancel',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'id=x',
    });
    assert.equal(form.statusCode, 401);
    const htmx = await get(c.app, undefined, '/ges/queues/panel', { 'hx-request': 'true' });
    assert.equal(htmx.statusCode, 401);
    assert.match(String(htmx.headers['hx-redirect']), /^\/ges\/login/);
  });

  test('a form without the CSRF token of the session, or with another, is refused and changes nothing', async () => {
    const id = await scheduled();
    const admin = await as('ADMINISTRATOR');
    for (const token of ['', 'forged-token', (await as('SUPERVISOR')).csrf]) {
      const res = await postForm(c.app, admin, '/ges/callbacks/cancel', { _csrf: token, id, confirm: 'yes' });
      assert.equal(res.statusCode, 403, JSON.stringify(token));
      assert.equal(res.headers['x-ges-error-code'], 'GES_CONSOLE_CSRF_INVALID');
    }
    const viaHeader = await c.app.inject({
      method: 'POST',
      url: '/ges/callbacks/cancel',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: admin.cookie, 'x-csrf-token': admin.csrf },
      payload: new URLSearchParams({ id }).toString(),
    });
    assert.equal(viaHeader.statusCode, 200, 'the htmx header carries the token too (the confirmation page)');
    assert.equal(await stateOf(id), 'SCHEDULED');
    const login = await c.app.inject({
      method: 'POST',
      url: '/ges/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: 'x', tenant: 'acme', login: 'administrator', password: PASSWORD }).toString(),
    });
    assert.equal(login.statusCode, 403, 'the sign-in form has its own token');
  });

  test('the cookie is HttpOnly and SameSite=Strict, and Secure when asked', async () => {
    const res = await postLogin(c.app, 'acme', 'monitor', PASSWORD);
    const cookie = [res.headers['set-cookie']].flat().find((s) => String(s).startsWith('ges_console='))!;
    assert.match(String(cookie), /HttpOnly/);
    assert.match(String(cookie), /SameSite=Strict/);
    assert.match(String(cookie), /Path=\/ges/);
    assert.doesNotMatch(String(cookie), /Secure/);
    const page = await get(c.app, undefined, '/ges/login');
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'; script-src-attr 'none'/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
  });

  test('logout ends the session on the server: the old cookie no longer works', async () => {
    const s = await signIn(c.app, 'acme', 'supervisor');
    assert.equal((await get(c.app, s, '/ges/callbacks')).statusCode, 200);
    const out = await postForm(c.app, s, '/ges/logout', {});
    assert.equal(out.statusCode, 303);
    assert.equal(out.headers.location, '/ges/login?signedOut=1');
    const again = await get(c.app, s, '/ges/callbacks');
    assert.equal(again.statusCode, 303);
    assert.match(String(again.headers.location), /^\/ges\/login\?ended=1/);
  });

  test("a session ends after the idle timeout; activity extends it; the monitor's own refreshes do not", async () => {
    const s = await signIn(c.app, 'acme', 'monitor');
    c.clock.advance(50_000);
    assert.equal((await get(c.app, s, '/ges/queues')).statusCode, 200, 'activity at 50 s');
    c.clock.advance(50_000);
    assert.equal(
      (await get(c.app, s, '/ges/queues/panel', { 'x-ges-poll': '1', 'hx-request': 'true' })).statusCode,
      200,
      'alive at 100 s: the activity at 50 s extended it',
    );
    c.clock.advance(50_000);
    const ended = await get(c.app, s, '/ges/queues/panel', { 'x-ges-poll': '1', 'hx-request': 'true' });
    assert.equal(ended.statusCode, 401, 'the poll at 100 s did not count as activity');
    const page = await get(c.app, s, '/ges/callbacks');
    assert.equal(page.statusCode, 303);
    const login = await get(c.app, undefined, String(page.headers.location));
    assert.match(login.body, /Your session has ended/);
  });

  test('a disabled user loses an open session at the next request', async () => {
    await c.users.create(tenantOf(acme), 'temp', 'SUPERVISOR', PASSWORD);
    const s = await signIn(c.app, 'acme', 'temp');
    await c.users.update(acme.id, 'temp', { disabled: true });
    assert.equal((await get(c.app, s, '/ges/callbacks')).statusCode, 303);
    assert.equal((await postLogin(c.app, 'acme', 'temp', PASSWORD)).statusCode, 401);
  });

  test('repeated failed sign-ins of one login from one address are slowed down', async () => {
    await c.users.create(tenantOf(acme), 'target', 'MONITOR', PASSWORD);
    for (let i = 0; i < 5; i++) assert.equal((await postLogin(c.app, 'acme', 'target', 'wrong password!')).statusCode, 401, `attempt ${i + 1}`);
    assert.equal((await postLogin(c.app, 'acme', 'target', 'wrong password!')).statusCode, 401, 'the sixth failure blocks what follows');
    const blocked = await postLogin(c.app, 'acme', 'target', PASSWORD);
    assert.equal(blocked.statusCode, 429, 'refused even with the right password while blocked');
    assert.equal(blocked.headers['x-ges-error-code'], 'GES_CONSOLE_SIGN_IN_THROTTLED');
    assert.ok(Number(blocked.headers['retry-after']) >= 1);
    assert.equal((await postLogin(c.app, 'acme', 'monitor', PASSWORD)).statusCode, 303, 'other logins are not affected');
    c.clock.advance(1500);
    assert.equal((await postLogin(c.app, 'acme', 'target', PASSWORD)).statusCode, 303, 'allowed again once the delay has passed');
  });

  test('the delay doubles with each failure beyond the free ones, up to the maximum', async () => {
    let t = 0;
    const counter = new MemoryAttemptCounter(() => t);
    const throttle = new LoginThrottle(counter, { freeAttempts: 2, baseDelayMs: 1000, maxDelayMs: 5000, windowMs: 60_000 });
    const key = throttle.keyOf('acme', 'x', '10.0.0.1');
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      await throttle.failed(key);
      delays.push(await throttle.retryAfter(key));
    }
    assert.deepEqual(delays, [0, 0, 1000, 2000, 4000, 5000]);
    await throttle.succeeded(key);
    assert.equal(await throttle.retryAfter(key), 0);
    t += 120_000;
    await throttle.failed(key);
    assert.equal(await throttle.retryAfter(key), 0, 'failures are forgotten after the window');
  });
});

describe('callbacks', () => {
  test("tenants are isolated: another tenant's callback can be neither seen nor cancelled", async () => {
    const id = await scheduled();
    const other = await signIn(c.app, 'globex', 'administrator');
    assert.equal((await get(c.app, other, `/ges/callbacks/${id}`)).statusCode, 404);
    const res = await postForm(c.app, other, '/ges/callbacks/cancel', { id, confirm: 'yes' });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /0 cancelled, 1 refused/);
    assert.equal(await stateOf(id), 'SCHEDULED');
  });

  test('cancel from the console: confirmation first, then COMPLETED (CANCELLED_BY_ADMIN) by CONSOLE; PROCESSING-like refusals are reported', async () => {
    const a = await scheduled();
    const b = await scheduled();
    const admin = await as('SUPERVISOR');
    const confirm = await postForm(c.app, admin, '/ges/callbacks/cancel', { id: [a, b] });
    assert.equal(confirm.statusCode, 200);
    assert.match(confirm.body, /Cancel 2 callbacks\?/);
    assert.equal(await stateOf(a), 'SCHEDULED');
    const done = await postForm(c.app, admin, '/ges/callbacks/cancel', { id: [a, b], confirm: 'yes' });
    assert.match(done.body, /2 cancelled/);
    assert.equal(await stateOf(a), 'COMPLETED (CANCELLED_BY_ADMIN)');
    const history = await c.callbacks.history(tenantOf(acme), a);
    assert.equal(history.at(-1)!.actor, 'CONSOLE');
    const again = await postForm(c.app, admin, '/ges/callbacks/cancel', { id: a, confirm: 'yes' });
    assert.match(again.body, /0 cancelled, 1 refused/);
  });

  test('create, reschedule and detail pages', async () => {
    const s = await as('ADMINISTRATOR');
    const bad = await postForm(c.app, s, '/ges/callbacks', { type: 'immediate', service: 'sales', phone: 'call me' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.headers['x-ges-error-code'], 'GES_PHONE_INVALID');
    const ok = await postForm(c.app, s, '/ges/callbacks', { type: 'immediate', service: 'sales', phone: '+12125550142' });
    assert.equal(ok.statusCode, 303);
    const id = /\/ges\/callbacks\/([0-9a-f-]{36})/.exec(String(ok.headers.location))![1]!;
    assert.equal(await stateOf(id), 'QUEUED');
    const detail = await get(c.app, s, `/ges/callbacks/${id}`);
    assert.match(detail.body, /\+12125550142/);
    assert.match(detail.body, /Position in queue/);
    const later = await scheduled();
    const slot = new Date(Math.ceil((Date.now() + 5 * 86_400_000) / 300_000) * 300_000).toISOString();
    const moved = await postForm(c.app, s, `/ges/callbacks/${later}/reschedule`, { slot });
    assert.equal(moved.statusCode, 303);
    assert.equal((await c.callbacks.retrieve(tenantOf(acme), later)).desiredTime.toISOString(), slot);
    const slots = await get(c.app, s, `/ges/callbacks/slots?service=sales&date=${slot.slice(0, 10)}`);
    assert.match(slots.body, /<option value="\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\.000Z"/);
  });

  test('CSV export of the filtered list, with cells a spreadsheet would run made inert', async () => {
    await upsertService(db.pool, acme.id, '=HYPERLINK("x")', parseServiceOptions({ inQueueChecking: 'false', requestsPerNumberPer24h: 0 }));
    const ids = [await scheduled(acme, '=HYPERLINK("x")'), await scheduled(acme, '=HYPERLINK("x")')];
    const res = await get(c.app, await as('SUPERVISOR'), `/ges/callbacks/export.csv?range=all&service=${encodeURIComponent('=HYPERLINK("x")')}`);
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/csv/);
    assert.match(String(res.headers['content-disposition']), /attachment; filename="callbacks-acme-/);
    const lines = res.body.trim().split('\r\n');
    assert.equal(lines[0], 'Callback ID,State,Completed Reason,Desired Callback Time (UTC),Phone Number,Service Name,Time Created (UTC),Time Updated (UTC)');
    assert.deepEqual(
      lines
        .slice(1)
        .map((l) => l.split(',')[0])
        .sort(),
      ids.sort(),
    );
    for (const l of lines.slice(1)) assert.match(l, /,"'=HYPERLINK\(""x""\)",/);
    assert.match(lines[1]!, /,\+1212555\d{4},/, 'a phone number is left as it is');
  });

  describe('a list of thousands', () => {
    let big: TestTenant;
    let s: Signed;
    const TOTAL = 3010;
    before(async () => {
      big = await createTestTenant(db, 'big', { bulk: { inQueueChecking: 'false', requestsPerNumberPer24h: 0 } });
      await c.users.create(tenantOf(big), 'admin', 'ADMINISTRATOR', PASSWORD);
      s = await signIn(c.app, 'big', 'admin');
      for (let i = 0; i < TOTAL; i += 50) {
        await Promise.all(
          Array.from({ length: Math.min(50, TOTAL - i) }, (_, j) =>
            c.callbacks.create(tenantOf(big), {
              serviceName: 'bulk',
              phoneNumber: `+1415${String(2000000 + i + j).padStart(7, '0')}`,
              ...((i + j) % 3 === 0 ? { desiredTime: inMinutes(60 + ((i + j) % 500)) } : {}),
            }),
          ),
        );
      }
    });

    const ids = (html: string) => [...html.matchAll(/<td class="id"><a href="\/ges\/callbacks\/([0-9a-f-]{36})">/g)].map((m) => m[1]!);
    const link = (html: string, rel: string) => {
      const m = new RegExp(`<a href="([^"]+)" rel="${rel}">`).exec(html);
      return m ? m[1]!.replace(/&amp;/g, '&') : undefined;
    };

    test('250 per page, forward to the end and back, every callback exactly once, with page numbers', async () => {
      let url: string | undefined = '/ges/callbacks?range=all';
      const seen: string[] = [];
      const pages: string[][] = [];
      while (url) {
        const res = await get(c.app, s, url);
        assert.equal(res.statusCode, 200);
        const page = ids(res.body);
        pages.push(page);
        seen.push(...page);
        if (pages.length === 1) assert.match(res.body, /Callbacks <strong>1–250<\/strong> of <strong>3,010<\/strong>/);
        assert.match(res.body, new RegExp(`Page ${pages.length} of 13`));
        url = link(res.body, 'next');
      }
      assert.equal(pages.length, 13);
      assert.deepEqual(
        pages.map((p) => p.length),
        [...Array(12).fill(250), 10],
      );
      assert.equal(new Set(seen).size, TOTAL);
      // Back from the last page: the same pages in reverse.
      const last = await get(c.app, s, '/ges/callbacks?range=all&last=1&page=13');
      assert.deepEqual(ids(last.body), pages[12]);
      const prev = await get(c.app, s, link(last.body, 'prev')!);
      assert.deepEqual(ids(prev.body), pages[11]);
      assert.match(prev.body, /Page 12 of 13/);
    });

    test('sorting on another column pages in that order', async () => {
      const first = await get(c.app, s, '/ges/callbacks?range=all&sort=phone&order=desc');
      const second = await get(c.app, s, link(first.body, 'next')!);
      const phones = [...`${first.body}${second.body}`.matchAll(/<td class="phone">\+(\d+)<\/td>/g)].map((m) => Number(m[1]));
      assert.equal(phones.length, 500);
      assert.deepEqual(
        phones,
        [...phones].sort((x, y) => y - x),
      );
      assert.equal(phones[0], 14150000000 + 2000000 + TOTAL - 1);
    });

    test('filters: state, search by number and by id prefix', async () => {
      const sched = await get(c.app, s, '/ges/callbacks?range=all&state=SCHEDULED');
      assert.match(sched.body, /of <strong>1,004<\/strong>/);
      const byPhone = await get(c.app, s, `/ges/callbacks?range=all&q=${encodeURIComponent('(415) 200-0007')}`);
      assert.equal(ids(byPhone.body).length, 1);
      const one = ids(byPhone.body)[0]!;
      const byId = await get(c.app, s, `/ges/callbacks?range=all&by=id&q=${one.slice(0, 23)}`);
      assert.deepEqual(ids(byId.body), [one]);
      const csv = await get(c.app, s, '/ges/callbacks/export.csv?range=all');
      assert.equal(csv.body.trim().split('\r\n').length, TOTAL + 1, 'the export holds every page');
    });
  });
});

describe('configuration', () => {
  test('a capacity rule saved from the grid is the rule a configuration file would hold', async () => {
    const admin = await as('ADMINISTRATOR');
    const res = await postForm(c.app, admin, '/ges/config/capacity/rule', {
      name: 'day-shift',
      slotMinutes: '30',
      defaultCapacity: '1',
      step: '30',
      c_mon_540: '5',
      c_mon_570: '5',
      c_mon_600: '3',
      c_tue_540: '2',
      exceptions: '2030-12-24 09:00-12:00=1',
    });
    assert.equal(res.statusCode, 303, res.body.slice(0, 500));
    const rule = (await listCapacityRules(db.pool, acme.id)).find((r) => r.name === 'day-shift')!.definition;
    assert.deepEqual(rule.weekly, {
      mon: [
        { from: '09:00', to: '10:00', capacity: 5 },
        { from: '10:00', to: '10:30', capacity: 3 },
      ],
      tue: [{ from: '09:00', to: '09:30', capacity: 2 }],
    });
    assert.deepEqual(rule.exceptions, [{ date: '2030-12-24', capacity: [{ from: '09:00', to: '12:00', capacity: 1 }] }]);
    const grid = await get(c.app, admin, '/ges/config/capacity/rule?name=day-shift');
    assert.match(grid.body, /name="c_mon_570" value="5"/);
    const bad = await postForm(c.app, admin, '/ges/config/capacity/rule', { name: 'bad', slotMinutes: '30', step: '30', c_mon_0: 'lots' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /Monday 00:00–00:30: capacity must be a whole number/);
    assert.match(bad.body, /name="c_mon_0" value="lots"/, 'the grid is shown again as typed');
  });

  test('business hours, services and call-in groups are saved through the same validation as config files', async () => {
    const admin = await as('ADMINISTRATOR');
    const hours = await postForm(c.app, admin, '/ges/config/business-hours', {
      name: 'paris',
      timeZone: 'Europe/Paris',
      day_mon: '08:00-12:00, 14:00-18:00',
      day_sat: '09:00-12:00',
      specialDays: '2030-12-25 closed # Noël',
    });
    assert.equal(hours.statusCode, 303, hours.body.slice(0, 400));
    const svc = await postForm(c.app, admin, '/ges/config/services', {
      name: 'paris-sales',
      businessHours: 'paris',
      capacityRule: 'day-shift',
      'opt.defaultCountry': 'FR',
      'opt.horizonDays': '7',
      'opt.immediateEnabled': 'false',
    });
    assert.equal(svc.statusCode, 303, svc.body.slice(0, 400));
    const page = await get(c.app, admin, '/ges/config/services');
    assert.match(page.body, /paris-sales/);
    const svcRow = (await c.app.inject({ method: 'GET', url: '/ges/config/services/edit?name=paris-sales', headers: { cookie: admin.cookie } })).body;
    assert.match(svcRow, /name="opt.horizonDays" value="7"/);
    const group = await postForm(c.app, admin, '/ges/config/call-in', {
      name: 'hotline',
      dnis: '+442079460100',
      accessCode: 'true',
      accessCodeLength: '4',
      expirySeconds: '600',
      defaultCountry: 'GB',
    });
    assert.equal(group.statusCode, 303, group.body.slice(0, 400));
    const badZone = await postForm(c.app, admin, '/ges/config/business-hours', { name: 'nowhere', timeZone: 'Mars/Olympus' });
    assert.equal(badZone.statusCode, 400);
    assert.equal(badZone.headers['x-ges-error-code'], 'GES_TIMEZONE_INVALID');
  });

  test('the capacity page shows booked against total per hour for 14 days', async () => {
    await applyTenantConfig(db.pool, {
      tenant: 'acme',
      capacityRules: [{ name: 'flat', slotMinutes: 60, defaultCapacity: 4, weekly: {} }],
      services: [{ name: 'flat-svc', capacityRule: 'flat', options: { inQueueChecking: 'false' } }],
    });
    const at = new Date(Math.ceil((Date.now() + 2 * 86_400_000) / 3_600_000) * 3_600_000);
    await c.callbacks.create(tenantOf(acme), { serviceName: 'flat-svc', phoneNumber: phone(), desiredTime: at.toISOString() });
    const res = await get(c.app, await as('MONITOR'), '/ges/config/capacity?service=flat-svc');
    assert.equal(res.statusCode, 200);
    assert.equal([...res.body.matchAll(/<td class="heat heat-\d+"/g)].length >= 24 * 13, true);
    assert.match(res.body, new RegExp(`${at.toISOString().slice(0, 10)} ${at.toISOString().slice(11, 13)}:00 — 1 booked of 4`));
  });
});

describe('failed API requests', () => {
  test('failures of authenticated tenants are recorded without query string or numbers, and found by correlation id', async () => {
    const bad = await c.app.inject({
      method: 'POST',
      url: '/engagement/v3/callbacks/create?token=secret',
      headers: { 'content-type': 'application/json', 'x-api-key': acme.apiKey },
      payload: JSON.stringify({ serviceName: 'no-such-service', phoneNumber: '+12125550100' }),
    });
    assert.equal(bad.statusCode, 400);
    const corrId = String(bad.headers['x-correlation-id']);
    const unauthenticated = await c.app.inject({
      method: 'POST',
      url: '/engagement/v3/callbacks/create',
      headers: { 'content-type': 'application/json', 'x-api-key': 'nope' },
      payload: '{}',
    });
    assert.equal(unauthenticated.statusCode, 401);
    let rows: Awaited<ReturnType<typeof c.failedRequests.find>> = [];
    for (let i = 0; i < 100 && rows.length === 0; i++) {
      rows = await c.failedRequests.find(acme.id, corrId);
      if (rows.length === 0) await new Promise((r) => setImmediate(r));
    }
    assert.equal(rows.length, 1);
    assert.deepEqual(
      { ...rows[0], at: undefined },
      {
        at: undefined,
        corrId,
        method: 'POST',
        path: '/engagement/v3/callbacks/create',
        statusCode: 400,
        errorCode: 'GES_SERVICE_UNKNOWN',
        message: 'serviceName "no-such-service" is not a callback service of this tenant',
      },
    );
    const { rows: all } = await db.pool.query('SELECT count(*)::int AS n FROM failed_request WHERE corr_id = $1', [
      String(unauthenticated.headers['x-correlation-id']),
    ]);
    assert.equal(all[0].n, 0, 'a request without a valid key belongs to no tenant');
    const page = await get(c.app, await as('DEVELOPER'), `/ges/developer?corrId=${corrId}`);
    assert.match(page.body, new RegExp(`<td><code>${corrId}</code></td>`));
    assert.match(page.body, /GES_SERVICE_UNKNOWN/);
    assert.match(page.body, /id="redis-health">not used</, "the node's Redis health is shown (this one has none)");
    const otherTenant = await signIn(c.app, 'globex', 'administrator');
    const other = (await get(c.app, otherTenant, `/ges/developer?corrId=${corrId}`)).body;
    assert.match(other, /No failed request with correlation id/);
    assert.doesNotMatch(other, new RegExp(`<td><code>${corrId}</code></td>`));
  });

  test("the Developer page shows this node's Redis health: UP, or DOWN (also when the check fails) with what that means", async () => {
    let redis: boolean | Error = true;
    const node = await buildConsoleApp(db, {
      redisUp: async () => {
        if (redis instanceof Error) throw redis;
        return redis;
      },
    });
    try {
      const developer = await signIn(node.app, 'acme', 'developer');
      const health = async () => (await get(node.app, developer, '/ges/developer')).body;
      assert.match(await health(), /id="redis-health">UP</);
      redis = false;
      const down = await health();
      assert.match(down, /id="redis-health">DOWN</);
      assert.match(down, /the API still answers and creates are stored in PostgreSQL/);
      redis = new Error('Command timed out');
      assert.match(await health(), /id="redis-health">DOWN</, 'a check that fails reads as DOWN');
    } finally {
      await node.app.close();
    }
  });

  test('digit runs in messages are masked; rows older than 14 days are purged by maintenance', async () => {
    await c.failedRequests.record({
      tenantId: acme.id,
      corrId: 'c-mask',
      method: 'POST',
      url: '/x?y=1',
      statusCode: 400,
      message: 'number +44 20 7946 0018 refused',
    });
    const [row] = await c.failedRequests.find(acme.id, 'c-mask');
    assert.equal(row!.message, 'number 44********18 refused');
    assert.equal(row!.path, '/x');
    await db.pool.query(`UPDATE failed_request SET at = now() - interval '15 days' WHERE corr_id = 'c-mask'`);
    const report = await new Maintenance(db.pool, db.clock, createLogger('silent'), 14, 60_000).runOnce();
    assert.ok(report.failedRequestsPurged >= 1);
    assert.deepEqual(await c.failedRequests.find(acme.id, 'c-mask'), []);
  });
});

describe('users', () => {
  test('passwords are stored as argon2id hashes; the last administrator cannot be removed', async () => {
    const { rows } = await db.pool.query(`SELECT password_hash FROM console_user WHERE tenant_id = $1`, [acme.id]);
    for (const r of rows) assert.match(r.password_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    await assert.rejects(c.users.update(globex.id, 'administrator', { role: 'MONITOR' }), /last enabled administrator/);
    await assert.rejects(c.users.create(tenantOf(acme), 'monitor', 'MONITOR', PASSWORD), (e: { code?: string }) => e.code === 'GES_CONSOLE_USER_EXISTS');
    await assert.rejects(c.users.create(tenantOf(acme), 'shorty', 'MONITOR', 'short'), /12 to 256/);
  });

  test('an administrator adds a user with a generated password shown once', async () => {
    const res = await postForm(c.app, await as('ADMINISTRATOR'), '/ges/users', { login: 'newbie', role: 'MONITOR' });
    assert.equal(res.statusCode, 200);
    const password = /<code class="key" id="new-password">([^<]+)<\/code>/.exec(res.body)![1]!;
    assert.equal((await postLogin(c.app, 'acme', 'newbie', password)).statusCode, 303);
  });

  test('the demo seed adds a console administrator whose password is kept with the demo key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ges-demo-'));
    try {
      const creds = await ensureDemoTenant(db.pool, dir);
      assert.equal(creds.consoleLogin, 'admin');
      assert.equal((await postLogin(c.app, 'demo', 'admin', creds.consolePassword!)).statusCode, 303);
      const again = await ensureDemoTenant(db.pool, dir);
      assert.equal(again.consolePassword, creds.consolePassword, 'printed again at every start');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('ges user create/list/disable', () => {
    const env = { ...process.env, DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: db.schema, MIGRATE_ON_START: 'false', LOG_LEVEL: 'silent' };
    const ges = (args: string[], input?: string) =>
      spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'ges.mjs'), ...args], { env, input, encoding: 'utf8' });
    const created = ges(['user', 'create', 'acme', 'cli-user', '--role', 'developer', '--password-stdin'], `${PASSWORD}\n`);
    assert.equal(created.status, 0, created.stderr);
    assert.match(created.stdout, /console user cli-user of acme created \(Developer\)/);
    const generated = ges(['user', 'create', 'acme', 'cli-gen', '--role', 'Supervisor']);
    assert.equal(generated.status, 0, generated.stderr);
    assert.match(generated.stdout, /\n[A-Za-z0-9_-]{20}\n$/);
    assert.match(ges(['user', 'list', 'acme']).stdout, /cli-user {2}Developer {2}enabled/);
    assert.equal(ges(['user', 'disable', 'acme', 'cli-user']).status, 0);
    assert.match(ges(['user', 'list', 'acme']).stdout, /cli-user {2}Developer {2}disabled/);
    const badRole = ges(['user', 'create', 'acme', 'x', '--role', 'king']);
    assert.notEqual(badRole.status, 0);
    assert.match(badRole.stderr, /administrator, supervisor, monitor, developer/);
  });
});

describe('session stores', () => {
  test('memory store: entries end ttl after the last set or touch', async () => {
    let t = 0;
    const store = new MemorySessionStore(() => t);
    const id = newSessionId(7);
    await store.set(id, { userId: 1, tenantId: 7, role: 'MONITOR', csrf: 'x' }, 1000);
    t = 900;
    await store.touch(id, 1000);
    t = 1800;
    assert.equal((await store.get(id))?.userId, 1);
    t = 1900;
    assert.equal(await store.get(id), undefined);
    await store.touch(id, 1000);
    assert.equal(await store.get(id), undefined, 'touch does not revive an ended session');
  });

  test('Redis store: one key per session under the prefix and the tenant hash tag, TTL = idle timeout', async () => {
    const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
    const prefix = `test:${randomBytes(4).toString('hex')}:`;
    try {
      await redis.ping().catch((err: Error) => {
        throw new Error(`Redis is required for the tests and is unreachable at 127.0.0.1:6379: ${err.message}`);
      });
      const store = new RedisSessionStore(redis, prefix);
      const id = newSessionId(42);
      const key = store.keyOf(id);
      assert.equal(key, `${prefix}{t42}:session:${sessionDigest(id.split('.')[1]!)}`);
      assert.ok(!key.includes(id.split('.')[1]!), 'the key name holds a digest, never the secret');
      await store.set(id, { userId: 5, tenantId: 42, role: 'SUPERVISOR', csrf: 'tok' }, 60_000);
      assert.deepEqual(JSON.parse((await redis.get(key))!), { userId: 5, tenantId: 42, role: 'SUPERVISOR', csrf: 'tok' });
      assert.deepEqual(await store.get(id), { userId: 5, tenantId: 42, role: 'SUPERVISOR', csrf: 'tok' });
      const ttl = await redis.pttl(key);
      assert.ok(ttl > 0 && ttl <= 60_000);
      await redis.pexpire(key, 5000);
      await store.touch(id, 60_000);
      assert.ok((await redis.pttl(key)) > 5000, 'touch extends');
      await store.destroy(id);
      assert.equal(await store.get(id), undefined);
      await store.touch(id, 60_000);
      assert.equal(await redis.exists(key), 0, 'touch does not revive');
      await redis.set(key, '{"userId":"x"}');
      assert.equal(await store.get(id), undefined, 'a malformed entry is no session');

      const counter = new RedisAttemptCounter(redis, prefix);
      assert.equal(await counter.increment('k', 60_000), 1);
      assert.equal(await counter.increment('k', 60_000), 2);
      await counter.block('k', 30_000);
      const left = await counter.blockedFor('k');
      assert.ok(left > 0 && left <= 30_000);
      await counter.reset('k');
      assert.equal(await counter.blockedFor('k'), 0);
      assert.equal(await counter.increment('k', 60_000), 1);
    } finally {
      const keys = await redis.keys(`${prefix}*`).catch(() => []);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });

  test('the console works on the Redis store', async () => {
    const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
    const prefix = `test:${randomBytes(4).toString('hex')}:`;
    const withRedis = await buildConsoleApp(db, { sessions: new RedisSessionStore(redis, prefix) });
    try {
      const s = await signIn(withRedis.app, 'acme', 'monitor');
      assert.equal((await get(withRedis.app, s, '/ges/callbacks')).statusCode, 200);
      assert.equal((await redis.keys(`${prefix}{t${acme.id}}:session:*`)).length, 1);
      await postForm(withRedis.app, s, '/ges/logout', {});
      assert.equal((await redis.keys(`${prefix}*`)).length, 0);
    } finally {
      await withRedis.app.close();
      const keys = await redis.keys(`${prefix}*`).catch(() => []);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });
});
