import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import formbody from '@fastify/formbody';
import fastifyStatic from '@fastify/static';
import fastifyView from '@fastify/view';
import { Eta } from 'eta';
import type pg from 'pg';
import type { CallbackService } from '../app/callback-service.ts';
import type { AvailabilityService } from '../app/availability-service.ts';
import { ConsoleUserService } from '../app/console-users.ts';
import { CallbackList } from '../app/callback-list.ts';
import { ConsoleConfig } from '../app/console-config.ts';
import { FailedRequestLog } from '../app/failed-request-log.ts';
import { ERRORS, GesError, type ErrorCode } from '../domain/errors.ts';
import type { ConsoleContext, Section } from './console-context.ts';
import { readCookie, serializeCookie } from './cookies.ts';
import { DatabaseQueueMonitorSource } from './database-queue-monitor-source.ts';
import { DEFAULT_LOGIN_THROTTLE, LoginThrottle, type LoginThrottleOptions } from './login-throttle.ts';
import { MemoryAttemptCounter } from './memory-session-store.ts';
import { ACTIONS, PUBLIC, ROLE_LABELS, can, isAction, type Action } from './permissions.ts';
import type { QueueMonitorSource } from './queue-monitor-source.ts';
import { isSessionId, type AttemptCounter, type SessionStore } from './session-store.ts';
import { TimeFormat, formatDuration } from './time-format.ts';
import { sessionRoutes, SESSION_COOKIE } from './routes/session-routes.ts';
import { callbackRoutes } from './routes/callback-routes.ts';
import { queueRoutes } from './routes/queue-routes.ts';
import { configRoutes } from './routes/config-routes.ts';
import { adminRoutes } from './routes/admin-routes.ts';

export interface ConsoleOptions {
  pool: pg.Pool;
  callbacks: CallbackService;
  availability: AvailabilityService;
  /** Server-side sessions: MemorySessionStore on a single node, RedisSessionStore on several. */
  sessions: SessionStore;
  /** Failed sign-in counters; default in memory (per node). */
  loginAttempts?: AttemptCounter;
  loginThrottle?: LoginThrottleOptions;
  /** Live queue figures; default: DatabaseQueueMonitorSource without engine figures (counts and opening times only). */
  queueMonitor?: QueueMonitorSource;
  /** Where the Developer page reads failed API requests (the API app records them). */
  failedRequests?: FailedRequestLog;
  /** Whether the node's Redis answers, within a bounded time; absent on a node without Redis (the Developer page shows it). */
  redisUp?: () => Promise<boolean>;
  /** Idle timeout of a session (CONSOLE_SESSION_IDLE_MIN). */
  sessionIdleMs: number;
  /** CONSOLE_SECURE_COOKIE. */
  secureCookie: 'auto' | 'true' | 'false';
  /** API_KEY_CACHE_SEC, to tell how long a revoked key may still work. */
  apiKeyCacheSeconds?: number;
  /** The clock of sessions and the login throttle (tests move it forward). */
  now?: () => number;
}

const HERE = dirname(fileURLToPath(import.meta.url));
const VIEWS = `${HERE}/views`;
const PUBLIC_DIR = `${HERE}/public`;
const HTMX_DIR = dirname(createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js'));

/** Query-string versions of the assets, so browsers may cache them for long and still see changes. */
function assetVersion(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 10);
}

/**
 * No inline script or style anywhere (htmx is told not to add its indicator styles); SVG charts
 * use presentation attributes and classes. Forms may only post back to the console.
 */
const CSP = [
  "default-src 'self'", "script-src 'self'", "script-src-attr 'none'", "style-src 'self'", "img-src 'self' data:",
  "connect-src 'self'", "font-src 'self'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'",
].join('; ');

function csrfMatches(sent: string, expected: string): boolean {
  const a = createHash('sha256').update(sent).digest();
  const b = createHash('sha256').update(expected).digest();
  return sent.length > 0 && timingSafeEqual(a, b);
}

/**
 * The supervisor console under /ges/ on the external port: server-rendered Eta pages with htmx,
 * server-side sessions behind an HttpOnly SameSite=Strict cookie, a CSRF token on every state
 * change, and the permission matrix of permissions.ts enforced in one preHandler for every route
 * by the action the route names. A route without an action cannot even be registered.
 */
