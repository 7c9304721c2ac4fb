import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Logger } from 'pino';
import type pg from 'pg';
import type { CallbackService } from '../app/callback-service.ts';
import type { AvailabilityService } from '../app/availability-service.ts';
import { calendarRoutes } from './routes/calendar-routes.ts';
import { installErrorHandling, routeNotFound } from './error-handler.ts';
import { applyLeniency } from './lenient-input.ts';
import { apiKeyAuth } from './api-key-auth.ts';
import { callbackRoutes } from './routes/callback-routes.ts';
import { callInRoutes } from './routes/call-in-routes.ts';
import { CallInService } from '../app/call-in-service.ts';
import { guardRequestBody } from './body-guard.ts';
import { queueRoutes } from './routes/queue-routes.ts';
import { statisticsRoutes } from './routes/statistics-routes.ts';
import { StatisticsService } from '../app/statistics-service.ts';
import { QueueStatusService, type QueueWaitSource } from '../app/queue-status-service.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { FailedRequestLog } from '../app/failed-request-log.ts';
import { recordFailedRequests } from './failed-request-recorder.ts';
import { consolePlugin, type ConsoleOptions } from '../console/console-plugin.ts';
import { DEFAULT_EDGE_LIMITS, boundConnections, edgeServerOptions, type EdgeLimits } from './edge-limits.ts';
import { clientErrorHandler, frameworkErrorHandler } from './raw-answers.ts';
import { clientErrorObserver, observeEdge } from './edge-observer.ts';
import { rateLimit, type RateLimitDeps } from './rate-limit.ts';
import { answerUnavailableWhileClosing } from './closing-answer.ts';
import { CorsOrigins, type OriginPolicy } from '../app/cors-origins.ts';
import { checkActualRequests, registerPreflight } from './cors.ts';

export interface ApiAppDeps {
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
}

/**
 * The external application (PORT): the Engagement API v3 under /engagement/v3 and its OpenAPI
 * document and interactive docs under /ges/docs (the ingress forwards /ges/). Built without
 * listening, so tests drive it with inject() and main decides where it listens.
 */
export async function buildApiApp(deps: ApiAppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.bodyLimitBytes,
    genReqId: () => randomUUID(),
    logController: new LogController({ requestIdLogLabel: 'corrId' }),
    return503OnClosing: false, // answered in the envelope by answerUnavailableWhileClosing
    ajv: { customOptions: { allErrors: false } },
    ...edgeServerOptions(deps.edge ?? DEFAULT_EDGE_LIMITS),
    // Answers written before GES's handlers run leave in the envelope too (src/http/raw-answers.ts).
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler: clientErrorHandler(deps.logger as FastifyBaseLogger, deps.metrics && clientErrorObserver(deps.metrics.edge)),
  });
  boundConnections(app, deps.edge ?? DEFAULT_EDGE_LIMITS);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-correlation-id', String(request.id));
  });
  const metrics = deps.metrics;
  if (metrics) {
    // The route pattern (never the raw URL, which holds ids) keeps the label set bounded; a
    // request no route matched (404) is "unmatched".
    app.addHook('onResponse', async (request, reply) => {
      metrics.observeHttp(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000, request.tenant?.name);
    });
  }
  installErrorHandling(app);
  if (metrics) observeEdge(app, metrics.edge);
  answerUnavailableWhileClosing(app);
  // The API speaks JSON only; without this, fastify's built-in text/plain parser would turn a
  // wrong Content-Type into a confusing schema error instead of 415.
  app.removeContentTypeParser('text/plain');

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'GES Engagement API v3',
        version: '3.0.0',
        description: 'Callback API compatible with the Genesys Engagement Service v3, plus documented extensions (tagged "extensions").',
      },
      components: { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' } } },
      security: [{ apiKey: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/ges/docs' });
  const origins = deps.corsOrigins ?? new CorsOrigins(deps.pool, deps.apiKeyCacheSeconds ?? 0);
  registerPreflight(app, origins);

  // The same API under the ingress prefix the original's Helm chart forwards (/ges/), hidden from
  // the OpenAPI page; its unknown paths answer the JSON envelope, not the console's HTML 404.
  await app.register(engagementApi(deps, origins, false), { prefix: '/engagement/v3' });
  await app.register(engagementApi(deps, origins, true), { prefix: '/ges/engagement/v3' });

  if (deps.console) await app.register(consolePlugin(deps.console), { prefix: '/ges' });

  return app;
}

/** The Engagement API v3 routes with their hooks, mounted under one prefix. */
function engagementApi(deps: ApiAppDeps, origins: OriginPolicy, hidden: boolean): FastifyPluginAsync {
  return async (v3) => {
    if (hidden) {
      v3.addHook('onRoute', (route) => {
        route.schema = { ...route.schema, hide: true };
      });
      v3.setNotFoundHandler(routeNotFound);
    }
    acceptEmptyJsonBodies(v3);
    v3.addHook('onRequest', apiKeyAuth(deps.pool, deps.apiKeyCacheSeconds ?? 0));
    checkActualRequests(v3, origins);
    if (deps.rateLimits) v3.addHook('onRequest', rateLimit(deps.rateLimits));
    v3.addHook('preValidation', guardRequestBody);
    v3.addHook('preValidation', applyLeniency);
    if (deps.failedRequests) recordFailedRequests(v3, deps.failedRequests);
    await v3.register(callbackRoutes(deps.callbacks));
    await v3.register(calendarRoutes(deps.availability));
    await v3.register(queueRoutes(new QueueStatusService(deps.pool, deps.availability.clock, deps.engine)));
    await v3.register(statisticsRoutes(new StatisticsService(deps.pool, deps.availability.clock, deps.engine, deps.retentionDays ?? 14)));
    await v3.register(callInRoutes(deps.callIn ?? new CallInService(deps.pool, deps.metrics)));
  };
}

/**
 * JSON bodies as fastify reads them, except that an empty body on an operation whose GES client
 * sends none (route config `emptyBody`, e.g. statistics) is no body rather than a 400.
 */
function acceptEmptyJsonBodies(v3: FastifyInstance): void {
  const strict = v3.getDefaultJsonParser('error', 'error');
  v3.removeContentTypeParser('application/json');
  v3.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '' && request.routeOptions.config?.emptyBody) return done(null, undefined);
    return strict(request, body as string, done);
  });
}
