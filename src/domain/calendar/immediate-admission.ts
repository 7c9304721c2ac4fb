import { GesError } from '../errors.ts';
import type { ServiceOptions } from '../service-options.ts';
import { openForSeconds, type BusinessHours } from './business-hours.ts';
import { nextSlotFrom, type ServiceCalendar, type Slot } from './slot-calendar.ts';
import { DAY_MS } from './time-zone.ts';

/**
 * When an immediate callback may be served. GES's options decide it per service (ges-api.md §3.2,
 * §3.3): `_immediate_blackout` stops immediate callbacks some minutes before closing, and
 * `_enable_reject_out_of_office_hours` chooses between refusing a request made while closed and
 * keeping it for the opening. Either way an immediate callback never joins the queue, and so is
 * never dialed, while the office is closed. queue-status uses the same seconds, so its
 * offerImmediateCallback agrees with what a create would do.
 */

export type ImmediateAdmission =
  | { readonly kind: 'now' }
  /**
   * Closed (or in the blackout): kept as a callback in the first slot of the next opening, desired
   * the execution buffer after the opening (within that slot), so that it joins the queue when the
   * office opens rather than the buffer before.
   */
  | { readonly kind: 'at-opening'; readonly slot: Slot; readonly desiredTime: number };

/** Seconds during which an immediate callback is still taken now: open-for minus the blackout, 0 when closed. */
export function immediateSecondsLeft(hours: BusinessHours, options: ServiceOptions, now: number): number {
  return Math.max(0, openForSeconds(hours, now) - options.immediateBlackoutMinutes * 60);
}

export function admitImmediate(cal: ServiceCalendar, options: ServiceOptions, now: number, serviceName: string): ImmediateAdmission {
  if (immediateSecondsLeft(cal.hours, options, now) > 0) return { kind: 'now' };
  const blackout = options.immediateBlackoutMinutes > 0 ? ` or within its ${options.immediateBlackoutMinutes}-minute immediate blackout before closing` : '';
  if (options.rejectOutOfHours) {
    throw new GesError(
      'GES_OUTSIDE_BUSINESS_HOURS',
      `service ${serviceName} takes no immediate callbacks now: it is outside business hours${blackout}; ask again when it opens, or book a desiredTime`,
    );
  }
  // In the blackout the current opening is over for immediate callbacks: look from its end.
  const open = openForSeconds(cal.hours, now);
  const from = open > 0 ? now + (open + 1) * 1000 : now;
  const next = nextSlotFrom(cal, from, now + options.horizonDays * DAY_MS);
  if (!next)
    throw new GesError('GES_OUTSIDE_BUSINESS_HOURS', `service ${serviceName} is closed${blackout} and does not open within ${options.horizonDays} days`);
  const desiredTime = next.start + Math.min(options.executionBufferSec * 1000, next.end - next.start - 1);
  return { kind: 'at-opening', slot: next, desiredTime };
}
