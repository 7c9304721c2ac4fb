import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { waitFor } from './wait-for.ts';

/**
 * A PostgreSQL and a Redis of the fault suite's own, on spare ports in a temporary folder, so the
 * suite may restart, terminate and kill them without touching the shared servers other tests use.
 */

/** A port nobody listens on right now. */
export async function sparePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error('the fault suite needs PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/<version>/bin');
  return join(root, versions[0]!, 'bin');
}

export interface OwnPostgres {
  readonly port: number;
  /** postgres://root@127.0.0.1:<port>/postgres */
  readonly url: string;
  /** pg_ctl restart -m fast: every connection is cut, the server is back a moment later. */
  restart(): Promise<void>;
  stop(): void;
}

/**
 * initdb in `dir` and pg_ctl start on a spare port (trust authentication, role root, fsync off).
 * PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
 */
export async function startPostgres(dir: string): Promise<OwnPostgres> {
  const bin = postgresBin();
  const data = join(dir, 'pgdata');
  mkdirSync(data, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
    chownSync(data, uid, gid);
  }
  const command = (tool: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), args];
  const run = (tool: string, args: string[]) => {
    execFileSync(...command(tool, args), { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  // The restart runs while the test keeps sending requests, so it must not block the event loop.
  const runAsync = async (tool: string, args: string[]) => {
    await promisify(execFile)(...command(tool, args));
  };
  run('initdb', ['-D', data, '-U', 'root', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const port = await sparePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=120`;
  const ctlArgs = (action: string, extra: string[] = []) => [action, '-D', data, '-w', '-t', '60', '-l', join(dir, 'postgres.log'), '-o', options, ...extra];
  run('pg_ctl', ctlArgs('start'));
  return {
    port,
    url: `postgres://root@127.0.0.1:${port}/postgres`,
    restart: () => runAsync('pg_ctl', ctlArgs('restart', ['-m', 'fast'])),
    stop: () => {
      try {
        run('pg_ctl', ctlArgs('stop', ['-m', 'immediate']));
      } catch {
        // already stopped
      }
    },
  };
}

export interface OwnRedis {
  readonly port: number;
  /** SIGKILL: its data is gone (no persistence), as with a crashed Redis without a replica. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(dir: string): Promise<OwnRedis> {
  const port = await sparePort();
  let proc: ChildProcess | undefined;
  const up = async () => {
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    await waitFor(
      () => {
        try {
          return (
            execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: ['ignore', 'pipe', 'ignore'] })
              .toString()
              .trim() === 'PONG'
          );
        } catch {
          return false;
        }
      },
      `redis-server on ${port}`,
      15_000,
    );
  };
  const down = async () => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((resolve) => p.once('exit', resolve));
    p.kill('SIGKILL');
    await exited;
  };
  await up();
  return { port, kill: down, start: up, stop: down };
}
