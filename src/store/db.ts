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
  if (opts.schema && !/^[a-z_][a-z0-9_]{0,62}$/.test(opts.schema)) throw new Error(`invalid schema name ${opts.schema}`);
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max,
    application_name: opts.applicationName ?? 'ges',
    // The schema is fixed for the connection's life at startup, so no statement can run before
    // it applies. (pglite-socket ignores startup options; embedded mode uses the default schema.)
    ...(opts.schema ? { options: `-c search_path=${opts.schema},public` } : {}),
  });
  // An idle client that loses its server emits 'error' on the pool; without a listener the
  // process would crash. The next query simply gets a fresh connection.
  pool.on('error', () => undefined);
  // pg-pool guards a client only at certain moments (idle, or inside pool.query until its first
  // error); a dying connection can emit 'error' more than once (the failed query, then the server's
  // FATAL message), and an unheard one ends the process. Every client therefore keeps one listener
  // for its whole life; the query in flight still gets its own error, and the pool still drops it.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}

/**
 * Runs `fn` in one transaction on one connection; rolls back on any error.
 *
 * While a client is checked out, pg-pool takes its own 'error' listener off it, and a pg Client
 * emits 'error' when its server goes away (a restart, a failover, pg_terminate_backend, a cut
 * network), even after failing the query in flight. Unheard, that event would end the process, so
 * the checkout carries its own listener, and a client that failed is handed back with the error so
 * the pool drops it instead of lending it out again. The caller sees the query's own rejection
 * (or the connection error, if it came between two statements): the API answers 503 for it.
 */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken ??= err;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    if (broken) throw broken;
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: Error) => {
      broken ??= rollbackErr;
    });
    throw err;
  } finally {
    if (broken) {
      // The pool destroys a client handed back with an error, but the dying socket may still emit
      // (the FATAL message of pg_terminate_backend can trail the failed query): our listener stays.
      client.release(broken);
    } else {
      // The pool puts its idle listener back on release; ours must go, or every checkout adds one.
      client.removeListener('error', onError);
      client.release();
    }
  }
}

/**
 * Retries `fn` when PostgreSQL aborts it for a conflict that a retry resolves: a serialization
 * failure (40001, also raised when a concurrent reschedule moved the row to another partition) or
 * a deadlock (40P01). Nothing was committed in either case, so a retry cannot apply a change twice.
 */
export async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (i >= attempts || (code !== '40001' && code !== '40P01')) throw err;
    }
  }
}
