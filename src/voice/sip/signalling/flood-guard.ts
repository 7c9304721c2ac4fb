import type { Logger } from 'pino';

/**
 * A token bucket per source address for out-of-dialog requests (REGISTER, INVITE, OPTIONS...):
 * an allowed phone stuck in a REGISTER loop or a compromised host on an allowed network must not
 * cost a digest check or a transaction per packet. Requests over the rate are dropped silently
 * (an answer would cost as much as the request and feed a reflection attack) and counted; one
 * warn log per source per minute says how many, so a flood is visible without a log line per packet.
 */
export interface FloodGuardOptions {
  perSecond: number;
  burst: number;
  logger: Logger;
  /** Bound of the per-source map: a spoofed-source flood cannot grow it without limit. */
  maxSources?: number;
  onDrop?: () => void;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
  dropped: number;
  loggedAt: number;
}

const LOG_INTERVAL_MS = 60_000;

export class FloodGuard {
  readonly #buckets = new Map<string, Bucket>();
  readonly #opts: FloodGuardOptions;
  readonly #now: () => number;
  readonly #maxSources: number;
  #droppedTotal = 0;

  constructor(opts: FloodGuardOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#maxSources = opts.maxSources ?? 10_000;
  }

  /** True when a request from `source` may be handled; false: drop it. */
  admit(source: string): boolean {
    const now = this.#now();
    let bucket = this.#buckets.get(source);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxSources) this.#evict(now);
      bucket = { tokens: this.#opts.burst, at: now, dropped: 0, loggedAt: 0 };
      this.#buckets.set(source, bucket);
    } else {
      bucket.tokens = Math.min(this.#opts.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#opts.perSecond);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      this.#report(source, bucket, now);
      return true;
    }
    bucket.dropped += 1;
    this.#droppedTotal += 1;
    this.#opts.onDrop?.();
    this.#report(source, bucket, now);
    return false;
  }

  /** Requests dropped since start (for tests and the metric). */
  dropped(): number {
    return this.#droppedTotal;
  }

  sources(): number {
    return this.#buckets.size;
  }

  #report(source: string, bucket: Bucket, now: number): void {
    if (bucket.dropped === 0 || now - bucket.loggedAt < LOG_INTERVAL_MS) return;
    // The source address only: the requests' URIs name customers and agents.
    this.#opts.logger.warn({ source, dropped: bucket.dropped, perSecond: this.#opts.perSecond }, 'sip: requests over the flood limit dropped');
    bucket.dropped = 0;
    bucket.loggedAt = now;
  }

  /** Forgets sources whose bucket has refilled (they are indistinguishable from new ones), else the oldest. */
  #evict(now: number): void {
    for (const [source, b] of this.#buckets) {
      if (b.dropped === 0 && b.tokens + ((now - b.at) / 1000) * this.#opts.perSecond >= this.#opts.burst) this.#buckets.delete(source);
    }
    if (this.#buckets.size >= this.#maxSources) {
      const oldest = this.#buckets.keys().next();
      if (!oldest.done) this.#buckets.delete(oldest.value);
    }
  }
}
