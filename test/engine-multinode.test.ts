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
import { readLedgerFile, type DialLedgerFile } from '../src/voice/redis-stream/dial-ledger-file.ts';
import { voiceStreamKeys } from '../src/voice/redis-stream/voice-stream-keys.ts';
import { previewRejectReason, REASONS, reasonName, stateName, type CompletionReason } from '../src/domain/callback-state.ts';
import { DISPOSITION_STORED } from '../src/domain/disposition.ts';
import { parseServiceOptions, type ServiceOptions } from '../src/domain/service-options.ts';
import type { DialResult } from '../src/voice/simulator/dial-ledger.ts';

/**
 * Many nodes, nothing lost, nothing twice. Three GES processes share one database and one Redis
 * and dial through a stand-in telephony platform in its own process (platform-process.ts, over the
 * Redis-stream voice contract). A few hundred callbacks, immediate and scheduled, are created
 * through the HTTP API of all three nodes; mid-run one node is frozen and killed with SIGKILL while
 * it holds unacknowledged platform events, and later every Redis key of the deployment is deleted
 * (hot state, command and event streams, presence), as when Redis loses its data, while the other
 * two are frozen so that platform events in transit are lost with it. Every callback
 * must still end COMPLETED with the reason that follows from what the platform's dial ledger says
 * happened to its calls, every attempt must have been dialed once, attempt numbers must follow one
 * another, and the killed node's pending events must have been taken over by the others.
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

const RETRY: ServiceOptions['retry'] = {
  busy: { maxAttempts: 2, delaySec: 2 },
  noAnswer: { maxAttempts: 2, delaySec: 2 },
  machine: { maxAttempts: 3, delaySec: 1 },
  invalidNumber: { maxAttempts: 1, delaySec: 1 },
  // Platform failures (an attempt given up by its watchdog after a lost event) are retried generously,
  // so that every callback ends on what the customer's phone did.
  failed: { maxAttempts: 10, delaySec: 1 },
  fax: { maxAttempts: 1, delaySec: 1 },
  sit: { maxAttempts: 1, delaySec: 1 },
  networkFailure: { maxAttempts: 10, delaySec: 1 },
};
/** Open all day (no business hours), no per-number or per-slot limits, scheduled ones queue at their time. */
const COMMON_OPTIONS = {
  inQueueChecking: 'false',
  requestsPerNumberPer24h: 0,
  slotCapacity: 100000,
  executionBufferSec: 0,
  retry: RETRY,
} as const;
/** The voice flows of docs/ENGINE.md, a service each, beside the plain customer-first and agent-first ones. */
const FLOW_OPTIONS = { ...COMMON_OPTIONS, firstConnectParty: 'CUSTOMER' } as const;
const PREVIEW = { agentPreview: true, maxPreviewRejects: 2, agentRejectRetryTimeoutSec: 0 } as const;
const SERVICES = {
  sales: { ...COMMON_OPTIONS, firstConnectParty: 'CUSTOMER' },
  support: { ...COMMON_OPTIONS, firstConnectParty: 'AGENT' },
  confirmEnd: { ...FLOW_OPTIONS, userConfirm: true, onUserConfirmTimeout: 'END' },
  confirmConnect: { ...FLOW_OPTIONS, userConfirm: true, onUserConfirmTimeout: 'CONNECT' },
  previewCustomer: { ...FLOW_OPTIONS, ...PREVIEW },
  previewAgent: { ...FLOW_OPTIONS, ...PREVIEW, firstConnectParty: 'AGENT' },
  machineMessage: { ...FLOW_OPTIONS, onMachine: 'LEAVE_MESSAGE', machineMessageText: 'Sorry we missed you, we will call again.' },
  machineAnswered: { ...FLOW_OPTIONS, onMachine: 'TREAT_AS_ANSWERED' },
  // Recreates come due 2 s after the dialog (GES's clock, not the platform's compressed one).
  disposition: { ...FLOW_OPTIONS, enableDispositionDialog: true, agentDispositionTimeoutSec: 10, callBackLaterDelaySec: 2 },
  context: { ...COMMON_OPTIONS, firstConnectParty: 'AGENT', previewKeys: 'orderId' },
} as const;
type ServiceName = keyof typeof SERVICES;
const AGENTS: Record<ServiceName, number> = {
  sales: 6,
  support: 4,
  confirmEnd: 2,
  confirmConnect: 2,
  previewCustomer: 3,
  previewAgent: 3,
  machineMessage: 2,
  machineAnswered: 2,
  disposition: 3,
  context: 2,
};
/** Which service callback n is for: half plain, half one of the flows. */
const SERVICE_CYCLE: readonly ServiceName[] = [
  'sales',
  'confirmEnd',
  'support',
  'previewCustomer',
  'sales',
  'machineMessage',
  'disposition',
  'previewAgent',
  'sales',
  'confirmConnect',
  'support',
  'machineAnswered',
  'context',
  'disposition',
];
const serviceOf = (n: number): ServiceName => SERVICE_CYCLE[n % SERVICE_CYCLE.length]!;
const phoneOf = (n: number) => `+1415555${2000 + n}`;

