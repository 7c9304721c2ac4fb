/**
 * How late a scheduled callback becomes QUEUED, with 134,400 scheduled: real Postgres (the QUEUED
 * history event's time, the database clock), a redis-server of its own, two engine nodes on the
 * real clock with the production poll (2 s). The due time is the desired time less the service's
 * execution buffer (120 s). Three kinds of callbacks fall due in a window of BENCH_WINDOW_SEC
 * (default 300) and are measured:
 * - seeded: in Postgres before the nodes start, loaded into Redis by the first node's rebuild, so
 *   no node has a timer of its own for them: they are found through the wake-up index;
 * - created on node A through the API while A and B run (A arms its own timer as well);
 * - created on node C, whose engine does not run (a node that only serves the API): A and B learn
 *   of them from the wake-up index only.
 * The other scheduled callbacks wait over the next 14 days. Nothing is dialed (no agents), so
 * the due path alone is timed.
 * Run: npm run bench:engine:latency
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { DbClock } from '../../src/store/db-clock.ts';
import { CallbackService } from '../../src/app/callback-service.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { RedisHotState } from '../../src/hot/redis-hot-state.ts';
import { CallbackEngine } from '../../src/engine/callback-engine.ts';
import { databaseEngineClock } from '../../src/engine/engine-clock.ts';
import { NO_AGENTS, benchDb, benchRedis, benchTenant, quantile } from './bench-support.ts';

const TOTAL = 134_400;
const SEEDED_PROBES = 1200;
const CREATED_PROBES = 150; // on each of node A and node C
const BUFFER_SEC = 120;

function summary(name: string, lateness: number[]): string {
  const s = [...lateness].sort((a, b) => a - b);
  const ms = (v: number) => `${(v * 1000).toFixed(0)} ms`;
  const over = s.filter((v) => v > 1).length;
  return (
    `${name.padEnd(34)} n=${String(s.length).padStart(5)}  p50 ${ms(quantile(s, 0.5)).padStart(7)}  p90 ${ms(quantile(s, 0.9)).padStart(7)}  ` +
    `p99 ${ms(quantile(s, 0.99)).padStart(7)}  max ${ms(s.at(-1) ?? NaN).padStart(7)}  over 1 s: ${over}`
  );
}

async function main(): Promise<void> {
  const windowSec = Number(process.env.BENCH_WINDOW_SEC ?? 300);
  const server = await benchRedis();
  const db = await benchDb(20);
  const redis = new Redis(server.url);
  const log = createLogger('silent');
  const engines: CallbackEngine[] = [];
  try {
    const { tenant, serviceId } = await benchTenant(db.pool, { executionBufferSec: BUFFER_SEC, slotCapacity: 100_000 });
    // The window opens once both nodes run; seeded probes fall due uniformly inside it.
    const windowStart = Date.now() + 30_000;
    const background = TOTAL - SEEDED_PROBES - 2 * CREATED_PROBES;
    const firstSlot = Math.ceil((windowStart + windowSec * 1000 + 3600_000) / 900_000) * 900_000;
    await db.pool.query(
      `INSERT INTO callback (desired_at, phone, slot_at, id, tenant_id, service_id, state, phase, scheduled, due_at)
       SELECT d, 12120000000 + k, d, gen_random_uuid(), $2, $3, 1, 0, true, d - make_interval(secs => ${BUFFER_SEC})
         FROM generate_series(0, $4 - 1) k, LATERAL (SELECT to_timestamp($1 / 1000.0) + k * interval '9 seconds' AS d) x`,
      [firstSlot, tenant.id, serviceId, background],
    );
    const { rows: probeRows } = await db.pool.query<{ id: string }>(
      `INSERT INTO callback (desired_at, phone, slot_at, id, tenant_id, service_id, state, phase, scheduled, due_at)
       SELECT d, 14140000000 + k, d, gen_random_uuid(), $2, $3, 1, 0, true, d - make_interval(secs => ${BUFFER_SEC})
         FROM (SELECT k, to_timestamp(($1 + random() * $5) / 1000.0) + make_interval(secs => ${BUFFER_SEC}) AS d
                 FROM generate_series(0, $4 - 1) k) x
       RETURNING id`,
      [windowStart, tenant.id, serviceId, SEEDED_PROBES, windowSec * 1000],
    );
    await db.pool.query('ANALYZE callback');
    const seeded = probeRows.map((r) => r.id);

    const prefix = `gesbench:${randomBytes(4).toString('hex')}:`;
    const node = (running: boolean) => {
      const engine = new CallbackEngine({
        db: db.pool,
        hot: new RedisHotState(redis, prefix),
        voice: NO_AGENTS,
        clock: databaseEngineClock(new DbClock()),
        logger: log,
      });
      if (running) engines.push(engine);
      const callbacks = new CallbackService(db.pool, new DbClock());
      callbacks.attach(engine, (err) => {
        throw err;
      });
      return { engine, callbacks };
    };
    const a = node(true);
    const b = node(true);
    const c = node(false); // serves the API only: its engine never starts
    const t0 = Date.now();
    await a.engine.start(); // the index is empty: node A rebuilds it from Postgres
    await b.engine.start();
    console.log(
      `Redis ${server.version}; ${TOTAL} scheduled callbacks; hot state rebuilt and both nodes running in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    if (Date.now() > windowStart) throw new Error('setting up took longer than the 30 s before the window');

    // Creates on A and on C at random moments of the window, each due 5-180 s after its creation.
    const created: { a: string[]; c: string[] } = { a: [], c: [] };
    const creates: Promise<void>[] = [];
    for (const [which, svc] of [
      ['a', a.callbacks],
      ['c', c.callbacks],
    ] as const) {
      for (let i = 0; i < CREATED_PROBES; i++) {
        const at = windowStart + Math.random() * (windowSec - 180) * 1000;
        creates.push(
          new Promise((resolve, reject) =>
            setTimeout(() => {
              const desired = new Date(Date.now() + (BUFFER_SEC + 5 + Math.random() * 175) * 1000);
              const phone = `+1415${which === 'a' ? '6' : '7'}55${String(1000 + i).padStart(4, '0')}`;
              svc.create(tenant, { serviceName: 'sales', phoneNumber: phone, desiredTime: desired.toISOString() }).then((r) => {
                created[which].push(r.id);
                resolve();
              }, reject);
            }, at - Date.now()),
          ),
        );
      }
    }
    await Promise.all(creates);
    const all = [...seeded, ...created.a, ...created.c];
    const deadline = windowStart + windowSec * 1000 + 30_000;
    for (;;) {
      const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM callback WHERE id = ANY($1::uuid[]) AND state = 2', [all]);
      if (rows[0]!.n === all.length) break;
      if (Date.now() > deadline) throw new Error(`only ${rows[0]!.n} of ${all.length} callbacks became QUEUED`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const lateness = async (ids: string[]) =>
      (
        await db.pool.query<{ s: number }>(
          `SELECT extract(epoch FROM e.at - (c.desired_at - make_interval(secs => ${BUFFER_SEC})))::float8 AS s
         FROM callback c JOIN callback_event e ON e.callback_id = c.id AND e.kind = 1 AND e.state = 2
        WHERE c.id = ANY($1::uuid[])`,
          [ids],
        )
      ).rows.map((r) => r.s);
    const scheduledNow = (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM callback WHERE state = 1')).rows[0]!.n;
    console.log(
      `window of ${windowSec} s; ${scheduledNow} callbacks still scheduled at its end; lateness = QUEUED event time - (desired time - ${BUFFER_SEC} s)`,
    );
    console.log(summary('seeded (found via the wake-up index)', await lateness(seeded)));
    console.log(summary('created on node A (A and B run)', await lateness(created.a)));
    console.log(summary('created on node C (no engine)', await lateness(created.c)));
    console.log(summary('all', await lateness(all)));
  } finally {
    for (const e of engines) await e.stop();
    redis.disconnect();
    await db.close();
    await server.stop();
  }
}

await main();
