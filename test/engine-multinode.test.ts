import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { createTestDb, createTestTenant, TEST_DATABASE_URL, type TestDb } from './support/test-env.ts';
import { connectRedis, dropPrefix, testPrefix, TEST_REDIS_URL } from './support/redis-env.ts';
import { waitFor } from './support/wait-for.ts';
import { readLedgerFile } from '../src/voice/redis-stream/dial-ledger-file.ts';
import { voiceStreamKeys } from '../src/voice/redis-stream/voice-stream-keys.ts';
import { AGENTS, assertEveryFlowPlayed, checkCallbacks, flowSim, phoneOf, recreatedCallbacks, serviceOf, SERVICES, type Created } from './support/flow-day.ts';

/**
 * Many nodes, nothing lost, nothing twice. Three GES processes share one database and one Redis
 * and dial through a stand-in telephony platform in its own process (platform-process.ts, over the
 * Redis-stream voice contract). A few hundred callbacks, immediate and scheduled, are created
 * through the HTTP API of all three nodes; mid-run one node is frozen and killed with SIGKILL while
 * it holds unacknowledged platform events, and later every Redis key of the deployment is deleted
 * (hot state, command and event streams, presence), as when Redis loses its data, while the other
 * two are frozen so that platform events in transit are lost with it. The callbacks are spread over
 * a service per voice flow (test/support/flow-day.ts: confirmation, preview, machines, disposition,
 * context) beside the plain ones. Every callback
 * must still end COMPLETED with the reason that follows from what the platform's dial ledger says
 * happened to its calls, every attempt must have been dialed once, attempt numbers must follow one
 * another, no agent may be shown or held for a callback again after rejecting it, and the killed
 * node's pending events must have been taken over by the others.
 *
 * Time is compressed: the platform plays its contact center at SPEED times real time, services
 * retry after 1-2 s, and the engine's watchdogs and the adapter's claim of a dead node's events
 * are shortened by settings (ENGINE_WATCHDOG_SEC, VOICE_CLAIM_IDLE_MS), so the day takes about a
 * minute.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GES_BIN = join(ROOT, 'bin/ges.mjs');
const PLATFORM = join(ROOT, 'src/voice/redis-stream/platform-process.ts');

/** Platform seconds per wall-clock second. */
const SPEED = 20;
const NODES = 3;
/** Callbacks created before the kill, between the kill and the flush, and after the flush. */
const WAVES = [150, 90, 60] as const;

// ---- processes ----------------------------------------------------------------------------------

interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
  exitCode(): number | null | undefined;
}

function spawnProc(t: TestContext, name: string, args: string[], env: Record<string, string>): Proc {
  const { NODE_TEST_CONTEXT: _ignored, ...inherited } = process.env;
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of String(chunk).split('\n')) if (line.trim() !== '') lines.push(line);
    if (lines.length > 20_000) lines.splice(0, lines.length - 20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve((code = c))));
  t.after(async () => {
    if (code === undefined) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { name, child, lines, exited, exitCode: () => code };
}

async function stopProc(p: Proc, ms = 15_000): Promise<number | null> {
  if (p.exitCode() !== undefined) return p.exitCode()!;
  p.child.kill('SIGCONT'); // in case the run failed while it was frozen
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), ms);
  try {
    return await p.exited;
  } finally {
    clearTimeout(timer);
  }
}

interface GesNode extends Proc {
  apiUrl: string;
  /** Its consumer name in the event stream's group (the adapter's default: host and pid). */
  consumer: string;
}

async function startNode(t: TestContext, index: number, env: Record<string, string>): Promise<GesNode> {
  const proc = spawnProc(t, `node${index}`, [GES_BIN, 'start'], env);
  let urls: { apiUrl: string; internalUrl: string } | undefined;
  await waitFor(
    () => {
      if (proc.exitCode() !== undefined) throw new Error(`${proc.name} exited with ${proc.exitCode()}:\n${proc.lines.slice(-30).join('\n')}`);
      for (const line of proc.lines) {
        if (!line.includes('"GES listening"')) continue;
        urls = JSON.parse(line) as { apiUrl: string; internalUrl: string };
        return true;
      }
      return false;
    },
    `${proc.name} to listen`,
    60_000,
  );
  await waitFor(async () => (await fetch(`${urls!.internalUrl}/health/ready`).catch(() => undefined))?.status === 200, `${proc.name} ready`, 30_000);
  return Object.assign(proc, { apiUrl: urls!.apiUrl, consumer: `${hostname()}-${proc.child.pid}` });
}

