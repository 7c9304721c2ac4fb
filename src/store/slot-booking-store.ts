import type { Queryable } from './db.ts';

/**
 * All SQL of the slot counters (slot_booking): how many places of a service's capacity slot are
 * booked. A place is booked and given back in the same statement as the callback change that
 * takes or frees it (each transition is one statement), so the fragments those statements embed
 * are written here, beside the reads and the purge: the counter never goes above the capacity
 * asked for, nor below zero.
 */

/**
 * A statement (for a CTE) that books one place in `slot` of `service` while fewer than `capacity`
 * are booked, for each row of `source` matching `when`. It returns a row only if the place was
 * booked: concurrent bookings of the last places queue on the counter row and re-check it.
 */
export function bookPlaceSql(p: { service: string; slot: string; capacity: string; source: string; when: string }): string {
  return `INSERT INTO slot_booking (service_id, slot_start, booked)
       SELECT ${p.service}, ${p.slot}, 1 FROM ${p.source} WHERE ${p.when} AND ${p.capacity} > 0
       ON CONFLICT (service_id, slot_start) DO UPDATE SET booked = slot_booking.booked + 1
        WHERE slot_booking.booked < ${p.capacity}
       RETURNING booked`;
}

/**
 * A statement (for a CTE) that gives back the place each row of `source` held: the slot in its
 * column `slotColumn` (default slot_at) of its service_id, for the rows matching `when`.
 */
export function freePlaceSql(source: string, o: { slotColumn?: string; when?: string } = {}): string {
  return `UPDATE slot_booking b SET booked = b.booked - 1
         FROM ${source}
        WHERE ${o.when ? `${o.when} AND ` : ''}b.service_id = ${source}.service_id AND b.slot_start = ${source}.${o.slotColumn ?? 'slot_at'} AND b.booked > 0`;
}

/** Gives back `n` places per (service_id, slot_at) row of the subquery `held`, stopping at zero. */
export function freePlacesSql(held: string): string {
  return `UPDATE slot_booking b SET booked = greatest(0, b.booked - held.n)
         FROM (${held}) held
        WHERE b.service_id = held.service_id AND b.slot_start = held.slot_at`;
}

/**
 * A scalar subquery: the booked counts of the slots of `service` starting in [`from`, `to`) as
 * "epochSeconds:booked,..." (one index range scan, no callback is read); {@link parseBookings}
 * reads it. The availability read embeds it beside its service row.
 */
export function bookedSlotsSql(service: string, from: string, to: string): string {
  return `(SELECT string_agg(extract(epoch FROM b.slot_start)::bigint::text || ':' || b.booked, ',')
          FROM slot_booking b WHERE b.service_id = ${service} AND b.slot_start >= ${from} AND b.slot_start < ${to})`;
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

/** Booked counts of a service's slots starting in [from, to), keyed by epoch ms. */
export async function slotBookings(db: Queryable, serviceId: number, from: Date, to: Date): Promise<Map<number, number>> {
  const { rows } = await db.query<{ b: string | null }>(`SELECT ${bookedSlotsSql('$1', '$2', '$3')} AS b`, [serviceId, from, to]);
  return parseBookings(rows[0]?.b ?? null);
}

/** Counters of slots long past are of no use to availability; the callbacks keep their slot_at. */
export async function purgeSlotBookings(db: Queryable, retentionDays: number): Promise<number> {
  const res = await db.query(`DELETE FROM slot_booking WHERE slot_start < now() - make_interval(days => $1)`, [retentionDays + 1]);
  return res.rowCount ?? 0;
}
