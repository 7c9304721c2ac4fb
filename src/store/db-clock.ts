import type { Queryable } from './db.ts';

/**
 * The database clock as seen from this node. Durable timestamps are always written with now() in
 * SQL; this offset serves the pure checks that need "now" before any statement runs (is a desired
 * time in the past, beyond the horizon). It is re-measured by the maintenance loop.
 */
export class DbClock {
  #offsetMs = 0;

  /**
   * `testSkewMs` (TEST_CLOCK_SKEW_MS, tests only): added to every reading, so this node acts as if
   * its clock ran that far ahead of the database's, as a node whose skew was measured wrong would.
   */
  constructor(private readonly testSkewMs = 0) {}

  /** Measures node-to-database skew, compensating half the round trip. Returns the offset in ms. */
  async sync(db: Queryable): Promise<number> {
    const before = Date.now();
    const { rows } = await db.query<{ ms: string }>(`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint::text AS ms`);
    const after = Date.now();
    this.#offsetMs = Number(rows[0]!.ms) - (before + after) / 2;
    return this.#offsetMs;
  }

  get offsetMs(): number {
    return this.#offsetMs;
  }

  /** Test hook (rule A.11): from now on, pretend the database clock reads `ms` at this moment. */
  __test__pretendNow(ms: number): void {
    this.#offsetMs = ms - Date.now();
  }

  now(): Date {
    return new Date(Date.now() + this.#offsetMs + this.testSkewMs);
  }
}
