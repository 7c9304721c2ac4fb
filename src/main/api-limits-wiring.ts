import type { Cluster, Redis } from 'ioredis';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { resolveApiLimits, type ApiLimits } from '../domain/api-limits.ts';
import { getTenantApiLimits } from '../store/tenant-limits-store.ts';
import { MemoryRateLimiter } from '../hot/memory-rate-limiter.ts';
import { RedisRateLimiter } from '../hot/redis-rate-limiter.ts';
import { FallbackRateLimiter } from '../hot/fallback-rate-limiter.ts';
import type { RateLimiter } from '../hot/rate-limiter.ts';
import type { RateLimitDeps } from '../http/rate-limit.ts';
import type { EdgeLimits } from '../http/edge-limits.ts';
import type { EdgeMetrics } from '../metrics/edge-metrics.ts';

export function defaultApiLimits(config: Config): ApiLimits {
  return {
    createPerKey: config.RATE_LIMIT_CREATE_PER_KEY,
    createPerTenant: config.RATE_LIMIT_CREATE_PER_TENANT,
    otherPerKey: config.RATE_LIMIT_OTHER_PER_KEY,
    otherPerTenant: config.RATE_LIMIT_OTHER_PER_TENANT,
  };
}

export function edgeLimits(config: Config): EdgeLimits {
  return {
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
    headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
    keepAliveTimeoutMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    maxConnections: config.HTTP_MAX_CONNECTIONS,
  };
}

/**
 * A tenant's limits, read from PostgreSQL and remembered `cacheMs` per tenant on this node (a
 * change applied by `ges config apply` takes effect within that time; 0: read every request).
 */
export class TenantApiLimitsSource {
  readonly #cache = new Map<number, { limits: ApiLimits; until: number }>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly defaults: ApiLimits,
    private readonly cacheMs: number,
  ) {}

  async of(tenantId: number): Promise<ApiLimits> {
    const hit = this.#cache.get(tenantId);
    if (hit && hit.until > Date.now()) return hit.limits;
    const limits = resolveApiLimits(this.defaults, await getTenantApiLimits(this.pool, tenantId));
    if (this.cacheMs > 0) {
      if (this.#cache.size > 10_000) this.#cache.clear();
      this.#cache.set(tenantId, { limits, until: Date.now() + this.cacheMs });
    }
    return limits;
  }
}

/**
 * The API's rate limiting: on Redis when the node has it (the limit holds across nodes, with the
 * in-process limiter as fallback while Redis does not answer), else in this process.
 */
export function apiRateLimits(config: Config, pool: pg.Pool, redis: Redis | Cluster | undefined, logger: Logger, metrics?: EdgeMetrics): RateLimitDeps {
  const local = new MemoryRateLimiter();
  let limiter: RateLimiter = local;
  if (redis) {
    let lastWarned = 0;
    limiter = new FallbackRateLimiter(new RedisRateLimiter(redis, config.REDIS_KEY_PREFIX), local, (err) => {
      metrics?.rateLimiterFallbacks.inc();
      if (Date.now() - lastWarned > 60_000) {
        lastWarned = Date.now();
        logger.warn({ err: (err as Error).message }, 'rate limits decided per node: Redis did not answer');
      }
    });
  }
  const source = new TenantApiLimitsSource(pool, defaultApiLimits(config), config.API_KEY_CACHE_SEC * 1000);
  return { limiter, limitsOf: (tenantId) => source.of(tenantId), ...(metrics ? { metrics } : {}) };
}
