import type { DbClock } from '../store/db-clock.ts';
import type { SchedulingClock } from '../domain/clock.ts';

/**
 * The engine's time. In production it is the database clock: SQL uses now() (sqlNow() is null)
 * and Redis scores use the node's clock corrected by the measured skew. In a simulation it is the
 * simulator's clock, passed to SQL as a parameter, so a day of callbacks runs in seconds and the
 * due times in Postgres and Redis agree with the simulated contact center.
 */
export interface EngineClock {
  nowMs(): number;
  /** The value for SQL's `coalesce($now, now())`. */
  sqlNow(): Date | null;
  /** Runs fn at `atMs` on this clock; returns a cancel function. */
  at(atMs: number, fn: () => void): () => void;
}

export function databaseEngineClock(db: DbClock): EngineClock {
  return {
    nowMs: () => db.now().getTime(),
    sqlNow: () => null,
    at(atMs, fn) {
      const timer = setTimeout(fn, Math.max(0, atMs - db.now().getTime()));
      timer.unref?.();
      return () => clearTimeout(timer);
    },
  };
}

/** The engine on a virtual clock (the simulator's SimClock, or any SchedulingClock). */
export function simulatedEngineClock(sim: SchedulingClock): EngineClock {
  return {
    nowMs: () => sim.now(),
    sqlNow: () => new Date(sim.now()),
    at(atMs, fn) {
      const task = sim.schedule(Math.max(atMs, sim.now()), fn);
      return () => task.cancel();
    },
  };
}
