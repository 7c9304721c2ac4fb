import { Temporal } from 'temporal-polyfill';
import { GesError } from './errors.ts';

/**
 * Parses an API date-time. GES sends and expects UTC (`2018-06-10T22:05:00.000Z`); an explicit
 * offset is accepted too. A local time without zone is refused: guessing its zone is how callbacks
 * end up an hour off.
 */
export function parseInstant(text: string, field: string): Date {
  try {
    return new Date(Temporal.Instant.from(text).epochMilliseconds);
  } catch {
    throw new GesError(field === 'desiredTime' ? 'GES_DESIRED_TIME_INVALID' : 'GES_VALIDATION', `${field} must be an ISO 8601 date-time with Z or an offset, e.g. 2030-06-10T22:05:00.000Z (got ${JSON.stringify(text.slice(0, 40))})`);
  }
}