/** The outcomes a dial can have on the platform, and the retry policy GES applies to each. */
const POLICY_OF = { busy: 'busy', no_answer: 'noAnswer', machine: 'machine', invalid_number: 'invalidNumber', fax: 'fax', sit: 'sit' } as const;
type CustomerFailure = keyof typeof POLICY_OF;
const isCustomerFailure = (s: string | null | undefined): s is CustomerFailure => s != null && s in POLICY_OF;
/** Details of the history event that ends an attempt without an agent (the engine's reading of it). */
const ATTEMPT_END_DETAILS = new Set(['busy', 'no_answer', 'machine', 'invalid_number', 'failed', 'abandoned', 'fax', 'sit', 'network_failure']);

const KIND = { STATE: 1, DIAL: 2 } as const;

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
  // The machine services' customers get a machine every other dial, so both machine flows are played often.
  const perNumber: Record<string, { machine: number }> = {};
  for (let n = 0; n < WAVES[0] + WAVES[1] + WAVES[2]; n++) if (serviceOf(n).startsWith('machine')) perNumber[phoneOf(n)] = { machine: 0.5 };
  const sim = {
    customers: { answer: 0.56, busy: 0.1, noAnswer: 0.08, machine: 0.1, invalid: 0.06, fax: 0.04, sit: 0.03, networkFailure: 0.03 },
    perNumber,
    // Answered customers wait for an agent far longer than the run: every answer is worked, none abandons.
    customerPatienceSec: 7200,
    // Many customers decline and many agents reject, so that every end of both flows is reached.
    confirmation: { confirm: 0.6, decline: 0.25, timeout: 0.15 },
    preview: { accept: 0.6, reject: 0.3, timeout: 0.1 },
    // Every dialog is answered well within its timeout (no desired time: the platform's clock runs ahead of GES's).
    dispositions: { mix: { DONE: 0.6, CALL_BACK_LATER: 0.3, NOT_INTERESTED: 0.1 }, afterSec: { mean: 3, sd: 1 } },
  };
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

