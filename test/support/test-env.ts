import { PushCallbackService } from '../../src/app/push-callback-service.ts';
import { CallbackEngine } from '../../src/engine/callback-engine.ts';
import { databaseEngineClock } from '../../src/engine/engine-clock.ts';
import { MemoryHotState } from '../../src/hot/memory-hot-state.ts';
import type { VoicePort } from '../../src/voice/voice-port.ts';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { FastifyInstance } from 'fastify';
import { createPool } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrator.ts';
import { DbClock } from '../../src/store/db-clock.ts';
import { CallbackService } from '../../src/app/callback-service.ts';
import { AvailabilityService } from '../../src/app/availability-service.ts';
import { Maintenance } from '../../src/app/maintenance.ts';
import { buildApiApp } from '../../src/main/api-app-assembly.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { addApiKey, createTenant, generateApiKey } from '../../src/store/tenant-store.ts';
import { upsertService } from '../../src/store/service-store.ts';
import { parseServiceOptions, type ServiceOptions } from '../../src/domain/service-options.ts';

/** The real PostgreSQL the suite runs against (never a mock). */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/postgres';

export interface TestDb {
  pool: pg.Pool;
  schema: string;
  clock: DbClock;
  close(): Promise<void>;
}

/**
 * A fresh schema for one test file, migrated and with partitions ready. Fails loudly, never skips,
 * when Postgres is unreachable.
 */
export async function createTestDb(): Promise<TestDb> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`PostgreSQL is required for the tests and is unreachable at ${TEST_DATABASE_URL}: ${(err as Error).message}`, { cause: err });
  }
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const pool = createPool({ url: TEST_DATABASE_URL, max: 30, schema });
  await migrate(pool);
  const clock = new DbClock();
  await new Maintenance(pool, clock, createLogger('silent'), 14, 60_000).runOnce();
  return {
    pool,
    schema,
    clock,
    async close() {
      await pool.end();
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    },
  };
}

export interface TestTenant {
  id: number;
  name: string;
  apiKey: string;
}

export async function createTestTenant(
  db: TestDb,
  name = `tenant-${randomBytes(3).toString('hex')}`,
  services: Record<string, Partial<ServiceOptions>> = { sales: {} },
): Promise<TestTenant> {
  const tenant = await createTenant(db.pool, name);
  const apiKey = generateApiKey();
  await addApiKey(db.pool, tenant.id, apiKey);
  for (const [service, options] of Object.entries(services)) {
    await upsertService(db.pool, tenant.id, service, parseServiceOptions(options));
  }
  return { ...tenant, apiKey };
}

/** No telephony behind the API under test: a command reaching it is a bug of the test. */
const NO_PLATFORM: VoicePort = {
  send: (command) => Promise.reject(new Error(`no voice platform in this API test (${command.type})`)),
  onEvent: () => () => undefined,
  availableAgents: () => 0,
  start: () => Promise.resolve(),
  stop: () => Promise.resolve(),
};

function apiOnlyEngine(db: TestDb): CallbackEngine {
  return new CallbackEngine({
    db: db.pool,
    hot: new MemoryHotState(),
    voice: NO_PLATFORM,
    clock: databaseEngineClock(db.clock),
    logger: createLogger('silent'),
  });
}

export async function buildTestApi(db: TestDb, bodyLimitBytes = 256 * 1024): Promise<FastifyInstance> {
  const app = await buildApiApp({
    pool: db.pool,
    callbacks: new CallbackService(db.pool, db.clock),
    availability: new AvailabilityService(db.pool, db.clock),
    // An engine as on an API-only node (never started, no platform) and no FCM: push answers are
    // judged on the rows, notification/publish finds no credentials (test/push-callbacks.test.ts wires both).
    push: new PushCallbackService(apiOnlyEngine(db), undefined),
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    bodyLimitBytes,
  });
  await app.ready();
  return app;
}

/** POSTs JSON with the tenant's key; returns status and parsed body. */
export async function post(app: FastifyInstance, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await app.inject({
    method: 'POST',
    url: `/engagement/v3${path}`,
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    statusCode: res.statusCode,
    headers: res.headers,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each test reads the data of the endpoint it calls and asserts it field by field
    body: res.json<{ status: { code: number; message: string; corrId: string; errorCode?: string }; data?: any }>(),
  };
}

/** An ISO time `minutes` from now. */
export function inMinutes(minutes: number): string {
  return new Date(Date.now() + minutes * 60_000).toISOString();
}
