/**
 * GES's own per-callback resource figures, as measured by the benchmarks (docs/BENCHMARKS.md).
 * `ges sizing` computes from these alone: when a benchmark's result changes, update the figure here
 * (and the section of docs/BENCHMARKS.md it comes from), nothing else.
 */
export const GES_SIZING_FIGURES = Object.freeze({
  /** Postgres bytes per callback without user data, indexes and slot counter included (bench:storage, scenario a). */
  postgresBytesPerCallback: 408,
  /** Postgres bytes per byte of user data, stored deflated in page-sized chunks (bench:storage, scenarios b and c). */
  postgresBytesPerUserDataByte: 0.883,
  /** Redis bytes per callback waiting in the due index or a queue: ids and times only, never user data (bench:engine). */
  redisBytesPerWaitingCallback: 133,
  /**
   * Redis commands over one callback's life, from created to completed, Lua-internal calls included
   * (bench:engine, the worst measured case: one at a time with calls longer than the dial watchdog).
   */
  redisCommandsPerCallback: 14,
  /** Redis commands per second of an idle node: wake-up polls and liveness renewals, whatever the number of tenants (bench:engine). */
  redisCommandsPerSecondIdleNode: 0.533,
});

export type SizingFigures = typeof GES_SIZING_FIGURES;
