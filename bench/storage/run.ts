/**
 * Storage benchmark (Postgres): how many bytes one scheduled callback costs, with and without user
 * data, through the real create path. Three scenarios, each in a fresh schema:
 *   (a) no user data, (b) 10 KB and (c) 100 KB of incompressible printable ASCII in one userData field.
 * Size = growth of sum(pg_total_relation_size) over the schema's tables (partitions, their indexes
 * and TOAST included) between just before the inserts and after them, each read after a
 * CHECKPOINT; reported right after the burst and after a VACUUM (the steady state autovacuum keeps). The figures are file sizes (whole 8 kB pages, free-space and visibility maps included).
 *
 *   npm run bench:storage
 *   BENCH_DATABASE_URL=postgres://... BENCH_CALLBACKS=10000 BENCH_CONCURRENCY=4 npm run bench:storage
 * The process exits 0 whether or not the budget is met (the verdict is printed); 1 only on error.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { createPool } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrator.ts';
import { DbClock } from '../../src/store/db-clock.ts';
import { Maintenance } from '../../src/app/maintenance.ts';
import { CallbackService } from '../../src/app/callback-service.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { createTenant } from '../../src/store/tenant-store.ts';
import { upsertService } from '../../src/store/service-store.ts';
import { parseServiceOptions } from '../../src/domain/service-options.ts';

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/postgres';
const CALLBACKS = positiveInt(process.env.BENCH_CALLBACKS ?? '10000', 'BENCH_CALLBACKS');
const CONCURRENCY = positiveInt(process.env.BENCH_CONCURRENCY ?? '4', 'BENCH_CONCURRENCY');
const SPREAD_DAYS = 14;
const START_AHEAD_MS = 15 * 60_000; // first desired time: 15 minutes from now
const SERVICE = 'bench';

/** Budget (ours): without user data, and the cost of each byte of user data on top of that. */
const BUDGET_BYTES_PER_CALLBACK = 500;
const BUDGET_BYTES_PER_USER_DATA_BYTE = 1.1;

/** The seed system's storage test (10,000 callbacks) and its sizing guide, for comparison. */
const SEED_CALLBACKS = 10_000;
const SEED_GUIDE = '~7 kB per callback + 3 kB per kB of user data';
const MB = 1_000_000; // MB here are 10^6 bytes
const PAGE = 8192; // block size of a standard build

interface Scenario {
  key: 'a' | 'b' | 'c';
  label: string;
  userDataBytes: number;
  seedMB: number;
}

const SCENARIOS: readonly Scenario[] = [
  { key: 'a', label: 'no user data', userDataBytes: 0, seedMB: 41.1 },
  { key: 'b', label: '10 KB user data', userDataBytes: 10 * 1024, seedMB: 252.91 },
  { key: 'c', label: '100 KB user data', userDataBytes: 100 * 1024, seedMB: 595.79 },
];

interface FamilySize {
  family: string;
  relations: number;
  main: number;
  fsm: number;
  vm: number;
  pagesWithRows?: number; // heap and TOAST only: pages holding at least one tuple
}

interface ScenarioResult {
  scenario: Scenario;
  rawBytes: number; // growth right after the burst of creates
  bytes: number; // growth after VACUUM: the steady state (see STEADY_STATE below)
  families: FamilySize[]; // growth per relation family
  seconds: number;
  avgTuple: { callback: number; event: number };
}

function positiveInt(raw: string, name: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** Distinct valid US numbers: +1 212 555 0000..9999, then exchanges 556, 557, ... */
function phoneNumber(i: number): string {
  const exchange = 555 + Math.floor(i / 10_000);
  if (exchange > 999) throw new Error('BENCH_CALLBACKS too large for the number plan of this benchmark');
  return `+1 212 ${exchange} ${String(i % 10_000).padStart(4, '0')}`;
}

/** Printable ASCII 0x21-0x7E from crypto random bytes (uniform, by rejection), so it does not compress. */
function randomPrintable(length: number): string {
  const out = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const bytes = randomBytes(Math.ceil((length - filled) * 1.5) + 16);
    for (const b of bytes) {
      if (b >= 188) continue; // 188 = 2 * 94: keeps b % 94 uniform
      out[filled++] = 0x21 + (b % 94);
      if (filled === length) break;
    }
  }
  return out.toString('latin1');
}

async function withAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: DATABASE_URL, application_name: 'ges-bench' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** sum(pg_total_relation_size) over every table of the schema (partitions included). */
async function schemaTotalBytes(c: pg.Client, schema: string): Promise<number> {
  const { rows } = await c.query<{ bytes: string }>(
    `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint::text AS bytes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'm')`,
    [schema],
  );
  return Number(rows[0]?.bytes ?? 0);
}

