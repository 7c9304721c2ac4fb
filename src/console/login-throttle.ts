import { createHash } from 'node:crypto';
import type { AttemptCounter } from './session-store.ts';

export interface LoginThrottleOptions {
  /** Failures of one login from one address allowed before each next one blocks. */
  freeAttempts: number;
  /** Block after the first failure beyond the free ones; doubles with each further failure. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Failures are forgotten this long after the last one. */
  windowMs: number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleOptions = Object.freeze({
  freeAttempts: 5,
  baseDelayMs: 1000,
  maxDelayMs: 15 * 60_000,
  windowMs: 15 * 60_000,
});

/**
 * Slows down password guessing per (tenant, login, client address): a few failures are free, then
 * each failure blocks the next attempt for a delay that doubles (1 s, 2 s, 4 s ... at most 15 min).
 * While blocked, an attempt is refused before the password is even checked. A success clears it.
 * Keying on the address too means an attacker cannot lock a real user out from elsewhere.
 */
export class LoginThrottle {
  constructor(
    private readonly counter: AttemptCounter,
    private readonly options: LoginThrottleOptions = DEFAULT_LOGIN_THROTTLE,
  ) {}

  /** Hashed, so the store never holds a login or an address. */
  keyOf(tenant: string, login: string, address: string): string {
    return createHash('sha256').update(`${tenant.toLowerCase()}\u0000${login.toLowerCase()}\u0000${address}`).digest('base64url');
  }

  /** Milliseconds before another attempt is allowed; 0: go ahead. */
  retryAfter(key: string): Promise<number> {
    return this.counter.blockedFor(key);
  }

  async failed(key: string): Promise<void> {
    const n = await this.counter.increment(key, this.options.windowMs);
    const over = n - this.options.freeAttempts;
    if (over > 0) await this.counter.block(key, Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(over - 1, 30)));
  }

  async succeeded(key: string): Promise<void> {
    await this.counter.reset(key);
  }
}
