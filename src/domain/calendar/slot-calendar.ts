import { openIntervals, type BusinessHours, type Interval } from './business-hours.ts';
import { capacityAt, type CapacityRule } from './capacity-rule.ts';
import { DAY_MS, MINUTE_MS, offsetAt, offsetSegments, wallDay, wallToInstant, type OffsetSegment } from './time-zone.ts';

/** One bookable time slot: [start, end) as instants, with the rule's capacity for it. */
export interface Slot {
  start: number;
  end: number;
  total: number;
  offsetMs: number; // UTC offset of the business-hours zone at `start`
}

export interface ServiceCalendar {
  hours: BusinessHours;
  rule: CapacityRule;
}

/**
 * The slots of a service overlapping [fromMs, toMs). Slots tile the open hours exactly: their
 * boundaries are the opening and closing instants, the local wall-clock multiples of the slot length
 * (counted from local midnight), and the instants when the zone's offset changes. So no slot overlaps
 * another, none leaves the open hours, a day's slots add up to its open time, and on a clock-change
 * day a slot never spans the jump. A slot shorter than the slot length (office opens at 09:10, or a
 * 30-minute DST jump) gets the rule's capacity in proportion to its length, rounded down.
 */
export function slotsBetween(cal: ServiceCalendar, fromMs: number, toMs: number): Slot[] {
  const open = openIntervals(cal.hours, fromMs, toMs);
  if (open.length === 0) return [];
  const segments = offsetSegments(cal.hours.timeZone, open[0]!.start, open[open.length - 1]!.end);
  const out: Slot[] = [];
  for (const interval of open) {
    for (const slot of tile(interval, segments, cal.rule)) {
      if (slot.end > fromMs && slot.start < toMs) out.push(slot);
    }
  }
  return out;
}

function tile(interval: Interval, segments: readonly OffsetSegment[], rule: CapacityRule): Slot[] {
  const slotMs = rule.slotMinutes * MINUTE_MS;
  // Segments are in order and grid points rise inside each, so the cuts come out sorted; only
  // a segment start that is also a grid point repeats.
  const points: number[] = [];
  const add = (t: number) => {
    if (points.length === 0 || points[points.length - 1]! < t) points.push(t);
  };
  for (const seg of segments) {
    const a = Math.max(seg.start, interval.start);
    const b = Math.min(seg.end, interval.end);
    if (a >= b) continue;
    add(a);
    // Wall time w = t + offset; a boundary wherever w is a multiple of the slot length, which
    // divides a day, so boundaries line up with local midnight.
    for (let t = Math.ceil((a + seg.offsetMs) / slotMs) * slotMs - seg.offsetMs; t < b; t += slotMs) add(t);
  }
  add(interval.end);
  const slots: Slot[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const start = points[i]!;
    const end = points[i + 1]!;
    const offsetMs = offsetAt(segments, start);
    const wall = start + offsetMs;
    const day = wallDay(wall);
    const minute = Math.floor((wall - day * DAY_MS) / MINUTE_MS);
    const full = capacityAt(rule, day, minute);
    const total = end - start >= slotMs ? full : Math.floor((full * (end - start)) / slotMs);
    slots.push({ start, end, total, offsetMs });
  }
  return slots;
}

/** The slot containing instant `t`, if the office is open then. */
export function slotAt(cal: ServiceCalendar, t: number): Slot | undefined {
  return slotsBetween(cal, t, t + 1).find((s) => s.start <= t && t < s.end);
}

/** The first slot starting at or after `t` (the next opening when `t` is off-hours), within `limitMs`. */
export function nextSlotFrom(cal: ServiceCalendar, t: number, limitMs: number): Slot | undefined {
  for (let from = t; from < limitMs; from += 7 * DAY_MS) {
    const next = slotsBetween(cal, from, Math.min(from + 7 * DAY_MS, limitMs)).find((s) => s.start >= t);
    if (next) return next;
  }
  return undefined;
}

const tiles = new WeakMap<ServiceCalendar, Map<number, readonly Slot[]>>();
const MAX_TILES_PER_CALENDAR = 4000;

/**
 * The same slots as {@link slotsBetween}, assembled from per-local-day tiles that are computed once
 * per calendar. Local midnight is always a slot boundary, so every slot belongs to exactly one
 * local day: the day its start falls on. Calendars are immutable and shared (booking-plan caches
 * them by content), so the tiles can be too.
 */
export function cachedSlotsBetween(cal: ServiceCalendar, fromMs: number, toMs: number): Slot[] {
  let byDay = tiles.get(cal);
  if (!byDay) tiles.set(cal, (byDay = new Map<number, readonly Slot[]>()));
  if (byDay.size > MAX_TILES_PER_CALENDAR) byDay.clear();
  const zone = cal.hours.timeZone;
  const segments = offsetSegments(zone, fromMs, Math.max(toMs, fromMs + 1));
  const firstDay = wallDay(fromMs + segments[0]!.offsetMs);
  const lastDay = wallDay(Math.max(toMs - 1, fromMs) + segments[segments.length - 1]!.offsetMs);
  const out: Slot[] = [];
  for (let day = firstDay; day <= lastDay; day++) {
    let tile = byDay.get(day);
    if (!tile) {
      const start = wallToInstant(zone, day, 0, 'open');
      const end = wallToInstant(zone, day + 1, 0, 'open');
      tile = slotsBetween(cal, start, end).filter((s) => s.start >= start && s.start < end);
      byDay.set(day, tile);
    }
    for (const s of tile) if (s.end > fromMs && s.start < toMs) out.push(s);
  }
  return out;
}
