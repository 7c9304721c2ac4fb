import { GES_SIZING_FIGURES, type SizingFigures } from './sizing-figures.ts';

/**
 * Sizing of Postgres and Redis for a callback load: GES's needs from its measured figures, beside
 * what the seed's sizing guide gives for the same load (its formulas are kept here as written
 * there). Pure arithmetic, no I/O. 1 kB = 1,000 bytes, as in the seed's guide.
 */

export interface SizingInput {
  /** Callbacks created per day. */
  callbacksPerDay: number;
  /** Average userData per callback, in kB. */
  userDataKb: number;
  /** Days a callback is kept after its desired time (the retention: 14). */
  days: number;
  /** Share of callbacks that are scheduled (0-1); the others are immediate. */
  scheduledShare: number;
  /** Average days between booking a scheduled callback and its desired time. */
  bookedAheadDays: number;
  /** Hours a day over which callbacks are worked (24 for round the clock). */
  busyHours: number;
  /** Average time a callback waits in its queue for an agent, in minutes (the seed's EWT). */
  ewtMinutes: number;
  /** GES nodes (pods). */
  nodes: number;
  /** Tenants (contact centers); the seed's idle Redis load is per node and per tenant. */
  tenants: number;
}

export const SIZING_DEFAULTS: Omit<SizingInput, 'callbacksPerDay' | 'userDataKb'> = Object.freeze({
  days: 14,
  scheduledShare: 0,
  bookedAheadDays: 14,
  busyHours: 24,
  ewtMinutes: 10,
  nodes: 2,
  tenants: 1,
});

export interface SizingSide {
  postgresBytes: number;
  redisBytes: number;
  redisOpsPerMinute: number;
}

export interface SizingEstimate {
  input: SizingInput;
  /** Callbacks stored at once: kept days of them, plus the scheduled ones booked ahead. */
  callbacksHeld: number;
  /** Scheduled callbacks booked and not yet due, at any moment. */
  scheduledWaiting: number;
  /** Callbacks in their queues at once (arrivals per minute × wait). */
  active: number;
  ges: SizingSide;
  seed: SizingSide;
}

export class SizingInputError extends Error {
  constructor(
    readonly field: keyof SizingInput,
    readonly rule: string,
    readonly value: number,
  ) {
    super(`${field} must be ${rule} (got ${value})`);
  }
}

const KB = 1000;

/** The seed's sizing guide, as written there (kB of 1,000 bytes). */
export const SEED_SIZING = Object.freeze({
  postgresKbPerCallback: 7,
  postgresKbPerUserDataKb: 3,
  redisKbPerCallback: 5.5,
  redisKbPerUserDataKb: 1.25,
  /** "50 base GES Redis operations per second", per node and per tenant. */
  redisOpsPerSecondIdle: 50,
  /** Operations of a callback's ORS session. */
  redisOpsPerCallback: 110,
  /** One operation per minute for each upcoming scheduled callback. */
  redisOpsPerMinutePerScheduled: 1,
});

const LIMITS: Record<keyof SizingInput, { min: number; max: number; integer?: boolean; minExclusive?: boolean }> = {
  callbacksPerDay: { min: 0, max: 1e9, integer: true },
  userDataKb: { min: 0, max: 10_000 },
  days: { min: 1, max: 366, integer: true },
  scheduledShare: { min: 0, max: 1 },
  bookedAheadDays: { min: 0, max: 366 },
  busyHours: { min: 0, max: 24, minExclusive: true },
  ewtMinutes: { min: 0, max: 24 * 60, minExclusive: true },
  nodes: { min: 1, max: 10_000, integer: true },
  tenants: { min: 1, max: 1e6, integer: true },
};

/** Checks every field against its range; the message names the field and the range. */
export function checkSizingInput(input: SizingInput): void {
  for (const [key, limit] of Object.entries(LIMITS) as [keyof SizingInput, (typeof LIMITS)[keyof SizingInput]][]) {
    const v = input[key];
    const ok = Number.isFinite(v) && (limit.minExclusive ? v > limit.min : v >= limit.min) && v <= limit.max && (!limit.integer || Number.isInteger(v));
    if (!ok) {
      const range = limit.minExclusive ? `above ${limit.min} and at most ${limit.max}` : `from ${limit.min} to ${limit.max}`;
      throw new SizingInputError(key, `${limit.integer ? 'a whole number' : 'a number'} ${range}`, v);
    }
  }
}

export function estimateSizing(input: SizingInput, figures: SizingFigures = GES_SIZING_FIGURES): SizingEstimate {
  checkSizingInput(input);
  const n = input.callbacksPerDay;
  const userDataBytes = input.userDataKb * KB;
  const scheduledPerDay = n * input.scheduledShare;
  // The seed's note: scheduled callbacks booked ahead are stored on top of the kept days.
  const callbacksHeld = n * input.days + scheduledPerDay * input.bookedAheadDays;
  const perMinute = n / (input.busyHours * 60);
  const active = perMinute * input.ewtMinutes;
  const activeScheduled = perMinute * input.scheduledShare * input.ewtMinutes;
  const scheduledWaiting = scheduledPerDay * input.bookedAheadDays;

  const ges: SizingSide = {
    postgresBytes: callbacksHeld * (figures.postgresBytesPerCallback + figures.postgresBytesPerUserDataByte * userDataBytes),
    // Redis holds waiting work only; a finished callback leaves nothing there, and user data never goes there.
    redisBytes: (scheduledWaiting + active) * figures.redisBytesPerWaitingCallback,
    // A scheduled callback costs no command while it waits: the engine wakes up for it from the due index.
    redisOpsPerMinute: input.nodes * figures.redisCommandsPerSecondIdleNode * 60 + perMinute * figures.redisCommandsPerCallback,
  };
  const s = SEED_SIZING;
  const seed: SizingSide = {
    postgresBytes: callbacksHeld * (s.postgresKbPerCallback + s.postgresKbPerUserDataKb * input.userDataKb) * KB,
    redisBytes: callbacksHeld * (s.redisKbPerCallback + s.redisKbPerUserDataKb * input.userDataKb) * KB,
    // (50 × 60) per node and tenant + upcoming scheduled callbacks + (active callbacks / EWT) × 110.
    redisOpsPerMinute:
      s.redisOpsPerSecondIdle * 60 * input.nodes * input.tenants +
      Math.max(0, scheduledWaiting - activeScheduled) * s.redisOpsPerMinutePerScheduled +
      (active / input.ewtMinutes) * s.redisOpsPerCallback,
  };
  return { input, callbacksHeld, scheduledWaiting, active, ges, seed };
}

/** Bytes in SI units with three significant digits: 1.3 GB, 950 MB, 133 B. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  const digits = u === 0 ? 0 : v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${units[u]}`;
}

/** A count rounded to a whole number with thousands separators: 138,756. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
