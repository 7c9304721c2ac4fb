import type pg from 'pg';
import type { Logger } from 'pino';
import { analyzeStalePartitions, ensurePartitions, dropExpiredPartitions } from '../store/partition-store.ts';
import { purgeIdempotencyKeys } from '../store/idempotency-key-store.ts';
import { purgeSlotBookings } from '../store/slot-booking-store.ts';
import { purgeCallInRequests } from '../store/call-in-store.ts';
import { purgeFailedRequests } from '../store/failed-request-store.ts';
import { purgeCaptchaTokens } from '../store/captcha-store.ts';
import type { DbClock } from '../store/db-clock.ts';
import { MAX_HORIZON_DAYS } from '../domain/service-options.ts';

export interface MaintenanceReport {
  partitionsCreated: number;
  partitionsDropped: number;
  idempotencyKeysPurged: number;
  slotCountersPurged: number;
  /** Call-in requests marked EXPIRED, and deleted by the same retention as callbacks. */
  callInExpired: number;
  callInPurged: number;
  /** Failed API requests (console Developer page) older than the retention. */
  failedRequestsPurged: number;
  clockOffsetMs: number;
  /** Digests of spent CAPTCHA tokens past their keeping time (a day). */
  captchaTokensPurged: number;
  /** Daily partitions whose statistics were stale, analyzed this round (analyzeStalePartitions). */
  partitionsAnalyzed: number;
}

/**
 * Periodic housekeeping that any node may run (each step is idempotent and serialised in the
 * database): keep daily partitions ready for every bookable day, apply the 14-day retention by
 * dropping whole partitions, forget idempotency keys older than 24 h and slot counters of days
 * past retention, mark expired call-in requests and delete those past retention, re-measure clock
 * skew, forget spent CAPTCHA tokens after a day.
 */
/** Steps of one round, for progress reports. */
export const MAINTENANCE_STEPS = 9;
/** Partitions analyzed at most per round: a backlog (a restore, autovacuum off for days) is worked off over a few rounds, not in one long one. */
const ANALYZE_PER_ROUND = 8;
export type MaintenanceProgress = (done: number, total: number, step: string) => void;

/** Told about every round, e.g. to move metrics. */
export interface MaintenanceObserver {
  maintenanceDone(report: MaintenanceReport): void;
  maintenanceFailed(): void;
}

export class Maintenance {
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly clock: DbClock,
    private readonly logger: Logger,
    private readonly retentionDays: number,
    private readonly intervalMs: number,
    private readonly observer?: MaintenanceObserver,
  ) {}

  /** One round; `onStep` hears of each step as it ends (`ges purge` draws its progress bar from it). */
  async runOnce(onStep?: MaintenanceProgress): Promise<MaintenanceReport> {
    try {
      const report = await this.#round(onStep ?? (() => undefined));
      this.observer?.maintenanceDone(report);
      return report;
    } catch (err) {
      this.observer?.maintenanceFailed();
      throw err;
    }
  }

  async #round(onStep: MaintenanceProgress): Promise<MaintenanceReport> {
    let done = 0;
    const step = async <T>(name: string, work: Promise<T>): Promise<T> => {
      const result = await work;
      onStep(++done, MAINTENANCE_STEPS, name);
      return result;
    };
    const partitionsCreated = await step('partitions prepared', ensurePartitions(this.pool, this.retentionDays, MAX_HORIZON_DAYS + 1));
    const partitionsDropped = await step('expired days dropped', dropExpiredPartitions(this.pool, this.retentionDays));
    const idempotencyKeysPurged = await step('idempotency keys purged', purgeIdempotencyKeys(this.pool));
    const slotCountersPurged = await step('slot counters purged', purgeSlotBookings(this.pool, this.retentionDays));
    const callIn = await step('call-in requests purged', purgeCallInRequests(this.pool, this.retentionDays));
    const failedRequestsPurged = await step('failed requests purged', purgeFailedRequests(this.pool, this.retentionDays));
    const clockOffsetMs = await step('clock skew measured', this.clock.sync(this.pool));
    const captchaTokensPurged = await step('captcha tokens purged', purgeCaptchaTokens(this.pool));
    const partitionsAnalyzed = await step('partition statistics refreshed', analyzeStalePartitions(this.pool, ANALYZE_PER_ROUND));
    return {
      partitionsCreated,
      partitionsDropped,
      idempotencyKeysPurged,
      slotCountersPurged,
      callInExpired: callIn.expired,
      callInPurged: callIn.deleted,
      failedRequestsPurged,
      clockOffsetMs,
      captchaTokensPurged,
      partitionsAnalyzed,
    };
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      // A failed round is logged and retried at the next tick; it must never take the node down.
      this.runOnce()
        .then((report) => this.logger.debug({ report }, 'maintenance done'))
        .catch((err: unknown) => this.logger.warn({ err }, 'maintenance failed; will retry'));
    }, this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
