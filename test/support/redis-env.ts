import { randomBytes } from 'node:crypto';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, Cluster } from 'ioredis';
import { waitFor } from './wait-for.ts';

/** The real Redis the suite runs against (never a mock). */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A random key prefix per test, so tests never see each other's keys. */
export function testPrefix(): string {
  return `gestest:${randomBytes(5).toString('hex')}:`;
}

/** A connected client; fails loudly (never skips) when Redis is unreachable. */
export async function connectRedis(): Promise<Redis> {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: false });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new Error(`Redis is required for the tests and is unreachable at ${TEST_REDIS_URL}: ${(err as Error).message}`, { cause: err });
  }
  return redis;
}

/** Deletes every key under a prefix (SCAN, never KEYS). */
export async function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) for (const k of keys) await redis.del(k);
  } while (cursor !== '0');
}

export interface TestCluster {
  client: Cluster;
  ports: number[];
  stop(): Promise<void>;
}

/**
 * A 3-master Redis Cluster of our own, started with redis-server --cluster-enabled on spare ports
 * in a temporary folder, so the engine's keys and scripts are proven slot-safe.
 */
export async function startRedisCluster(): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'ges-cluster-'));
  const base = 17000 + Math.floor(Math.random() * 20000);
  const ports = [base, base + 1, base + 2];
  const procs: ChildProcess[] = ports.map((port) =>
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--cluster-node-timeout',
        '5000',
      ],
      { stdio: 'ignore' },
    ),
  );
  const stop = async () => {
    for (const p of procs) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) await waitFor(() => ping(port), `redis-server on ${port}`);
    execFileSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'ignore' });
    await waitFor(
      () =>
        execFileSync('redis-cli', ['-p', String(ports[0]), 'cluster', 'info'])
          .toString()
          .includes('cluster_state:ok'),
      'cluster_state:ok',
    );
    const client = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })));
    await client.ping();
    return {
      client,
      ports,
      async stop() {
        client.disconnect();
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function ping(port: number): boolean {
  try {
    return (
      execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim() === 'PONG'
    );
  } catch {
    return false;
  }
}
