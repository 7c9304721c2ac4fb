import { DAY_MS, offsetAt, offsetSegments, wallDay, wallToInstant, weekdayOfDay } from './time-zone.ts';

/** A wall-clock range in minutes of the day. `to <= from` means it ends on the next day. */
export interface WallRange {
  from: number; // 0..1439
  to: number; // 1..1440; 1440 = midnight at the end of the day
}

/**
 * When an office is open, in its own zone: weekly ranges per ISO weekday (0 = Monday), and special
 * days (holidays, changed hours) whose ranges replace that date's weekly ranges; an empty list means
 * closed. A range belongs to the date it starts on, so an overnight range from a normal day still
 * runs into a holiday that follows it.
 */
export interface BusinessHours {
  timeZone: string;
  weekly: readonly (readonly WallRange[])[]; // 7 entries
  specialDays: ReadonlyMap<number, readonly WallRange[]>; // day number -> ranges
}

export interface Interval {
  start: number;
  end: number;
}

/** Open every minute of every day, in UTC: the calendar of a service without business hours. */
export const ALWAYS_OPEN: BusinessHours = Object.freeze({
  timeZone: 'UTC',
  weekly: Object.freeze(Array.from({ length: 7 }, () => Object.freeze([{ from: 0, to: 1440 }]))),
  specialDays: new Map(),
});

export function rangesOfDay(hours: BusinessHours, day: number): readonly WallRange[] {
  return hours.specialDays.get(day) ?? hours.weekly[weekdayOfDay(day)] ?? [];
}

/**
 * The open intervals (instants, merged, sorted) that overlap [fromMs, toMs), unclipped, so a slot
 * grid built on them does not depend on the window asked for.
 */
export function openIntervals(hours: BusinessHours, fromMs: number, toMs: number): Interval[] {
  // Local dates whose ranges can reach the window: an overnight range starts the day before.
  const segs = offsetSegments(hours.timeZone, fromMs - 2 * DAY_MS, toMs + 2 * DAY_MS);
  // The window's own local dates, read with the offsets in force at its ends (not two days away).
  const firstDay = wallDay(fromMs + offsetAt(segs, fromMs)) - 1;
  const lastDay = wallDay(toMs + offsetAt(segs, toMs)) + 1;
  const raw: Interval[] = [];
  for (let day = firstDay; day <= lastDay; day++) {
    for (const r of rangesOfDay(hours, day)) {
      const start = wallToInstant(hours.timeZone, day, r.from, 'open');
      const end = wallToInstant(hours.timeZone, day, r.to > r.from ? r.to : r.to + 1440, 'close');
      if (end > start) raw.push({ start, end });
    }
  }
  raw.sort((a, b) => a.start - b.start);
  const merged: Interval[] = [];
  for (const i of raw) {
    const last = merged[merged.length - 1];
    if (last && i.start <= last.end) last.end = Math.max(last.end, i.end);
    else merged.push({ ...i });
  }
  // Merge before keeping the intervals that overlap the window: a range that only touches the window
  // from outside still extends an interval inside it, and so moves that interval's slot boundaries.
  return merged.filter((i) => i.end > fromMs && i.start < toMs);
}

/** Longest look-ahead of openFor: an office that never closes reports this many seconds. */
export const OPEN_FOR_CAP_DAYS = 366;

/** Seconds from `t` until the office closes, 0 when it is closed at `t`. */
export function openForSeconds(hours: BusinessHours, t: number): number {
  let horizon = 14;
  for (;;) {
    const end = t + horizon * DAY_MS;
    const current = openIntervals(hours, t, end).find((i) => i.start <= t && t < i.end);
    if (!current) return 0;
    if (current.end < end || horizon >= OPEN_FOR_CAP_DAYS) {
      // Whole seconds, but never 0 while open (0 means closed), even in the last second before closing.
      return Math.max(1, Math.floor((Math.min(current.end, t + OPEN_FOR_CAP_DAYS * DAY_MS) - t) / 1000));
    }
    horizon = Math.min(horizon * 4, OPEN_FOR_CAP_DAYS);
  }
}
