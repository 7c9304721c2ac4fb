/**
 * Redis budgets of the engine (docs/BENCHMARKS.md, "Engine and Redis"), measured with INFO
 * commandstats (which counts the commands run inside Lua scripts too) and MEMORY USAGE, on a
 * redis-server of its own and the Postgres at BENCH_DATABASE_URL:
 *  1. commands over an immediate callback's whole life (created, dialed, answered, connected,
 *     completed), on the simulator's clock: the commands of a run with callbacks less those of the
 *     same run without any (the node's own polls and liveness renewals), per callback; three
 *     workloads: a burst, callbacks one at a time, and one at a time with calls longer than the
 *     dial's watchdog;
 *  2. bytes of Redis per waiting scheduled callback, with 134,400 of them in the due index;
 *  3. commands per second of an idle node on the real clock, with no tenant and with 1,000
 *     tenants holding 134,400 waiting scheduled callbacks between them.
 * Run: npm run bench:engine   (IDLE_SECONDS, default 60)
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { DbClock } from '../../src/store/db-clock.ts';
import { CallbackService } from '../../src/app/callback-service.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { RedisHotState } from '../../src/hot/redis-hot-state.ts';
import { CallbackEngine } from '../../src/engine/callback-engine.ts';
import { databaseEngineClock, simulatedEngineClock } from '../../src/engine/engine-clock.ts';
import { SimClock } from '../../src/voice/simulator/sim-clock.ts';
import { ContactCenterSimulator } from '../../src/voice/simulator/contact-center-simulator.ts';
import { newCallbackId } from '../../src/domain/callback-id.ts';
import { CommandMeter, NO_AGENTS, benchDb, benchRedis, benchTenant, dropPrefix, formatByCommand } from './bench-support.ts';

const log = createLogger('silent');

interface LifeRun {
  /** Callbacks created; the first at the start, then one every gapMs. */
  n: number;
  gapMs: number;
  agents: number;
  handleSec: { mean: number; sd: number };
  durationMs: number;
}

/** One run on the simulator's clock: Redis commands in all, and callbacks that reached an agent. */
async function lifeRun(
  pool: pg.Pool,
  redis: Redis,
  meter: CommandMeter,
  run: LifeRun,
): Promise<{ commands: number; byCommand: Map<string, number>; served: number }> {
  const { tenant } = await benchTenant(pool);
  const prefix = `gesbench:${randomBytes(4).toString('hex')}:`;
  const hot = new RedisHotState(redis, prefix);
  await hot.markIntact();
  const clock = new SimClock(Math.ceil(Date.now() / 1000) * 1000);
  const sim = new ContactCenterSimulator({
    seed: 1,
    clock,
    customers: { answer: 1, busy: 0, noAnswer: 0, machine: 0, invalid: 0 },
    queues: { [`${tenant.name}/sales`]: { agents: run.agents, handleTimeSec: run.handleSec } },
  });
  // Production defaults for the poll (2 s) and the sweep (30 s).
  const engine = new CallbackEngine({ db: pool, hot, voice: sim, clock: simulatedEngineClock(clock), logger: log });
  const dbClock = new DbClock();
  dbClock.__test__pretendNow(clock.now());
  const callbacks = new CallbackService(pool, dbClock);
  callbacks.attach(engine, (err) => {
    throw err;
  });
  await meter.start();
  await sim.start();
  await engine.start();
  const start = clock.now();
  let created = 0;
  while (clock.now() - start < run.durationMs) {
    while (created < run.n && clock.now() >= start + created * run.gapMs) {
      await callbacks.create(tenant, { serviceName: 'sales', phoneNumber: `+1415555${String(1000 + created)}` });
      created++;
    }
    clock.advanceBy(1000);
    await engine.idle();
    dbClock.__test__pretendNow(clock.now());
  }
  await engine.stop();
  await sim.stop();
  const { total, byCommand } = await meter.read();
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM callback WHERE tenant_id = $1 AND state = 5 AND reason = 1', [tenant.id]);
  await dropPrefix(redis, prefix);
  return { commands: total, byCommand, served: rows[0]!.n };
}

function minus(a: Map<string, number>, b: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of a) if (v - (b.get(k) ?? 0) !== 0) out.set(k, v - (b.get(k) ?? 0));
  return out;
}

