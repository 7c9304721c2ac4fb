import type { Cluster, Redis } from 'ioredis';
import type pg from 'pg';
import type { Config } from '../config/config.ts';
import type { CallbackService } from '../app/callback-service.ts';
import type { AvailabilityService } from '../app/availability-service.ts';
import type { FailedRequestLog } from '../app/failed-request-log.ts';
import type { CallbackEngine } from '../engine/callback-engine.ts';
import type { ConsoleOptions } from './console-assembly.ts';
import { DatabaseQueueMonitorSource } from '../app/database-queue-monitor-source.ts';
import { engineLiveFigures } from './engine-live-figures.ts';
import { MemoryAttemptCounter, MemorySessionStore } from '../console/memory-session-store.ts';
import { RedisAttemptCounter, RedisSessionStore } from '../console/redis-session-store.ts';

export interface ConsoleParts {
  pool: pg.Pool;
  callbacks: CallbackService;
  availability: AvailabilityService;
  failedRequests: FailedRequestLog;
  /** The node's Redis, when it has one: sessions and sign-in counters are then shared by all nodes. */
  redis: Redis | Cluster | undefined;
  /** The callback engine, for EWT, agents and queue positions. */
  engine: Pick<CallbackEngine, 'queueWait' | 'live'> | undefined;
  /** Whether Redis answers (bounded); absent on a node without Redis. */
  redisUp?: () => Promise<boolean>;
}

/**
 * The console's options from the settings and the node's parts: sessions in Redis when the node
 * has Redis (keys `<REDIS_KEY_PREFIX>console:{t<tenant>}:session:...`), in memory otherwise (the
 * embedded single node); live figures from the engine.
 */
export function consoleOptions(config: Config, parts: ConsoleParts): ConsoleOptions {
  const prefix = `${config.REDIS_KEY_PREFIX}console:`;
  return {
    pool: parts.pool,
    callbacks: parts.callbacks,
    availability: parts.availability,
    sessions: parts.redis ? new RedisSessionStore(parts.redis, prefix) : new MemorySessionStore(),
    loginAttempts: parts.redis ? new RedisAttemptCounter(parts.redis, prefix) : new MemoryAttemptCounter(),
    queueMonitor: new DatabaseQueueMonitorSource(parts.pool, parts.engine ? { live: engineLiveFigures(parts.engine) } : {}),
    failedRequests: parts.failedRequests,
    sessionIdleMs: config.CONSOLE_SESSION_IDLE_MIN * 60_000,
    secureCookie: config.CONSOLE_SECURE_COOKIE,
    apiKeyCacheSeconds: config.API_KEY_CACHE_SEC,
    ...(parts.redisUp ? { redisUp: parts.redisUp } : {}),
  };
}
