import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import formbody from '@fastify/formbody';
import fastifyStatic from '@fastify/static';
import fastifyView from '@fastify/view';
import { Eta } from 'eta';
import type { CallbackService } from '../app/callback-service.ts';
import type { AvailabilityService } from '../app/availability-service.ts';
import type { ConsoleUserService } from '../app/console-users.ts';
import type { CallbackList } from '../app/callback-list.ts';
import type { ConsoleConfig } from '../app/console-config.ts';
import type { FailedRequestLog } from '../app/failed-request-log.ts';
import type { QueueMonitorSource } from '../app/queue-monitor-source.ts';
import type { ConsoleContext, Section } from './console-context.ts';
import { installConsoleErrorHandling } from './console-error-handler.ts';
import { DEFAULT_LOGIN_THROTTLE, LoginThrottle, type LoginThrottleOptions } from './login-throttle.ts';
import { MemoryAttemptCounter } from './memory-session-store.ts';
import { guardRoutes, requireRouteActions } from './permission-guard.ts';
import { ROLE_LABELS, can, type Action } from './permissions.ts';
import { addSecurityHeaders } from './security-headers.ts';
import type { AttemptCounter, SessionStore } from './session-store.ts';
import { tenantZones } from './tenant-zones.ts';
import { TimeFormat, formatDuration } from './time-format.ts';
import { sessionRoutes } from './routes/session-routes.ts';
import { callbackRoutes } from './routes/callback-routes.ts';
import { queueRoutes } from './routes/queue-routes.ts';
import { configRoutes } from './routes/config-routes.ts';
import { adminRoutes } from './routes/admin-routes.ts';
import { numberRuleRoutes } from './routes/number-rule-routes.ts';
import { browserAccessRoutes } from './routes/browser-access-routes.ts';

/** What the console is given: its use cases (built by src/main/console-assembly.ts) and settings. */
import type { CorsConfig } from '../app/cors-config.ts';
import type { NumberRuleConfig } from '../app/number-rule-config.ts';
import type { CaptchaConfig } from '../app/captcha-config.ts';

export interface ConsoleServices {
  callbacks: CallbackService;
  availability: AvailabilityService;
  users: ConsoleUserService;
  list: CallbackList;
  config: ConsoleConfig;
  /** Browser origins (CORS) and number validation rules of the tenant. */
  cors: CorsConfig;
  numberRules: NumberRuleConfig;
  /** Live queue figures for the monitor, its charts and a callback's detail page. */
  queueMonitor: QueueMonitorSource;
  /** Where the Developer page reads failed API requests (the API app records them). */
  failedRequests: FailedRequestLog;
  /** Server-side sessions: MemorySessionStore on a single node, RedisSessionStore on several. */
  sessions: SessionStore;
  /** Failed sign-in counters; default in memory (per node). */
  loginAttempts?: AttemptCounter;
  loginThrottle?: LoginThrottleOptions;
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
  /** The tenant's CAPTCHA provider, shown read-only on the Browser access page; absent: not shown. */
  captcha?: CaptchaConfig;
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
 * The supervisor console under /ges/ on the external port: server-rendered Eta pages with htmx,
 * server-side sessions behind an HttpOnly SameSite=Strict cookie, a CSRF token on every state
 * change, and the permission matrix of permissions.ts enforced in one preHandler for every route
 * by the action the route names (permission-guard.ts). A route without an action cannot even be
 * registered.
 */
export function consolePlugin(opts: ConsoleServices): FastifyPluginAsync {
  return async (app) => {
    const now = opts.now ?? Date.now;
    const assets = {
      css: `/ges/static/console.css?v=${assetVersion(`${PUBLIC_DIR}/console.css`)}`,
      js: `/ges/static/console.js?v=${assetVersion(`${PUBLIC_DIR}/console.js`)}`,
      htmx: `/ges/static/htmx/htmx.min.js?v=${assetVersion(`${HTMX_DIR}/htmx.min.js`)}`,
    };

    const ctx: ConsoleContext = {
      callbacks: opts.callbacks,
      availability: opts.availability,
      users: opts.users,
      list: opts.list,
      config: opts.config,
      cors: opts.cors,
      numberRules: opts.numberRules,
      captcha: opts.captcha,
      monitor: opts.queueMonitor,
      failed: opts.failedRequests,
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

    requireRouteActions(app);

    await app.register(formbody, { bodyLimit: 256 * 1024 });
    const eta = new Eta({ views: VIEWS, cache: true, autoEscape: true, autoTrim: [false, 'nl'] });
    await app.register(fastifyView, { engine: { eta }, templates: VIEWS, production: true, viewExt: 'eta', defaultContext: { assets } });
    await app.register(fastifyStatic, { root: PUBLIC_DIR, prefix: '/static/', maxAge: '7d', index: false, wildcard: false });
    await app.register(fastifyStatic, {
      root: HTMX_DIR,
      prefix: '/static/htmx/',
      maxAge: '7d',
      index: false,
      wildcard: false,
      decorateReply: false,
      allowedPath: (p) => p === '/htmx.min.js',
    });

    addSecurityHeaders(app);
    guardRoutes(app, ctx, tenantZones(opts.config, now));
    installConsoleErrorHandling(app, ctx);

    await app.register(sessionRoutes(ctx));
    await app.register(callbackRoutes(ctx));
    await app.register(queueRoutes(ctx));
    await app.register(configRoutes(ctx));
    await app.register(adminRoutes(ctx));
    await app.register(numberRuleRoutes(ctx));
    await app.register(browserAccessRoutes(ctx));
  };
}
