import { Temporal } from 'temporal-polyfill';

/**
 * Time-zone arithmetic for the calendar. Every conversion between wall-clock time and instants
 * goes through Temporal; everything else is integer arithmetic on epoch milliseconds inside spans
 * of constant UTC offset, which is what keeps availability cheap.
 */

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

const zones = new Set(Intl.supportedValuesOf('timeZone'));
zones.add('UTC');

export function isValidTimeZone(zone: string): boolean {
  if (zones.has(zone)) return true;
  try {
    Temporal.Now.zonedDateTimeISO(zone);
    return true;
  } catch {
    return false;
  }
}

/** A stretch of time during which the zone's UTC offset does not change. */
export interface OffsetSegment {
  start: number;
  end: number;
  offsetMs: number;
}

/** The constant-offset stretches covering [fromMs, toMs), split at every offset transition. */
export function offsetSegments(zone: string, fromMs: number, toMs: number): OffsetSegment[] {
  const segments: OffsetSegment[] = [];
  let zdt = Temporal.Instant.fromEpochMilliseconds(fromMs).toZonedDateTimeISO(zone);
  let start = fromMs;
  while (start < toMs) {
    const next = zdt.getTimeZoneTransition('next');
    const end = next ? Math.min(next.epochMilliseconds, toMs) : toMs;
    segments.push({ start, end, offsetMs: zdt.offsetNanoseconds / 1e6 });
    if (!next || end >= toMs) break;
    start = end;
    zdt = next;
  }
  return segments;
}

/** The offset in force at `t`; `t` must lie inside the segments. */
export function offsetAt(segments: readonly OffsetSegment[], t: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segments[mid]!.start <= t) lo = mid;
    else hi = mid - 1;
  }
  return segments[lo]!.offsetMs;
}

/** Days since 1970-01-01 of a wall-clock epoch value (instant + offset). */
export function wallDay(wallMs: number): number {
  return Math.floor(wallMs / DAY_MS);
}

/** ISO weekday index, 0 = Monday ... 6 = Sunday, of a day number (1970-01-01 was a Thursday). */
export function weekdayOfDay(day: number): number {
  return (((day + 3) % 7) + 7) % 7;
}

export function isoDateOfDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export function dayOfIsoDate(date: string): number {
  return Math.round(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
}

const two = (n: number) => (n < 10 ? `0${n}` : String(n));
const dayPrefix = new Map<number, string>();

/**
 * `YYYY-MM-DDTHH:mm:ss.SSS` of an epoch value, built from a per-day cache: availability renders
 * two of these for each of up to a few thousand slots per request, and Date#toISOString is the
 * slowest part of that.
 */
function isoWall(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  let prefix = dayPrefix.get(day);
  if (prefix === undefined) {
    if (dayPrefix.size > 10_000) dayPrefix.clear();
    prefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
    dayPrefix.set(day, prefix);
  }
  const rest = ms - day * DAY_MS;
  const h = Math.floor(rest / 3_600_000);
  const m = Math.floor((rest % 3_600_000) / MINUTE_MS);
  const sec = Math.floor((rest % MINUTE_MS) / 1000);
  const milli = rest % 1000;
  return `${prefix}${two(h)}:${two(m)}:${two(sec)}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}`;
}

/** `YYYY-MM-DDTHH:mm:ss.SSSZ`, as Date#toISOString for the years GES deals in. */
export function formatUtc(t: number): string {
  return `${isoWall(t)}Z`;
}

/** `YYYY-MM-DDTHH:mm:ss.SSS±HH:MM`: the local time with its offset, unambiguous on fall-back days. */
export function formatLocal(t: number, offsetMs: number): string {
  const sign = offsetMs < 0 ? '-' : '+';
  const abs = Math.abs(offsetMs) / MINUTE_MS;
  return `${isoWall(t + offsetMs)}${sign}${two(Math.floor(abs / 60))}:${two(abs % 60)}`;
}

/**
 * The instant at which a wall-clock time of a date happens in a zone, under GES's documented rule
 * for clock changes (docs/CALENDAR.md):
 * - a time that does not exist (spring-forward gap) is the moment the clocks jump;
 * - a time that exists twice (fall-back overlap) is its earlier occurrence for an opening and its
 *   later occurrence for a closing, so an office open across the repeated hour stays open for both.
 * `minutes` may be 1440 (24:00, the end of the day).
 */
export function wallToInstant(zone: string, day: number, minutes: number, role: 'open' | 'close'): number {
  // Business hours ask for the same few wall times day after day; Temporal is the costly part.
  const key = `${zone}|${day}|${minutes}|${role}`;
  const hit = wallCache.get(key);
  if (hit !== undefined) return hit;
  if (wallCache.size > 100_000) wallCache.clear();
  const t = computeWallToInstant(zone, day, minutes, role);
  wallCache.set(key, t);
  return t;
}

const wallCache = new Map<string, number>();

function computeWallToInstant(zone: string, day: number, minutes: number, role: 'open' | 'close'): number {
  const date = Temporal.PlainDate.from(isoDateOfDay(day)).add({ days: Math.floor(minutes / 1440) });
  const m = minutes % 1440;
  const wall = date.toPlainDateTime({ hour: Math.floor(m / 60), minute: m % 60 });
  const earlier = wall.toZonedDateTime(zone, { disambiguation: 'earlier' });
  if (!earlier.toPlainDateTime().equals(wall)) {
    // In a gap: 'earlier' lands before the jump, whose instant is the next transition.
    return earlier.getTimeZoneTransition('next')!.epochMilliseconds;
  }
  if (role === 'open') return earlier.epochMilliseconds;
  return wall.toZonedDateTime(zone, { disambiguation: 'later' }).epochMilliseconds;
}

/** Reads `YYYY-MM-DDTHH:mm[:ss[.SSS]]` without zone as a wall time of `zone` (gap: after the jump). */
export function localToInstant(text: string, zone: string): number {
  return Temporal.PlainDateTime.from(text).toZonedDateTime(zone, { disambiguation: 'compatible' }).epochMilliseconds;
}

/** The instant `days` calendar days after `t` in `zone` (24 h apart except across a clock change). */
export function addCalendarDays(t: number, days: number, zone: string): number {
  return Temporal.Instant.fromEpochMilliseconds(t).toZonedDateTimeISO(zone).add({ days }).epochMilliseconds;
}

/** The instant local midnight began on the day containing `t`, in `zone` (a DST day may start at 01:00). */
export function startOfLocalDay(t: number, zone: string): number {
  return Temporal.Instant.fromEpochMilliseconds(t).toZonedDateTimeISO(zone).startOfDay().epochMilliseconds;
}