/** The contact center in its own process; resolves once it printed READY. */
async function startPlatform(t: TestContext, prefix: string, tenant: string, ledgerFile: string): Promise<Proc> {
  const queues = Object.fromEntries(
    Object.entries(AGENTS).map(([service, agents]) => [`${tenant}/${service}`, { agents, handleTimeSec: { mean: 10, sd: 3 } }]),
  );
  const sim = flowSim(WAVES[0] + WAVES[1] + WAVES[2]);
  const proc = spawnProc(
    t,
    'platform',
    [
      '--import',
      'tsx',
      PLATFORM,
      '--redis',
      TEST_REDIS_URL,
      '--prefix',
      prefix,
      '--queues',
      JSON.stringify(queues),
      '--seed',
      '20240611',
      '--speed',
      String(SPEED),
      '--ledger-file',
      ledgerFile,
      '--sim',
      JSON.stringify(sim),
      '--heartbeat-ms',
      '2000',
      '--log-level',
      'warn',
    ],
    {},
  );
  await waitFor(
    () => {
      if (proc.exitCode() !== undefined) throw new Error(`platform exited with ${proc.exitCode()}:\n${proc.lines.join('\n')}`);
      return proc.lines.includes('READY');
    },
    'the platform to print READY',
    60_000,
  );
  return proc;
}

// ---- helpers -------------------------------------------------------------------------------------

