import type { FastifyInstance } from 'fastify';
import { buildApiApp } from '../../src/main/api-app-assembly.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { CallbackService } from '../../src/app/callback-service.ts';
import { AvailabilityService } from '../../src/app/availability-service.ts';
import { ConsoleUserService } from '../../src/app/console-users.ts';
import { FailedRequestLog } from '../../src/app/failed-request-log.ts';
import { MemoryAttemptCounter, MemorySessionStore } from '../../src/console/memory-session-store.ts';
import type { SessionStore } from '../../src/console/session-store.ts';
import type { Role } from '../../src/domain/roles.ts';
import type { TestDb } from './test-env.ts';

/** A clock the tests move forward: sessions and the sign-in throttle read it. */
export class TestClock {
  offsetMs = 0;
  readonly now = () => Date.now() + this.offsetMs;
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface ConsoleApp {
  app: FastifyInstance;
  clock: TestClock;
  sessions: MemorySessionStore;
  callbacks: CallbackService;
  users: ConsoleUserService;
  failedRequests: FailedRequestLog;
}

/** The external app with the console, on in-memory sessions and a movable clock. */
export async function buildConsoleApp(db: TestDb, o: { idleMs?: number; sessions?: SessionStore; redisUp?: () => Promise<boolean> } = {}): Promise<ConsoleApp> {
  const clock = new TestClock();
  const sessions = new MemorySessionStore(clock.now);
  const callbacks = new CallbackService(db.pool, db.clock);
  const availability = new AvailabilityService(db.pool, db.clock);
  const failedRequests = new FailedRequestLog(db.pool);
  const app = await buildApiApp({
    pool: db.pool,
    callbacks,
    availability,
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    bodyLimitBytes: 256 * 1024,
    failedRequests,
    console: {
      pool: db.pool,
      callbacks,
      availability,
      failedRequests,
      sessions: o.sessions ?? sessions,
      loginAttempts: new MemoryAttemptCounter(clock.now),
      sessionIdleMs: o.idleMs ?? 20 * 60_000,
      secureCookie: 'false',
      now: clock.now,
      ...(o.redisUp ? { redisUp: o.redisUp } : {}),
    },
  });
  await app.ready();
  return { app, clock, sessions, callbacks, users: new ConsoleUserService(db.pool), failedRequests };
}

export const PASSWORD = 'correct horse battery staple';

/** Creates a user of each role in the tenant: logins are the role names in lower case. */
export async function createRoleUsers(users: ConsoleUserService, tenant: { id: number; name: string }): Promise<void> {
  for (const role of ['ADMINISTRATOR', 'SUPERVISOR', 'MONITOR', 'DEVELOPER'] as Role[]) {
    await users.create(tenant, role.toLowerCase(), role, PASSWORD);
  }
}

export interface Signed {
  cookie: string; // "ges_console=..."
  csrf: string;
}

function cookieOf(setCookie: string | string[] | undefined, name: string): string | undefined {
  const list = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  return list.map((c) => c.split(';')[0]!).find((c) => c.startsWith(`${name}=`));
}

/** The sign-in page's CSRF token and its cookie. */
export async function loginForm(app: FastifyInstance): Promise<{ token: string; cookie: string }> {
  const res = await app.inject({ method: 'GET', url: '/ges/login' });
  const token = /name="_csrf" value="([^"]+)"/.exec(res.body)?.[1];
  const cookie = cookieOf(res.headers['set-cookie'], 'ges_console_login');
  if (!token || !cookie) throw new Error('no sign-in form');
  return { token, cookie };
}

export async function postLogin(app: FastifyInstance, tenant: string, login: string, password: string) {
  const form = await loginForm(app);
  return app.inject({
    method: 'POST',
    url: '/ges/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: form.cookie },
    payload: new URLSearchParams({ _csrf: form.token, tenant, login, password, next: '' }).toString(),
  });
}

/** Signs in through the form and reads the session's CSRF token from a page. */
export async function signIn(app: FastifyInstance, tenant: string, login: string, password = PASSWORD): Promise<Signed> {
  const res = await postLogin(app, tenant, login, password);
  const cookie = cookieOf(res.headers['set-cookie'], 'ges_console');
  if (res.statusCode !== 303 || !cookie) throw new Error(`sign-in of ${login} failed: ${res.statusCode}`);
  const page = await app.inject({ method: 'GET', url: '/ges/preferences', headers: { cookie } });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
  if (!csrf) throw new Error('no CSRF token on the page');
  return { cookie, csrf };
}

/** A form post as a browser sends it, with the session's cookie and (unless given) its CSRF token. */
export function postForm(app: FastifyInstance, s: Signed, url: string, fields: Record<string, string | string[]>, headers: Record<string, string> = {}) {
  const body = new URLSearchParams();
  if (!('_csrf' in fields)) body.append('_csrf', s.csrf);
  for (const [k, v] of Object.entries(fields)) for (const one of Array.isArray(v) ? v : [v]) body.append(k, one);
  return app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: s.cookie, ...headers },
    payload: body.toString(),
  });
}

export function get(app: FastifyInstance, s: Signed | undefined, url: string, headers: Record<string, string> = {}) {
  return app.inject({ method: 'GET', url, headers: { ...(s ? { cookie: s.cookie } : {}), ...headers } });
}
