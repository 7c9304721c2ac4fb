/**
 * Redis budgets of the engine (docs/BENCHMARKS.md), measured with INFO commandstats (which counts
 * the commands run inside Lua scripts too) and MEMORY USAGE, against the Redis at REDIS_URL and the
 * Postgres at DATABASE_URL:
 *  1. commands over an immediate callback's whole life (created, dialed, answered, connected, completed);
 *  2. bytes of Redis per waiting scheduled callback, with 134,400 of them in the due index;
 *  3. commands per second of an idle engine.
 * Run: npm run bench:engine
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { createPool } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrator.ts';
import { DbClock } from '../../src/store/db-clock.ts';
import { Maintenance } from '../../src/app/maintenance.ts';
import { CallbackService } from '../../src/app/callback-service.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { addApiKey, createTenant, generateApiKey } from '../../src/store/tenant-store.ts';
import { upsertService } from '../../src/store/service-store.ts';
import { parseServiceOptions } from '../../src/domain/service-options.ts';
import { RedisHotState } from '../../src/hot/redis-hot-state.ts';
import { CallbackEngine } from '../../src/engine/callback-engine.ts';
import { databaseEngineClock, simulatedEngineClock } from '../../src/engine/engine-clock.ts';
import { SimClock } from '../../src/voice/simulator/sim-clock.ts';
import { ContactCenterSimulator } from '../../src/voice/simulator/contact-center-simulator.ts';
import { newCallbackId } from '../../src/domain/callback-id.ts';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function commandTotal(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let total = 0;
  for (const m of info.matchAll(/cmdstat_[^:]+:calls=(\d+)/g)) total += Number(m[1]);
  return total;
}

async function main(): Promise<void> {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const pool = createPool({ url: DATABASE_URL, max: 10, schema });
  const redis = new Redis(REDIS_URL);
  // The measuring connection's own INFO calls are counted too; they are subtracted below.
  const meter = new Redis(REDIS_URL);
  const prefix = `gesbench:${randomBytes(4).toString('hex')}:`;
  try {
    await migrate(pool);
    const dbClock = new DbClock();
    await new Maintenance(pool, dbClock, createLogger('silent'), 14, 60_000).runOnce();
    const tenant = await createTenant(pool, `bench-${randomBytes(3).toString('hex')}`);
    await addApiKey(pool, tenant.id, generateApiKey());
    await upsertService(pool, tenant.id, 'sales', parseServiceOptions({ inQueueChecking: 'false', requestsPerNumberPer24h: 0 }));

    // 1. An immediate callback's life, on the simulator's clock.
    const clock = new SimClock(Math.ceil(Date.now() / 1000) * 1000);
    const sim = new ContactCenterSimulator({
      seed: 1, clock, customers: { answer: 1, busy: 0, noAnswer: 0, machine: 0, invalid: 0 },
      queues: { [`${tenant.name}/sales`]: { agents: 10, handleTimeSec: { mean: 120, sd: 30 } } },
    });
    const hot = new RedisHotState(redis, prefix);
    await hot.markIntact();
    const engine = new CallbackEngine({ db: pool, hot, voice: sim, clock: simulatedEngineClock(clock), logger: createLogger('silent'), pollMs: 1000 });
    dbClock.__test__pretendNow(clock.now());
    const callbacks = new CallbackService(pool, dbClock);
    callbacks.attach(engine, (err) => { throw err; });
    await sim.start();
    await engine.start();
    const n = 200;
    const before = await commandTotal(meter);
    for (let i = 0; i < n; i++) await callbacks.create(tenant, { serviceName: 'sales', phoneNumber: `+1415555${String(1000 + i)}` });
    for (let t = 0; t < 2 * 3600; t++) {
      clock.advanceBy(1000);
      await engine.idle();
    }
    const after = await commandTotal(meter);
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM callback WHERE state = 5 AND reason = 1`);
    const seconds = 2 * 3600;
    // Polls of the wake-up index over the run are the node's idle cost, not the callbacks': take them out.
    const polls = Math.ceil(seconds * 1000 / 1000);
    const perCallback = (after - before - 1 - polls) / n;
    await engine.stop();
    await sim.stop();
    console.log(`immediate callback life: ${rows[0]!.n}/${n} completed AGENT_CONNECTED; ${(after - before - 1)} commands in all, ${polls} of them idle polls; ${perCallback.toFixed(2)} commands per callback (budget 15)`);

    // 2. Memory per waiting scheduled callback.
    const total = 134_400;
    const memHot = new RedisHotState(redis, `${prefix}mem:`);
    const start = Date.now() + 3600_000;
    for (let i = 0; i < total; i += 1000) {
      await memHot.setDue(1, Array.from({ length: 1000 }, (_, k) => ({ id: newCallbackId(), atMs: start + (i + k) * 9000 })));
    }
    const bytes = Number(await redis.call('MEMORY', 'USAGE', `${prefix}mem:{t1}:due`, 'SAMPLES', '0'));
    console.log(`scheduled callbacks waiting: ${total} in the due index use ${bytes} bytes: ${(bytes / total).toFixed(1)} bytes each (budget 150), no user data`);

    // 3. An idle engine on the database clock.
    const idleEngine = new CallbackEngine({ db: pool, hot, voice: sim, clock: databaseEngineClock(dbClock), logger: createLogger('silent') });
    dbClock.__test__pretendNow(Date.now());
    await sim.start();
    await idleEngine.start();
    const idleBefore = await commandTotal(meter);
    const idleSec = Number(process.env.IDLE_SECONDS ?? 20);
    await new Promise((r) => setTimeout(r, idleSec * 1000));
    const idleAfter = await commandTotal(meter);
    await idleEngine.stop();
    await sim.stop();
    console.log(`idle engine: ${((idleAfter - idleBefore - 1) / idleSec).toFixed(2)} commands per second over ${idleSec} s (budget 1), whatever the number of tenants`);
  } finally {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const k of keys) await redis.del(k);
    } while (cursor !== '0');
    redis.disconnect();
    meter.disconnect();
    await pool.end();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}

await main();
