import type { RateLimiter, RateRule, RateVerdict } from './rate-limiter.ts';

/**
 * The shared (Redis) limiter, with the node's in-process one as a fallback: when Redis fails or
 * takes longer than `timeoutMs`, the decision is taken locally (the limit then holds per node)
 * rather than refusing every request or letting every request through. `onFallback` counts it.
 */
export class FallbackRateLimiter implements RateLimiter {
  constructor(
    private readonly shared: RateLimiter,
    private readonly local: RateLimiter,
    private readonly onFallback: (err: unknown) => void,
    private readonly timeoutMs = 250,
  ) {}

  async take(tenantId: number, rules: readonly RateRule[]): Promise<RateVerdict> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`rate limiter: no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      timer.unref();
    });
    const shared = this.shared.take(tenantId, rules);
    shared.catch(() => undefined); // a late failure after the timeout must not go unhandled
    try {
      return await Promise.race([shared, timeout]);
    } catch (err) {
      this.onFallback(err);
      return this.local.take(tenantId, rules);
    } finally {
      clearTimeout(timer);
    }
  }
}
