import type pg from 'pg';
import type { Config } from '../config/config.ts';
import { createPool } from '../store/db.ts';
import { migrate } from '../store/migrator.ts';
import { runningEmbeddedPort, startEmbeddedPostgres } from '../store/embedded-postgres.ts';

/**
 * Opens the database a CLI command works on. With DATABASE_URL, that server. In embedded mode,
 * the database of the running node when there is one (through the port it published), since
 * PGlite files must never be opened by two processes; otherwise PGlite in this process.
 */
export async function withDatabase<T>(config: Config, fn: (pool: pg.Pool) => Promise<T>, opts: { migrate?: boolean } = {}): Promise<T> {
  let url = config.DATABASE_URL;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!url) {
    const port = await runningEmbeddedPort(config.DATA_DIR);
    if (port !== undefined) {
      url = `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
    } else {
      const embedded = await startEmbeddedPostgres(config.DATA_DIR);
      url = embedded.url;
      stopEmbedded = () => embedded.stop();
    }
  }
  const pool = createPool({ url, max: 2, schema: config.DATABASE_SCHEMA || undefined, applicationName: 'ges-cli' });
  try {
    if (opts.migrate ?? config.MIGRATE_ON_START) await migrate(pool);
    return await fn(pool);
  } finally {
    await pool.end();
    await stopEmbedded?.();
  }
}
