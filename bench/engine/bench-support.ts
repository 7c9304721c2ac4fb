/**
 * What the engine benchmarks share: a Redis of their own (INFO commandstats counts every client's
 * commands, so a shared server would count other work too), a Postgres schema of their own, and
 * command counting.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { createPool } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrator.ts';
import { ensurePartitions } from '../../src/store/partition-store.ts';
import { addApiKey, createTenant, generateApiKey, type Tenant } from '../../src/store/tenant-store.ts';
import { upsertService } from '../../src/store/service-store.ts';
import { parseServiceOptions } from '../../src/domain/service-options.ts';
import type { VoicePort } from '../../src/voice/voice-port.ts';

export const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/postgres';

export interface BenchRedis {
  url: string;
  /** The server's version (INFO server). */
  version: string;
  stop(): Promise<void>;
}

/**
 * A redis-server on a spare port in a temporary folder, no persistence, stopped at the end; or the
 * one at BENCH_REDIS_URL (then every other client's commands are counted too).
 */
export async function benchRedis(): Promise<BenchRedis> {
  const given = process.env.BENCH_REDIS_URL;
  let child: ChildProcess | undefined;
  let dir: string | undefined;
  let url = given ?? '';
  if (!given) {
    dir = mkdtempSync(join(tmpdir(), 'ges-bench-redis-'));
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    url = `redis://127.0.0.1:${port}`;
  }
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  probe.on('error', () => undefined); // refused while the server starts: retried below
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await probe.connect();
      break;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`no Redis at ${url}: ${(err as Error).message}`, { cause: err });
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const version = /redis_version:(\S+)/.exec(await probe.info('server'))?.[1] ?? 'unknown';
  probe.disconnect();
  return {
    url,
    version,
    async stop() {
      child?.kill('SIGKILL');
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every command the server ran so far, those run inside Lua scripts included (INFO commandstats). */
export async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const stats = new Map<string, number>();
  for (const m of info.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) stats.set(m[1]!, Number(m[2]));
  return stats;
}

export async function commandTotal(redis: Redis): Promise<number> {
  let total = 0;
  for (const n of (await commandStats(redis)).values()) total += n;
  return total;
}

/** Counts commands between two readings; the INFO command of the second reading is not counted. */
export class CommandMeter {
  readonly #redis: Redis;
  #start = new Map<string, number>();

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  async start(): Promise<void> {
    this.#start = await commandStats(this.#redis);
  }

  /** Commands since start(), by name, without the meter's own INFO calls. */
  async read(): Promise<{ total: number; byCommand: Map<string, number> }> {
    const now = await commandStats(this.#redis);
    const byCommand = new Map<string, number>();
    let total = 0;
    for (const [name, calls] of now) {
      const n = calls - (this.#start.get(name) ?? 0) - (name === 'info' ? 1 : 0);
      if (n > 0) {
        byCommand.set(name, n);
        total += n;
      }
    }
    return { total, byCommand };
  }
}

export function formatByCommand(byCommand: Map<string, number>, scale = 1): string {
  return [...byCommand]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${(v / scale).toFixed(scale === 1 ? 0 : 2)}`)
    .join(', ');
}

export interface BenchDb {
  pool: pg.Pool;
  schema: string;
  close(): Promise<void>;
}

/** A schema of its own, migrated, with daily partitions from two days back to 16 days ahead. */
export async function benchDb(poolSize = 10): Promise<BenchDb> {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const pool = createPool({ url: DATABASE_URL, max: poolSize, schema });
  await migrate(pool);
  await ensurePartitions(pool, 2, 16);
  return {
    pool,
    schema,
    async close() {
      await pool.end();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    },
  };
}

/** A tenant with one service `sales` that takes any number of callbacks per number. */
export async function benchTenant(pool: pg.Pool, options: Record<string, unknown> = {}): Promise<{ tenant: Tenant; serviceId: number }> {
  const tenant = await createTenant(pool, `bench-${randomBytes(3).toString('hex')}`);
  await addApiKey(pool, tenant.id, generateApiKey());
  await upsertService(pool, tenant.id, 'sales', parseServiceOptions({ inQueueChecking: 'false', requestsPerNumberPer24h: 0, ...options }));
  const { rows } = await pool.query<{ id: number }>('SELECT id FROM callback_service WHERE tenant_id = $1 AND name = $2', [tenant.id, 'sales']);
  return { tenant, serviceId: rows[0]!.id };
}

/** A platform with no agents: nothing is ever dispatched, for benchmarks of the due index alone. */
export const NO_AGENTS: VoicePort = {
  send: async () => undefined,
  onEvent: () => () => undefined,
  availableAgents: () => 0,
  start: async () => undefined,
  stop: async () => undefined,
};

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Deletes every key under a prefix (SCAN, never KEYS or FLUSHALL: BENCH_REDIS_URL may be shared). */
export async function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
