import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Logger } from 'pino';
import type { CallbackService } from '../app/callback-service.ts';
import type { AvailabilityService } from '../app/availability-service.ts';
import type { CallInService } from '../app/call-in-service.ts';
import type { StatisticsService } from '../app/statistics-service.ts';
import type { QueueStatusService } from '../app/queue-status-service.ts';
import type { FailedRequestLog } from '../app/failed-request-log.ts';
import type { OriginPolicy } from '../app/cors-origins.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { calendarRoutes } from './routes/calendar-routes.ts';
import { installErrorHandling, routeNotFound } from './error-handler.ts';
import { applyLeniency } from './lenient-input.ts';
import { apiKeyAuth, type TenantForApiKey } from './api-key-auth.ts';
import { callbackRoutes } from './routes/callback-routes.ts';
import { callInRoutes } from './routes/call-in-routes.ts';
import { pushRoutes } from './routes/push-routes.ts';
import type { PushCallbackService } from '../app/push-callback-service.ts';
import { captchaRoutes, type CaptchaVerification } from './routes/captcha-routes.ts';
import { guardRequestBody } from './body-guard.ts';
import { queueRoutes } from './routes/queue-routes.ts';
import { statisticsRoutes } from './routes/statistics-routes.ts';
import { recordFailedRequests } from './failed-request-recorder.ts';
import { fastifyLogger } from './fastify-logger.ts';
import { DEFAULT_EDGE_LIMITS, boundConnections, edgeServerOptions, type EdgeLimits } from './edge-limits.ts';
import { clientErrorHandler, frameworkErrorHandler } from './raw-answers.ts';
import { clientErrorObserver, observeEdge } from './edge-observer.ts';
import { rateLimit, type RateLimitDeps } from './rate-limit.ts';
import { answerUnavailableWhileClosing } from './closing-answer.ts';
import { checkActualRequests, registerPreflight } from './cors.ts';

/** The use cases the Engagement API serves; the composition root (src/main/) builds them. */
export interface ApiServices {
  tenantForApiKey: TenantForApiKey;
  callbacks: CallbackService;
  availability: AvailabilityService;
  callIn: CallInService;
  queueStatus: QueueStatusService;
  statistics: StatisticsService;
  /** Browser origins allowed per tenant (CORS). */
  corsOrigins: OriginPolicy;
  /** Records failed API requests of authenticated tenants for the console's Developer page. */
  failedRequests?: FailedRequestLog;
  /** Push answers and notification/publish; absent: those paths are 404 (no route). */
  push?: PushCallbackService;
  /** POST /captcha/verify; absent: the route answers 404 like any unknown path. */
  captcha?: CaptchaVerification;
}

export interface ApiAppDeps extends ApiServices {
  logger: Logger;
  bodyLimitBytes: number;
  apiKeyCacheSeconds?: number;
  /** Where HTTP metrics are recorded; absent: nothing is recorded. */
  metrics?: Metrics;
  /** Request/headers timeouts and the connection bound (src/http/edge-limits.ts); absent: the defaults. */
  edge?: EdgeLimits;
  /** Per-key and per-tenant rate limits (src/http/rate-limit.ts); absent: none. */
  rateLimits?: RateLimitDeps;
}

/**
 * The external application (PORT): the Engagement API v3 under /engagement/v3 and its OpenAPI
 * document and interactive docs under /ges/docs (the ingress forwards /ges/). Built without
 * listening, so tests drive it with inject() and main decides where it listens (and adds the
 * console under /ges/).
 */
export async function createApiApp(deps: ApiAppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: fastifyLogger(deps.logger),
    bodyLimit: deps.bodyLimitBytes,
    genReqId: () => randomUUID(),
    logController: new LogController({ requestIdLogLabel: 'corrId' }),
    return503OnClosing: false, // answered in the envelope by answerUnavailableWhileClosing
    ajv: { customOptions: { allErrors: false } },
    ...edgeServerOptions(deps.edge ?? DEFAULT_EDGE_LIMITS),
    // Answers written before GES's handlers run leave in the envelope too (src/http/raw-answers.ts).
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler: clientErrorHandler(fastifyLogger(deps.logger), deps.metrics && clientErrorObserver(deps.metrics.edge)),
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
  const origins = deps.corsOrigins;
  registerPreflight(app, origins);

  // The same API under the ingress prefix the original's Helm chart forwards (/ges/), hidden from
  // the OpenAPI page; its unknown paths answer the JSON envelope, not the console's HTML 404.
  await app.register(engagementApi(deps, origins, false), { prefix: '/engagement/v3' });
  await app.register(engagementApi(deps, origins, true), { prefix: '/ges/engagement/v3' });

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
    v3.addHook('onRequest', apiKeyAuth(deps.tenantForApiKey, deps.apiKeyCacheSeconds ?? 0));
    checkActualRequests(v3, origins);
    if (deps.rateLimits) v3.addHook('onRequest', rateLimit(deps.rateLimits));
    v3.addHook('preValidation', guardRequestBody);
    v3.addHook('preValidation', applyLeniency);
    if (deps.failedRequests) recordFailedRequests(v3, deps.failedRequests);
    await v3.register(callbackRoutes(deps.callbacks));
    await v3.register(calendarRoutes(deps.availability));
    await v3.register(queueRoutes(deps.queueStatus));
    await v3.register(statisticsRoutes(deps.statistics));
    await v3.register(callInRoutes(deps.callIn));
    if (deps.push) await v3.register(pushRoutes(deps.push));
    if (deps.captcha) await v3.register(captchaRoutes(deps.captcha));
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