/**
 * The same bytes split by relation family: a table's heap (all its partitions), its TOAST table and
 * TOAST index, and each of its indexes (all partitions of the index), by fork.
 */
async function familySizes(c: pg.Client, schema: string): Promise<Map<string, FamilySize>> {
  const { rows } = await c.query<{ family: string; relations: number; main: string; fsm: string; vm: string }>(
    `WITH t AS (
       SELECT c.oid, c.reltoastrelid, coalesce(p.relname, c.relname)::text AS base
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
         LEFT JOIN pg_class p ON p.oid = i.inhparent
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')
     ), parts AS (
       SELECT t.oid, t.base || ' heap' AS family FROM t
       UNION ALL
       SELECT t.reltoastrelid, t.base || ' TOAST' FROM t WHERE t.reltoastrelid <> 0
       UNION ALL
       SELECT x.indexrelid, t.base || ' TOAST index' FROM t JOIN pg_index x ON x.indrelid = t.reltoastrelid WHERE t.reltoastrelid <> 0
       UNION ALL
       SELECT x.indexrelid, t.base || ' index ' || coalesce(pi.relname, ic.relname)
         FROM t JOIN pg_index x ON x.indrelid = t.oid
         JOIN pg_class ic ON ic.oid = x.indexrelid
         LEFT JOIN pg_inherits ii ON ii.inhrelid = x.indexrelid
         LEFT JOIN pg_class pi ON pi.oid = ii.inhparent
     )
     SELECT family, count(*)::int AS relations,
            sum(pg_relation_size(oid, 'main') + pg_relation_size(oid, 'init'))::bigint::text AS main,
            sum(pg_relation_size(oid, 'fsm'))::bigint::text AS fsm,
            sum(pg_relation_size(oid, 'vm'))::bigint::text AS vm
       FROM parts GROUP BY family`,
    [schema],
  );
  return new Map(rows.map((r) => [r.family, { family: r.family, relations: r.relations, main: Number(r.main), fsm: Number(r.fsm), vm: Number(r.vm) }]));
}

/** Heap and TOAST pages that hold at least one tuple, per family (the rest of main is empty pages). */
async function pagesWithRows(c: pg.Client, schema: string): Promise<Map<string, number>> {
  const { rows } = await c.query<{ rel: string; family: string; toast: string | null }>(
    `SELECT c.oid::regclass::text AS rel, coalesce(p.relname, c.relname)::text AS family,
            CASE WHEN c.reltoastrelid <> 0 THEN c.reltoastrelid::regclass::text END AS toast
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
       LEFT JOIN pg_class p ON p.oid = i.inhparent
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')`,
    [schema],
  );
  const out = new Map<string, number>();
  const count = async (rel: string, family: string) => {
    const { rows: r } = await c.query<{ n: number }>(`SELECT count(DISTINCT (ctid::text::point)[0])::int AS n FROM ${rel}`);
    out.set(family, (out.get(family) ?? 0) + (r[0]?.n ?? 0));
  };
  for (const r of rows) {
    await count(r.rel, `${r.family} heap`);
    if (r.toast) await count(r.toast, `${r.family} TOAST`);
  }
  return out;
}

function familyGrowth(before: Map<string, FamilySize>, after: Map<string, FamilySize>): FamilySize[] {
  const out: FamilySize[] = [];
  for (const [family, a] of after) {
    const b = before.get(family) ?? { family, relations: 0, main: 0, fsm: 0, vm: 0 };
    out.push({ family, relations: a.relations, main: a.main - b.main, fsm: a.fsm - b.fsm, vm: a.vm - b.vm });
  }
  return out.sort((x, y) => y.main + y.fsm + y.vm - (x.main + x.fsm + x.vm) || x.family.localeCompare(y.family));
}

