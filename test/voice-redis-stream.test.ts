import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createLogger } from '../src/logging/logger.ts';
import type { VoiceCommand, VoiceEvent } from '../src/voice/voice-port.ts';
import { RedisStreamVoicePort, type RedisStreamVoicePortOptions } from '../src/voice/redis-stream/redis-stream-voice-port.ts';
import { readLedgerFile, type DialLedgerFile } from '../src/voice/redis-stream/dial-ledger-file.ts';
import { voiceStreamKeys, hashTagOf } from '../src/voice/redis-stream/voice-stream-keys.ts';
import { entryAgeMs } from '../src/voice/redis-stream/agent-presence.ts';
import {
  CALL_EVENT_SCHEMAS,
  COMMAND_SCHEMAS,
  PRESENCE_SCHEMAS,
  callEventDecoder,
  commandDecoder,
  entryFields,
  presenceDecoder,
} from '../src/voice/voice-contract.ts';
import { CALL_CONTEXT_LIMITS, type CallContext } from '../src/domain/call-context.ts';
import { CallbackService } from '../src/app/callback-service.ts';
import { CallbackEngine } from '../src/engine/callback-engine.ts';
import { databaseEngineClock } from '../src/engine/engine-clock.ts';
import { MemoryHotState } from '../src/hot/memory-hot-state.ts';
import { findTenantByName } from '../src/store/tenant-store.ts';
import { createTestDb, createTestTenant } from './support/test-env.ts';
import { documentedSchemaGroups, schemaSectionMarkdown, schemaSectionOf, VOICE_CONTRACT_DOC } from '../src/voice/redis-stream/voice-contract-doc.ts';
import { waitFor } from './support/wait-for.ts';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PLATFORM = join(ROOT, 'src/voice/redis-stream/platform-process.ts');
const QUEUES = { 'acme/sales': { agents: 3, handleTimeSec: { mean: 6, sd: 1 } } };
const ALWAYS_ANSWER = { answer: 1, busy: 0, noAnswer: 0, machine: 0, invalid: 0 };
const ALWAYS_BUSY = { answer: 0, busy: 1, noAnswer: 0, machine: 0, invalid: 0 };
/** A number that must never appear in a log line. */
const SECRET_PHONE = '+14155550199';
const silent = createLogger('silent');

// ---- helpers -------------------------------------------------------------------------------------

/** Clean-up steps of one test, run last-registered first (node:test runs after hooks in registration order). */
const cleanups = new WeakMap<TestContext, (() => unknown)[]>();
function defer(t: TestContext, step: () => unknown): void {
  let steps = cleanups.get(t);
  if (steps === undefined) {
    const list: (() => unknown)[] = [];
    cleanups.set(t, (steps = list));
    t.after(async () => {
      for (const run of list.reverse()) await run();
    });
  }
  steps.push(step);
}

/** Real Redis, never a mock; unreachable Redis fails the test (never a skip). */
async function connectRedis(t: TestContext): Promise<Redis> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`Redis is required for the tests and is unreachable at ${REDIS_URL}: ${(error as Error).message}`, { cause: error });
  }
  defer(t, () =>
    client.quit().then(
      () => undefined,
      () => client.disconnect(),
    ),
  );
  return client;
}

function newPrefix(t: TestContext, redis: Redis): string {
  const prefix = `test-voice-${randomBytes(5).toString('hex')}:`;
  const keys = voiceStreamKeys(prefix);
  defer(t, () => redis.del(keys.commands, keys.events, keys.presenceChanges, keys.presenceReady));
  return prefix;
}

interface Platform {
  readonly child: ChildProcessWithoutNullStreams;
  readonly ledgerFile: string;
  ledger(): DialLedgerFile | undefined;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (a crash: nothing is flushed), resolved once it is gone. */
  kill(): Promise<void>;
}

