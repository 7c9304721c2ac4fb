/**
 * The seed's worked example of Redis operations, played on the simulator's clock against real
 * Postgres and a redis-server of its own, with INFO commandstats counting every command (those
 * inside Lua scripts too):
 * - scheduled callbacks: 15-minute slots, 100 per slot, 24x7, fully booked for 14 days: 134,400,
 *   of which the 600 of the last 90 minutes are already in the queue (active) and 133,800 wait;
 * - 1,000 active immediate callbacks, and new ones arriving as fast as the queue serves them;
 * - an estimated wait of 90 minutes: 1,600 callbacks in the queue, served at 1,600 / 90 per
 *   minute by agents talking 5 minutes on average.
 * The seed puts this at (50 × 60) + 133,800 + (1,600 / 90) × 110 = 138,756 Redis operations per
 * minute; the budget is 1% of that. Commands are counted over BENCH_MINUTES simulated minutes
 * (default 60) after BENCH_WARMUP_MINUTES (default 10), with the engine's production settings.
 * Run: npm run bench:engine:example
 */
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { DbClock } from '../../src/store/db-clock.ts';
import { CallbackService } from '../../src/app/callback-service.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { RedisHotState } from '../../src/hot/redis-hot-state.ts';
import { CallbackEngine } from '../../src/engine/callback-engine.ts';
import { simulatedEngineClock } from '../../src/engine/engine-clock.ts';
import { SimClock } from '../../src/voice/simulator/sim-clock.ts';
import { ContactCenterSimulator } from '../../src/voice/simulator/contact-center-simulator.ts';
import { CommandMeter, benchDb, benchRedis, benchTenant, formatByCommand } from './bench-support.ts';

const SLOT_MS = 15 * 60_000;
const PER_SLOT = 100;
const SLOTS = 14 * 24 * 4;
const EWT_MIN = 90;
const ACTIVE_IMMEDIATE = 1000;
const EXECUTION_BUFFER_SEC = 120;
const AGENTS = 90;
const TALK_SEC = { mean: 300, sd: 60 };
const SEED_PER_MINUTE = 50 * 60 + 133_800 + (1600 / 90) * 110;