export function consolePlugin(opts: ConsoleOptions): FastifyPluginAsync {
  return async (app) => {
    const now = opts.now ?? Date.now;
    const users = new ConsoleUserService(opts.pool);
    const config = new ConsoleConfig(opts.pool);
    const zones = new Map<number, { at: number; zone: Promise<string> }>();
    const tenantZone = (tenantId: number, tenantName: string): Promise<string> => {
      const hit = zones.get(tenantId);
      if (hit && now() - hit.at < 30_000) return hit.zone;
      const zone = config.zone({ id: tenantId, name: tenantName });
      zone.catch(() => zones.delete(tenantId));
      if (zones.size > 10_000) zones.clear();
      zones.set(tenantId, { at: now(), zone });
      return zone;
    };
    const assets = {
      css: `/ges/static/console.css?v=${assetVersion(`${PUBLIC_DIR}/console.css`)}`,
      js: `/ges/static/console.js?v=${assetVersion(`${PUBLIC_DIR}/console.js`)}`,
      htmx: `/ges/static/htmx/htmx.min.js?v=${assetVersion(`${HTMX_DIR}/htmx.min.js`)}`,
    };

    const ctx: ConsoleContext = {
      pool: opts.pool,
      callbacks: opts.callbacks,
      availability: opts.availability,
      users,
      list: new CallbackList(opts.pool),
      config,
      monitor: opts.queueMonitor ?? new DatabaseQueueMonitorSource(opts.pool, { now }),
      failed: opts.failedRequests ?? new FailedRequestLog(opts.pool),
      redisUp: opts.redisUp,
      sessions: opts.sessions,
      throttle: new LoginThrottle(opts.loginAttempts ?? new MemoryAttemptCounter(now), opts.loginThrottle ?? DEFAULT_LOGIN_THROTTLE),
      idleMs: opts.sessionIdleMs,
      apiKeyCacheSeconds: opts.apiKeyCacheSeconds ?? 0,
      now,
      secure: (request) => opts.secureCookie === 'true' || (opts.secureCookie === 'auto' && request.protocol === 'https'),
      async page(request, reply, template, data, status = 200) {
        const user = request.consoleUser;
        const base = {
          csrf: request.consoleSession?.data.csrf ?? '',
          user,
          roleLabel: user ? ROLE_LABELS[user.role] : '',
          can: (action: Action) => (user ? can(user.role, action) : false),
          t: request.consoleTime ?? new TimeFormat('UTC', true),
          duration: formatDuration,
          section: 'none' as Section,
          notice: '',
        };
        return reply.code(status).view(template, { ...base, ...data });
      },
    };

    // Every route must say which action it needs; the static files are public.
    app.addHook('onRoute', (route) => {
      const config = (route.config ?? {}) as { action?: string };
      if (config.action === undefined && route.url.startsWith('/ges/static/')) {
        route.config = { ...config, action: PUBLIC } as typeof route.config;
        return;
      }
      if (config.action === PUBLIC) return;
      if (!config.action || !isAction(config.action)) throw new Error(`console route ${route.method} ${route.url} names no action`);
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      if (methods.some((m) => m === 'POST') && !ACTIONS[config.action].changes) {
        throw new Error(`console route POST ${route.url} needs an action that changes state (and so a CSRF token)`);
      }
    });

    await app.register(formbody, { bodyLimit: 256 * 1024 });
    const eta = new Eta({ views: VIEWS, cache: true, autoEscape: true, autoTrim: [false, 'nl'] });
    await app.register(fastifyView, { engine: { eta }, templates: VIEWS, production: true, viewExt: 'eta', defaultContext: { assets } });
    await app.register(fastifyStatic, { root: PUBLIC_DIR, prefix: '/static/', maxAge: '7d', index: false, wildcard: false });
    await app.register(fastifyStatic, { root: HTMX_DIR, prefix: '/static/htmx/', maxAge: '7d', index: false, wildcard: false, decorateReply: false, allowedPath: (p) => p === '/htmx.min.js' });

    app.addHook('onSend', async (request, reply, payload) => {
      reply.header('content-security-policy', CSP);
      reply.header('x-frame-options', 'DENY');
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'same-origin');
      if (!request.url.startsWith('/ges/static/')) reply.header('cache-control', 'no-store');
      return payload;
    });

    // The guard: session, user, CSRF, permission — for every route, by its action.
    app.addHook('preHandler', async (request) => {
      const action = request.routeOptions.config.action;
      // No action: the not-found handler (onRoute gives every real route one).
      if (action === PUBLIC || !action || !isAction(action)) return;
      const id = readCookie(request.headers.cookie, SESSION_COOKIE);
      const data = id && isSessionId(id) ? await ctx.sessions.get(id) : undefined;
      if (!id || !data) throw new GesError('GES_CONSOLE_SIGN_IN_REQUIRED', id ? 'your session has ended (signed out, or idle too long); sign in again' : 'sign in to use the console');
      const user = await users.active(data.tenantId, data.userId);
      if (!user) {
        await ctx.sessions.destroy(id);
        throw new GesError('GES_CONSOLE_SIGN_IN_REQUIRED', 'your account is no longer enabled; sign in again');
      }
      request.consoleSession = { id, data };
      request.consoleUser = user;
      request.consoleTime = new TimeFormat(user.showUtc ? 'UTC' : await tenantZone(user.tenantId, user.tenantName), user.clock24h);
      // The monitor's own refreshes are not activity: a console left open on the queues page still ends.
      if (request.headers['x-ges-poll'] !== '1') await ctx.sessions.touch(id, ctx.idleMs);
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        const header = request.headers['x-csrf-token'];
        const sent = (typeof header === 'string' ? header : '') || formToken(request.body);
        if (!csrfMatches(sent, data.csrf)) throw new GesError('GES_CONSOLE_CSRF_INVALID', 'this form is not from your current console session (missing or wrong CSRF token); reload the page and try again');
      }
      if (!can(user.role, action)) {
        throw new GesError('GES_CONSOLE_FORBIDDEN', `your role (${ROLE_LABELS[user.role]}) does not allow this: ${ACTIONS[action].what.toLowerCase()}`);
      }
    });

    app.setErrorHandler(async (err: FastifyError, request, reply) => {
      const known = err instanceof GesError;
      let code: ErrorCode = known ? err.code : err.validation ? 'GES_VALIDATION' : err.statusCode === 413 ? 'GES_BODY_TOO_LARGE' : err.statusCode === 415 ? 'GES_UNSUPPORTED_MEDIA_TYPE' : 'GES_INTERNAL';
      if (code === 'GES_INTERNAL' && err.statusCode === 400) code = 'GES_VALIDATION';
      const message = code === 'GES_INTERNAL' ? 'internal error; quote the correlation id to the operator' : err.message;
      if (code === 'GES_INTERNAL') request.log.error({ err }, 'console error');
      return sendError(request, reply, code, message);
    });

    app.setNotFoundHandler(async (request, reply) => sendError(request, reply, 'GES_ROUTE_NOT_FOUND', `no console page ${request.method} ${request.url.split('?')[0]}`));

    async function sendError(request: FastifyRequest, reply: FastifyReply, code: ErrorCode, message: string) {
      const http = ERRORS[code].http;
      reply.header('x-ges-error-code', code);
      const corrId = String(request.id);
      const accept = request.headers.accept ?? '';
      if (accept.includes('application/json') && !accept.includes('text/html')) {
        return reply.code(http).type('application/json').send({ status: { code: http, message, corrId, errorCode: code } });
      }
      if (code === 'GES_CONSOLE_SIGN_IN_REQUIRED') {
        const cookie = readCookie(request.headers.cookie, SESSION_COOKIE);
        if (cookie) reply.header('set-cookie', serializeCookie(SESSION_COOKIE, '', { path: '/ges', secure: ctx.secure(request), maxAge: 0 }));
        const target = `/ges/login?${new URLSearchParams({ ...(cookie ? { ended: '1' } : {}), ...(request.method === 'GET' && !request.headers['hx-request'] ? { next: request.url } : {}) }).toString()}`;
        if (request.headers['hx-request']) return reply.code(401).header('hx-redirect', target).send('');
        if (request.method === 'GET') return reply.code(303).header('location', target).send('');
      }
      if (request.headers['hx-request']) {
        return reply.code(http).view('error-fragment', { code, message, corrId });
      }
      return ctx.page(request, reply, 'error', { title: http === 403 ? 'Not allowed' : http === 404 ? 'Not found' : 'Error', code, http, message, corrId }, http);
    }

    await app.register(sessionRoutes(ctx));
    await app.register(callbackRoutes(ctx));
    await app.register(queueRoutes(ctx));
    await app.register(configRoutes(ctx));
    await app.register(adminRoutes(ctx));
  };
}

function formToken(body: unknown): string {
  const v = (body as Record<string, unknown> | undefined)?._csrf;
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' ? s : '';
}
