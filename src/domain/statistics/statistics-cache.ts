import type { StatisticRequest } from './statistics-request.ts';

/**
 * The get-statistic-ex cache rule (ges-api.md §1.9): answers are kept 5 minutes per tenant and
 * request; a client bounds how old an answer it accepts with `cache-control: max-age=N`, never
 * below 15 seconds; without the header any kept answer is served. Our statistics are cheap to
 * compute, but the rule is part of the API clients were written against (a dashboard polling every
 * second gets the same numbers for 15 s), and it caps the work a polling client causes.
 *
 * Pure: the clock is injected, nothing is shared between nodes (each node keeps its own answers,
 * which the 5-minute bound and max-age make harmless).
 */

/** How long an answer is kept, whatever max-age says. */
export const STATISTICS_CACHE_TTL_MS = 5 * 60_000;
/** The smallest max-age honoured; smaller values (and no-cache) are raised to it. */
export const MIN_MAX_AGE_SEC = 15;
/** Answers kept per node at most; the oldest go first. */
export const DEFAULT_MAX_ENTRIES = 10_000;

/**
 * The freshness a client asks for, in seconds: max-age raised to at least 15, or undefined when the
 * header says nothing about it (absent, or only other directives). `no-cache` asks for a fresh answer,
 * which here means the freshest allowed: 15. A max-age that is not a number also gets 15: the client
 * evidently wanted a bound, and the tightest one is the safe reading.
 */
export function parseMaxAge(header: string | readonly string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const directives = (typeof header === 'string' ? header : header.join(','))
    .split(',')
    .map((d) => d.trim().toLowerCase())
    .filter((d) => d !== '');
  let maxAge: number | undefined;
  for (const d of directives) {
    if (d === 'no-cache' || d === 'no-store') return MIN_MAX_AGE_SEC;
    const m = /^max-age\s*=\s*"?([^"]*)"?$/.exec(d);
    if (m === null) continue;
    const seconds = /^\d+$/.test(m[1]!) ? Number(m[1]) : 0;
    // Several max-age directives: the strictest wins.
    maxAge = maxAge === undefined ? seconds : Math.min(maxAge, seconds);
  }
  return maxAge === undefined ? undefined : Math.max(MIN_MAX_AGE_SEC, maxAge);
}

/** The cache key of a request: the tenant and the statistics in request order (the answer keeps that order). */
export function statisticsCacheKey(tenantId: string, requests: readonly StatisticRequest[]): string {
  return `${tenantId}\u0000${JSON.stringify(requests.map((r) => [r.name, r.objectType, r.objectId]))}`;
}

export interface CachedAnswer<T> {
  readonly answer: T;
  /** Epoch ms the answer was computed and stored. */
  readonly storedAt: number;
  /** Whole seconds since then (for an Age header). */
  readonly ageSec: number;
}

export class StatisticsCache<T> {
  readonly #now: () => number;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, { answer: T; storedAt: number }>();

  constructor(options: { now: () => number; maxEntries?: number }) {
    this.#now = options.now;
    this.#maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (!Number.isInteger(this.#maxEntries) || this.#maxEntries < 1) throw new RangeError(`maxEntries must be an integer >= 1 (got ${this.#maxEntries})`);
  }

  /**
   * The kept answer for this tenant and request if it may be served: kept less than 5 minutes ago,
   * and no older than `maxAgeSec` when the client gave one (see parseMaxAge). Undefined means compute
   * a fresh answer and store it.
   */
  get(tenantId: string, requests: readonly StatisticRequest[], maxAgeSec: number | undefined): CachedAnswer<T> | undefined {
    const key = statisticsCacheKey(tenantId, requests);
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    const ageMs = this.#now() - entry.storedAt;
    if (ageMs >= STATISTICS_CACHE_TTL_MS) {
      this.#entries.delete(key);
      return undefined;
    }
    if (maxAgeSec !== undefined && ageMs > Math.max(MIN_MAX_AGE_SEC, maxAgeSec) * 1000) return undefined;
    return { answer: entry.answer, storedAt: entry.storedAt, ageSec: Math.max(0, Math.floor(ageMs / 1000)) };
  }

  set(tenantId: string, requests: readonly StatisticRequest[], answer: T): void {
    const key = statisticsCacheKey(tenantId, requests);
    // Re-inserted so the Map's order stays oldest-stored first, which eviction relies on.
    this.#entries.delete(key);
    this.#entries.set(key, { answer, storedAt: this.#now() });
    if (this.#entries.size > this.#maxEntries) this.#evict();
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Drops expired answers, then the oldest ones until the bound holds. */
  #evict(): void {
    const now = this.#now();
    for (const [key, entry] of this.#entries) if (now - entry.storedAt >= STATISTICS_CACHE_TTL_MS) this.#entries.delete(key);
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= this.#maxEntries) break;
      this.#entries.delete(key);
    }
  }
}
