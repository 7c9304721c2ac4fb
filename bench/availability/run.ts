/**
 * Availability benchmark: the seed's worked example. A 24x7 service with 15-minute slots already
 * holds 134,400 scheduled callbacks (100 per slot for 14 days); we time GET availability for the
 * whole 14 days (1,344 slots) through the real HTTP stack (routing, validation, the counter read,
 * slot arithmetic, serialisation), timed inside the server process from arrival to response sent,
 * with the client in a worker thread; then the rate of creates that check and book capacity.
 *
 *   npm run bench:availability      # BENCH_DATABASE_URL, BENCH_REQUESTS (1000), BENCH_CREATES (2000)
 */
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { createPool } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrator.ts';
import { DbClock } from '../../src/store/db-clock.ts';
import { Maintenance } from '../../src/app/maintenance.ts';
import { CallbackService } from '../../src/app/callback-service.ts';
import { AvailabilityService } from '../../src/app/availability-service.ts';
import { applyTenantConfig } from '../../src/app/tenant-config.ts';
import { buildApiApp } from '../../src/main/api-app-assembly.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { addApiKey, findTenantByName } from '../../src/store/tenant-store.ts';

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/postgres';
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1000);
const CREATES = Number(process.env.BENCH_CREATES ?? 2000);
const PER_SLOT = 100; // seed: 100 per 15-minute slot
const CAPACITY = 110; // room left in every slot, so each response carries all 1,344 slots
const SLOT_MS = 15 * 60_000;
const DAYS = 14;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  const schema = `bench_avail_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const pool = createPool({ url: DATABASE_URL, max: 10, schema, applicationName: 'ges-bench' });
  try {
    await migrate(pool);
    const clock = new DbClock();
    await new Maintenance(pool, clock, createLogger('silent'), 14, 60_000).runOnce();
    const all = ['00:00-24:00'];
    const cap = [{ from: '00:00', to: '24:00', capacity: CAPACITY }];
    await applyTenantConfig(pool, {
      tenant: 'bench',
      businessHours: [{ name: '24x7', timeZone: 'Europe/London', weekly: { mon: all, tue: all, wed: all, thu: all, fri: all, sat: all, sun: all } }],
      capacityRules: [{ name: 'hundred', slotMinutes: 15, weekly: { mon: cap, tue: cap, wed: cap, thu: cap, fri: cap, sat: cap, sun: cap } }],
      services: [
        { name: 'bench', businessHours: '24x7', capacityRule: 'hundred', options: { inQueueChecking: 'false', requestsPerNumberPer24h: 0, horizonDays: 15 } },
      ],
    });
    const tenant = (await findTenantByName(pool, 'bench'))!;
    const key = `bench-key-${randomBytes(8).toString('hex')}`;
    await addApiKey(pool, tenant.id, key);
    const serviceId = (await pool.query<{ id: number }>(`SELECT id FROM callback_service WHERE name = 'bench'`)).rows[0]!.id;

    // Seed 134,400 scheduled callbacks the fast way (one INSERT ... SELECT), with their counters.
    const t0 = performance.now();
    const firstSlot = Math.ceil((Date.now() + 3_600_000) / SLOT_MS) * SLOT_MS;
    const slots = (DAYS * 86_400_000) / SLOT_MS;
    await pool.query(
      `INSERT INTO callback (desired_at, phone, slot_at, id, tenant_id, service_id, state, scheduled)
       SELECT to_timestamp($1 / 1000.0) + (s * interval '15 minutes') + (n * interval '8 seconds'),
              12120000000 + s * ${PER_SLOT} + n, to_timestamp($1 / 1000.0) + (s * interval '15 minutes'),
              gen_random_uuid(), $2, $3, 1, true
         FROM generate_series(0, $4 - 1) s, generate_series(0, ${PER_SLOT} - 1) n`,
      [firstSlot, tenant.id, serviceId, slots],
    );
    await pool.query(
      `INSERT INTO slot_booking (service_id, slot_start, booked)
       SELECT $2, to_timestamp($1 / 1000.0) + (s * interval '15 minutes'), ${PER_SLOT} FROM generate_series(0, $3 - 1) s`,
      [firstSlot, serviceId, slots],
    );
    await pool.query('ANALYZE callback, slot_booking');
    // Flush the seeding's writes now rather than in a checkpoint during the measurement.
    await pool.query('CHECKPOINT').catch(() => undefined);
    const held = (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM callback')).rows[0]!.n;
    console.log(`seeded ${held.toLocaleString('en-US')} scheduled callbacks in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const app = await buildApiApp({
      pool,
      logger: createLogger('silent'),
      bodyLimitBytes: 1 << 20,
      apiKeyCacheSeconds: 5,
      callbacks: new CallbackService(pool, clock),
      availability: new AvailabilityService(pool, clock),
    });
    // Server-side time of each request: fastify's elapsed time from arrival to the response sent,
    // which leaves out light-my-request's own work of assembling the 143 KiB reply for the caller.
    const serverTimes: number[] = [];
    let recording = false;
    app.addHook('onResponse', async (request, reply) => {
      if (recording && request.method === 'GET') serverTimes.push(reply.elapsedTime);
    });
    await app.ready();
    const url = `/engagement/v3/callbacks/availability/bench?start=${new Date(firstSlot).toISOString()}&numberOfDays=${DAYS}&timezone=Europe/London`;
    const check = await app.inject({ method: 'GET', url, headers: { 'x-api-key': key } });
    const slotCount = check.json().data.slots.length;
    if (check.statusCode !== 200 || slotCount !== slots) throw new Error(`unexpected response: ${check.statusCode}, ${slotCount} slots`);

    // The client runs in a worker thread (its own V8 heap) over loopback HTTP, so the server's
    // garbage collector sees only the server's allocations, as in production.
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const clientTimes = await new Promise<number[]>((resolve, reject) => {
      const worker = new Worker(
        `const { parentPort, workerData } = require('node:worker_threads');
         const http = require('node:http');
         const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
         // A plain keep-alive client that drops the body bytes: the lightest load on the shared cores.
         const get = (url, key) => new Promise((resolve, reject) => {
           http.get(url, { agent, headers: { 'x-api-key': key } }, (res) => {
             res.on('data', () => {});
             res.on('end', () => resolve(res.statusCode));
           }).on('error', reject);
         });
         (async () => {
           const { url, key, warmup, n } = workerData;
           const times = [];
           for (let i = 0; i < warmup + n; i++) {
             const s = performance.now();
             const status = await get(url, key);
             if (status !== 200) throw new Error('availability answered ' + status);
             if (i === warmup - 1) parentPort.postMessage('record');
             if (i >= warmup) times.push(performance.now() - s);
           }
           parentPort.postMessage(times);
         })().catch((err) => { throw err; });`,
        { eval: true, workerData: { url: `${address}${url}`, key, warmup: 50, n: REQUESTS } },
      );
      worker.on('message', (m: unknown) => {
        if (m === 'record') recording = true;
        else resolve(m as number[]);
      });
      worker.on('error', reject);
    });
    recording = false;
    const times = clientTimes.sort((a, b) => a - b);
    serverTimes.sort((a, b) => a - b);
    const p99 = percentile(serverTimes, 99);
    console.log(
      `availability, ${DAYS} days of 15-minute slots (${slotCount} slots, ${(check.body.length / 1024).toFixed(0)} KiB), ${REQUESTS} sequential requests over loopback HTTP:`,
    );
    const line = (t: number[]) =>
      `p50 ${percentile(t, 50).toFixed(2)} ms  p90 ${percentile(t, 90).toFixed(2)} ms  p99 ${percentile(t, 99).toFixed(2)} ms  max ${t.at(-1)!.toFixed(2)} ms`;
    console.log(`  in the server (arrival to response sent): ${line(serverTimes)}`);
    console.log(`  at the client (worker thread, keep-alive): ${line(times)}`);
    console.log(`  target p99 < 5 ms in the server: ${p99 < 5 ? 'MET' : 'NOT MET'}`);

    // Creates that check and book capacity, 8 in flight, into random slots of the 14 days.
    let next = 0;
    let ok = 0;
    let full = 0;
    const c0 = performance.now();
    const worker = async () => {
      for (let i = next++; i < CREATES; i = next++) {
        const slot = randomBytes(4).readUInt32BE() % slots;
        const res = await app.inject({
          method: 'POST',
          url: '/engagement/v3/callbacks/create',
          headers: { 'x-api-key': key, 'content-type': 'application/json' },
          payload: {
            serviceName: 'bench',
            phoneNumber: `+1646${String(5550000 + i).padStart(7, '0')}`,
            desiredTime: new Date(firstSlot + slot * SLOT_MS + 60_000).toISOString(),
          },
        });
        if (res.statusCode === 200) ok++;
        else if (res.statusCode === 429) full++;
        else throw new Error(`create answered ${res.statusCode}: ${res.body}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const seconds = (performance.now() - c0) / 1000;
    console.log(
      `creates with capacity check, 8 in flight: ${CREATES} in ${seconds.toFixed(1)} s = ${(CREATES / seconds).toFixed(0)} creates/s (${ok} booked, ${full} refused as full)`,
    );
    await app.close();
  } finally {
    await pool.end();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
