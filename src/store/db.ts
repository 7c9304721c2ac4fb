import pg from 'pg';

// Postgres bigint and numeric come back as strings by default; our bigints are phone digits and
// counts that fit a double only for counts, so keep phones as strings and parse counts explicitly.
export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export interface PoolOptions {
  url: string;
  max: number;
  schema?: string; // every table of GES lives in this schema (tests use one per file)
  applicationName?: string;
}

export function createPool(opts: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max,
    application_name: opts.applicationName ?? 'ges',
    // search_path is set per connection instead of the startup "options" parameter, which
    // pglite-socket does not honour.
  });
  if (opts.schema) {
    const schema = opts.schema;
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
    pool.on('connect', (client) => {
      client.query(`SET search_path TO ${schema}, public`).catch(() => undefined);
    });
  }
  // An idle client that loses its server emits 'error' on the pool; without a listener the
  // process would crash. The next query simply gets a fresh connection.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs `fn` in one transaction on one connection; rolls back on any error. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
