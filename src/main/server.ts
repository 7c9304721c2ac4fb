import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { createLogger } from '../logging/logger.ts';
import { createPool } from '../store/db.ts';
import { migrate } from '../store/migrator.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../store/embedded-postgres.ts';
import { DbClock } from '../store/db-clock.ts';
import { DatabaseHealth } from '../store/database-health.ts';
import { waitingByService } from '../store/callback-counts-read.ts';
import { QueueSizeReading } from '../metrics/queue-size-reading.ts';
import { HotStateRepair } from '../app/hot-state-repair.ts';
import { callbackRecreate } from '../app/callback-recreate.ts';
import { CallbackService } from '../app/callback-service.ts';
import { AvailabilityService } from '../app/availability-service.ts';
import { Maintenance } from '../app/maintenance.ts';
import { TenantSecrets } from '../app/tenant-secrets.ts';
import { FcmPushSender } from '../app/fcm-push-sender.ts';
import { CallInService } from '../app/call-in-service.ts';
import { pushCallInIssuer } from '../app/push-call-in.ts';
import { PushCallbackService } from '../app/push-callback-service.ts';
import { CaptchaGate } from '../app/captcha-gate.ts';
import { secretBoxFor } from './tenant-secret-key.ts';
import { ensureDemoTenant, type DemoCredentials } from '../app/demo-seed.ts';
import { ensureDemoSipAgent, type DemoSipAgent } from '../app/demo-sip-agent.ts';
import { buildApiApp } from './api-app-assembly.ts';
import { buildInternalApp } from '../http/internal-app.ts';
import { createMetrics } from '../metrics/metrics.ts';
import { startEngineRuntime, type EngineRuntime } from './engine-runtime.ts';
import { FailedRequestLog } from '../app/failed-request-log.ts';
import { consoleOptions } from './console-wiring.ts';
import { apiRateLimits, edgeLimits } from './api-limits-wiring.ts';

export interface RunningGes {
  apiUrl: string;
  internalUrl: string;
  embedded: boolean;
  demo: DemoCredentials | undefined;
  /** VOICE_PLATFORM=sip with the demo: the demo agent's softphone account, and where to register it. */
  demoSipAgent: (DemoSipAgent & { registrar: string }) | undefined;
  logger: Logger;
  pool: pg.Pool;
  /** Tenants' sealed secrets (CAPTCHA secret, push credentials), opened with this node's TENANT_SECRET_KEY. */
  tenantSecrets: TenantSecrets;
  stop(): Promise<void>;
}

/**
 * Composition root: opens the database (embedded PGlite when DATABASE_URL is empty), migrates,
 * seeds the demo tenant when asked, starts maintenance, the engine and both HTTP listeners.
 * `stop()` reports not-ready, keeps serving for SHUTDOWN_DELAY_SEC, then answers 503 to new API
 * requests and lets in-flight ones finish, stops the engine side (no new work, what it holds
 * finished, leases settled, events read handled: EngineRuntime.stop), and closes the internal
 * port, the pool and the embedded database.
 */
