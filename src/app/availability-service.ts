import type pg from 'pg';
import { GesError } from '../domain/errors.ts';
import { parseServiceOptions } from '../domain/service-options.ts';
import { availableSlots, calendarOf } from '../domain/calendar/booking-plan.ts';
import { resolveAvailabilityRange, parseDateTimeParam, requestZone, type AvailabilityParams } from '../domain/calendar/availability-query.ts';
import { ALWAYS_OPEN, openForSeconds } from '../domain/calendar/business-hours.ts';
import { parseBusinessHours } from '../domain/calendar/calendar-config.ts';
import { DAY_MS, formatLocal, formatUtc, offsetAt, offsetSegments } from '../domain/calendar/time-zone.ts';
import { serviceWithBookings } from '../store/availability-read.ts';
import { findService } from '../store/service-store.ts';
import { findBusinessHours } from '../store/calendar-store.ts';
import type { DbClock } from '../store/db-clock.ts';
import type { Tenant } from '../store/tenant-store.ts';

export interface Availability {
  slots: { utcTime: string; localTime: string; capacity: number; total: number }[];
  durationMin: number;
  timezone: string;
}

/**
 * Availability and open-for (ges-api.md §1.4, §1.5). Availability costs one read of the slot
 * counters of the range plus arithmetic over the slots: O(slots), whatever the number of callbacks.
 */
export class AvailabilityService {
  constructor(
    private readonly pool: pg.Pool,
    readonly clock: DbClock,
  ) {}

  async availability(tenant: Tenant, serviceName: string, params: AvailabilityParams): Promise<Availability> {
    const now = this.clock.now().getTime();
    const range = resolveAvailabilityRange(params, now);
    // The service and its counters in one round trip. Counters from a day before the range still
    // matter for the slot that contains its start.
    const found = await serviceWithBookings(
      this.pool,
      tenant.id,
      serviceName,
      new Date(range.fromMs - DAY_MS),
      new Date(Math.max(range.toMs, range.fromMs + 1)),
    );
    if (!found) throw new GesError('GES_SERVICE_UNKNOWN', `${JSON.stringify(serviceName)} is not a callback service of this tenant`);
    const { service, booked } = found;
    const options = parseServiceOptions(service.options);
    const cal = calendarOf(service, options);
    if (!options.scheduledEnabled) return { slots: [], durationMin: cal.rule.slotMinutes, timezone: range.timeZone };
    const open = availableSlots(cal, options, booked, {
      fromMs: range.fromMs,
      toMs: range.toMs,
      maxSlots: range.maxSlots,
      reportBusy: range.reportBusy,
      nowMs: now,
    });
    const segments = open.length > 0 ? offsetSegments(range.timeZone, open[0]!.slot.start, open[open.length - 1]!.slot.start + 1) : [];
    return {
      slots: open.map((o) => ({
        utcTime: formatUtc(o.slot.start),
        localTime: formatLocal(o.slot.start, offsetAt(segments, o.slot.start)),
        capacity: o.remaining,
        total: o.slot.total,
      })),
      durationMin: cal.rule.slotMinutes,
      timezone: range.timeZone,
    };
  }

  /** Seconds until the office closes; `name` is a service (its business hours) or business hours by name. */
  async openFor(tenant: Tenant, name: string, start: string | undefined, timezone: string | undefined): Promise<number> {
    const zone = requestZone(timezone);
    const at = start !== undefined ? parseDateTimeParam(start, zone, 'start') : this.clock.now().getTime();
    const service = await findService(this.pool, tenant.id, name);
    if (service) return openForSeconds(service.businessHours ? parseBusinessHours(service.businessHours.definition) : ALWAYS_OPEN, at);
    const hours = await findBusinessHours(this.pool, tenant.id, name);
    if (hours) return openForSeconds(parseBusinessHours(hours.definition), at);
    throw new GesError('GES_SERVICE_UNKNOWN', `${JSON.stringify(name)} is neither a callback service nor business hours of this tenant`);
  }
}
