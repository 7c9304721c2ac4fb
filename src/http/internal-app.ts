import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type pg from 'pg';
import { pendingMigrations } from '../store/migrator.ts';

export interface InternalAppDeps {
  pool: pg.Pool;
  logger: Logger;
  isShuttingDown: () => boolean;
}

/**
 * The internal application (INTERNAL_PORT): probes for the orchestrator. Liveness says the event
 * loop answers; readiness that the database answers and every shipped migration is applied, and
 * turns false as soon as shutdown begins so the load balancer stops sending traffic.
 */
export async function buildInternalApp(deps: InternalAppDeps): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: deps.logger.child({ app: 'internal' }) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) });
  let migrationsApplied = false;

  app.get('/health/live', async () => ({ status: 'UP' }));

  app.get('/health/ready', async (_request, reply) => {
    const checks: Record<string, string> = {};
    if (deps.isShuttingDown()) checks.lifecycle = 'shutting down';
    try {
      await deps.pool.query('SELECT 1');
      checks.database = 'UP';
      if (!migrationsApplied) {
        const pending = await pendingMigrations(deps.pool);
        migrationsApplied = pending.length === 0;
        checks.migrations = migrationsApplied ? 'UP' : `pending: ${pending.join(', ')}`;
      } else checks.migrations = 'UP';
    } catch (err) {
      checks.database = `DOWN: ${(err as Error).message}`;
    }
    const ready = Object.values(checks).every((v) => v === 'UP');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'UP' : 'DOWN', checks });
  });
  return app;
}
