import type { TenantSecrets } from '../app/tenant-secrets.ts';
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import { fastifyLogger } from './fastify-logger.ts';
import type { Logger } from 'pino';
import type pg from 'pg';
import { applyTenantConfig, exportTenantConfig } from '../app/tenant-config.ts';
import { GesError } from '../domain/errors.ts';
import { installErrorHandling } from './error-handler.ts';
import { guardRequestBody } from './body-guard.ts';
import { success } from './envelope.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { DEFAULT_EDGE_LIMITS, edgeServerOptions } from './edge-limits.ts';

export interface InternalAppDeps {
  pool: pg.Pool;
  logger: Logger;
  isShuttingDown: () => boolean;
  /** Bearer token of the admin API; empty: the admin API does not exist (404). */
  adminToken: string;
  /** Exposed at GET /metrics (Prometheus text format); absent: no /metrics route. */
  metrics?: Metrics;
  /**
   * The node's database-health probe (src/store/database-health.ts), shared with the metrics;
   * absent: readiness cannot vouch for the database and answers 503.
   */
  databaseHealth?: { check(): Promise<{ up: boolean; pending: readonly string[] | undefined; error?: string }> };
  /**
   * Whether Redis answers, within a bounded time (src/main/engine-runtime.ts); absent on a node
   * without Redis (in-process hot state). Reported by readiness for information only: a node whose
   * Redis is away still serves the API (creates commit to PostgreSQL), so it must stay in the
   * load balancer.
   */
  redisUp?: () => Promise<boolean>;
  /** Seals write-only values of configuration documents (the CAPTCHA secret, pushServiceAccount); absent: a document carrying one is refused. */
  tenantSecrets?: TenantSecrets;
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * onRequest hook of the admin API: `Authorization: Bearer <ADMIN_TOKEN>`. Both sides are hashed to
 * the same length first, so the comparison takes the same time whatever the length or content of
 * the token sent.
 */
function adminAuth(token: string) {
  const expected = digest(token);
  return async function authenticate(request: FastifyRequest): Promise<void> {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer +(\S+) *$/i.exec(header);
    if (!match) throw new GesError('GES_ADMIN_TOKEN_INVALID', 'the admin API needs the header Authorization: Bearer <ADMIN_TOKEN>');
    if (!timingSafeEqual(digest(match[1]!), expected)) throw new GesError('GES_ADMIN_TOKEN_INVALID', 'the admin token is not valid');
  };
}

/**
 * The internal application (INTERNAL_PORT): probes for the orchestrator. Liveness says the event
 * loop answers (nothing else: a dependency that is down must not get the container restarted);
 * readiness that the node can serve the API: the database answers and every shipped migration is
 * applied (Redis is reported beside, not required), and it turns false as soon as shutdown begins
 * so the load balancer stops sending traffic. With metrics,
 * it serves them to Prometheus at GET /metrics (see docs/METRICS.md).
 *
 * With an admin token it also serves the admin API under /admin/v1: a tenant's configuration
 * (business hours, capacity rules, services) applied from or exported to the document that
 * `ges config apply/export` reads and writes. Answers use the GES envelope and error codes.
 */
export async function buildInternalApp(deps: InternalAppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: fastifyLogger(deps.logger.child({ app: 'internal' })),
    genReqId: () => randomUUID(),
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'corrId' }),
    // A slow client must not hold the probes' port either (fastify's default is no request timeout).
    ...edgeServerOptions(DEFAULT_EDGE_LIMITS),
  });
  installErrorHandling(app);

  app.get('/health/live', async () => ({ status: 'UP' }));

  // Readiness answers what a load balancer needs: can this node serve the API? That takes the
  // database with every migration applied, and not shutting down. Redis is reported beside the
  // checks, never in them: when Redis is away every node would turn unready at once and the whole
  // API would go, while creates still succeed (docs/DEPLOYMENT.md, "What each fault does").
  app.get('/health/ready', async (_request, reply) => {
    const checks: Record<string, string> = {};
    if (deps.isShuttingDown()) checks.lifecycle = 'shutting down';
    const [database, redis] = await Promise.all([deps.databaseHealth?.check(), deps.redisUp?.().catch(() => false)]);
    if (!database) checks.database = 'DOWN: no health probe configured';
    else if (!database.up) checks.database = `DOWN: ${database.error ?? 'no answer'}`;
    else {
      checks.database = 'UP';
      const pending = database.pending ?? [];
      checks.migrations = pending.length === 0 ? 'UP' : `pending: ${pending.join(', ')}`;
    }
    const ready = Object.values(checks).every((v) => v === 'UP');
    const body: Record<string, unknown> = { status: ready ? 'UP' : 'DOWN', checks };
    if (redis !== undefined) {
      body.redis = redis ? 'UP' : 'DOWN';
      deps.metrics?.setRedisHealth(redis);
    }
    return reply.code(ready ? 200 : 503).send(body);
  });

  const metrics = deps.metrics;
  if (metrics) {
    // Collecting reads the last database-health reading (no SQL) and PINGs Redis, bounded.
    app.get('/metrics', async (_request, reply) => {
      const body = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(body);
    });
  }

  if (deps.adminToken !== '') {
    await app.register(
      async (admin) => {
        admin.removeContentTypeParser('text/plain'); // JSON only: a wrong Content-Type is a 415
        admin.addHook('onRequest', adminAuth(deps.adminToken));
        admin.addHook('preValidation', guardRequestBody);
        admin.addHook('onSend', async (request, reply) => {
          reply.header('x-correlation-id', String(request.id));
        });

        // The document is validated by applyTenantConfig itself (not by a route schema, whose
        // defaults would drop unknown keys instead of refusing them), then applied all or nothing.
        admin.put('/config', async (request) => {
          const report = await applyTenantConfig(deps.pool, request.body, deps.tenantSecrets);
          request.log.info({ tenant: (request.body as { tenant: string }).tenant, report }, 'tenant configuration applied');
          return success(String(request.id), report);
        });

        admin.get<{ Params: { tenant: string } }>('/tenants/:tenant/config', async (request) => {
          return success(String(request.id), await exportTenantConfig(deps.pool, request.params.tenant));
        });
      },
      { prefix: '/admin/v1' },
    );
  }
  return app;
}
