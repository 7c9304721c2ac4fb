import { Temporal } from 'temporal-polyfill';
import { GesError } from '../errors.ts';
import { assertInstantInRange } from '../instant.ts';
import { addCalendarDays, DAY_MS, isValidTimeZone, localToInstant } from './time-zone.ts';

/** Query parameters of GET /callbacks/availability (ges-api.md §1.4), as the schema admits them. */
export interface AvailabilityParams {
  start?: string;
  startMS?: number;
  end?: string;
  endMS?: number;
  numberOfDays?: number;
  timezone?: string;
  maxTimeSlots?: number;
  reportBusy?: boolean;
}

export interface AvailabilityRange {
  fromMs: number;
  toMs: number; // == fromMs: only the slot containing the start, as GES does without an end
  timeZone: string;
  maxSlots?: number;
  reportBusy: boolean;
}

/** Longest range one request may ask for: a month of slots is already more than any picker shows. */
export const MAX_RANGE_DAYS = 31;

/** Resolves `timezone`, defaulting to UTC; unknown zones are a 400. */
export function requestZone(timezone: string | undefined): string {
  const zone = timezone ?? 'UTC';
  if (!isValidTimeZone(zone)) throw new GesError('GES_TIMEZONE_INVALID', `timezone ${JSON.stringify(zone)} is not a known IANA time zone (e.g. Europe/Paris)`);
  return zone;
}

/**
 * A date-time parameter: with Z or an offset it is an instant; without, a local time of the request
 * zone (GES: "local yyyy-MM-ddTHH:mm:ss.SSS when timezone is given"; UTC otherwise).
 */
export function parseDateTimeParam(text: string, zone: string, name: string): number {
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(text);
  let ms: number | undefined;
  try {
    if (zoned) ms = Temporal.Instant.from(text).epochMilliseconds;
    else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$/.test(text)) ms = localToInstant(text, zone);
  } catch {
    ms = undefined; // refused below
  }
  if (ms !== undefined) {
    assertInstantInRange(ms, name);
    return ms;
  }
  throw new GesError(
    'GES_VALIDATION',
    `${name} must be an ISO 8601 date-time, e.g. 2030-06-10T09:00:00.000Z, or a local time like 2030-06-10T09:00:00.000 with timezone (got ${JSON.stringify(text.slice(0, 40))})`,
  );
}

/** Applies GES's rules for combining start/startMS with end/endMS/numberOfDays. */
export function resolveAvailabilityRange(p: AvailabilityParams, nowMs: number): AvailabilityRange {
  // The HTTP schema already bounds these; a query-string coercion of "1e999" to Infinity slipped
  // past it once, so the domain checks them again before any date arithmetic.
  const whole = (v: number | undefined, name: string, min: number, max: number) => {
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= min && v <= max))
      throw new GesError('GES_VALIDATION', `${name} must be a whole number from ${min} to ${max}`);
  };
  whole(p.numberOfDays, 'numberOfDays', 0, MAX_RANGE_DAYS);
  whole(p.maxTimeSlots, 'maxTimeSlots', 1, 10_000);
  whole(p.startMS, 'startMS', 0, 8_640_000_000_000);
  whole(p.endMS, 'endMS', 0, 8_640_000_000_000);
  const timeZone = requestZone(p.timezone);
  if (p.start !== undefined && p.startMS !== undefined) throw new GesError('GES_VALIDATION', 'give start or startMS, not both');
  const ends = [p.end, p.endMS, p.numberOfDays].filter((v) => v !== undefined).length;
  if (ends > 1) throw new GesError('GES_VALIDATION', 'give only one of end, endMS and numberOfDays');
  const fromMs = p.startMS ?? (p.start !== undefined ? parseDateTimeParam(p.start, timeZone, 'start') : nowMs);
  if (p.startMS !== undefined) assertInstantInRange(p.startMS, 'startMS');
  let toMs = fromMs;
  if (p.endMS !== undefined) toMs = p.endMS;
  else if (p.end !== undefined) toMs = parseDateTimeParam(p.end, timeZone, 'end');
  else if (p.numberOfDays !== undefined) toMs = addCalendarDays(fromMs, p.numberOfDays, timeZone);
  if (toMs < fromMs) throw new GesError('GES_VALIDATION', 'end must not be before start');
  if (toMs - fromMs > MAX_RANGE_DAYS * DAY_MS + 2 * 3_600_000) throw new GesError('GES_VALIDATION', `the range may span at most ${MAX_RANGE_DAYS} days`);
  return { fromMs, toMs, timeZone, maxSlots: p.maxTimeSlots, reportBusy: p.reportBusy ?? false };
}
