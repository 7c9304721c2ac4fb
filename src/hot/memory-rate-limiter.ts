import { decide, type RateLimiter, type RateRule, type RateVerdict } from './rate-limiter.ts';

/**
 * Rate-limit buckets in this process's memory: the embedded single node, and the fallback of a
 * node whose Redis does not answer (limits then hold per node). The clock is injectable so tests
 * let minutes pass without waiting. Buckets that have refilled completely are forgotten now and
 * then, so memory follows the keys active in the last period only.
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #tats = new Map<string, { tat: number; periodMs: number }>();
  #calls = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async take(tenantId: number, rules: readonly RateRule[]): Promise<RateVerdict> {
    const now = this.now();
    if (++this.#calls % 1000 === 0) this.#sweep(now);
    const keys = rules.map((r) => `${tenantId}:${r.bucket}`);
    const { verdict, tats } = decide(
      keys.map((k) => this.#tats.get(k)?.tat),
      now,
      rules,
    );
    tats?.forEach((tat, i) => this.#tats.set(keys[i]!, { tat, periodMs: rules[i]!.periodMs }));
    return verdict;
  }

  /** Buckets held (for tests). */
  get size(): number {
    return this.#tats.size;
  }

  #sweep(now: number): void {
    for (const [k, v] of this.#tats) if (v.tat <= now) this.#tats.delete(k);
  }
}