async function main(): Promise<void> {
  const server = await benchRedis();
  const db = await benchDb();
  const redis = new Redis(server.url);
  // Its own connection: reading INFO must not queue behind the engine's commands.
  const meterRedis = new Redis(server.url);
  const meter = new CommandMeter(meterRedis);
  const results: string[] = [];
  try {
    console.log(`Redis ${server.version} at ${server.url}; Postgres schema ${db.schema}`);

    // 1. An immediate callback's life.
    const workloads: { name: string; run: LifeRun }[] = [
      { name: 'burst: 200 at once, 10 agents, talk 120 s', run: { n: 200, gapMs: 0, agents: 10, handleSec: { mean: 120, sd: 30 }, durationMs: 2 * 3600_000 } },
      {
        name: 'one at a time (every 10 min), talk 120 s',
        run: { n: 30, gapMs: 600_000, agents: 10, handleSec: { mean: 120, sd: 30 }, durationMs: 5 * 3600_000 },
      },
      {
        name: 'one at a time (every 10 min), talk 360 s',
        run: { n: 30, gapMs: 600_000, agents: 10, handleSec: { mean: 360, sd: 60 }, durationMs: 5 * 3600_000 },
      },
    ];
    const baselines = new Map<number, { commands: number; byCommand: Map<string, number> }>();
    for (const { name, run } of workloads) {
      if (!baselines.has(run.durationMs)) baselines.set(run.durationMs, await lifeRun(db.pool, redis, meter, { ...run, n: 0 }));
      const base = baselines.get(run.durationMs)!;
      const r = await lifeRun(db.pool, redis, meter, run);
      const per = (r.commands - base.commands) / run.n;
      const line =
        `immediate callback life, ${name}: ${r.served}/${run.n} reached an agent; ${r.commands} commands, ${base.commands} of them the node's own over ${run.durationMs / 3600_000} h ` +
        `(same run without callbacks); ${per.toFixed(2)} commands per callback (budget 15)`;
      console.log(line);
      console.log(`  per callback: ${formatByCommand(minus(r.byCommand, base.byCommand), run.n)}`);
      results.push(line);
    }

    // 2. Memory per waiting scheduled callback.
    const total = 134_400;
    const memPrefix = `gesbench:${randomBytes(4).toString('hex')}:`;
    const memHot = new RedisHotState(redis, memPrefix);
    const start = Date.now() + 3600_000;
    for (let i = 0; i < total; i += 1000) {
      await memHot.setDue(
        1,
        Array.from({ length: 1000 }, (_, k) => ({ id: newCallbackId(), atMs: start + (i + k) * 9000 })),
      );
    }
    const bytes = Number(await redis.call('MEMORY', 'USAGE', `${memPrefix}{t1}:due`, 'SAMPLES', '0'));
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${memPrefix}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    await dropPrefix(redis, memPrefix);
    const memLine =
      `scheduled callbacks waiting: ${total} in the due index use ${bytes} bytes: ${(bytes / total).toFixed(1)} bytes each (budget 150); ` +
      `keys: ${keys
        .map((k) => k.slice(memPrefix.length))
        .sort()
        .join(', ')} (ids and times only, no user data)`;
    console.log(memLine);
    results.push(memLine);

    // 3. An idle node on the database clock.
    const idleSec = Number(process.env.IDLE_SECONDS ?? 60);
    for (const tenants of [0, 1000]) {
      const prefix = `gesbench:${randomBytes(4).toString('hex')}:`;
      const hot = new RedisHotState(redis, prefix);
      await hot.markIntact();
      const firstDue = Date.now() + 3600_000;
      for (let t = 0; t < tenants; t++) {
        const each = total / tenants;
        await hot.setDue(
          1_000_000 + t,
          Array.from({ length: each }, (_, k) => ({ id: newCallbackId(), atMs: firstDue + (k * tenants + t) * 9000 })),
        );
      }
      const dbClock = new DbClock();
      const engine = new CallbackEngine({ db: db.pool, hot, voice: NO_AGENTS, clock: databaseEngineClock(dbClock), logger: log });
      await engine.start();
      await meter.start();
      await new Promise((r) => setTimeout(r, idleSec * 1000));
      const { total: n, byCommand } = await meter.read();
      await engine.stop();
      await dropPrefix(redis, prefix);
      const what = tenants === 0 ? 'no tenant' : `${tenants} tenants, ${total} scheduled callbacks waiting (due in 1 h or later)`;
      const line = `idle node, ${what}: ${(n / idleSec).toFixed(3)} commands per second over ${idleSec} s (${formatByCommand(byCommand)}) (budget 1)`;
      console.log(line);
      results.push(line);
    }
    console.log(`\nsummary\n${results.join('\n')}`);
  } finally {
    redis.disconnect();
    meterRedis.disconnect();
    await db.close();
    await server.stop();
  }
}

await main();