export async function startGes(config: Config, logger: Logger = createLogger(config.LOG_LEVEL)): Promise<RunningGes> {
  let embedded: EmbeddedPostgres | undefined;
  let url = config.DATABASE_URL;
  if (!url) {
    embedded = await startEmbeddedPostgres(config.DATA_DIR);
    url = embedded.url;
    logger.warn(
      { dataDir: config.DATA_DIR },
      'EMBEDDED MODE: a single node on PGlite, for trying GES out. Set DATABASE_URL to run on PostgreSQL in production.',
    );
  }
  const pool = createPool({
    url,
    // PGlite is one session behind a socket server that interleaves the protocol messages of its
    // connections outside transactions (an unnamed statement of one runs with another's Bind):
    // one connection is the only correct pool (docs/BENCHMARKS.md, embedded default).
    max: embedded ? 1 : config.DATABASE_POOL_MAX,
    schema: config.DATABASE_SCHEMA || undefined,
  });

  const clock = new DbClock(config.TEST_CLOCK_SKEW_MS);
  const tenantSecrets = new TenantSecrets(pool, secretBoxFor(config, embedded !== undefined));
  const databaseHealth = new DatabaseHealth(pool);
  databaseHealth.start(5000);
  // Refreshed every 10 s off the scrape path (started once the schema is there): a scrape reads memory only.
  const queueSizes = new QueueSizeReading(() => waitingByService(pool));
  const metrics = createMetrics({ databaseHealth, queueSizes });
  const maintenance = new Maintenance(pool, clock, logger, config.RETENTION_DAYS, config.MAINTENANCE_INTERVAL_SEC * 1000, metrics);
  let shuttingDown = false;
  const apps: FastifyInstance[] = [];
  let runtime: EngineRuntime | undefined;
  let repair: HotStateRepair | undefined;
  try {
    if (config.MIGRATE_ON_START) {
      const applied = await migrate(pool);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    }
    await maintenance.runOnce();
    maintenance.start();
    queueSizes.start(10_000);

    const seed = config.DEMO_SEED === 'true' || (config.DEMO_SEED === 'auto' && embedded !== undefined);
    const demo = seed ? await ensureDemoTenant(pool, config.DATA_DIR) : undefined;
    const demoSipAgent =
      demo && config.VOICE_PLATFORM === 'sip'
        ? {
            ...(await ensureDemoSipAgent(pool, config.DATA_DIR, demo.tenant, demo.service)),
            registrar: `${config.SIP_PUBLIC_ADDRESS || config.SIP_LISTEN_ADDRESS}:${config.SIP_PORT}`,
          }
        : undefined;

    // Pushes of USERORIGINATED callbacks, with each tenant's service account opened from its sealed secret.
    const pushSender = new FcmPushSender(
      tenantSecrets,
      { apiUrl: config.FCM_API_URL, tokenUrl: config.FCM_TOKEN_URL },
      logger.child({ component: 'push' }),
      metrics,
    );
    const callIn = new CallInService(pool, metrics);
    runtime = await startEngineRuntime(
      config,
      pool,
      clock,
      logger,
      metrics.engine,
      { sender: pushSender, callIn: pushCallInIssuer(pool, callIn) },
      metrics.sip,
    );
    const redisUp = runtime.redis ? runtime.redisUp : undefined;
    if (redisUp) metrics.watchRedis(redisUp);
    // With Redis, a request waits for the engine hook at most two command timeouts (it goes on in
    // the background; a hook that misses this is repaired from Postgres).
    const callbackService = new CallbackService(pool, clock, metrics, runtime.redis ? 2 * config.REDIS_COMMAND_TIMEOUT_MS : undefined);
    const captcha = new CaptchaGate({ pool, secrets: tenantSecrets, logger, observer: metrics });
    callbackService.useCaptcha(captcha);
    const engine = runtime.engine;
    engine.attachRecreate(callbackRecreate(pool, callbackService));
    repair = new HotStateRepair(() => engine.rebuild(), logger);
    callbackService.attach(engine, (err) => {
      // The error itself, not its message: the logger's serializer strips what a database error quotes.
      logger.warn({ err }, 'engine hook failed; a rebuild from the database repairs the hot state');
      repair!.request();
    });
    const availability = new AvailabilityService(pool, clock);
    const failedRequests = new FailedRequestLog(pool, logger);
    const api = await buildApiApp({
      pool,
      logger,
      bodyLimitBytes: config.BODY_LIMIT_BYTES,
      apiKeyCacheSeconds: config.API_KEY_CACHE_SEC,
      callbacks: callbackService,
      availability,
      callIn,
      push: new PushCallbackService(runtime.engine, pushSender),
      metrics,
      engine: runtime.engine,
      failedRequests,
      captcha,
      retentionDays: config.RETENTION_DAYS,
      edge: edgeLimits(config),
      rateLimits: apiRateLimits(config, pool, runtime.redis, logger, metrics.edge),
      console: consoleOptions(config, {
        pool,
        callbacks: callbackService,
        availability,
        failedRequests,
        redis: runtime.redis,
        engine: runtime.engine,
        redisUp,
      }),
    });
    apps.push(api);
    const internal = await buildInternalApp({
      pool,
      logger,
      isShuttingDown: () => shuttingDown,
      adminToken: config.ADMIN_TOKEN,
      metrics,
      redisUp,
      databaseHealth,
      tenantSecrets,
    });
    if (config.ADMIN_TOKEN) logger.info('admin API enabled on the internal port (/admin/v1)');
    apps.push(internal);
    const apiUrl = await api.listen({ port: config.PORT, host: config.HOST });
    const internalUrl = await internal.listen({ port: config.INTERNAL_PORT, host: config.HOST });
    logger.info({ apiUrl, internalUrl }, 'GES listening');

    let stopped: Promise<void> | undefined;
    return {
      apiUrl,
      internalUrl,
      embedded: embedded !== undefined,
      demo,
      demoSipAgent,
      logger,
      pool,
      tenantSecrets,
      stop() {
        stopped ??= (async () => {
          // Readiness turns 503 first and the node keeps serving for SHUTDOWN_DELAY_SEC, so load
          // balancers stop routing to it before it stops accepting; then requests still arriving on
          // open connections get 503 while in-flight ones finish.
          shuttingDown = true;
          maintenance.stop();
          databaseHealth.stop();
          queueSizes.stop();
          if (config.SHUTDOWN_DELAY_SEC > 0) {
            logger.info({ seconds: config.SHUTDOWN_DELAY_SEC }, 'not ready; serving until the load balancer has noticed');
            await new Promise((resolve) => setTimeout(resolve, config.SHUTDOWN_DELAY_SEC * 1000));
          }
          await api.close();
          // The engine finishes the work in hand, which settles the due entries it leased, so other
          // nodes take over at once instead of after the lease. The internal port keeps answering
          // (readiness 503, metrics) until then.
          await repair?.stop();
          await runtime?.stop();
          await internal.close();
          await pool.end();
          await embedded?.stop();
          logger.info('GES stopped');
        })();
        return stopped;
      },
    };
  } catch (err) {
    maintenance.stop();
    databaseHealth.stop();
    queueSizes.stop();
    await repair?.stop();
    await Promise.allSettled(apps.map((a) => a.close()));
    await runtime?.stop().catch(() => undefined);
    await pool.end().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw err;
  }
}
