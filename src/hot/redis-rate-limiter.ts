import type { Cluster, Redis } from 'ioredis';
import type { RateLimiter, RateRule, RateVerdict } from './rate-limiter.ts';
import { loadLuaScripts } from './lua-scripts.ts';

const SCRIPT = loadLuaScripts().find((s) => s.name === 'rateLimit')!;

interface ScriptClient {
  rateLimit2(a: string, b: string, limitA: number, periodA: number, limitB: number, periodB: number): Promise<[number, number, number]>;
}

/**
 * Rate-limit buckets on Redis, shared by every node: one EVALSHA per request. Both buckets of a
 * request sit under the tenant's hash tag, `<prefix>{t<id>}:rl:<bucket>`, so the script touches
 * one Cluster slot. Bucket names carry a digest of the API key, never the key.
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #scripts: ScriptClient;

  constructor(
    redis: Redis | Cluster,
    private readonly prefix = 'ges:',
  ) {
    redis.defineCommand('rateLimit2', { numberOfKeys: SCRIPT.numberOfKeys, lua: SCRIPT.lua });
    this.#scripts = redis as unknown as ScriptClient;
  }

  keyOf(tenantId: number, bucket: string): string {
    return `${this.prefix}{t${tenantId}}:rl:${bucket}`;
  }

  async take(tenantId: number, rules: readonly RateRule[]): Promise<RateVerdict> {
    if (rules.length === 0) return { allowed: true, retryAfterMs: 0 };
    if (rules.length > 2) throw new Error('RedisRateLimiter takes at most two rules');
    const [a, b] = rules;
    const [allowed, refused, wait] = await this.#scripts.rateLimit2(
      this.keyOf(tenantId, a!.bucket),
      this.keyOf(tenantId, b?.bucket ?? `${a!.bucket}:unused`),
      a!.limit,
      a!.periodMs,
      b?.limit ?? 0,
      b?.periodMs ?? 1,
    );
    return allowed === 1 ? { allowed: true, retryAfterMs: 0 } : { allowed: false, refusedBy: refused - 1, retryAfterMs: Number(wait) };
  }
}
