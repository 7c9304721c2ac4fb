/**
 * Clocks as the engine and the simulator share them (types only). The engine runs on whatever
 * implements SchedulingClock: the simulator's virtual clock in simulations and benchmarks, so a
 * day of callbacks runs in seconds; production wraps the database clock instead
 * (src/engine/engine-clock.ts).
 */

/** Epoch milliseconds. */
export interface Clock {
  now(): number;
}

/** A task waiting on a clock; cancel() is a no-op once it has run or been cancelled. */
export interface ScheduledTask {
  readonly at: number;
  cancel(): void;
}

/** A clock that also runs callbacks at a time of its own. */
export interface SchedulingClock extends Clock {
  /** Runs fn when the clock reaches `atMs` (at once, on the clock's next step, for a time already past). */
  schedule(atMs: number, fn: () => void): ScheduledTask;
}
