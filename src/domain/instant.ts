import { Temporal } from 'temporal-polyfill';
import { GesError } from './errors.ts';

/**
 * Parses an API date-time. GES sends and expects UTC (`2018-06-10T22:05:00.000Z`); an explicit
 * offset is accepted too. A local time without zone is refused: guessing its zone is how callbacks
 * end up an hour off.
 */
export function parseInstant(text: string, field: string): Date {
  let ms: number;
  try {
    ms = Temporal.Instant.from(text).epochMilliseconds;
  } catch {
    throw new GesError(
      field === 'desiredTime' ? 'GES_DESIRED_TIME_INVALID' : 'GES_VALIDATION',
      `${field} must be an ISO 8601 date-time with Z or an offset, e.g. 2030-06-10T22:05:00.000Z (got ${JSON.stringify(text.slice(0, 40))})`,
    );
  }
  assertInstantInRange(ms, field);
  return new Date(ms);
}

/** Instants GES can reason about: callbacks, slots and clocks live between these years. */
export const EARLIEST_INSTANT_MS = Date.UTC(1970, 0, 1);
export const LATEST_INSTANT_MS = Date.UTC(2200, 0, 1);

/** Refuses a well-formed instant outside 1970-2199 with a 400, before any date arithmetic meets it. */
export function assertInstantInRange(ms: number, field: string): void {
  if (!(ms >= EARLIEST_INSTANT_MS && ms < LATEST_INSTANT_MS)) {
    throw new GesError(field === 'desiredTime' ? 'GES_DESIRED_TIME_INVALID' : 'GES_VALIDATION', `${field} must lie between 1970 and 2199`);
  }
}
