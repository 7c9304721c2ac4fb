import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

/**
 * Embedded mode: PGlite (real PostgreSQL compiled to WASM) in this process, with its data in
 * `dataDir`, served on a loopback port so the rest of GES talks to it through `pg` exactly as it
 * talks to a real server. The port is written to `<dataDir>/pglite.port` so the CLI can reach the
 * running node's database instead of opening the same files a second time.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  // PGlite files must never be opened by two processes at once: that corrupts them.
  const running = await runningEmbeddedPort(dataDir);
  if (running !== undefined) {
    throw new Error(`another GES node already serves the embedded database in ${dataDir} (port ${running}); stop it or use another DATA_DIR`);
  }
  const dir = join(dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  const db = await PGlite.create(dir);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 });
  await server.start();
  const conn = server.getServerConn(); // host:port
  const portFile = join(dataDir, 'pglite.port');
  writeFileSync(portFile, conn.split(':').pop() ?? '');
  return {
    url: `postgres://postgres@${conn}/postgres?sslmode=disable`,
    async stop() {
      rmSync(portFile, { force: true });
      await server.stop();
      await db.close();
    },
  };
}

/** The port of the embedded database a running node serves from `dataDir`, if one answers. */
export async function runningEmbeddedPort(dataDir: string): Promise<number | undefined> {
  const portFile = join(dataDir, 'pglite.port');
  const port = existsSync(portFile) ? Number(readFileSync(portFile, 'utf8').trim()) : NaN;
  if (!Number.isInteger(port) || port <= 0) return undefined;
  const answers = await new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
  return answers ? port : undefined;
}
