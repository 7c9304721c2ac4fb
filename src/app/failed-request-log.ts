import type pg from 'pg';
import type { Logger } from 'pino';
import { failedRequestsByCorrId, insertFailedRequest, recentFailedRequests, type FailedRequest } from '../store/failed-request-store.ts';

export interface FailedRequestInput {
  tenantId: number;
  corrId: string;
  method: string;
  url: string;
  statusCode: number;
  errorCode?: string;
  message?: string;
}

/** Runs of digits long enough to be a phone number are masked before a message is stored. */
const DIGIT_RUN = /\+?\d[\d\s().-]{4,}\d/g;

/** Keeps the first and last two digits of a long number, like maskPhone does for logs. */
function scrub(message: string): string {
  return message.replace(DIGIT_RUN, (run) => {
    const digits = run.replace(/\D/g, '');
    return digits.length < 6 ? run : `${digits.slice(0, 2)}${'*'.repeat(digits.length - 4)}${digits.slice(-2)}`;
  });
}

/**
 * The failed Engagement API requests of each tenant, for the console's Developer page: what failed,
 * when, and with which code, found by the corrId a client quotes. Nothing that identifies a
 * customer is kept: no body, no query string, and digit runs in messages are masked.
 *
 * A client stuck in a loop of bad requests must not turn into a write storm, so each node records at
 * most `perTenantPerMinute` failures of a tenant per minute and drops the rest (counted in the log).
 */
export class FailedRequestLog {
  readonly #windows = new Map<number, { start: number; count: number; dropped: number }>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly logger?: Logger,
    private readonly perTenantPerMinute = 600,
    private readonly now: () => number = Date.now,
  ) {}

  /** Never throws: the request has been answered already, and a lost record is only logged. */
  async record(input: FailedRequestInput): Promise<void> {
    if (!this.#admit(input.tenantId)) return;
    try {
      await insertFailedRequest(this.pool, {
        tenantId: input.tenantId,
        corrId: input.corrId.slice(0, 64),
        method: input.method.slice(0, 10),
        path: (input.url.split('?')[0] ?? '').slice(0, 300),
        statusCode: input.statusCode,
        errorCode: input.errorCode?.slice(0, 64),
        message: input.message === undefined ? undefined : scrub(input.message).slice(0, 500),
      });
    } catch (err) {
      this.logger?.warn({ err: (err as Error).message, corrId: input.corrId }, 'failed request not recorded');
    }
  }

  #admit(tenantId: number): boolean {
    const now = this.now();
    let w = this.#windows.get(tenantId);
    if (!w || now - w.start >= 60_000) {
      if (w && w.dropped > 0) this.logger?.warn({ tenantId, dropped: w.dropped }, 'failed requests over the per-minute limit were not recorded');
      if (this.#windows.size > 10_000) this.#windows.clear();
      w = { start: now, count: 0, dropped: 0 };
      this.#windows.set(tenantId, w);
    }
    if (w.count >= this.perTenantPerMinute) {
      w.dropped += 1;
      return false;
    }
    w.count += 1;
    return true;
  }

  find(tenantId: number, corrId: string): Promise<FailedRequest[]> {
    return failedRequestsByCorrId(this.pool, tenantId, corrId.trim().slice(0, 64));
  }

  recent(tenantId: number, limit = 50): Promise<FailedRequest[]> {
    return recentFailedRequests(this.pool, tenantId, limit);
  }
}
