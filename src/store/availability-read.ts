import type { Queryable } from './db.ts';
import { serviceSelect, type ServiceRow } from './service-store.ts';

/**
 * The read behind GET availability, the hottest read of the API: a service with its calendar and
 * the booked counts of its slots in a range, in one round trip to one backend. On a small machine
 * every extra round trip wakes another Postgres backend and shows up in the tail latency
 * (bench/availability). Writes stay in service-store and callback-store.
 */
export async function serviceWithBookings(
  db: Queryable, tenantId: number, serviceName: string, from: Date, to: Date,
): Promise<{ service: ServiceRow; booked: Map<number, number> } | undefined> {
  const { rows } = await db.query<ServiceRow & { bookings: string | null }>(
    `${serviceSelect(`(SELECT string_agg(extract(epoch FROM b.slot_start)::bigint::text || ':' || b.booked, ',')
          FROM slot_booking b WHERE b.service_id = s.id AND b.slot_start >= $3 AND b.slot_start < $4) AS bookings`)}
      WHERE s.tenant_id = $1 AND s.name = $2`,
    [tenantId, serviceName, from, to],
  );
  const row = rows[0];
  if (!row) return undefined;
  const { bookings, ...service } = row;
  return { service, booked: parseBookings(bookings) };
}

/** "epochSeconds:booked,..." (slot starts are whole minutes) into a map keyed by epoch ms. */
export function parseBookings(text: string | null): Map<number, number> {
  const out = new Map<number, number>();
  for (const pair of text?.split(',') ?? []) {
    const colon = pair.indexOf(':');
    out.set(Number(pair.slice(0, colon)) * 1000, Number(pair.slice(colon + 1)));
  }
  return out;
}
