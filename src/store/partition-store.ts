import type { Queryable } from './db.ts';

/**
 * Maintenance of the daily partitions of callback and callback_event (functions in
 * migrations/0001_core.sql). Partitions are kept ready from `pastDays` back to `aheadDays` ahead, so
 * any desired time a service may accept has a home; expired ones are dropped whole.
 */
export async function ensurePartitions(db: Queryable, pastDays: number, aheadDays: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT ges_ensure_partitions((now() AT TIME ZONE 'UTC')::date - $1::int, (now() AT TIME ZONE 'UTC')::date + $2::int + 1) AS n`,
    [pastDays, aheadDays],
  );
  return rows[0]!.n;
}

export async function dropExpiredPartitions(db: Queryable, retentionDays: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT ges_drop_expired_partitions($1) AS n', [retentionDays]);
  return rows[0]!.n;
}

/** Postgres reports a row with no partition to hold it as SQLSTATE 23514 with this wording. */
export function isMissingPartition(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23514' && /no partition of relation/.test(e.message ?? '');
}
