import { cachedSlotsBetween, type ServiceCalendar } from './slot-calendar.ts';
import { DAY_MS, isoDateOfDay, offsetSegments, wallDay, weekdayOfDay, wallToInstant } from './time-zone.ts';

/** Booked against total capacity of the slots that start in one local hour. */
export interface HeatCell {
  booked: number;
  total: number;
}

export interface HeatDay {
  date: string; // YYYY-MM-DD in the calendar's zone
  weekday: number; // 0 = Monday
  hours: HeatCell[]; // 24 entries, by local hour of the slot start
}

/**
 * Booked versus total capacity per local hour for `days` local days starting with the day of
 * `fromMs`, in the zone of the service's business hours (the zone its capacity rule is read in).
 * Pure: the booked counts per slot start come in.
 */
export function capacityHeatmap(cal: ServiceCalendar, booked: ReadonlyMap<number, number>, fromMs: number, days: number): HeatDay[] {
  const zone = cal.hours.timeZone;
  const firstDay = wallDay(fromMs + offsetOf(zone, fromMs));
  const start = wallToInstant(zone, firstDay, 0, 'open');
  const end = wallToInstant(zone, firstDay + days, 0, 'open');
  const out: HeatDay[] = Array.from({ length: days }, (_, i) => ({
    date: isoDateOfDay(firstDay + i),
    weekday: weekdayOfDay(firstDay + i),
    hours: Array.from({ length: 24 }, () => ({ booked: 0, total: 0 })),
  }));
  for (const slot of cachedSlotsBetween(cal, start, end)) {
    const wall = slot.start + slot.offsetMs;
    const index = wallDay(wall) - firstDay;
    const cell = out[index]?.hours[Math.floor((wall - wallDay(wall) * DAY_MS) / 3_600_000)];
    if (!cell) continue;
    cell.total += slot.total;
    cell.booked += booked.get(slot.start) ?? 0;
  }
  return out;
}

function offsetOf(zone: string, t: number): number {
  return offsetSegments(zone, t, t + 1)[0]!.offsetMs;
}
