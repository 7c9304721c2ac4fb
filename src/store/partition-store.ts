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

/**
 * ANALYZEs the daily partitions whose rows changed by more than autovacuum's own default threshold
 * since their statistics were taken (50 rows + 10 %), at most `limit` a round, most changed first.
 * Where autovacuum runs it has usually done so already and this finds nothing; where it does not
 * (turned off, or the embedded PGlite, which has no autovacuum) a partition filled since its
 * creation has no statistics, and a lookup by id read hundreds of buffers instead of a handful
 * (issue 17). Returns how many partitions were analyzed.
 */
export async function analyzeStalePartitions(db: Queryable, limit: number): Promise<number> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.oid::regclass::text AS name
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_stat_user_tables s ON s.relid = c.oid
      WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relispartition
        AND c.relname ~ '^callback(_event|_data)?_p[0-9]{8}$'
        AND s.n_mod_since_analyze > 50 + 0.1 * s.n_live_tup
      ORDER BY s.n_mod_since_analyze DESC
      LIMIT $1`,
    [limit],
  );
  // The names come from pg_class as regclass text, quoted where needed: safe to splice.
  for (const { name } of rows) await db.query(`ANALYZE ${name}`);
  return rows.length;
}
