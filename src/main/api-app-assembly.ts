import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { CallbackService } from '../app/callback-service.ts';
import type { PushCallbackService } from '../app/push-callback-service.ts';
import type { AvailabilityService } from '../app/availability-service.ts';
import { CallInService } from '../app/call-in-service.ts';
import { StatisticsService } from '../app/statistics-service.ts';
import { QueueStatusService, type QueueWaitSource } from '../app/queue-status-service.ts';
import type { FailedRequestLog } from '../app/failed-request-log.ts';
import { consolePlugin } from '../console/console-plugin.ts';
import { createApiApp } from '../http/api-app.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { CorsOrigins, type OriginPolicy } from '../app/cors-origins.ts';
import type { EdgeLimits } from '../http/edge-limits.ts';
import type { RateLimitDeps } from '../http/rate-limit.ts';
import { tenantForApiKey } from '../store/tenant-store.ts';
import { assembleConsole, type ConsoleOptions } from './console-assembly.ts';
import { CaptchaGate } from '../app/captcha-gate.ts';

export interface ApiAppParts {
  pool: pg.Pool;
  callbacks: CallbackService;
  availability: AvailabilityService;
  /** Click-To-Call-In; absent: one on `pool`, counted in `metrics`. */
  callIn?: CallInService;
  logger: Logger;
  bodyLimitBytes: number;
  apiKeyCacheSeconds?: number;
  /** Where HTTP metrics are recorded; absent: nothing is recorded. */
  metrics?: Metrics;
  /** The engine's wait estimates; absent (API-only tests): every wait is -1. */
  engine?: QueueWaitSource;
  /** Records failed API requests of authenticated tenants for the console's Developer page. */
  failedRequests?: FailedRequestLog;
  /** Days callbacks are kept after their desired time (bounds the statistics' scans). Default 14. */
  retentionDays?: number;
  /** The supervisor console under /ges/ (src/console); absent: no console. */
  console?: ConsoleOptions;
  /** Request/headers timeouts and the connection bound (src/http/edge-limits.ts); absent: the defaults. */
  edge?: EdgeLimits;
  /** Per-key and per-tenant rate limits (src/http/rate-limit.ts); absent: none. */
  rateLimits?: RateLimitDeps;
  /** Browser origins allowed per tenant (CORS); absent: read from `pool`, cached like API keys. */
  corsOrigins?: OriginPolicy;
  /** Push answers (confirm, snooze) and notification/publish; absent: those paths are 404. */
  push?: PushCallbackService;
  /**
   * CAPTCHA (POST /captcha/verify; give the same gate to `callbacks.useCaptcha`); absent: a gate
   * that opens no secret, so a tenant with a CAPTCHA provider gets 503 (fail closed).
   */
  captcha?: CaptchaGate;
}

/**
 * The external application of a node (or a test) from its parts: the API's use cases are built
 * on the pool here, handed to src/http/api-app.ts, and the console is added under /ges/. Built
 * without listening.
 */
export async function buildApiApp(parts: ApiAppParts): Promise<FastifyInstance> {
  const { pool, engine, retentionDays, console: consoleOptions, ...rest } = parts;
  const app = await createApiApp({
    ...rest,
    tenantForApiKey: (key) => tenantForApiKey(pool, key),
    callIn: parts.callIn ?? new CallInService(pool, parts.metrics),
    queueStatus: new QueueStatusService(pool, parts.availability.clock, engine),
    statistics: new StatisticsService(pool, parts.availability.clock, engine, retentionDays ?? 14),
    corsOrigins: parts.corsOrigins ?? new CorsOrigins(pool, parts.apiKeyCacheSeconds ?? 0),
    captcha: parts.captcha ?? new CaptchaGate({ pool }),
  });
  if (consoleOptions) await app.register(consolePlugin(assembleConsole(consoleOptions)), { prefix: '/ges' });
  return app;
}
