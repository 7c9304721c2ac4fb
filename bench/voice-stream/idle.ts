/**
 * Idle cost of the Redis-stream voice port: how many Redis commands one GES node's adapter issues
 * per second when there are no calls. Budget: at most 0.25 per second.
 *
 *   node --import tsx bench/voice-stream/idle.ts [--redis redis://127.0.0.1:6379] [--seconds 120] [--private-server]
 *
 * --private-server starts a throw-away `redis-server` (from PATH) on a free port for the run, so
 * INFO commandstats counts nothing but this adapter and its simulated platform.
 *
 * A simulated platform (StreamPlatform + ContactCenterSimulator, agents logged in, heartbeat on, no
 * calls) runs in this process on its own connection, as in production, so the adapter's presence
 * reader sees the heartbeats it would see there. After a warm-up (presence received), the script
 * counts over the idle period:
 * - INFO commandstats before and after (the whole server: exact on a Redis nobody else uses; other
 *   clients' commands count too otherwise), without this script's own INFO / CLIENT / MONITOR;
 * - the adapter's own commands, by MONITOR, attributed by the client address of each of its
 *   connections (the given client and the two blocking ones), so other load does not count.
 * Exits 1 when the adapter exceeds the budget.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/logging/logger.ts';
import { ContactCenterSimulator } from '../../src/voice/simulator/contact-center-simulator.ts';
import { SimClock } from '../../src/voice/simulator/sim-clock.ts';
import { RedisStreamVoicePort } from '../../src/voice/redis-stream/redis-stream-voice-port.ts';
import { StreamPlatform } from '../../src/voice/redis-stream/stream-platform.ts';

const BUDGET_PER_SEC = 0.25;
/** Commands of this script's measuring connections, left out of the server-wide figure. */
const OWN_COMMANDS = new Set(['info', 'client|list', 'client|setname', 'client|setinfo', 'monitor', 'hello', 'select', 'ping', 'quit']);

function commandStats(info: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

function delta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, calls] of after) {
    const d = calls - (before.get(name) ?? 0);
    if (d > 0 && !OWN_COMMANDS.has(name)) out.set(name, d);
  }
  return out;
}

const total = (counts: Map<string, number>) => [...counts.values()].reduce((a, b) => a + b, 0);
const show = (counts: Map<string, number>) =>
  [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}=${v}`)
    .join(' ') || '(none)';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function privateServer(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null });
  probe.on('error', () => undefined);
  for (let i = 0; ; i += 1) {
    try {
      await probe.connect();
      break;
    } catch (error) {
      if (i >= 100) throw error;
      await delay(50);
    }
  }
  probe.disconnect();
  return { url, child };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
      seconds: { type: 'string', default: '120' },
      'private-server': { type: 'boolean', default: false },
    },
  });
  const seconds = Number(values.seconds);
  const own = values['private-server'] ? await privateServer() : undefined;
  const url = own?.url ?? values.redis;
  const prefix = `bench-idle-${randomBytes(4).toString('hex')}:`;
  const logger = createLogger('warn');
  const tag = randomBytes(3).toString('hex');

  const platformClient = new Redis(url, { connectionName: `idle-bench-platform-${tag}` });
  const clock = new SimClock(Date.now());
  const simulator = new ContactCenterSimulator({ seed: 1, clock, queues: { 'acme/sales': { agents: 5, handleTimeSec: { mean: 120, sd: 30 } } } });
  const platform = new StreamPlatform(platformClient, simulator, { prefix, consumer: `idle-bench-platform-${tag}`, logger });
  await platform.start();
  await simulator.start();
  clock.startRealTime(1);

  const adapterClient = new Redis(url, { connectionName: `idle-bench-adapter-${tag}` });
  const port = new RedisStreamVoicePort(adapterClient, { prefix, consumer: `idle-bench-adapter-${tag}`, logger });
  await port.start();
  for (let i = 0; i < 500 && port.availableAgents('acme', 'sales') < 5; i += 1) await delay(20);
  if (port.availableAgents('acme', 'sales') < 5) throw new Error('presence never arrived');

  const stats = new Redis(url);
  const clients = String(await stats.call('CLIENT', 'LIST'));
  const addressesOf = (namePart: string) =>
    new Set([...clients.matchAll(/addr=(\S+) .*?name=(\S*)/g)].filter((m) => m[2]!.includes(namePart)).map((m) => m[1]!));
  const adapterAddrs = addressesOf(`idle-bench-adapter-${tag}`);
  if (adapterAddrs.size !== 3) throw new Error(`expected 3 adapter connections, found ${adapterAddrs.size}`);

  const adapterCounts = new Map<string, number>();
  const monitor = await stats.monitor();
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (!adapterAddrs.has(source)) return;
    const name = String(args[0]).toLowerCase();
    adapterCounts.set(name, (adapterCounts.get(name) ?? 0) + 1);
  });

  const before = commandStats(String(await stats.info('commandstats')));
  const started = Date.now();
  await delay(seconds * 1000);
  const after = commandStats(String(await stats.info('commandstats')));
  const elapsed = (Date.now() - started) / 1000;
  monitor.disconnect();

  const server = delta(before, after);
  const adapterRate = total(adapterCounts) / elapsed;
  console.log(
    `idle period: ${elapsed.toFixed(1)} s, ${own === undefined ? 'shared' : 'private'} Redis ${String(await stats.info('server')).match(/redis_version:(\S+)/)?.[1] ?? '?'}`,
  );
  console.log(`adapter (MONITOR, its 3 connections): ${total(adapterCounts)} commands = ${adapterRate.toFixed(3)}/s  [${show(adapterCounts)}]`);
  console.log(
    `whole server (INFO commandstats, adapter + simulated platform + any other client): ${total(server)} commands = ${(total(server) / elapsed).toFixed(3)}/s  [${show(server)}]`,
  );
  console.log(`budget ${BUDGET_PER_SEC}/s: ${adapterRate <= BUDGET_PER_SEC ? 'OK' : 'EXCEEDED'}`);

  await port.stop();
  clock.stopRealTime();
  await platform.stop();
  await simulator.stop();
  const keys = port.keys;
  await stats.del(keys.commands, keys.events, keys.presenceChanges, keys.presenceReady);
  await Promise.all([adapterClient.quit(), platformClient.quit(), stats.quit()]);
  own?.child.kill('SIGTERM');
  process.exitCode = adapterRate <= BUDGET_PER_SEC ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
