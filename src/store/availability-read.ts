import type { Queryable } from './db.ts';
import { serviceSelect, type ServiceRow } from './service-store.ts';
import { bookedSlotsSql, parseBookings } from './slot-booking-store.ts';

/**
 * The read behind GET availability, the hottest read of the API: a service with its calendar and
 * the booked counts of its slots in a range, in one round trip to one backend. On a small machine
 * every extra round trip wakes another Postgres backend and shows up in the tail latency
 * (bench/availability). Writes stay in service-store and slot-booking-store.
 */
export async function serviceWithBookings(
  db: Queryable,
  tenantId: number,
  serviceName: string,
  from: Date,
  to: Date,
): Promise<{ service: ServiceRow; booked: Map<number, number> } | undefined> {
  const { rows } = await db.query<ServiceRow & { bookings: string | null }>(
    `${serviceSelect(`${bookedSlotsSql('s.id', '$3', '$4')} AS bookings`)}
      WHERE s.tenant_id = $1 AND s.name = $2`,
    [tenantId, serviceName, from, to],
  );
  const row = rows[0];
  if (!row) return undefined;
  const { bookings, ...service } = row;
  return { service, booked: parseBookings(bookings) };
}
