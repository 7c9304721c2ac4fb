/**
 * Rate limits as hot state: each bucket is one number, its "theoretical arrival time" (GCRA, the
 * generic cell rate algorithm): a bucket of `limit` requests per `periodMs` lets a burst of
 * `limit` through, then one request every periodMs / limit. Losing the state (Redis flushed, a
 * node restarted) only forgets how much of the burst was used: nothing to rebuild.
 *
 * A request is checked against up to two buckets of one tenant at once (its key's and its
 * tenant's); it is counted in both or in neither, so a request refused by the tenant's bucket does
 * not use up its key's. Two implementations pass test/rate-limiter-contract.test.ts: on Redis (one
 * Lua script, the limit holds across nodes) and in this process (embedded, single node).
 */
export interface RateRule {
  /** Bucket name, unique within the tenant (e.g. `create:t`, `create:k:<key digest>`). */
  bucket: string;
  /** Requests per period, > 0 (a rule with no limit is simply not passed). */
  limit: number;
  periodMs: number;
}

export interface RateVerdict {
  allowed: boolean;
  /** Index in the rules of the rule that refused (the one whose wait is longest); undefined when allowed. */
  refusedBy?: number;
  /** When refused: milliseconds until the request would be allowed (> 0). */
  retryAfterMs: number;
}

export interface RateLimiter {
  /** At most two rules (the Redis script takes two buckets). */
  take(tenantId: number, rules: readonly RateRule[]): Promise<RateVerdict>;
}

/**
 * One GCRA step, the same arithmetic as src/hot/lua/rate-limit-2.lua: `tat` is the stored arrival
 * time (undefined: a fresh bucket). Returns the new arrival time to store, or the wait when refused.
 */
export function gcraStep(tat: number | undefined, nowMs: number, rule: RateRule): { allowed: true; tat: number } | { allowed: false; retryAfterMs: number } {
  const interval = rule.periodMs / rule.limit;
  const next = Math.max(tat ?? nowMs, nowMs) + interval;
  const allowAt = next - rule.periodMs;
  if (allowAt > nowMs) return { allowed: false, retryAfterMs: Math.max(1, Math.ceil(allowAt - nowMs)) };
  return { allowed: true, tat: next };
}

/** Both or neither: checks every rule, stores only when all allow (shared by the in-process limiter). */
export function decide(tats: readonly (number | undefined)[], nowMs: number, rules: readonly RateRule[]): { verdict: RateVerdict; tats?: number[] } {
  const steps = rules.map((r, i) => gcraStep(tats[i], nowMs, r));
  let refusedBy: number | undefined;
  let wait = 0;
  steps.forEach((s, i) => {
    if (!s.allowed && s.retryAfterMs > wait) {
      wait = s.retryAfterMs;
      refusedBy = i;
    }
  });
  if (refusedBy !== undefined) return { verdict: { allowed: false, refusedBy, retryAfterMs: wait } };
  return { verdict: { allowed: true, retryAfterMs: 0 }, tats: steps.map((s) => (s as { tat: number }).tat) };
}