async function runScenario(s: Scenario, schema: string): Promise<ScenarioResult> {
  await withAdmin((c) => c.query(`CREATE SCHEMA ${schema}`));
  const pool = createPool({ url: DATABASE_URL, max: CONCURRENCY, schema, applicationName: 'ges-bench' });
  try {
    await migrate(pool);
    const clock = new DbClock();
    await new Maintenance(pool, clock, createLogger('silent'), 14, 60_000).runOnce();

    const tenant = await createTenant(pool, 'bench');
    await upsertService(
      pool,
      tenant.id,
      SERVICE,
      parseServiceOptions({
        inQueueChecking: 'false',
        requestsPerNumberPer24h: 0,
        horizonDays: SPREAD_DAYS + 1, // the spread starts 15 minutes ahead, so it ends just past 14 days
      }),
    );
    const service = new CallbackService(pool, clock);

    const { before, beforeFamilies } = await withAdmin(async (c) => {
      await c.query('CHECKPOINT');
      return { before: await schemaTotalBytes(c, schema), beforeFamilies: await familySizes(c, schema) };
    });

    const start = clock.now().getTime() + START_AHEAD_MS;
    const stepMs = (SPREAD_DAYS * 86_400_000) / CALLBACKS;
    // Customers book all sorts of days, not one day after another: desired times in random order.
    const slots = Array.from({ length: CALLBACKS }, (_, i) => i);
    for (let i = slots.length - 1; i > 0; i--) {
      const j = randomBytes(4).readUInt32BE() % (i + 1);
      [slots[i], slots[j]] = [slots[j]!, slots[i]!];
    }
    const t0 = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < CALLBACKS; i = next++) {
        const userData = s.userDataBytes > 0 ? { blob: randomPrintable(s.userDataBytes) } : undefined;
        await service.create(tenant, {
          serviceName: SERVICE,
          phoneNumber: phoneNumber(i),
          desiredTime: new Date(start + Math.floor(slots[i]! * stepMs)).toISOString(),
          userData,
        });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (performance.now() - t0) / 1000;

    return await withAdmin(async (c) => {
      await c.query('CHECKPOINT');
      const rawBytes = (await schemaTotalBytes(c, schema)) - before;
      // STEADY_STATE: a burst of concurrent inserts into one partition makes PostgreSQL extend the
      // heap by many pages at once; later inserts fill them (they are in the free-space map), and
      // (auto)vacuum truncates what is left at the end. VACUUM here gives that steady state.
      await c.query(`VACUUM ${['callback', 'callback_event', 'callback_data'].map((t) => `${schema}.${t}`).join(', ')}`);
      await c.query('CHECKPOINT');
      const after = await schemaTotalBytes(c, schema);
      const families = familyGrowth(beforeFamilies, await familySizes(c, schema));
      const used = await pagesWithRows(c, schema); // every table was empty before the inserts
      for (const f of families) if (used.has(f.family)) f.pagesWithRows = used.get(f.family);
      const { rows } = await c.query<{ n: string; cb: string | null; ev: string | null }>(
        `SELECT (SELECT count(*) FROM ${schema}.callback)::text AS n,
                (SELECT avg(pg_column_size(c.*)) FROM ${schema}.callback c)::text AS cb,
                (SELECT avg(pg_column_size(e.*)) FROM ${schema}.callback_event e)::text AS ev`,
      );
      const r = rows[0];
      if (Number(r?.n) !== CALLBACKS) throw new Error(`scenario ${s.key}: expected ${CALLBACKS} callbacks, found ${r?.n}`);
      const sum = families.reduce((acc, f) => acc + f.main + f.fsm + f.vm, 0);
      if (sum !== after - before) throw new Error(`scenario ${s.key}: breakdown ${sum} B differs from total growth ${after - before} B`);
      return { scenario: s, rawBytes, bytes: after - before, families, seconds, avgTuple: { callback: Number(r?.cb ?? 0), event: Number(r?.ev ?? 0) } };
    });
  } finally {
    await pool.end();
  }
}