async function createCallback(node: GesNode, apiKey: string, body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${node.apiUrl}/engagement/v3/callbacks/create`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { data?: { id: string }; status: { message: string } };
  assert.equal(res.status, 200, `create on ${node.name}: ${json.status.message}`);
  return json.data!.id;
}

/** Creates `count` callbacks, every 4th for support, every 3rd scheduled 2-12 s ahead, round-robin over `nodes`. */
async function createWave(nodes: GesNode[], apiKey: string, first: number, count: number): Promise<Created[]> {
  const specs = Array.from({ length: count }, (_, i) => {
    const n = first + i;
    const service = serviceOf(n);
    const scheduled = n % 3 === 2;
    return { n, service, scheduled, node: nodes[i % nodes.length]! };
  });
  const out: Created[] = [];
  for (let i = 0; i < specs.length; i += 10) {
    out.push(
      ...(await Promise.all(
        specs.slice(i, i + 10).map(async ({ n, service, scheduled, node }) => {
          const body: Record<string, unknown> = { serviceName: service, phoneNumber: phoneOf(n) };
          if (scheduled) body.desiredTime = new Date(Date.now() + 2000 + (n % 11) * 1000).toISOString();
          const orderId = service === 'context' ? `A-${n}` : undefined;
          if (orderId !== undefined) body.userData = { orderId, note: 'a context field' };
          return { id: await createCallback(node, apiKey, body), service, scheduled, via: node.name, ...(orderId === undefined ? {} : { orderId }) };
        }),
      )),
    );
  }
  return out;
}

/** Whether the node's event-stream connection is blocked in XREADGROUP right now (CLIENT LIST flag b). */
async function blockedOnEvents(redis: Redis, consumer: string): Promise<boolean> {
  const list = String(await redis.call('CLIENT', 'LIST'));
  return list.split('\n').some((line) => line.includes(` name=${consumer}:voice-events `) && / flags=\S*b/.test(line) && line.includes(' cmd=xreadgroup'));
}

async function pendingOf(redis: Redis, stream: string, consumer: string): Promise<string[]> {
  const reply = (await redis.call('XPENDING', stream, 'ges', '-', '+', '1000', consumer)) as [string, ...unknown[]][];
  return reply.map((row) => String(row[0]));
}

/** Callbacks whose call will bring platform events without further commands: dialing (2), connecting (4), talking (5). */
async function callsUnderway(db: TestDb): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM callback WHERE state < 5 AND phase IN (2, 4, 5)');
  return rows[0]!.n;
}

// ---- the run -------------------------------------------------------------------------------------

test('three GES nodes work a day of callbacks: one killed with SIGKILL, Redis flushed, nothing lost, nothing dialed twice', { timeout: 240_000 }, async (t) => {
  const started = Date.now();
  const db = await createTestDb();
  t.after(() => db.close());
  const redis = await connectRedis();
  const prefix = testPrefix();
  t.after(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });
  const dir = mkdtempSync(join(tmpdir(), 'ges-multinode-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ledgerFile = join(dir, 'ledger.json');
  const keys = voiceStreamKeys(prefix);

  const tenant = await createTestTenant(db, undefined, SERVICES);
  const platform = await startPlatform(t, prefix, tenant.name, ledgerFile);
  const env = {
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_SCHEMA: db.schema,
    DATABASE_POOL_MAX: '6',
    // A burst of creates from one key is this test's load, not abuse: no rate limit.
    RATE_LIMIT_CREATE_PER_KEY: '0',
    RATE_LIMIT_CREATE_PER_TENANT: '0',
    MIGRATE_ON_START: 'false',
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    HOST: '127.0.0.1',
    PORT: '0',
    INTERNAL_PORT: '0',
    VOICE_PLATFORM: 'redis-stream',
    ENGINE_POLL_MS: '200',
    ENGINE_WATCHDOG_SEC: '6',
    VOICE_CLAIM_IDLE_MS: '3000',
    VOICE_CLAIM_INTERVAL_MS: '1000',
    DEMO_SEED: 'false',
    LOG_LEVEL: 'info',
    API_KEY_CACHE_SEC: '60',
    MAINTENANCE_INTERVAL_SEC: '86400',
  };
  const nodes = await Promise.all(Array.from({ length: NODES }, (_, i) => startNode(t, i, env)));
  const ledger = () => readLedgerFile(ledgerFile);
  const dials = () => ledger()?.dialsPlaced ?? 0;

  const created: Created[] = [];
  try {
    // Wave 1 over all three nodes, then wait for calls in flight.
    created.push(...(await createWave(nodes, tenant.apiKey, 0, WAVES[0])));
    await waitFor(async () => dials() >= 40 && (await callsUnderway(db)) >= 3, 'calls in flight', 60_000);

    // Freeze node 0: a blocked XREADGROUP is still served by Redis, so the next events land in its
    // pending list and stay there, unacknowledged. Then kill it without a chance to clean up.
    // It must be frozen inside its blocking read, or no event is ever delivered to it: wait for the
    // read, freeze, and if nothing lands (it was between reads after all), thaw and try again.
    const victim = nodes[0]!;
    let orphaned: string[] = [];
    for (let round = 1; orphaned.length === 0; round++) {
      await waitFor(() => blockedOnEvents(redis, victim.consumer), 'node 0 to block on the event stream', 20_000);
      victim.child.kill('SIGSTOP');
      try {
        await waitFor(async () => (orphaned = await pendingOf(redis, keys.events, victim.consumer)).length > 0, 'events pending on the frozen node', 8_000);
      } catch (error) {
        if (round === 5) throw error;
        victim.child.kill('SIGCONT');
      }
    }
    victim.child.kill('SIGKILL');
    await victim.exited;
    const dialsAtKill = dials();
    const survivors = nodes.slice(1);

    created.push(...(await createWave(survivors, tenant.apiKey, WAVES[0], WAVES[1])));
    // The dead node's events are claimed and handled by the others (VOICE_CLAIM_IDLE_MS).
    await waitFor(async () => (await pendingOf(redis, keys.events, victim.consumer)).length === 0, "the killed node's pending events to be taken over", 30_000);
    await waitFor(async () => dials() >= dialsAtKill + 40 && (await callsUnderway(db)) >= 5, 'dialing to go on without node 0', 60_000);

    // Redis loses everything of the deployment at once: hot state, both streams with their groups
    // and pending lists, presence. The survivors are frozen first, so that platform events written
    // meanwhile are still unread and lost with the rest (as they would be behind a slow node): the
    // recovery of messages in transit is exercised on every run, not only when the timing happens to.
    for (const node of survivors) node.child.kill('SIGSTOP');
    const eventsBefore = await redis.xlen(keys.events);
    let pileUp = 0;
    await waitFor(async () => (pileUp = (await redis.xlen(keys.events)) - eventsBefore) >= 4, 'platform events to pile up unread', 20_000);
    const logLinesAtFlush = survivors.map((n) => n.lines.length);
    const flushed: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      flushed.push(...batch);
    } while (cursor !== '0');
    await redis.del(...flushed);
    for (const node of survivors) node.child.kill('SIGCONT');
    for (const key of [keys.commands, keys.events]) assert.ok(flushed.includes(key), `${key} existed and was flushed`);
    assert.ok(
      flushed.some((key) => !Object.values(keys).includes(key)),
      "the engine's hot state was flushed too",
    );
    const dialsAtFlush = dials();

    created.push(...(await createWave(survivors, tenant.apiKey, WAVES[0] + WAVES[1], WAVES[2])));
    const total = WAVES[0] + WAVES[1] + WAVES[2];
    let open = total;
    await waitFor(
      async () => {
        // A dialog still awaited (disposition 0) may yet recreate a callback.
        const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM callback WHERE state < 5 OR disposition = 0');
        open = rows[0]!.n;
        return open === 0;
      },
      'every callback to complete',
      150_000,
    ).catch(async (error: unknown) => {
      const { rows } = await db.pool.query('SELECT id, state, phase, attempt, due_at FROM callback WHERE state < 5 LIMIT 20');
      throw new Error(`${(error as Error).message}: ${open} open, e.g. ${JSON.stringify(rows)}`);
    });
    const runSec = (Date.now() - started) / 1000;

    // The platform writes its ledger a last time on SIGTERM; it must not have crashed (a key placed
    // twice throws inside it).
    assert.equal(platform.exitCode(), undefined, 'the platform ran throughout');
    assert.equal(await stopProc(platform), 0, 'the platform stopped cleanly');
    const final = ledger()!;
    for (const node of survivors) assert.equal(node.exitCode(), undefined, `${node.name} ran throughout`);

    // ---- what was proven ----
    assert.equal(created.length, total);
    assert.equal(new Set(created.map((c) => c.id)).size, total, 'every create made its own callback');
    assert.ok(orphaned.length > 0, 'the killed node held unacknowledged events');
    assert.ok(dialsAtFlush > dialsAtKill, 'the survivors dialed after the kill');
    assert.ok(final.dialsPlaced > dialsAtFlush, 'dialing went on after the flush');
    assert.ok(
      survivors.some((n, i) => n.lines.slice(logLinesAtFlush[i]).some((l) => l.includes('hot state rebuilt from the database'))),
      'a surviving node noticed the lost hot state and rebuilt it from Postgres',
    );

    const recreated = await recreatedCallbacks(db, created);
    const summary = await checkCallbacks(db, [...created, ...recreated], final);
    assertEveryFlowPlayed(summary, recreated.length);
    assert.equal(summary.dialsPlaced, final.dialsPlaced, 'the ledger holds the dials of these callbacks and nothing else');
    t.diagnostic(
      `run ${runSec.toFixed(1)} s: ${total} callbacks, ${final.dialsPlaced} dials, ${final.duplicates} repeated dial commands (never dialed again; ${final.replays} answered with the call's latest event), ` +
        `${orphaned.length} events orphaned by the kill, ${flushed.length} keys flushed with ${pileUp} events written while the nodes were frozen, ` +
        `${summary.givenUp} attempts given up by a watchdog, ` +
        `${recreated.length} recreated by CALL_BACK_LATER, flows ${JSON.stringify(summary.flows)}, reasons ${JSON.stringify(summary.reasons)}`,
    );
  } catch (error) {
    for (const p of [platform, ...nodes]) {
      const tail = p.lines.filter((l) => !l.includes('"msg":"request completed"') && !l.includes('"msg":"incoming request"')).slice(-40);
      process.stderr.write(`---- ${p.name} (exit ${String(p.exitCode())}) ----\n${tail.join('\n')}\n`);
    }
    throw error;
  } finally {
    await Promise.all([platform, ...nodes].map((p) => stopProc(p)));
  }
});