interface Created {
  id: string;
  service: ServiceName;
  /** The userData orderId it was created with (the context service), to be found on the agent's screen. */
  orderId?: string;
  /** The callback whose CALL_BACK_LATER disposition recreated this one. */
  recreatedFrom?: string;
  scheduled: boolean;
  via: string;
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
    // Every flow was played to the end that matters for it (the run's mix and seed make each likely, the assert makes it certain).
    for (const reason of ['FAIL_USER_NO_CONFIRM', 'MESSAGE_LEFT', 'AGENT_PREVIEW_CANCEL_AFTER_2REJECTS', 'AGENT_CONNECTED', 'FAIL_CALL_TO_CUSTOMER'] as const) {
      const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM callback WHERE reason = $1', [REASONS[reason]]);
      assert.ok(rows[0]!.n > 0, `some callback completed ${reason}`);
    }
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
    assert.equal(summary.dialsPlaced, final.dialsPlaced, 'the ledger holds the dials of these callbacks and nothing else');
    t.diagnostic(
      `run ${runSec.toFixed(1)} s: ${total} callbacks, ${final.dialsPlaced} dials, ${final.duplicates} repeated dial commands (never dialed again; ${final.replays} answered with the call's latest event), ` +
        `${orphaned.length} events orphaned by the kill, ${flushed.length} keys flushed with ${pileUp} events written while the nodes were frozen, ` +
        `${summary.givenUp} attempts given up by a watchdog, ` +
        `${recreated.length} recreated by CALL_BACK_LATER, ${summary.previews} previews (${summary.previewRejects} rejected), ${summary.confirmations} confirmation answers, ` +
        `${summary.screens} context screens checked, ${summary.dispositionsLost} dispositions lost in the flush, reasons ${JSON.stringify(summary.reasons)}`,
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

/** The callbacks CALL_BACK_LATER dispositions recreated (chains included), each linked to its original. */
async function recreatedCallbacks(db: TestDb, created: Created[]): Promise<Created[]> {
  const known = new Set(created.map((c) => c.id));
  const { rows } = await db.pool.query<{ id: string; service: string; detail: string }>(
    `SELECT c.id, s.name AS service, e.detail FROM callback c JOIN callback_service s ON s.id = c.service_id
       JOIN callback_event e ON e.callback_id = c.id AND e.detail LIKE 'recreated from %'`,
  );
  const out: Created[] = [];
  for (const row of rows) {
    if (known.has(row.id)) continue;
    out.push({ id: row.id, service: row.service as ServiceName, scheduled: true, via: 'recreate', recreatedFrom: row.detail.slice('recreated from '.length) });
  }
  return out;
}

interface EventRow {
  callback_id: string;
  kind: number;
  state: number;
  reason: number | null;
  attempt: number;
  detail: string | null;
  at: Date;
}

/**
 * Checks every callback against the platform's ledger: its completion reason follows from what
 * happened to its last call, every earlier attempt ended the way the engine recorded it, each
 * attempt was dialed once, attempt numbers follow one another, and scheduled callbacks were not
 * queued before their time.
 */
async function checkCallbacks(db: TestDb, created: Created[], final: DialLedgerFile) {
  const { rows: callbacks } = await db.pool.query<{
    id: string;
    state: number;
    reason: number | null;
    attempt: number;
    desired_at: Date;
    disposition: number | null;
  }>('SELECT id, state, reason, attempt, desired_at, disposition FROM callback');
  const { rows: events } = await db.pool.query<EventRow>('SELECT callback_id, kind, state, reason, attempt, detail, at FROM callback_event ORDER BY at');
  const byId = new Map(callbacks.map((c) => [c.id, c]));
  const eventsOf = new Map<string, EventRow[]>();
  for (const e of events) eventsOf.set(e.callback_id, [...(eventsOf.get(e.callback_id) ?? []), e]);
  const ledgerOf = new Map<string, Map<number, { received: number; dialed: boolean; result: DialResult | undefined }>>();
  for (const [key, entry] of Object.entries(final.keys)) {
    const colon = key.lastIndexOf(':');
    const id = key.slice(0, colon);
    assert.ok(byId.has(id), `ledger key ${key} belongs to a callback of this run`);
    const attempts = ledgerOf.get(id) ?? new Map();
    attempts.set(Number(key.slice(colon + 1)), { ...entry, result: final.results[key] });
    ledgerOf.set(id, attempts);
  }
  const options = Object.fromEntries(Object.entries(SERVICES).map(([name, o]) => [name, parseServiceOptions(o)])) as Record<
    keyof typeof SERVICES,
    ServiceOptions
  >;

  const recreatesOf = new Map<string, string[]>();
  for (const c of created) if (c.recreatedFrom !== undefined) recreatesOf.set(c.recreatedFrom, [...(recreatesOf.get(c.recreatedFrom) ?? []), c.id]);
  // Previews are keyed by attempt like dials, but an agent-first attempt is previewed before (or without) its dial.
  const previewsOf = new Map<string, { attempt: number; agentId: string; answer?: string }[]>();
  for (const [key, offers] of Object.entries(final.previews)) {
    const colon = key.lastIndexOf(':');
    const id = key.slice(0, colon);
    assert.ok(byId.has(id), `previewed key ${key} belongs to a callback of this run`);
    const list = previewsOf.get(id) ?? [];
    for (const o of offers) list.push({ attempt: Number(key.slice(colon + 1)), ...o });
    previewsOf.set(id, list);
  }
  const storedDisposition = Object.fromEntries(Object.entries(DISPOSITION_STORED).map(([code, n]) => [n, code])) as Record<number, string>;

  let dialsPlaced = 0;
  let givenUp = 0;
  let previews = 0;
  let previewRejects = 0;
  let confirmations = 0;
  let screens = 0;
  let dispositionsLost = 0;
  const reasons: Record<string, number> = {};
  for (const c of created) {
    const row = byId.get(c.id);
    assert.ok(row, `${c.id} exists`);
    const what = `${c.id} (${c.service}${c.scheduled ? ', scheduled' : ''}, created on ${c.via})`;
    const flow = options[c.service];
    assert.equal(stateName(row.state), 'COMPLETED', `${what} completed`);
    const reason = reasonName(row.reason)!;
    reasons[reason] = (reasons[reason] ?? 0) + 1;
    const history = eventsOf.get(c.id) ?? [];
    const platformSide = ledgerOf.get(c.id) ?? new Map();
    const last = row.attempt;
    assert.ok(last >= 1, `${what} was attempted`);

    // Each attempt is dialed at most once, and every dial GES recorded reached the platform.
    const dialEvents = history.filter((e) => e.kind === KIND.DIAL && e.detail === 'dial');
    const dialedAttempts = dialEvents.map((e) => e.attempt);
    assert.equal(new Set(dialedAttempts).size, dialedAttempts.length, `${what}: no attempt dialed twice (${dialedAttempts.join(',')})`);
    for (const n of dialedAttempts) assert.ok(platformSide.has(n), `${what}: the dial of attempt ${n} reached the platform`);
    for (const [n, entry] of platformSide) {
      assert.ok(dialedAttempts.includes(n), `${what}: the platform was asked to dial attempt ${n}, which GES recorded as dialed`);
      if (entry.dialed) dialsPlaced += 1;
    }
    const placed = [...platformSide]
      .filter(([, e]) => e.dialed)
      .map(([n]) => n)
      .sort((a, b) => a - b);
    const ending = (n: number) =>
      history.filter(
        (e) =>
          e.attempt === n &&
          ((e.kind === KIND.DIAL && ATTEMPT_END_DETAILS.has(e.detail ?? '')) ||
            (e.kind === KIND.STATE && (e.detail === 'no agent' || e.detail === 'reservation failed'))),
      );
    // No agent is offered the callback again once they rejected it (or let its preview time out), in any attempt.
    const offers = (previewsOf.get(c.id) ?? []).sort((a, b) => a.attempt - b.attempt);
    const rejectedBy = new Set<string>();
    for (const o of offers) {
      assert.ok(!rejectedBy.has(o.agentId), `${what}: ${o.agentId} was offered it again after rejecting it (${JSON.stringify(offers)})`);
      if (o.answer === 'reject' || o.answer === 'timeout') rejectedBy.add(o.agentId);
    }
    previews += offers.length;
    previewRejects += rejectedBy.size;
    if (!flow.agentPreview) assert.equal(offers.length, 0, `${what}: previewed without agentPreview`);
    const cancelledOnRejects = flow.agentPreview && rejectedBy.size >= flow.maxPreviewRejects;

    if (flow.firstConnectParty !== 'AGENT') {
      // Customer first: every attempt is a dial, so attempts 1..n are exactly the keys dialed.
      assert.deepEqual(
        placed,
        Array.from({ length: last }, (_, i) => i + 1),
        `${what}: attempts dialed once each, in sequence`,
      );
    } else {
      // Agent first: an attempt whose agent could not be held never dials; it must still be accounted for.
      if (!cancelledOnRejects) assert.ok(dialedAttempts.includes(last), `${what}: the last attempt dialed`);
      for (let n = 1; n < last; n++) assert.ok(dialedAttempts.includes(n) || ending(n).length > 0, `${what}: attempt ${n} is accounted for`);
    }

    // The completion follows from what happened to the last call: what the network did, the
    // customer's answer to the prompt, the agents' answers to the previews.
    const result = platformSide.get(last)?.result;
    const lastKey = `${c.id}:${last}`;
    const confirmation = final.confirmations[lastKey];
    if (confirmation !== undefined) confirmations += 1;
    if (!flow.userConfirm) assert.equal(confirmation, undefined, `${what}: asked to confirm without userConfirm`);
    const person = result !== undefined && (result.outcome === 'answered' || (result.outcome === 'machine' && flow.onMachine === 'TREAT_AS_ANSWERED'));
    const expected: CompletionReason = cancelledOnRejects
      ? previewRejectReason(flow.maxPreviewRejects)
      : result?.connected
        ? 'AGENT_CONNECTED'
        : result?.messageLeft
          ? 'MESSAGE_LEFT'
          : person && flow.userConfirm && flow.onUserConfirmTimeout === 'END' && (confirmation === 'decline' || confirmation === 'timeout')
            ? 'FAIL_USER_NO_CONFIRM'
            : person
              ? 'FAIL_AGENT_CONNECT'
              : result?.outcome === 'network_failure'
                ? 'FAIL_ERROR'
                : result
                  ? 'FAIL_CALL_TO_CUSTOMER'
                  : 'FAIL_ERROR';
    assert.equal(
      reason,
      expected,
      `${what}: completed ${reason}, but its last call (attempt ${last}) was ${JSON.stringify(result)}, confirmation ${confirmation}, previews ${JSON.stringify(offers)}`,
    );
    if (reason === 'MESSAGE_LEFT') assert.equal(flow.onMachine, 'LEAVE_MESSAGE', `${what}: a message left without onMachine LEAVE_MESSAGE`);
    if (reason === 'AGENT_CONNECTED' && flow.previewKeys !== undefined) {
      // What the customer gave at create reached the agent's screen, the preview keys among it.
      const screen = final.screens[lastKey];
      assert.equal(screen?.userData.orderId, c.orderId, `${what}: the agent saw the orderId`);
      assert.deepEqual(screen?.preview, [{ key: 'orderId', value: c.orderId }], `${what}: the preview keys shown`);
      screens += 1;
    }
    if (reason === 'FAIL_CALL_TO_CUSTOMER') {
      const done = history.find((e) => stateName(e.state) === 'COMPLETED')!;
      assert.equal(done.detail, result!.outcome, `${what}: completed on the outcome of its last call`);
      const policy = options[c.service].retry[POLICY_OF[result!.outcome as CustomerFailure]];
      assert.ok(
        dialEvents.length >= policy.maxAttempts,
        `${what}: ${result!.outcome} retried to its limit (${dialEvents.length} of ${policy.maxAttempts} dials)`,
      );
    }

    // Earlier attempts: nobody reached an agent (else the callback would have completed then), and
    // the engine's reading of each matches the platform, or the attempt was given up by a watchdog
    // after its events were lost; a retry happened only while the outcome's policy allowed one.
    for (let n = 1; n < last; n++) {
      const earlier = platformSide.get(n)?.result;
      assert.ok(!earlier?.connected, `${what}: attempt ${n} reached an agent, yet the callback went on to attempt ${n + 1}`);
      if (!dialedAttempts.includes(n)) continue;
      const ends = ending(n).filter((e) => e.kind === KIND.DIAL);
      assert.equal(ends.length, 1, `${what}: attempt ${n} ended once (${ends.map((e) => e.detail).join(',')})`);
      const seen = ends[0]!.detail!;
      if (seen === 'failed') {
        givenUp += 1;
        continue;
      }
      if (seen === 'abandoned')
        assert.ok(
          earlier?.outcome === 'answered' || (earlier?.outcome === 'machine' && flow.onMachine !== 'RETRY'),
          `${what}: attempt ${n} abandoned after an answer (${earlier?.outcome})`,
        );
      else assert.equal(seen, earlier?.outcome, `${what}: attempt ${n} ended as the platform reported`);
      if (isCustomerFailure(seen)) {
        const dialsSoFar = dialEvents.filter((e) => e.attempt <= n).length;
        assert.ok(dialsSoFar < options[c.service].retry[POLICY_OF[seen]].maxAttempts, `${what}: attempt ${n} (${seen}) retried within its policy`);
      }
    }

    // The disposition GES recorded is the agent's (or TIMEOUT, when the flush lost the agent's choice),
    // and a CALL_BACK_LATER recreated the callback exactly once.
    const chosen = final.dispositions[lastKey];
    const recorded = row.disposition === null ? undefined : storedDisposition[row.disposition];
    if (!flow.enableDispositionDialog) assert.equal(recorded, undefined, `${what}: a disposition without the dialog`);
    else if (reason === 'AGENT_CONNECTED' && chosen !== undefined) {
      if (recorded === 'TIMEOUT') dispositionsLost += 1;
      else assert.equal(recorded, chosen, `${what}: the disposition recorded is the agent's`);
    }
    if (chosen !== undefined) assert.equal(reason, 'AGENT_CONNECTED', `${what}: a disposition for a call not served`);
    const recreates = recreatesOf.get(c.id) ?? [];
    assert.equal(recreates.length, recorded === 'CALL_BACK_LATER' ? 1 : 0, `${what}: disposition ${recorded}, recreated as ${recreates.join(',')}`);

    if (c.scheduled) {
      const queued = history.find((e) => e.kind === KIND.STATE && stateName(e.state) === 'QUEUED');
      assert.ok(queued, `${what} was queued`);
      assert.ok(queued.at.getTime() >= row.desired_at.getTime(), `${what}: queued no earlier than its desired time`);
    }
  }
  return { dialsPlaced, givenUp, reasons, previews, previewRejects, confirmations, screens, dispositionsLost };
}
