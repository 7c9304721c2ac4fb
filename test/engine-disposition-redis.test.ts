import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { createTestDb, createTestTenant } from './support/test-env.ts';
import { connectRedis, dropPrefix, testPrefix, TEST_REDIS_URL } from './support/redis-env.ts';
import { waitFor } from './support/wait-for.ts';
import { CallbackService } from '../src/app/callback-service.ts';
import { callbackRecreate } from '../src/app/callback-recreate.ts';
import { CallbackEngine } from '../src/engine/callback-engine.ts';
import { databaseEngineClock } from '../src/engine/engine-clock.ts';
import { MemoryHotState } from '../src/hot/memory-hot-state.ts';
import { createLogger } from '../src/logging/logger.ts';
import { RedisStreamVoicePort } from '../src/voice/redis-stream/redis-stream-voice-port.ts';
import { voiceStreamKeys } from '../src/voice/redis-stream/voice-stream-keys.ts';
import { listEvents } from '../src/store/callback-history.ts';

/**
 * The disposition flow over the Redis-stream contract: two GES engines share one consumer group
 * and the stand-in platform runs in its own process. The agent's CALL_BACK_LATER recreates one
 * callback; the same event written to the stream twice more (a platform retry, a redelivery) is
 * handled by whichever node reads it and recreates nothing.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PLATFORM = join(ROOT, 'src/voice/redis-stream/platform-process.ts');
const silent = createLogger('silent');

async function startPlatform(t: TestContext, prefix: string, queues: object, sim: object): Promise<void> {
  const args = ['--import', 'tsx', PLATFORM, '--redis', TEST_REDIS_URL, '--prefix', prefix, '--queues', JSON.stringify(queues)];
  args.push('--seed', '3', '--speed', '1', '--sim', JSON.stringify(sim), '--heartbeat-ms', '1000', '--log-level', 'warn');
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exited: number | null | undefined;
  child.stdout.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const gone = new Promise<void>((resolve) =>
    child.on('exit', (code) => {
      exited = code;
      resolve();
    }),
  );
  t.after(async () => {
    if (exited === undefined) {
      child.kill('SIGKILL');
      await gone;
    }
  });
  await waitFor(
    () => {
      if (exited !== undefined) throw new Error(`platform exited with ${exited}: ${stderr}`);
      return stdout.includes('READY\n');
    },
    'the platform process to print READY',
    30_000,
  );
}

/** The `ges` group has read past `id` and holds nothing unacknowledged: every handler has finished. */
async function handledThrough(redis: Redis, stream: string, id: string): Promise<boolean> {
  const groups = (await redis.call('XINFO', 'GROUPS', stream)) as unknown[][];
  const ges = groups
    .map((g) => new Map<string, unknown>(g.flatMap((v, i) => (i % 2 === 0 ? [[String(v), g[i + 1]]] : []))))
    .find((g) => g.get('name') === 'ges');
  if (!ges) return false;
  const last = String(ges.get('last-delivered-id'));
  const [lm, ls] = last.split('-').map(Number);
  const [im, is] = id.split('-').map(Number);
  return Number(ges.get('pending')) === 0 && (lm! > im! || (lm === im && ls! >= is!));
}

test('over Redis with two nodes: CALL_BACK_LATER recreates one callback, and the event written again twice recreates nothing more', async (t) => {
  const db = await createTestDb();
  t.after(() => db.close());
  const redis = await connectRedis();
  const prefix = testPrefix();
  t.after(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });
  const tenant = await createTestTenant(db, undefined, { sales: { enableDispositionDialog: true, agentDispositionTimeoutSec: 30 } });
  const phone = '+14155553101';
  await startPlatform(
    t,
    prefix,
    { [`${tenant.name}/sales`]: { agents: 1, handleTimeSec: { mean: 2, sd: 0 } } },
    {
      customers: { answer: 1, busy: 0, noAnswer: 0, machine: 0, invalid: 0 },
      timeToAnswerSec: { mean: 1, sd: 0 },
      dispositions: { perNumber: { [phone]: { code: 'CALL_BACK_LATER', desiredInSec: 7200, afterSec: 1, note: 'evening' } } },
    },
  );

  const who = { id: tenant.id, name: tenant.name };
  const nodes: { engine: CallbackEngine; port: RedisStreamVoicePort; callbacks: CallbackService }[] = [];
  for (const consumer of ['node-a', 'node-b']) {
    const port = new RedisStreamVoicePort(redis, { prefix, consumer, logger: silent, blockMs: 200 });
    const engine = new CallbackEngine({
      db: db.pool,
      hot: new MemoryHotState(),
      voice: port,
      clock: databaseEngineClock(db.clock),
      logger: silent,
      pollMs: 200,
    });
    const callbacks = new CallbackService(db.pool, db.clock);
    callbacks.attach(engine, (err) => {
      throw err;
    });
    engine.attachRecreate(callbackRecreate(db.pool, callbacks));
    await port.start();
    await engine.start();
    nodes.push({ engine, port, callbacks });
  }
  t.after(async () => {
    for (const n of nodes) {
      await n.engine.stop();
      await n.port.stop();
    }
  });
  const [a] = nodes;
  await waitFor(() => a!.port.availableAgents(tenant.name, 'sales') > 0, 'the platform’s agent to be announced');
  const { id } = await a!.callbacks.create(who, { serviceName: 'sales', phoneNumber: phone, userData: { orderId: 'R-5' } });
  const byPhone = async () => (await a!.callbacks.find(who, { phoneNumber: phone })).callbacks;
  await waitFor(async () => (await byPhone()).length === 2, 'the recreated callback', 60_000);

  const stream = voiceStreamKeys(prefix).events;
  const entries = (await redis.xrange(stream, '-', '+')) as [string, string[]][];
  const written = entries.find(([, fields]) => fields[fields.indexOf('type') + 1] === 'disposition');
  assert.ok(written, 'the platform wrote the disposition to the event stream');
  await redis.xadd(stream, '*', ...written[1]);
  const again = (await redis.xadd(stream, '*', ...written[1]))!;
  await waitFor(() => handledThrough(redis, stream, again), 'both copies to be handled and acknowledged', 30_000);

  const all = await byPhone();
  assert.equal(all.length, 2, 'the original and one recreate, for three deliveries');
  const recreated = all.find((c) => c.id !== id)!;
  assert.equal(recreated.state, 'SCHEDULED');
  assert.deepEqual((await a!.callbacks.retrieve(who, recreated.id)).userData, { orderId: 'R-5' });
  const data = JSON.parse(written[1][written[1].indexOf('data') + 1]!) as { desiredTime: string; agentId: string };
  assert.equal(recreated.desiredTime.toISOString(), data.desiredTime);
  const original = await listEvents(db.pool, tenant.id, id);
  assert.deepEqual(
    original.filter((e) => e.kind === 'DISPOSITION').map((e) => e.detail),
    ['disposition requested (30 s)', `disposition CALL_BACK_LATER, by agent ${data.agentId}, recreated as ${recreated.id}: evening`],
  );
  assert.equal((await listEvents(db.pool, tenant.id, recreated.id)).filter((e) => e.detail === `recreated from ${id}`).length, 1);
});
