import { GesError } from '../errors.ts';
import type { ServiceOptions } from '../service-options.ts';
import { ALWAYS_OPEN } from './business-hours.ts';
import { parseBusinessHours, parseCapacityRule } from './calendar-config.ts';
import { uniformRule } from './capacity-rule.ts';
import { cachedSlotsBetween, nextSlotFrom, slotAt, type ServiceCalendar, type Slot } from './slot-calendar.ts';
import { DAY_MS, MINUTE_MS } from './time-zone.ts';

/**
 * Booking decisions of a service's calendar: where a desired time lands, what is still available,
 * and which slots to propose when one is full. Pure: booked counts come in, decisions go out.
 */

const parsed = new Map<string, ServiceCalendar>();

/**
 * A service with no business hours is open all the time (in UTC); with no capacity rule it uses its
 * bucket options. Parsed calendars are kept by content, since every availability request and
 * booking needs one and the documents rarely change.
 */
export function serviceCalendar(hoursDoc: unknown, ruleDoc: unknown, options: ServiceOptions): ServiceCalendar {
  const key = JSON.stringify([hoursDoc, ruleDoc, ruleDoc ? null : [options.slotMinutes, options.slotCapacity]]);
  const hit = parsed.get(key);
  if (hit) return hit;
  const cal = {
    hours: hoursDoc ? parseBusinessHours(hoursDoc) : ALWAYS_OPEN,
    rule: ruleDoc ? parseCapacityRule(ruleDoc) : uniformRule(options.slotMinutes, options.slotCapacity),
  };
  if (parsed.size > 1000) parsed.clear();
  parsed.set(key, cal);
  return cal;
}

/** Anything that carries a service's calendar documents (a stored service row, for one). */
export interface CalendarDocs {
  businessHours: { definition: unknown } | null;
  capacityRule: { definition: unknown } | null;
}

/** The calendar of a service from its stored documents and options. */
export function calendarOf(service: CalendarDocs, options: ServiceOptions): ServiceCalendar {
  return serviceCalendar(service.businessHours?.definition ?? null, service.capacityRule?.definition ?? null, options);
}

export interface SlotChoice {
  slot: Slot;
  desiredTime: number; // the requested time, or the next opening when it fell outside business hours
}

/**
 * The slot a scheduled callback at `desired` books. Off-hours: the first slot of the next opening,
 * unless the service refuses off-hours requests. Past and horizon checks happen before this.
 */
export function chooseSlot(cal: ServiceCalendar, options: ServiceOptions, desired: number, now: number): SlotChoice {
  const notice = now + options.minNoticeMinutes * MINUTE_MS;
  if (options.minNoticeMinutes > 0 && desired < notice) {
    throw new GesError('GES_DESIRED_TIME_TOO_SOON', `desiredTime must be at least ${options.minNoticeMinutes} minutes ahead`);
  }
  const slot = slotAt(cal, desired);
  if (slot) return { slot, desiredTime: desired };
  if (options.rejectOutOfHours) {
    throw new GesError('GES_OUTSIDE_BUSINESS_HOURS', `desiredTime ${new Date(desired).toISOString()} is outside business hours`);
  }
  const next = nextSlotFrom(cal, desired, now + options.horizonDays * DAY_MS);
  if (!next)
    throw new GesError(
      'GES_OUTSIDE_BUSINESS_HOURS',
      `desiredTime ${new Date(desired).toISOString()} is outside business hours and there is no opening within ${options.horizonDays} days`,
    );
  return { slot: next, desiredTime: next.start };
}

export interface OpenSlot {
  slot: Slot;
  remaining: number;
}

export interface AvailabilityWindow {
  fromMs: number;
  toMs: number; // == fromMs: the slot containing fromMs
  maxSlots?: number;
  reportBusy: boolean;
  nowMs: number;
}

/**
 * Slots a customer may still pick: open, with room (unless reportBusy), within the horizon, and
 * starting no sooner than now plus the minimum notice, so that booking any offered slot at its
 * `utcTime` is accepted. (A slot already running is not offered: its start is in the past.)
 */
export function availableSlots(cal: ServiceCalendar, options: ServiceOptions, booked: ReadonlyMap<number, number>, w: AvailabilityWindow): OpenSlot[] {
  const earliest = w.nowMs + options.minNoticeMinutes * MINUTE_MS;
  const horizon = w.nowMs + options.horizonDays * DAY_MS;
  const to = Math.min(w.toMs > w.fromMs ? w.toMs : w.fromMs + 1, horizon);
  if (to <= w.fromMs) return [];
  const out: OpenSlot[] = [];
  for (const slot of cachedSlotsBetween(cal, w.fromMs, to)) {
    if (slot.start < earliest || slot.start > horizon) continue;
    const remaining = Math.max(0, slot.total - (booked.get(slot.start) ?? 0));
    if (remaining > 0 || w.reportBusy) out.push({ slot, remaining });
    if (w.maxSlots !== undefined && out.length >= w.maxSlots) break;
  }
  return out;
}

/** GES's ProposedSlots of a 429: the next `count` slots with room after the full one, as {utc ISO: remaining}. */
export function proposedSlots(open: readonly OpenSlot[], count = 5): { slots: Record<string, string> } {
  return { slots: Object.fromEntries(open.slice(0, count).map((o) => [new Date(o.slot.start).toISOString(), String(o.remaining)])) };
}