async function main(): Promise<void> {
  const warmupMin = Number(process.env.BENCH_WARMUP_MINUTES ?? 10);
  const minutes = Number(process.env.BENCH_MINUTES ?? 60);
  const server = await benchRedis();
  const db = await benchDb(20);
  const redis = new Redis(server.url);
  const meterRedis = new Redis(server.url);
  const meter = new CommandMeter(meterRedis);
  try {
    const { tenant, serviceId } = await benchTenant(db.pool, { executionBufferSec: EXECUTION_BUFFER_SEC });
    const t0 = Math.ceil(Date.now() / SLOT_MS) * SLOT_MS;
    const activeSlots = EWT_MIN / 15;
    const firstSlot = t0 - activeSlots * SLOT_MS;

    // Scheduled callbacks, 100 per slot 9 s apart: the slots of the last 90 minutes already queued
    // (waiting), the rest scheduled, due executionBufferSec before their desired time.
    const seeded = Date.now();
    await db.pool.query(
      `INSERT INTO callback (desired_at, created_at, phone, slot_at, id, tenant_id, service_id, state, phase, scheduled, due_at)
       SELECT d, d - interval '1 day', 12120000000 + s * ${PER_SLOT} + n, to_timestamp($1 / 1000.0) + s * interval '15 minutes',
              gen_random_uuid(), $2, $3, CASE WHEN s < $5 THEN 2 ELSE 1 END, 0, true,
              CASE WHEN s < $5 THEN NULL ELSE d - make_interval(secs => ${EXECUTION_BUFFER_SEC}) END
         FROM generate_series(0, $4 - 1) s, generate_series(0, ${PER_SLOT} - 1) n,
              LATERAL (SELECT to_timestamp($1 / 1000.0) + s * interval '15 minutes' + n * interval '9 seconds' AS d) x`,
      [firstSlot, tenant.id, serviceId, SLOTS, activeSlots],
    );
    // Active immediate callbacks, created over the last 90 minutes.
    await db.pool.query(
      `INSERT INTO callback (desired_at, created_at, phone, id, tenant_id, service_id, state, phase, scheduled)
       SELECT d, d, 13130000000 + k, gen_random_uuid(), $2, $3, 2, 0, false
         FROM generate_series(0, $4 - 1) k, LATERAL (SELECT to_timestamp($1 / 1000.0) + k * make_interval(secs => $5) AS d) x`,
      [firstSlot, tenant.id, serviceId, ACTIVE_IMMEDIATE, (EWT_MIN * 60) / ACTIVE_IMMEDIATE],
    );
    await db.pool.query('ANALYZE callback');
    const counts = (await db.pool.query<{ state: number; n: number }>('SELECT state, count(*)::int AS n FROM callback GROUP BY state ORDER BY state')).rows;
    console.log(
      `Redis ${server.version}; seeded in ${((Date.now() - seeded) / 1000).toFixed(1)} s: ${counts.map((r) => `${r.n} in state ${r.state}`).join(', ')}`,
    );

    const clock = new SimClock(t0);
    const sim = new ContactCenterSimulator({
      seed: 42,
      clock,
      queues: { [`${tenant.name}/sales`]: { agents: AGENTS, handleTimeSec: TALK_SEC } },
    });
    const hot = new RedisHotState(redis, `gesbench:${randomBytes(4).toString('hex')}:`);
    const engine = new CallbackEngine({ db: db.pool, hot, voice: sim, clock: simulatedEngineClock(clock), logger: createLogger('silent') });
    const dbClock = new DbClock();
    dbClock.__test__pretendNow(clock.now());
    const callbacks = new CallbackService(db.pool, dbClock);
    callbacks.attach(engine, (err) => {
      throw err;
    });
    await sim.start();
    const rebuildStart = Date.now();
    await engine.start(); // finds the index empty and rebuilds it from Postgres
    console.log(`engine started; hot state rebuilt in ${((Date.now() - rebuildStart) / 1000).toFixed(1)} s`);

    // New immediate callbacks as the seed's model has them (active ones / EWT: 11.1 a minute); with
    // the scheduled ones joining (6.7 a minute) that is what the agents serve, so the queue holds.
    const arrivalMs = (EWT_MIN * 60_000) / ACTIVE_IMMEDIATE;
    let next = clock.now();
    let created = 0;
    const state = async () =>
      (
        await db.pool.query<{ queued: number; done: number; scheduledLeft: number }>(
          `SELECT count(*) FILTER (WHERE state = 2 AND phase = 0)::int AS queued, count(*) FILTER (WHERE state = 5)::int AS done,
              count(*) FILTER (WHERE state = 1)::int AS "scheduledLeft" FROM callback`,
        )
      ).rows[0]!;
    const step = async (ms: number) => {
      const end = clock.now() + ms;
      while (clock.now() < end) {
        while (clock.now() >= next) {
          await callbacks.create(tenant, { serviceName: 'sales', phoneNumber: `+1628555${String(created % 10_000).padStart(4, '0')}` });
          created++;
          next += arrivalMs;
        }
        clock.advanceBy(1000);
        await engine.idle();
        dbClock.__test__pretendNow(clock.now());
      }
    };
    await step(warmupMin * 60_000);
    const before = await state();
    const createdBefore = created;
    const wallStart = Date.now();
    await meter.start();
    await step(minutes * 60_000);
    const { total, byCommand } = await meter.read();
    const after = await state();
    await engine.stop();
    await sim.stop();

    const perMinute = total / minutes;
    console.log(`simulated ${minutes} min after ${warmupMin} min of warm-up (${((Date.now() - wallStart) / 1000).toFixed(0)} s of wall time)`);
    console.log(`  waiting in the queue: ${before.queued} at the start, ${after.queued} at the end; scheduled still to come: ${after.scheduledLeft}`);
    console.log(
      `  per minute: ${((before.scheduledLeft - after.scheduledLeft) / minutes).toFixed(2)} scheduled callbacks queued, ` +
        `${((created - createdBefore) / minutes).toFixed(2)} immediate created, ${((after.done - before.done) / minutes).toFixed(2)} completed; ` +
        `estimated wait ≈ ${((before.queued + after.queued) / 2 / ((after.done - before.done) / minutes)).toFixed(0)} min`,
    );
    console.log(`  Redis commands: ${total} in ${minutes} simulated minutes = ${perMinute.toFixed(1)} per minute`);
    console.log(`  per minute by command: ${formatByCommand(byCommand, minutes)}`);
    console.log(
      `  seed: ${Math.round(SEED_PER_MINUTE).toLocaleString('en-US')} per minute; budget 1% = ${Math.floor(SEED_PER_MINUTE / 100).toLocaleString('en-US')}; ` +
        `GES uses ${((perMinute / SEED_PER_MINUTE) * 100).toFixed(3)}% of the seed's figure`,
    );
  } finally {
    redis.disconnect();
    meterRedis.disconnect();
    await db.close();
    await server.stop();
  }
}

await main();