/** The contact center as a separate process, ready once it printed READY. */
async function startPlatform(t: TestContext, prefix: string, options: { sim?: object; extra?: string[]; queues?: object } = {}): Promise<Platform> {
  const dir = mkdtempSync(join(tmpdir(), 'ges-voice-'));
  const ledgerFile = join(dir, 'ledger.json');
  const args = ['--import', 'tsx', PLATFORM, '--redis', REDIS_URL, '--prefix', prefix, '--queues', JSON.stringify(options.queues ?? QUEUES)];
  args.push('--seed', '42', '--speed', '60', '--ledger-file', ledgerFile, '--sim', JSON.stringify({ customerPatienceSec: 600, ...options.sim }));
  args.push('--log-level', 'warn', ...(options.extra ?? []));
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  defer(t, async () => {
    if (exitCode === undefined) {
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor(
    () => {
      if (exitCode !== undefined) throw new Error(`platform process exited with ${exitCode}: ${stderr}`);
      return stdout.includes('READY\n');
    },
    'the platform process to print READY',
    30_000,
  );
  return {
    child,
    ledgerFile,
    ledger: () => readLedgerFile(ledgerFile),
    async stop() {
      child.kill('SIGTERM');
      const code = await Promise.race([exited, delay(15_000, undefined, { ref: false }).then(() => 'timeout' as const)]);
      if (code === 'timeout') throw new Error(`platform process did not exit on SIGTERM: ${stderr}`);
      return code;
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

interface Adapter {
  readonly port: RedisStreamVoicePort;
  readonly events: VoiceEvent[];
  eventsOf(dialKey: string): VoiceEvent[];
}

async function startAdapter(
  t: TestContext,
  redis: Redis,
  prefix: string,
  consumer: string,
  options: RedisStreamVoicePortOptions = {},
  handler?: (event: VoiceEvent) => Promise<void>,
): Promise<Adapter> {
  const port = new RedisStreamVoicePort(redis, { prefix, consumer, logger: silent, ...options });
  const events: VoiceEvent[] = [];
  port.onEvent(async (event) => {
    if (handler !== undefined) await handler(event);
    events.push(event);
  });
  await port.start();
  defer(t, () => port.stop());
  return { port, events, eventsOf: (dialKey) => events.filter((e) => 'dialKey' in e && e.dialKey === dialKey) };
}

function captureLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      callback();
    },
  });
  return { logger: createLogger('debug', stream), lines };
}

async function pendingCount(redis: Redis, stream: string, group: string): Promise<number> {
  const reply = (await redis.call('XPENDING', stream, group)) as unknown[];
  return Number(reply[0]);
}

const dial = (dialKey: string, phone = '+14155550100', agentId?: string): VoiceCommand => ({
  type: 'dial',
  dialKey,
  tenant: 'acme',
  queue: 'sales',
  phone,
  ...(agentId === undefined ? {} : { agentId }),
});

// ---- the contract, without Redis -----------------------------------------------------------------

test('docs/VOICE-CONTRACT.md carries exactly the schemas of voice-contract.ts', () => {
  const doc = readFileSync(VOICE_CONTRACT_DOC, 'utf8');
  assert.equal(schemaSectionOf(doc), schemaSectionMarkdown(), 'run: node --import tsx src/voice/redis-stream/voice-contract-doc.ts --write');
  // And, read back as a platform team would: every ```json block under its heading equals the code's schema.
  const blocks = new Map([...doc.matchAll(/^#### `([a-z_]+)`\n\n[^\n]*\n\n```json\n([\s\S]*?)\n```/gm)].map((m) => [m[1]!, JSON.parse(m[2]!) as unknown]));
  const all = Object.assign({}, ...documentedSchemaGroups().map((g) => g.schemas)) as Record<string, unknown>;
  assert.deepEqual([...blocks.keys()].sort(), Object.keys(all).sort());
  for (const [type, schema] of Object.entries(all)) assert.deepEqual(blocks.get(type), JSON.parse(JSON.stringify(schema)), type);
});

test('the contract has a schema for every command and event of the voice port', () => {
  assert.deepEqual(Object.keys(COMMAND_SCHEMAS).sort(), [
    'cancel',
    'confirm_customer',
    'connect',
    'dial',
    'disposition_request',
    'leave_message',
    'preview',
    'release_agent',
    'reserve_agent',
    'route_inbound',
  ]);
  assert.deepEqual(Object.keys(CALL_EVENT_SCHEMAS).sort(), [
    'agent_reserved',
    'answered',
    'busy',
    'call_ended',
    'connected',
    'customer_confirmed',
    'customer_not_confirmed',
    'disposition',
    'failed',
    'fax',
    'inbound_call',
    'invalid_number',
    'machine',
    'message_left',
    'network_failure',
    'no_agent',
    'no_answer',
    'preview_accepted',
    'preview_rejected',
    'sit',
  ]);
  assert.deepEqual(Object.keys(PRESENCE_SCHEMAS).sort(), ['agent_not_ready', 'agent_ready', 'presence_heartbeat', 'presence_reset']);
  // inbound_call carries its callId; route_inbound names it back.
  assert.ok((CALL_EVENT_SCHEMAS.inbound_call.required as string[]).includes('callId'));
  assert.ok((COMMAND_SCHEMAS.route_inbound.required as string[]).includes('callId'));
});

test('contract validation accepts every well-formed body and refuses bad ones without echoing values', () => {
  const good: VoiceCommand[] = [
    dial('cb:1'),
    dial('cb:2', '+14155550100', 'acme/sales/agent-1'),
    { type: 'connect', dialKey: 'cb:1', agentId: 'a-1' },
    { type: 'connect', dialKey: 'cb:1' },
    { type: 'reserve_agent', dialKey: 'cb:1', tenant: 'acme', queue: 'sales' },
    { type: 'release_agent', dialKey: 'cb:1', agentId: 'a-1' },
    { type: 'cancel', dialKey: 'cb:1' },
    { type: 'route_inbound', dialKey: 'in:c-9', callId: 'c-9', tenant: 'acme', queue: 'sales', userData: { orderId: 'A-1' } },
    { type: 'route_inbound', dialKey: 'in:c-9', callId: 'c-9', tenant: 'acme' },
    { type: 'disposition_request', dialKey: 'cb:1', timeoutSec: 45 },
    { type: 'reserve_agent', dialKey: 'cb:1', tenant: 'acme', queue: 'sales', excludeAgents: ['a-1', 'a-2'] },
    { type: 'confirm_customer', dialKey: 'cb:1', prompt: 'press-1', timeoutSec: 30 },
    { type: 'preview', dialKey: 'cb:1', agentId: 'a-1', timeoutSec: 30, allowReject: true, timeoutSetsNotReady: false },
  ];
  for (const command of good) assert.ok(commandDecoder.check(command).ok, JSON.stringify(command));
  const events: VoiceEvent[] = [
    { type: 'answered', dialKey: 'cb:1', at: 1 },
    { type: 'no_answer', dialKey: 'cb:1', at: 1 },
    { type: 'call_ended', dialKey: 'cb:1', at: 1, talkSeconds: 12.5 },
    { type: 'customer_confirmed', dialKey: 'cb:1', at: 1 },
    { type: 'customer_not_confirmed', dialKey: 'cb:1', why: 'timeout', at: 1 },
    { type: 'preview_accepted', dialKey: 'cb:1', agentId: 'a-1', at: 1 },
    { type: 'preview_rejected', dialKey: 'cb:1', agentId: 'a-1', why: 'rejected', at: 1 },
    { type: 'inbound_call', callId: 'c-9', tenant: 'acme', toNumber: '+18005550100', fromNumber: SECRET_PHONE, digits: '42', at: 1 },
    { type: 'disposition', dialKey: 'cb:1', agentId: 'a-1', code: 'DONE', at: 1 },
    { type: 'disposition', dialKey: 'cb:1', agentId: 'a-1', code: 'CALL_BACK_LATER', note: 'x'.repeat(500), desiredTime: '2030-01-07T10:00:00.000Z', at: 1 },
    { type: 'disposition', dialKey: 'cb:1', agentId: 'a-1', code: 'CALL_BACK_LATER', desiredTime: '2030-01-07T10:00+01:00', at: 1 },
  ];
  for (const event of events) assert.ok(callEventDecoder.check(event).ok, JSON.stringify(event));
  assert.ok(presenceDecoder.check({ type: 'agent_ready', tenant: 'acme', queue: 'sales', agentId: 'a-1', at: 1 }).ok);
  assert.ok(presenceDecoder.check({ type: 'presence_heartbeat', at: 1, intervalMs: 15_000 }).ok);

  const bad: unknown[] = [
    { type: 'dial', tenant: 'acme', queue: 'sales', phone: SECRET_PHONE },
    { ...dial('cb:1', SECRET_PHONE), extra: SECRET_PHONE },
    { ...dial('cb:1'), phone: 14155550199 },
    { type: 'teleport', dialKey: 'cb:1' },
    { type: 'route_inbound', dialKey: 'in:x', tenant: 'acme', userData: { phone: SECRET_PHONE } },
    { type: 'confirm_customer', dialKey: 'cb:1', prompt: 'press-1', timeoutSec: 0 },
    { type: 'preview', dialKey: 'cb:1', agentId: 'a-1', timeoutSec: 30 },
    { type: 'reserve_agent', dialKey: 'cb:1', tenant: 'acme', queue: 'sales', excludeAgents: Array.from({ length: 17 }, (_, i) => `a-${i}`) },
    'dial',
  ];
  for (const body of bad) {
    const checked = commandDecoder.check(body);
    assert.equal(checked.ok, false, JSON.stringify(body));
    if (!checked.ok) assert.ok(!checked.reason.includes('4155550199'), checked.reason);
  }
  for (const body of [
    { type: 'disposition', dialKey: 'cb:1', agentId: 'a-1', code: 'TIMEOUT', at: 1 },
    { type: 'disposition', dialKey: 'cb:1', agentId: 'a-1', code: 'DONE', note: 'x'.repeat(501), at: 1 },
    { type: 'disposition', dialKey: 'cb:1', agentId: 'a-1', code: 'CALL_BACK_LATER', desiredTime: 'tomorrow at ten', at: 1 },
    { type: 'disposition', dialKey: 'cb:1', code: 'DONE', at: 1 },
  ]) {
    assert.equal(callEventDecoder.check(body).ok, false, JSON.stringify(body).slice(0, 120));
  }
  assert.equal(commandDecoder.check({ type: 'disposition_request', dialKey: 'cb:1', timeoutSec: 0 }).ok, false);
  // The presence events are not call events, and the other way round.
  assert.equal(callEventDecoder.check({ type: 'agent_ready', tenant: 'acme', queue: 'sales', agentId: 'a', at: 1 }).ok, false);
  assert.equal(presenceDecoder.check({ type: 'answered', dialKey: 'cb:1', at: 1 }).ok, false);

  const fields = (pairs: string[]) => new Map(pairs.reduce<[string, string][]>((acc, v, i, all) => (i % 2 === 0 ? [...acc, [v, all[i + 1]!]] : acc), []));
  const answered = { type: 'answered', dialKey: 'cb:1', at: 5 };
  assert.deepEqual(callEventDecoder.decode(fields(entryFields(answered))), { ok: true, value: answered });
  for (const [entry, reason] of [
    // Contract 1 entries are refused like any other version: a node and a platform upgrade together.
    [['v', '1', 'type', 'answered', 'data', JSON.stringify(answered)], /version/],
    [['v', '3', 'type', 'answered', 'data', JSON.stringify(answered)], /version/],
    [['v', '2', 'type', 'busy', 'data', JSON.stringify(answered)], /disagrees/],
    [['v', '2', 'type', 'answered', 'data', `{"phone":"${SECRET_PHONE}"`], /not JSON/],
    [['v', '2', 'type', 'answered'], /no data/],
  ] as const) {
    const decoded = callEventDecoder.decode(fields([...entry]));
    assert.equal(decoded.ok, false);
    if (!decoded.ok) assert.match(decoded.reason, reason);
  }
  assert.equal(callEventDecoder.decode(null).ok, false);
});

test('voice stream keys: default names, and the presence keys always share a cluster slot', () => {
  const keys = voiceStreamKeys('ges:');
  assert.equal(keys.commands, 'ges:NewCallbackStream');
  assert.equal(keys.events, 'ges:VoiceEventStream');
  assert.equal(hashTagOf(keys.presenceChanges), hashTagOf(keys.presenceReady));
  assert.equal(hashTagOf(voiceStreamKeys('{ges}:').presenceReady), 'ges');
  assert.throws(() => voiceStreamKeys('ges:', { presenceReady: 'ready' }), /hash tag/);
});

// ---- over real Redis, with the platform in its own process ---------------------------------------

test('a dial reaches the simulator in the platform process and its events come back', async (t) => {
  const redis = await connectRedis(t);
  const prefix = newPrefix(t, redis);
  const startMs = Date.UTC(2030, 0, 7, 8);
  const platform = await startPlatform(t, prefix, {
    sim: { customers: ALWAYS_ANSWER, inboundCalls: [{ atMs: startMs + 2_000, tenant: 'acme', toNumber: '+18005550100', fromNumber: '+14155550111' }] },
    extra: ['--start', String(startMs)],
  });
  const a = await startAdapter(t, redis, prefix, 'node-a');

  // Agent first: hold an agent, dial for it, connect the answered customer, hear the call end.
  await a.port.send({ type: 'reserve_agent', dialKey: 'cb-1:1', tenant: 'acme', queue: 'sales' });
  const reserved = await waitFor(() => a.eventsOf('cb-1:1').find((e) => e.type === 'agent_reserved'), 'agent_reserved');
  assert.equal(reserved.type, 'agent_reserved');
  const agentId = reserved.type === 'agent_reserved' ? reserved.agentId : '';
  await a.port.send(dial('cb-1:1', '+14155550100', agentId));
  await waitFor(() => a.eventsOf('cb-1:1').some((e) => e.type === 'answered'), 'answered');
  await a.port.send({ type: 'connect', dialKey: 'cb-1:1', agentId });
  const ended = await waitFor(() => a.eventsOf('cb-1:1').find((e) => e.type === 'call_ended'), 'call_ended');
  assert.deepEqual(
    a.eventsOf('cb-1:1').map((e) => e.type),
    ['agent_reserved', 'answered', 'connected', 'call_ended'],
  );
  assert.ok(ended.type === 'call_ended' && ended.talkSeconds > 0);
  assert.ok(
    a.eventsOf('cb-1:1').every((e) => e.at >= startMs),
    'event times are simulated time',
  );

  // The inbound call announced by the platform arrives with its callId.
  const inbound = await waitFor(() => a.events.find((e) => e.type === 'inbound_call'), 'inbound_call');
  assert.ok(inbound.type === 'inbound_call');
  assert.equal(inbound.callId, 'inbound-1');
  assert.equal(inbound.fromNumber, '+14155550111');

  const ledger = await waitFor(() => platform.ledger()?.keys['cb-1:1']?.dialed && platform.ledger(), 'the ledger file to show the dial');
  assert.deepEqual(ledger.keys['cb-1:1'], { received: 1, dialed: true });
  assert.equal(ledger.dialsPlaced, 1);
  assert.equal(await platform.stop(), 0, 'exits cleanly on SIGTERM');
  assert.equal(platform.ledger()?.dialsPlaced, 1);
});

test("a disposition_request shows the dialog to the agent who talked, and the agent's disposition comes back once", async (t) => {
  const redis = await connectRedis(t);
  const prefix = newPrefix(t, redis);
  const startMs = Date.UTC(2030, 0, 7, 9);
  const later = '+14155550142';
  const silentAgent = '+14155550143';
  const dispositions = {
    perNumber: {
      [later]: { code: 'CALL_BACK_LATER', desiredInSec: 3600, note: 'after lunch', afterSec: 5 },
      [silentAgent]: { code: 'none' },
    },
  };
  await startPlatform(t, prefix, { sim: { customers: ALWAYS_ANSWER, dispositions }, extra: ['--start', String(startMs)] });
  const a = await startAdapter(t, redis, prefix, 'node-a');

  const talk = async (dialKey: string, phone: string) => {
    await a.port.send({ type: 'reserve_agent', dialKey, tenant: 'acme', queue: 'sales' });
    const reserved = await waitFor(() => a.eventsOf(dialKey).find((e) => e.type === 'agent_reserved'), `${dialKey} agent_reserved`);
    const agentId = reserved.type === 'agent_reserved' ? reserved.agentId : '';
    await a.port.send(dial(dialKey, phone, agentId));
    await waitFor(() => a.eventsOf(dialKey).some((e) => e.type === 'answered'), `${dialKey} answered`);
    await a.port.send({ type: 'connect', dialKey, agentId });
    await waitFor(() => a.eventsOf(dialKey).some((e) => e.type === 'call_ended'), `${dialKey} call_ended`);
    return agentId;
  };
  const agentId = await talk('cb-9:1', later);
  await talk('cb-10:1', silentAgent);
  for (const dialKey of ['cb-9:1', 'cb-9:1', 'cb-10:1', 'cb-never:1']) await a.port.send({ type: 'disposition_request', dialKey, timeoutSec: 45 });
  const chosen = await waitFor(() => a.eventsOf('cb-9:1').find((e) => e.type === 'disposition'), 'the disposition');
  assert.ok(chosen.type === 'disposition');
  assert.deepEqual(
    { ...chosen, at: 0 },
    {
      type: 'disposition',
      dialKey: 'cb-9:1',
      agentId,
      code: 'CALL_BACK_LATER',
      note: 'after lunch',
      desiredTime: new Date(chosen.at + 3600_000).toISOString(),
      at: 0,
    },
  );
  assert.ok(chosen.at >= startMs, 'simulated time');
  // Events come in the platform's time order: a later call's whole life (more than the 5 s the agent
  // takes) ends after any answer to the repeated request would have been written.
  await talk('cb-11:1', '+14155550144');
  assert.equal(a.events.filter((e) => e.type === 'disposition').length, 1, 'one dialog answered once; the silent agent and the unknown key send nothing');
});

test('the same dial key sent twice is dialed once', async (t) => {
  const redis = await connectRedis(t);
  const prefix = newPrefix(t, redis);
  const platform = await startPlatform(t, prefix, { sim: { customers: ALWAYS_BUSY } });
  const a = await startAdapter(t, redis, prefix, 'node-a');

  await a.port.send(dial('cb-2:1'));
  await a.port.send(dial('cb-2:1'));
  await a.port.send(dial('cb-3:1'));
  const ledger = await waitFor(() => {
    const l = platform.ledger();
    return l?.keys['cb-2:1']?.received === 2 && l.keys['cb-3:1']?.dialed && l;
  }, 'both dial keys in the ledger');
  assert.deepEqual(ledger.keys['cb-2:1'], { received: 2, dialed: true });
  assert.deepEqual(ledger.keys['cb-3:1'], { received: 1, dialed: true });
  assert.equal(ledger.dialsPlaced, 2);
  assert.equal(ledger.duplicates, 1);
  await waitFor(() => a.eventsOf('cb-2:1').length > 0 && a.eventsOf('cb-3:1').length > 0, 'both outcomes');
  // The repeat is told the outcome again if the line was already found busy when it was taken.
  assert.deepEqual([...new Set(a.eventsOf('cb-2:1').map((e) => e.type))], ['busy']);
});

test("a repeated dial key is answered with the call's latest event again, and never dialed twice", async (t) => {
  const redis = await connectRedis(t);
  const prefix = newPrefix(t, redis);
  // The customer waits 600 simulated seconds (10 s of wall time) on the line for an agent.
  const platform = await startPlatform(t, prefix, { sim: { customers: ALWAYS_ANSWER } });
  const a = await startAdapter(t, redis, prefix, 'node-a');
  const types = () => a.eventsOf('cb-6:1').map((e) => e.type);

  await a.port.send(dial('cb-6:1'));
  await waitFor(() => types().includes('answered'), 'answered');
  // As after a lost `answered`: GES hears nothing and dials the same key again.
  await a.port.send(dial('cb-6:1'));
  await waitFor(() => types().length === 2, 'answered again');
  const [answered, again] = a.eventsOf('cb-6:1');
  assert.deepEqual(again, answered, 'the same event: the customer is still waiting');

  await a.port.send({ type: 'reserve_agent', dialKey: 'cb-6:1', tenant: 'acme', queue: 'sales' });
  const reserved = await waitFor(() => a.eventsOf('cb-6:1').find((e) => e.type === 'agent_reserved'), 'agent_reserved');
  await a.port.send({ type: 'connect', dialKey: 'cb-6:1', agentId: reserved.type === 'agent_reserved' ? reserved.agentId : '' });
  const ended = await waitFor(() => a.eventsOf('cb-6:1').find((e) => e.type === 'call_ended'), 'call_ended');
  assert.ok(ended.type === 'call_ended' && ended.talkSeconds > 0);
  await a.port.send(dial('cb-6:1'));
  await waitFor(() => types().filter((type) => type === 'call_ended').length === 2, 'call_ended again');
  assert.deepEqual(types(), ['answered', 'answered', 'agent_reserved', 'connected', 'call_ended', 'call_ended']);
  assert.deepEqual(a.eventsOf('cb-6:1').at(-1), ended, 'the call is over: its end again');

  const ledger = await waitFor(() => platform.ledger()?.replays === 2 && platform.ledger(), 'the ledger to count both replays');
  assert.deepEqual(ledger.keys['cb-6:1'], { received: 3, dialed: true });
  assert.equal(ledger.dialsPlaced, 1);
  assert.equal(ledger.duplicates, 2);
  assert.deepEqual(ledger.results['cb-6:1'], { outcome: 'answered', connected: true });
});

test('agent presence is visible through availableAgents on every adapter, and vanishes with the platform', async (t) => {
  const redis = await connectRedis(t);
  const prefix = newPrefix(t, redis);
  const platform = await startPlatform(t, prefix, { extra: ['--heartbeat-ms', '200'] });
  const a = await startAdapter(t, redis, prefix, 'node-a');
  await waitFor(() => a.port.availableAgents('acme', 'sales') === 3, 'node a to see 3 agents');
  // A node that starts later has the presence from the snapshot, before any change.
  const b = await startAdapter(t, redis, prefix, 'node-b');
  assert.equal(b.port.availableAgents('acme', 'sales'), 3);
  assert.equal(b.port.availableAgents('acme', 'support'), 0);

  await a.port.send({ type: 'reserve_agent', dialKey: 'cb-4:1', tenant: 'acme', queue: 'sales' });
  await waitFor(() => a.port.availableAgents('acme', 'sales') === 2 && b.port.availableAgents('acme', 'sales') === 2, 'both nodes to see 2 agents');
  // The reserved agent is busy, not gone: the wait estimators still count a team of 3.
  assert.equal(a.port.agentsLoggedIn('acme', 'sales'), 3);
  assert.equal(b.port.agentsLoggedIn('acme', 'sales'), 3);
  // Presence changes reach the handlers of every node.
  await waitFor(
    () => a.events.some((e) => e.type === 'agent_not_ready') && b.events.some((e) => e.type === 'agent_not_ready'),
    'agent_not_ready on both nodes',
  );
  const reserved = await waitFor(() => [...a.events, ...b.events].find((e) => e.type === 'agent_reserved'), 'agent_reserved');
  assert.ok(reserved.type === 'agent_reserved');
  await a.port.send({ type: 'release_agent', dialKey: 'cb-4:1', agentId: reserved.agentId });
  await waitFor(() => a.port.availableAgents('acme', 'sales') === 3 && b.port.availableAgents('acme', 'sales') === 3, 'both nodes to see 3 agents again');

  // A platform killed outright stops heartbeating: its agents are no longer offered anywhere.
  platform.child.kill('SIGKILL');
  await waitFor(() => a.port.availableAgents('acme', 'sales') === 0 && b.port.availableAgents('acme', 'sales') === 0, 'both nodes to see no agent');
  assert.equal(a.port.agentsLoggedIn('acme', 'sales'), 0, 'a silent platform has no agents logged in');
});

test('Redis loses the voice keys: the platform announces its agents again, the groups come back, dialing goes on', async (t) => {
  const redis = await connectRedis(t);
  const prefix = newPrefix(t, redis);
  const keys = voiceStreamKeys(prefix);
  const platform = await startPlatform(t, prefix, { extra: ['--heartbeat-ms', '200'] });
  const a = await startAdapter(t, redis, prefix, 'node-a');
  await waitFor(() => a.port.availableAgents('acme', 'sales') === 3, 'node a to see 3 agents');

  // Everything of the deployment goes at once, as in a flush (both streams, their groups, the presence).
  assert.equal(await redis.del(keys.commands, keys.events, keys.presenceChanges, keys.presenceReady), 4);
  // The next heartbeat finds the hash gone and the platform announces every agent again, so a node
  // that starts now (snapshot from the hash) sees them, and node a still does.
  await waitFor(async () => (await redis.hlen(keys.presenceReady)) === 4, 'the presence hash to hold the 3 agents again');
  const b = await startAdapter(t, redis, prefix, 'node-b');
  assert.equal(b.port.availableAgents('acme', 'sales'), 3);
  await waitFor(() => a.port.availableAgents('acme', 'sales') === 3, 'node a to see 3 agents after the reset');

  // The platform recreates its command group and the adapters their event group: a dial goes through.
  await a.port.send(dial('cb-20:1'));
  await waitFor(() => [...a.events, ...b.events].some((e) => 'dialKey' in e && e.dialKey === 'cb-20:1'), 'the events of the dial after the loss');
  await waitFor(() => platform.ledger()?.keys['cb-20:1']?.dialed === true, 'the ledger to show the dial');
});

test("two adapters in one consumer group share the events, and a stopped consumer's pending event is claimed", async (t) => {
  const redis = await connectRedis(t);
  const prefix = newPrefix(t, redis);
  const keys = voiceStreamKeys(prefix);
  await startPlatform(t, prefix, { sim: { customers: ALWAYS_BUSY } });
  // One entry per read, and node a holds its first event until node b has one: both must get some.
  let bGotOne = false;
  const a = await startAdapter(t, redis, prefix, 'node-a', { count: 1 }, async () => {
    await waitFor(() => bGotOne, 'node b to receive an event');
  });
  const b = await startAdapter(t, redis, prefix, 'node-b', { count: 1 }, async () => {
    bGotOne = true;
  });
  const dialKeys = ['cb-5:1', 'cb-6:1', 'cb-7:1', 'cb-8:1'];
  for (const key of dialKeys) await a.port.send(dial(key));
  await waitFor(() => dialKeys.every((key) => a.eventsOf(key).length + b.eventsOf(key).length > 0), 'every outcome');
  assert.ok(a.events.some((e) => e.type === 'busy') && b.events.some((e) => e.type === 'busy'), 'both nodes handled events');
  for (const key of dialKeys) assert.equal(a.eventsOf(key).length + b.eventsOf(key).length, 1, `${key} handled once`);
  await waitFor(async () => (await pendingCount(redis, keys.events, 'ges')) === 0, 'all events acknowledged');
  await a.port.stop();
  await b.port.stop();

  // Node c fails on an event (as if it died handling it) and stops: the event stays pending on c.
  let cAttempts = 0;
  const c = await startAdapter(t, redis, prefix, 'node-c', { claimIntervalMs: 3_600_000 }, async () => {
    cAttempts += 1;
    throw new Error('node c cannot handle it');
  });
  const orphan = { type: 'answered', dialKey: 'cb-9:1', at: 123 } as const;
  await redis.call('XADD', keys.events, '*', ...entryFields(orphan));
  await waitFor(() => cAttempts === 1, 'node c to fail on the event');
  await waitFor(async () => {
    const reply = (await redis.call('XPENDING', keys.events, 'ges', '-', '+', '10', 'node-c')) as unknown[];
    return reply.length === 1;
  }, 'the event pending on node c');
  await c.port.stop();
  assert.equal(c.events.length, 0);

  // Node d takes it over once it has been idle long enough, handles it and acknowledges it.
  const d = await startAdapter(t, redis, prefix, 'node-d', { claimIdleMs: 200, claimIntervalMs: 100 });
  await waitFor(() => d.eventsOf('cb-9:1').length > 0, 'node d to handle the claimed event');
  assert.deepEqual(d.eventsOf('cb-9:1'), [orphan]);
  await waitFor(async () => (await pendingCount(redis, keys.events, 'ges')) === 0, 'the claimed event acknowledged');
});

test('a malformed event is acknowledged, logged without user data and dropped; the adapter goes on', async (t) => {
  const redis = await connectRedis(t);
  const prefix = newPrefix(t, redis);
  const keys = voiceStreamKeys(prefix);
  const { logger, lines } = captureLogger();
  const a = await startAdapter(t, redis, prefix, 'node-a', { logger });

  await assert.rejects(a.port.send({ type: 'dial', dialKey: '', tenant: 'acme', queue: 'sales', phone: SECRET_PHONE }), TypeError);
  assert.equal(await redis.exists(keys.commands), 0, 'a malformed command is not sent');

  const userData = { secret: 'order-4711' };
  const malformed: string[][] = [
    ['v', '2', 'type', 'answered', 'data', `{"dialKey":"cb:1","phone":"${SECRET_PHONE}"`],
    ['v', '2', 'type', 'answered', 'data', JSON.stringify({ type: 'answered', dialKey: 'cb:1', at: 1, phone: SECRET_PHONE, userData })],
    [
      'v',
      '2',
      'type',
      'inbound_call',
      'data',
      JSON.stringify({ type: 'inbound_call', tenant: 'acme', toNumber: '+18005550100', fromNumber: SECRET_PHONE, at: 1 }),
    ],
    ['v', '9', 'type', 'answered', 'data', JSON.stringify({ type: 'answered', dialKey: 'cb:1', at: 1 })],
    ['v', '2', 'type', 'agent_ready', 'data', JSON.stringify({ type: 'agent_ready', tenant: 'acme', queue: 'sales', agentId: 'a', at: 1 })],
    ['v', '2', 'phone', SECRET_PHONE],
    ['v', '2', 'type', 'busy', 'data', JSON.stringify({ type: SECRET_PHONE, dialKey: 'cb:1', at: 1 })],
  ];
  for (const fields of malformed) await redis.call('XADD', keys.events, '*', ...fields);
  const valid = { type: 'busy', dialKey: 'cb-10:1', at: 7 } as const;
  await redis.call('XADD', keys.events, '*', ...entryFields(valid));

  await waitFor(() => a.events.length > 0, 'the valid event');
  assert.deepEqual(a.events, [valid]);
  await waitFor(async () => (await pendingCount(redis, keys.events, 'ges')) === 0, 'every entry acknowledged');
  const dropped = lines.filter((line) => line.includes('malformed voice event'));
  assert.equal(dropped.length, malformed.length);
  for (const line of lines) {
    assert.ok(!line.includes('4155550199'), `phone number in the log: ${line}`);
    assert.ok(!line.includes('order-4711'), `userData in the log: ${line}`);
  }
  assert.ok(a.port.running);
});

// ---- holding agents, cancel, restarts (the decisions of docs/VOICE-CONTRACT.md) -----------------

const reservedAgent = (events: VoiceEvent[]): string | undefined => {
  const reserved = events.find((e) => e.type === 'agent_reserved');
  return reserved?.type === 'agent_reserved' ? reserved.agentId : undefined;
};

test('an agent held for a failed agent-first attempt stays held until release_agent; cancel frees one too, and produces no event', async (t) => {
  const redis = await connectRedis(t);
  const prefix = newPrefix(t, redis);
  const platform = await startPlatform(t, prefix, { sim: { customers: ALWAYS_BUSY } });
  const a = await startAdapter(t, redis, prefix, 'node-a');
  const free = () => a.port.availableAgents('acme', 'sales');
  await waitFor(() => free() === 3, 'three free agents');

  await a.port.send({ type: 'reserve_agent', dialKey: 'cb-30:1', tenant: 'acme', queue: 'sales' });
  const agentId = await waitFor(() => reservedAgent(a.eventsOf('cb-30:1')), 'agent_reserved');
  await a.port.send(dial('cb-30:1', '+14155550100', agentId));
  await waitFor(() => a.eventsOf('cb-30:1').some((e) => e.type === 'busy'), 'busy');
  const held = await waitFor(() => platform.ledger()?.agentsHeld === 1 && platform.ledger(), 'the platform to count the held agent');
  assert.equal(held.holdsExpired, 0);
  assert.equal(free(), 2, 'the customer was busy, and the agent is still held for the attempt');
  await a.port.send({ type: 'release_agent', dialKey: 'cb-30:1', agentId });
  await waitFor(() => free() === 3, 'the released agent to be free again');
  await waitFor(() => platform.ledger()?.agentsHeld === 0, 'no agent held');

  await a.port.send({ type: 'reserve_agent', dialKey: 'cb-31:1', tenant: 'acme', queue: 'sales' });
  await waitFor(() => reservedAgent(a.eventsOf('cb-31:1')), 'agent_reserved for cb-31');
  await a.port.send({ type: 'cancel', dialKey: 'cb-31:1' });
  // Commands are carried out, and their events written, in order: once the next command is
  // answered, anything the cancel produced would be here already.
  await a.port.send({ type: 'reserve_agent', dialKey: 'cb-32:1', tenant: 'acme', queue: 'sales' });
  await waitFor(() => reservedAgent(a.eventsOf('cb-32:1')), 'agent_reserved for cb-32');
  assert.deepEqual(
    a.eventsOf('cb-31:1').map((e) => e.type),
    ['agent_reserved'],
    'cancel produces no event',
  );
  const after = await waitFor(() => platform.ledger()?.agentsHeld === 1 && platform.ledger(), 'only cb-32 holding an agent');
  assert.equal(after.holdsExpired, 0);
  await waitFor(() => free() === 2, 'the agent of the cancelled attempt free again');
});

test('a platform restarted after a crash reports the call it had in flight as failed (platform_restart) and never dials it again', async (t) => {
  const redis = await connectRedis(t);
  const prefix = newPrefix(t, redis);
  const dir = mkdtempSync(join(tmpdir(), 'ges-journal-'));
  defer(t, () => rmSync(dir, { recursive: true, force: true }));
  const journal = ['--journal', join(dir, 'dials.jsonl')];
  const first = await startPlatform(t, prefix, { sim: { customers: ALWAYS_ANSWER }, extra: journal });
  const a = await startAdapter(t, redis, prefix, 'node-a');

  await a.port.send(dial('cb-40:1'));
  await waitFor(() => a.eventsOf('cb-40:1').some((e) => e.type === 'answered'), 'answered');
  await first.kill(); // the customer was waiting on the line

  const second = await startPlatform(t, prefix, { sim: { customers: ALWAYS_ANSWER }, extra: journal });
  const report = await waitFor(() => a.eventsOf('cb-40:1').find((e) => e.type === 'failed'), 'the restarted platform to report the call');
  assert.deepEqual(report, { type: 'failed', dialKey: 'cb-40:1', at: report.at, reason: 'platform_restart' });
  // GES re-sends the dial (its watchdog, or a command redelivered): answered with the report, never dialed.
  await a.port.send(dial('cb-40:1'));
  await waitFor(() => a.eventsOf('cb-40:1').filter((e) => e.type === 'failed').length === 2, 'the report again');
  const ledger = await waitFor(() => second.ledger()?.keys['cb-40:1']?.received === 2 && second.ledger(), 'the repeat in the ledger');
  assert.deepEqual(ledger.keys['cb-40:1'], { received: 2, dialed: true });
  assert.equal(ledger.dialsPlaced, 1, 'the one call of the first run');
  assert.equal(await second.stop(), 0);
});

test('presence older than its heartbeat window is not used: a heartbeat is dated by when it was written, not when a node read it', async (t) => {
  const redis = await connectRedis(t);
  const prefix = newPrefix(t, redis);
  const keys = voiceStreamKeys(prefix);
  const a = await startAdapter(t, redis, prefix, 'node-a', { blockMs: 200 });
  // What a node frozen for a minute finds in its socket when it resumes: a heartbeat and an agent
  // change written 60 s ago (entry ids carry Redis's clock, so they are written with those times).
  const past = Date.now() - 60_000;
  const oldBeat = { type: 'presence_heartbeat', at: past, intervalMs: 15_000 };
  const oldReady = { type: 'agent_ready', tenant: 'acme', queue: 'sales', agentId: 'agent-1', at: past };
  await redis.call('XADD', keys.presenceChanges, `${past}-1`, ...entryFields(oldBeat));
  await redis.call('XADD', keys.presenceChanges, `${past}-2`, ...entryFields(oldReady));
  await waitFor(() => a.events.some((e) => e.type === 'agent_ready'), 'the old agent_ready to be read');
  assert.equal(a.port.availableAgents('acme', 'sales'), 0, 'a heartbeat written 60 s ago is past its 45 s window, however recently it was read');
  // The platform's next heartbeat is current: the copy counts again.
  const beat = { type: 'presence_heartbeat', at: Date.now(), intervalMs: 15_000 };
  await redis.call('XADD', keys.presenceChanges, '*', ...entryFields(beat));
  await waitFor(() => a.port.availableAgents('acme', 'sales') === 1, 'presence to count after a current heartbeat');
});

test("entry age comes from the id's milliseconds, never negative", () => {
  assert.equal(entryAgeMs('1000-5', 46_000), 45_000);
  assert.equal(entryAgeMs('50000-0', 46_000), 0, 'a node whose clock is behind takes it as just written');
});

// ---- the call flows over Redis: customer confirmation and agent preview ---------------------------

test('customer confirmation over Redis: the platform plays the prompt and answers confirmed or not confirmed; a repeat is told the same', async (t) => {
  const redis = await connectRedis(t);
  const prefix = newPrefix(t, redis);
  await startPlatform(t, prefix, { sim: { customers: ALWAYS_ANSWER, perNumberConfirm: { '+14155550101': 'decline', '+14155550102': 'confirm' } } });
  const a = await startAdapter(t, redis, prefix, 'node-a');

  await a.port.send(dial('cf-1:1', '+14155550101'));
  await waitFor(() => a.eventsOf('cf-1:1').some((e) => e.type === 'answered'), 'answered');
  await a.port.send({ type: 'confirm_customer', dialKey: 'cf-1:1', prompt: 'press-1', timeoutSec: 20 });
  const declined = await waitFor(() => a.eventsOf('cf-1:1').find((e) => e.type === 'customer_not_confirmed'), 'customer_not_confirmed');
  assert.ok(declined.type === 'customer_not_confirmed' && declined.why === 'declined');
  await a.port.send({ type: 'confirm_customer', dialKey: 'cf-1:1', prompt: 'press-1', timeoutSec: 20 });
  await waitFor(() => a.eventsOf('cf-1:1').filter((e) => e.type === 'customer_not_confirmed').length === 2, 'the repeat answered with the same outcome');
  await a.port.send({ type: 'cancel', dialKey: 'cf-1:1' });

  // Confirmed: the customer waits on the line for an agent as before.
  await a.port.send(dial('cf-2:1', '+14155550102'));
  await waitFor(() => a.eventsOf('cf-2:1').some((e) => e.type === 'answered'), 'answered');
  await a.port.send({ type: 'confirm_customer', dialKey: 'cf-2:1', prompt: 'press-1', timeoutSec: 20 });
  await waitFor(() => a.eventsOf('cf-2:1').some((e) => e.type === 'customer_confirmed'), 'customer_confirmed');
  await a.port.send({ type: 'reserve_agent', dialKey: 'cf-2:1', tenant: 'acme', queue: 'sales' });
  const reserved = await waitFor(() => a.eventsOf('cf-2:1').find((e) => e.type === 'agent_reserved'), 'agent_reserved');
  await a.port.send({ type: 'connect', dialKey: 'cf-2:1', agentId: reserved.type === 'agent_reserved' ? reserved.agentId : '' });
  await waitFor(() => a.eventsOf('cf-2:1').some((e) => e.type === 'call_ended'), 'call_ended');
  assert.deepEqual(
    a.eventsOf('cf-2:1').map((e) => e.type),
    ['answered', 'customer_confirmed', 'agent_reserved', 'connected', 'call_ended'],
  );
});

test('agent preview over Redis: a rejecting agent is released and excluded, the next one accepts; a timeout with timeoutSetsNotReady makes the agent not ready', async (t) => {
  const redis = await connectRedis(t);
  const prefix = newPrefix(t, redis);
  await startPlatform(t, prefix, {
    sim: { customers: ALWAYS_ANSWER, perAgentPreview: { 'acme/sales/agent-1': 'reject', 'acme/sales/agent-2': 'accept', 'acme/sales/agent-3': 'timeout' } },
  });
  const a = await startAdapter(t, redis, prefix, 'node-a');
  const preview = (dialKey: string, agentId: string, timeoutSetsNotReady = false): VoiceCommand => ({
    type: 'preview',
    dialKey,
    agentId,
    timeoutSec: 5,
    allowReject: true,
    timeoutSetsNotReady,
  });
  const agentOf = (e: VoiceEvent | undefined) => (e?.type === 'agent_reserved' ? e.agentId : '');

  await a.port.send({ type: 'reserve_agent', dialKey: 'pv-1:1', tenant: 'acme', queue: 'sales' });
  const first = agentOf(await waitFor(() => a.eventsOf('pv-1:1').find((e) => e.type === 'agent_reserved'), 'agent_reserved'));
  assert.equal(first, 'acme/sales/agent-1');
  await a.port.send(preview('pv-1:1', first));
  const rejected = await waitFor(() => a.eventsOf('pv-1:1').find((e) => e.type === 'preview_rejected'), 'preview_rejected');
  assert.deepEqual(rejected.type === 'preview_rejected' && [rejected.agentId, rejected.why], [first, 'rejected']);
  await a.port.send({ type: 'release_agent', dialKey: 'pv-1:1', agentId: first });
  // agent-1 is free again and has waited longest, but it rejected this callback.
  await a.port.send({ type: 'reserve_agent', dialKey: 'pv-1:1', tenant: 'acme', queue: 'sales', excludeAgents: [first] });
  const second = agentOf(await waitFor(() => a.eventsOf('pv-1:1').filter((e) => e.type === 'agent_reserved')[1], 'a second agent_reserved'));
  assert.equal(second, 'acme/sales/agent-2');
  await a.port.send(preview('pv-1:1', second));
  await waitFor(() => a.eventsOf('pv-1:1').some((e) => e.type === 'preview_accepted'), 'preview_accepted');
  await a.port.send(dial('pv-1:1', '+14155550103', second));
  await waitFor(() => a.eventsOf('pv-1:1').some((e) => e.type === 'answered'), 'answered');
  await a.port.send({ type: 'connect', dialKey: 'pv-1:1', agentId: second });
  const connected = await waitFor(() => a.eventsOf('pv-1:1').find((e) => e.type === 'connected'), 'connected');
  assert.ok(connected.type === 'connected' && connected.agentId === second);

  // A preview left to time out, with timeoutSetsNotReady: rejected (timeout), and the agent not ready on the presence stream.
  await a.port.send({ type: 'reserve_agent', dialKey: 'pv-2:1', tenant: 'acme', queue: 'sales', excludeAgents: ['acme/sales/agent-1'] });
  const third = agentOf(await waitFor(() => a.eventsOf('pv-2:1').find((e) => e.type === 'agent_reserved'), 'agent_reserved'));
  assert.equal(third, 'acme/sales/agent-3');
  await a.port.send(preview('pv-2:1', third, true));
  const timedOut = await waitFor(() => a.eventsOf('pv-2:1').find((e) => e.type === 'preview_rejected'), 'preview_rejected (timeout)');
  assert.ok(timedOut.type === 'preview_rejected' && timedOut.why === 'timeout');
  await waitFor(
    () => a.events.some((e) => e.type === 'agent_not_ready' && e.agentId === third && e.at >= timedOut.at),
    'agent_not_ready for the agent who let the preview time out',
  );
});

// ---- contract 2: context on the call, call progress and machines ----------------------------------

const CONTEXT: CallContext = {
  attachedData: { GES_UserData: JSON.stringify({ orderId: 'A-1', reason: 'late delivery' }) },
  routePoint: '7100@SIP_Switch',
  language: 'fr-FR',
  priority: 2,
  callerId: { number: '+18005550199', name: 'Acme Support' },
  dialPrefix: '9',
  trunkGroup: 'tg-1',
  previewKeys: ['orderId'],
};

test('contract 2: the context, progress and leave_message are checked, and a refusal never echoes the data', () => {
  const good: VoiceCommand[] = [
    { ...dial('cb:1'), context: CONTEXT, progress: { detect: true, onMachine: 'wait' } } as VoiceCommand,
    { type: 'reserve_agent', dialKey: 'cb:1', tenant: 'acme', queue: 'sales', context: CONTEXT },
    { type: 'connect', dialKey: 'cb:1', agentId: 'a-1', context: { attachedData: {}, priority: 0 } },
    { type: 'leave_message', dialKey: 'cb:1', message: { text: 'We called about your order.' } },
    { type: 'leave_message', dialKey: 'cb:1', message: { id: 'prompt-42' } },
  ];
  for (const command of good) assert.ok(commandDecoder.check(command).ok, JSON.stringify(command));
  for (const event of [
    { type: 'fax', dialKey: 'cb:1', at: 1 },
    { type: 'sit', dialKey: 'cb:1', at: 1 },
    { type: 'network_failure', dialKey: 'cb:1', at: 1 },
    { type: 'message_left', dialKey: 'cb:1', at: 1 },
  ])
    assert.ok(callEventDecoder.check(event).ok, event.type);

  const secret = 'order-4711';
  const big: Record<string, string> = {};
  for (let i = 0; i < 20; i += 1) big[`k${i}`] = secret.padEnd(1000, 'x');
  const bad: unknown[] = [
    { ...dial('cb:1'), context: { ...CONTEXT, attachedData: big } }, // more bytes than the bound
    { ...dial('cb:1'), context: { ...CONTEXT, secretField: secret } }, // closed object
    { ...dial('cb:1'), context: { attachedData: { orderId: secret } } }, // priority missing
    { ...dial('cb:1'), context: { ...CONTEXT, dialPrefix: secret } }, // not digits
    { ...dial('cb:1'), context: { ...CONTEXT, previewKeys: Array.from({ length: CALL_CONTEXT_LIMITS.previewKeys + 1 }, (_, i) => `k${i}`) } },
    { ...dial('cb:1'), progress: { detect: true, onMachine: secret } },
    { type: 'leave_message', dialKey: 'cb:1', message: {} },
    { type: 'leave_message', dialKey: 'cb:1', message: { text: secret.padEnd(CALL_CONTEXT_LIMITS.machineMessageText + 1, 'x') } },
  ];
  for (const body of bad) {
    const checked = commandDecoder.check(body);
    assert.equal(checked.ok, false, JSON.stringify(body).slice(0, 200));
    if (!checked.ok) assert.ok(!checked.reason.includes(secret) && !checked.reason.includes('4155550100'), checked.reason);
  }
});

test('over Redis: the context of a dial reaches the platform, and its agent sees the orderId on connect (the ledger file says so)', async (t) => {
  const redis = await connectRedis(t);
  const prefix = newPrefix(t, redis);
  const platform = await startPlatform(t, prefix, { sim: { customers: ALWAYS_ANSWER } });
  const a = await startAdapter(t, redis, prefix, 'node-a');
  await a.port.send({ ...dial('cb-50:1'), context: CONTEXT, progress: { detect: true, onMachine: 'hang_up' } } as VoiceCommand);
  await waitFor(() => a.eventsOf('cb-50:1').some((e) => e.type === 'answered'), 'answered');
  await a.port.send({ type: 'reserve_agent', dialKey: 'cb-50:1', tenant: 'acme', queue: 'sales', context: CONTEXT });
  const reserved = await waitFor(() => a.eventsOf('cb-50:1').find((e) => e.type === 'agent_reserved'), 'agent_reserved');
  const agentId = reserved.type === 'agent_reserved' ? reserved.agentId : '';
  await a.port.send({ type: 'connect', dialKey: 'cb-50:1', agentId, context: CONTEXT });
  const ledger = await waitFor(() => platform.ledger()?.screens['cb-50:1'] && platform.ledger(), 'the agent screen in the ledger file');
  const screen = ledger.screens['cb-50:1']!;
  assert.equal(screen.agentId, agentId);
  assert.equal(screen.userData.orderId, 'A-1');
  assert.deepEqual(screen.preview, [{ key: 'orderId', value: 'A-1' }]);
  assert.equal(screen.routePoint, '7100@SIP_Switch');
  assert.equal(screen.language, 'fr-FR');
});

test('over Redis: a machine kept on the line (progress wait) takes the message of leave_message, answered message_left', async (t) => {
  const redis = await connectRedis(t);
  const prefix = newPrefix(t, redis);
  const platform = await startPlatform(t, prefix, {
    sim: { customers: ALWAYS_ANSWER, perNumber: { '+14155550177': { machine: 1 }, '+14155550178': { machine: 1 } } },
  });
  const a = await startAdapter(t, redis, prefix, 'node-a');
  await a.port.send({ ...dial('cb-51:1', '+14155550177'), context: CONTEXT, progress: { detect: true, onMachine: 'wait' } } as VoiceCommand);
  await waitFor(() => a.eventsOf('cb-51:1').some((e) => e.type === 'machine'), 'machine');
  await a.port.send({ type: 'leave_message', dialKey: 'cb-51:1', message: { text: 'We called about your order.' } });
  await waitFor(() => a.eventsOf('cb-51:1').some((e) => e.type === 'message_left'), 'message_left');
  assert.deepEqual(
    a.eventsOf('cb-51:1').map((e) => e.type),
    ['machine', 'message_left'],
  );
  // Without detection the same machine is a person to the platform.
  await a.port.send({ ...dial('cb-52:1', '+14155550178'), context: CONTEXT, progress: { detect: false, onMachine: 'hang_up' } } as VoiceCommand);
  await waitFor(() => a.eventsOf('cb-52:1').some((e) => e.type === 'answered'), 'answered without detection');
  const ledger = await waitFor(() => {
    const l = platform.ledger();
    return l?.results['cb-51:1']?.messageLeft && l.results['cb-52:1'] !== undefined && l;
  }, 'the message and the second call in the ledger file');
  assert.deepEqual(ledger.results['cb-51:1'], { outcome: 'machine', connected: false, messageLeft: true });
  assert.equal(ledger.results['cb-52:1']?.outcome, 'answered');
});

test('GES over Redis: an orderId given at create reaches the agent of the platform process on connect', async (t) => {
  const db = await createTestDb();
  t.after(() => db.close());
  const t0 = await createTestTenant(db, undefined, { sales: { executionBufferSec: 0, previewKeys: 'orderId' } });
  const tenant = (await findTenantByName(db.pool, t0.name))!;
  const redis = await connectRedis(t);
  const prefix = newPrefix(t, redis);
  const platform = await startPlatform(t, prefix, {
    sim: { customers: ALWAYS_ANSWER },
    queues: { [`${tenant.name}/sales`]: { agents: 1, handleTimeSec: { mean: 6, sd: 1 } } },
  });
  const port = new RedisStreamVoicePort(redis, { prefix, consumer: 'ges-node', logger: silent });
  const engine = new CallbackEngine({ db: db.pool, hot: new MemoryHotState(), voice: port, clock: databaseEngineClock(db.clock), logger: silent, pollMs: 200 });
  const callbacks = new CallbackService(db.pool, db.clock);
  callbacks.attach(engine, (err) => {
    throw err;
  });
  await port.start();
  await engine.start();
  defer(t, async () => {
    await engine.stop();
    await port.stop();
  });
  const who = { id: tenant.id, name: tenant.name };
  await waitFor(() => port.availableAgents(tenant.name, 'sales') > 0, 'the platform agent announced');
  const { id } = await callbacks.create(who, { serviceName: 'sales', phoneNumber: '+14155550160', userData: { orderId: 'A-1', note: 'call before noon' } });
  const ledger = await waitFor(() => platform.ledger()?.screens[`${id}:1`] && platform.ledger(), 'the agent screen in the ledger file', 60_000);
  const screen = ledger.screens[`${id}:1`]!;
  assert.deepEqual(screen.userData, { orderId: 'A-1', note: 'call before noon' });
  assert.deepEqual(screen.preview, [{ key: 'orderId', value: 'A-1' }]);
  await waitFor(async () => (await callbacks.retrieve(who, id)).state === 'COMPLETED', 'the callback completed', 60_000);
  assert.equal((await callbacks.retrieve(who, id)).reason, 'AGENT_CONNECTED');
});