function table(headers: string[], rows: string[][], rightAlign: boolean[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (rightAlign[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function breakdown(r: ScenarioResult): string {
  const grown = r.families.filter((f) => f.main + f.fsm + f.vm !== 0);
  const sum = (pick: (f: FamilySize) => number) => grown.reduce((acc, f) => acc + pick(f), 0);
  return table(
    ['relation', 'partitions', 'main B', 'pages', 'pages with rows', 'fsm+vm B', 'total B', 'B/callback', 'share'],
    [
      ...grown.map((f) => {
        const total = f.main + f.fsm + f.vm;
        return [
          f.family,
          String(f.relations),
          fmt(f.main, 0),
          fmt(f.main / PAGE, 0),
          f.pagesWithRows === undefined ? '-' : fmt(f.pagesWithRows, 0),
          fmt(f.fsm + f.vm, 0),
          fmt(total, 0),
          fmt(total / CALLBACKS, 1),
          `${fmt((100 * total) / r.bytes, 1)} %`,
        ];
      }),
      [
        'total',
        '',
        fmt(
          sum((f) => f.main),
          0,
        ),
        fmt(sum((f) => f.main) / PAGE, 0),
        '',
        fmt(
          sum((f) => f.fsm + f.vm),
          0,
        ),
        fmt(r.bytes, 0),
        fmt(r.bytes / CALLBACKS, 1),
        '100.0 %',
      ],
    ],
    [false, true, true, true, true, true, true, true, true],
  );
}

const fmt = (n: number, digits: number) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function main(): Promise<void> {
  for (let i = 0; i < CALLBACKS; i++) {
    const parsed = parsePhoneNumberFromString(phoneNumber(i));
    if (!parsed?.isValid()) throw new Error(`benchmark number ${phoneNumber(i)} is not a valid number for libphonenumber`);
  }
  const server = await withAdmin(async (c) => (await c.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]?.v ?? '?');
  console.log(`GES storage benchmark: ${CALLBACKS} scheduled callbacks per scenario over ${SPREAD_DAYS} days, ${CONCURRENCY} creates in flight`);
  console.log(`PostgreSQL ${server} at ${DATABASE_URL.replace(/\/\/[^@]*@/, '//')}, Node ${process.version}\n`);

  const tag = randomBytes(4).toString('hex');
  const pending = new Set<string>();
  const results: ScenarioResult[] = [];
  try {
    for (const s of SCENARIOS) {
      const schema = `bench_storage_${tag}_${s.key}`;
      pending.add(schema);
      process.stdout.write(`(${s.key}) ${s.label}: inserting... `);
      const r = await runScenario(s, schema);
      results.push(r);
      console.log(
        `${fmt(r.seconds, 1)} s (${fmt(CALLBACKS / r.seconds, 0)} creates/s), +${fmt(r.rawBytes / MB, 2)} MB right after, +${fmt(r.bytes / MB, 2)} MB after VACUUM`,
      );
      await withAdmin((c) => c.query(`DROP SCHEMA ${schema} CASCADE`));
      pending.delete(schema);
    }
  } finally {
    if (pending.size > 0) {
      await withAdmin(async (c) => {
        for (const schema of pending) await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      });
    }
  }

  const base = results.find((r) => r.scenario.key === 'a');
  if (!base) throw new Error('scenario (a) missing');
  const seedBase = SCENARIOS[0]!.seedMB * MB;
  const perUserByte = (r: ScenarioResult) => (r.bytes - base.bytes) / (CALLBACKS * r.scenario.userDataBytes);
  const seedPerUserByte = (s: Scenario) => (s.seedMB * MB - seedBase) / (SEED_CALLBACKS * s.userDataBytes);

  console.log(`\nFigures (MB = 10^6 bytes; user-data cost is measured against scenario (a); seed figures are for ${SEED_CALLBACKS} callbacks)\n`);
  console.log(
    table(
      ['scenario', 'user data B', 'MB right after', 'total MB', 'B/callback', 'B per user-data B', 'seed MB', 'seed B/callback', 'seed B per user-data B'],
      results.map((r) => [
        `(${r.scenario.key}) ${r.scenario.label}`,
        fmt(r.scenario.userDataBytes, 0),
        fmt(r.rawBytes / MB, 2),
        fmt(r.bytes / MB, 2),
        fmt(r.bytes / CALLBACKS, 0),
        r.scenario.userDataBytes > 0 ? fmt(perUserByte(r), 3) : '-',
        fmt(r.scenario.seedMB, 2),
        fmt((r.scenario.seedMB * MB) / SEED_CALLBACKS, 0),
        r.scenario.userDataBytes > 0 ? fmt(seedPerUserByte(r.scenario), 3) : '-',
      ]),
      [false, true, true, true, true, true, true, true, true],
    ),
  );
  console.log(`seed sizing guide: ${SEED_GUIDE}`);
  console.log('total MB and the budget are measured after VACUUM (steady state); "MB right after" is before it');

  for (const r of results) {
    const which = r === base ? 'Scenario (a)' : `Scenario (${r.scenario.key}), for comparison,`;
    console.log(`\n${which} by relation (growth; each family sums all daily partitions; fsm/vm are free-space and visibility maps)\n`);
    console.log(breakdown(r));
  }
  console.log(
    `\naverage tuple in (a) (header + data, pg_column_size): callback ${fmt(base.avgTuple.callback, 1)} B, callback_event ${fmt(base.avgTuple.event, 1)} B`,
  );

  console.log('\nBudget');
  const checks: [string, number, number, string][] = [
    [`(a) bytes per callback, indexes included, no user data`, base.bytes / CALLBACKS, BUDGET_BYTES_PER_CALLBACK, 'B'],
    ...results
      .filter((r) => r.scenario.userDataBytes > 0)
      .map((r): [string, number, number, string] => [`(${r.scenario.key}) bytes per byte of user data`, perUserByte(r), BUDGET_BYTES_PER_USER_DATA_BYTE, '']),
  ];
  let allPass = true;
  for (const [what, value, limit, unit] of checks) {
    const pass = value <= limit;
    allPass &&= pass;
    console.log(`  ${pass ? 'PASS' : 'FAIL'}  ${what}: ${fmt(value, unit ? 0 : 3)}${unit ? ' ' + unit : ''} (budget <= ${limit}${unit ? ' ' + unit : ''})`);
  }
  console.log(`\nStorage budget ${allPass ? 'met' : 'NOT met'}.`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
