import type { Queryable } from './db.ts';
import { listMigrations, pendingMigrations, type Migration } from './migrator.ts';

export interface DatabaseReading {
  /** The database answered `SELECT 1` within the timeout. */
  up: boolean;
  /** Shipped migrations not applied; undefined until the database has answered once. */
  pending: string[] | undefined;
  /** Why it counts as down (the driver's message), when it does. */
  error?: string;
  /** When the check ended (node clock, ms). */
  at: number;
}

/**
 * The one database-health probe of a node, shared by readiness (which asks for a fresh check) and
 * the metrics (which only read the last reading, so a scrape runs no SQL). A check is `SELECT 1`
 * bounded by a timeout (a connection that cannot be had in time counts as down), then the pending
 * migrations while any remain: once none remain the answer cannot change for the life of the
 * process, so it is not asked again. Concurrent checks share one run. `start()` keeps the reading
 * fresh in the background for a node that is scraped but never probed.
 */
export class DatabaseHealth {
  #last: DatabaseReading | undefined;
  #running: Promise<DatabaseReading> | undefined;
  #migrated = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #migrations: Migration[];

  constructor(
    private readonly db: Queryable,
    private readonly timeoutMs = 1000,
    migrations: Migration[] = listMigrations(),
  ) {
    this.#migrations = migrations;
  }

  /** The last reading, or undefined before the first check ended. Runs nothing. */
  current(): DatabaseReading | undefined {
    return this.#last;
  }

  /** Checks now (or joins the check already running). Never rejects. */
  check(): Promise<DatabaseReading> {
    this.#running ??= this.#probe()
      .then((reading) => (this.#last = reading))
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  /** Re-checks every `intervalMs` until stop(); the timer never keeps the process alive. */
  start(intervalMs: number): void {
    this.stop();
    void this.check();
    this.#timer = setInterval(() => void this.check(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #probe(): Promise<DatabaseReading> {
    try {
      await withTimeout(this.db.query('SELECT 1'), this.timeoutMs);
      if (this.#migrated) return { up: true, pending: [], at: Date.now() };
      const pending = await withTimeout(pendingMigrations(this.db, this.#migrations), this.timeoutMs);
      this.#migrated = pending.length === 0;
      return { up: true, pending, at: Date.now() };
    } catch (err) {
      return { up: false, pending: this.#last?.pending, error: (err as Error).message, at: Date.now() };
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  promise.catch(() => undefined); // a late failure after the timeout must not go unhandled
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
