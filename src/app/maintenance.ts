import type pg from 'pg';
import type { Logger } from 'pino';
import { ensurePartitions, dropExpiredPartitions } from '../store/partition-store.ts';
import { purgeIdempotencyKeys, purgeSlotBookings } from '../store/callback-store.ts';
import { purgeCallInRequests } from '../store/call-in-store.ts';
import { purgeFailedRequests } from '../store/failed-request-store.ts';
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
}

/**
 * Periodic housekeeping that any node may run (each step is idempotent and serialised in the
 * database): keep daily partitions ready for every bookable day, apply the 14-day retention by
 * dropping whole partitions, forget idempotency keys older than 24 h and slot counters of days
 * past retention, mark expired call-in requests and delete those past retention, re-measure clock
 * skew.
 */
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

  async runOnce(): Promise<MaintenanceReport> {
    try {
      const report = await this.#round();
      this.observer?.maintenanceDone(report);
      return report;
    } catch (err) {
      this.observer?.maintenanceFailed();
      throw err;
    }
  }

  async #round(): Promise<MaintenanceReport> {
    const partitionsCreated = await ensurePartitions(this.pool, this.retentionDays, MAX_HORIZON_DAYS + 1);
    const partitionsDropped = await dropExpiredPartitions(this.pool, this.retentionDays);
    const idempotencyKeysPurged = await purgeIdempotencyKeys(this.pool);
    const slotCountersPurged = await purgeSlotBookings(this.pool, this.retentionDays);
    const callIn = await purgeCallInRequests(this.pool, this.retentionDays);
    const failedRequestsPurged = await purgeFailedRequests(this.pool, this.retentionDays);
    const clockOffsetMs = await this.clock.sync(this.pool);
    return {
      partitionsCreated, partitionsDropped, idempotencyKeysPurged, slotCountersPurged,
      callInExpired: callIn.expired, callInPurged: callIn.deleted, failedRequestsPurged, clockOffsetMs,
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
