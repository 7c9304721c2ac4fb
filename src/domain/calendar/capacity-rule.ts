import { weekdayOfDay } from './time-zone.ts';

export const SLOT_MINUTES = [5, 10, 15, 20, 30, 60, 120] as const;
export type SlotMinutes = (typeof SLOT_MINUTES)[number];

/** Capacity of the slots that start in [from, to) minutes of the day. */
export interface CapacityRange {
  from: number;
  to: number;
  capacity: number;
}

/**
 * How many scheduled callbacks each slot may take. Like GES's rules it has no zone of its own: it is
 * read in the zone of the service's business hours. Date exceptions replace a weekday's ranges;
 * slots no range covers get `defaultCapacity`.
 */
export interface CapacityRule {
  slotMinutes: SlotMinutes;
  defaultCapacity: number;
  weekly: readonly (readonly CapacityRange[])[]; // 7 entries, 0 = Monday
  exceptions: ReadonlyMap<number, readonly CapacityRange[]>; // day number -> ranges
}

/** Capacity of a full-length slot starting at `minute` of local day `day`. */
export function capacityAt(rule: CapacityRule, day: number, minute: number): number {
  const ranges = rule.exceptions.get(day) ?? rule.weekly[weekdayOfDay(day)] ?? [];
  for (const r of ranges) if (minute >= r.from && minute < r.to) return r.capacity;
  return rule.defaultCapacity;
}

/** GES's defaults for a service with no capacity rule: 100 per 5-minute bucket (`_max_request_by_time_bucket`). */
export function uniformRule(slotMinutes: SlotMinutes, capacity: number): CapacityRule {
  return { slotMinutes, defaultCapacity: capacity, weekly: Array.from({ length: 7 }, () => []), exceptions: new Map() };
}
