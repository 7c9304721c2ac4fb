/**
 * A contact center in its own process, reachable only through Redis: the ContactCenterSimulator on
 * the SimClock's real-time driver (simulated time = wall time × speed) behind StreamPlatform. It
 * stands where a real telephony platform would, for tests, demos and load runs.
 *
 *   node --import tsx src/voice/redis-stream/platform-process.ts \
 *     --redis redis://127.0.0.1:6379 --prefix ges: \
 *     --queues '{"acme/sales":{"agents":3,"handleTimeSec":{"mean":120,"sd":40}}}' \
 *     --seed 42 --speed 60 [--start <epoch ms>] [--ledger-file ledger.json] [--journal dials.jsonl] \
 *     [--quarantine-ms 900000] \
 *     [--sim '{"customers":{...},"perNumber":{"+1555...":{"busy":1}},"inboundCalls":[...],"holdExpirySec":600,
 *             "confirmation":{...},"perNumberConfirm":{"+1555...":"decline"},"preview":{...},"perAgentPreview":{"t/q/agent-1":"reject"}}'] \
 *     [--heartbeat-ms 15000] [--block-ms 30000] [--claim-idle-ms 60000] [--consumer name] [--log-level info]
 *
 * Prints `READY` on stdout once it takes commands; logs go to stderr. The dial ledger (every dial
 * key: commands received, dialed or not, the call's outcome and whether it reached an agent, the
 * confirmation answer, the previews and holds of agents, the disposition; totals, agents held) is written to --ledger-file whenever it changes and at exit. --journal is the
 * durable dial ledger (dial-journal-file.ts): kept across restarts, so a restarted platform never
 * dials a key of an earlier run and reports the calls that run had in flight (failed, reason
 * platform_restart; call_ended if connected). --quarantine-ms: the rule for a platform that lost its
 * ledger: every dial is refused (failed, reason ledger_lost) for that long after start (simulated
 * ms). SIGTERM / SIGINT: stops the clock, finishes the command in hand, writes the events still
 * queued, withdraws the presence, writes the ledger and exits 0.
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { createLogger } from '../../logging/logger.ts';
import { ContactCenterSimulator, type ContactCenterSimulatorConfig } from '../simulator/contact-center-simulator.ts';
import type { CustomerOutcomes } from '../simulator/customer-outcomes.ts';
import type { ConfirmationChoice, PreviewChoice } from '../simulator/call-flows.ts';
import { SimClock } from '../simulator/sim-clock.ts';
import { DialJournalFile } from './dial-journal-file.ts';
import { writeLedgerFile } from './dial-ledger-file.ts';
import { StreamPlatform } from './stream-platform.ts';

/** How often the ledger is compared with what was last written. */
const LEDGER_POLL_MS = 20;

/** Simulator settings a run may set through --sim (JSON). */
type SimSettings = Pick<
  ContactCenterSimulatorConfig,
  | 'customers'
  | 'timeToAnswerSec'
  | 'ringTimeoutSec'
  | 'customerPatienceSec'
  | 'commandLatencyMs'
  | 'inboundCalls'
  | 'holdExpirySec'
  | 'confirmation'
  | 'preview'
  | 'notReadyAfterPreviewSec'
  | 'dispositions'
> & {
  /** Outcome overrides by phone number (see mixCustomerOutcomes). */
  perNumber?: Record<string, Partial<CustomerOutcomes>>;
  /** Fixed confirmation answers by phone number. */
  perNumberConfirm?: Record<string, ConfirmationChoice>;
  /** Fixed preview answers by agent id. */
  perAgentPreview?: Record<string, PreviewChoice>;
};

function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${what} is not valid JSON`);
  }
}

function positiveNumber(text: string | undefined, what: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!(value > 0) || !Number.isFinite(value)) throw new Error(`${what} must be a positive number (got ${text})`);
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
      prefix: { type: 'string', default: 'ges:' },
      queues: { type: 'string' },
      seed: { type: 'string', default: '42' },
      speed: { type: 'string', default: '1' },
      start: { type: 'string' },
      'ledger-file': { type: 'string' },
      journal: { type: 'string' },
      'quarantine-ms': { type: 'string' },
      sim: { type: 'string', default: '{}' },
      'heartbeat-ms': { type: 'string' },
      'block-ms': { type: 'string' },
      'claim-idle-ms': { type: 'string' },
      consumer: { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
    },
    strict: true,
  });
  if (values.queues === undefined) throw new Error('--queues is required (JSON: {"tenant/queue": {"agents": n, "handleTimeSec": {"mean": s, "sd": s}}})');
  const logger = createLogger(values['log-level'], process.stderr);
  const seed = /^-?\d+$/.test(values.seed) ? Number(values.seed) : values.seed;
  const speed = positiveNumber(values.speed, '--speed', 1);
  const startMs = values.start === undefined ? Date.now() : Number(values.start);
  const sim = parseJson<SimSettings>(values.sim, '--sim');
  const { perNumber, perNumberConfirm, perAgentPreview, ...simConfig } = sim;

  const clock = new SimClock(startMs);
  const journal = values.journal === undefined ? undefined : new DialJournalFile(values.journal);
  const resume = journal?.read();
  const quarantineMs = values['quarantine-ms'] === undefined ? undefined : positiveNumber(values['quarantine-ms'], '--quarantine-ms', 0);
  const simulator = new ContactCenterSimulator({
    ...simConfig,
    seed,
    clock,
    queues: parseJson(values.queues, '--queues'),
    ...(perNumber === undefined ? {} : { perNumber: (phone: string) => perNumber[phone] }),
    ...(perNumberConfirm === undefined ? {} : { perNumberConfirm: (phone: string) => perNumberConfirm[phone] }),
    ...(perAgentPreview === undefined ? {} : { perAgentPreview: (agentId: string) => perAgentPreview[agentId] }),
    ...(journal === undefined ? {} : { onLedgerChange: (change) => journal.append(change) }),
    ...(resume === undefined ? {} : { resume }),
    ...(quarantineMs === undefined ? {} : { refuseDialsUntilMs: startMs + quarantineMs }),
  });
  if (resume !== undefined) logger.info({ keys: resume.seen.size, inFlight: resume.inFlight.size }, 'dial ledger of an earlier run resumed');

  const client = new Redis(values.redis, { maxRetriesPerRequest: null });
  client.on('error', (error: unknown) => logger.debug({ err: error instanceof Error ? error.message : String(error) }, 'redis connection error'));
  const platform = new StreamPlatform(client, simulator, {
    prefix: values.prefix,
    ...(values.consumer === undefined ? {} : { consumer: values.consumer }),
    ...(values['heartbeat-ms'] === undefined ? {} : { heartbeatMs: positiveNumber(values['heartbeat-ms'], '--heartbeat-ms', 0) }),
    ...(values['block-ms'] === undefined ? {} : { blockMs: positiveNumber(values['block-ms'], '--block-ms', 0) }),
    ...(values['claim-idle-ms'] === undefined ? {} : { claimIdleMs: positiveNumber(values['claim-idle-ms'], '--claim-idle-ms', 0) }),
    logger,
  });

  // A hold freed by the safety net is a release_agent GES owed (docs/VOICE-CONTRACT.md, "Holding
  // agents"): said in the log, where a fault run looks for what went wrong.
  let expiredSeen = 0;
  const watchHolds = setInterval(() => {
    const expired = simulator.holdsExpired();
    if (expired > expiredSeen) logger.warn({ holdsExpired: expired, agentsHeld: simulator.agentsHeld() }, 'agent holds expired without a release_agent');
    expiredSeen = expired;
  }, 1000);
  watchHolds.unref();

  const ledgerFile = values['ledger-file'];
  let written = '';
  const writeLedger = (force: boolean) => {
    if (ledgerFile === undefined) return;
    const ledger = simulator.ledger;
    const holds = { agentsHeld: simulator.agentsHeld(), holdsExpired: simulator.holdsExpired() };
    const signature = `${ledger.changes}/${holds.agentsHeld}/${holds.holdsExpired}`;
    if (!force && signature === written) return;
    writeLedgerFile(ledgerFile, ledger, holds);
    written = signature;
  };
  writeLedger(true);
  const ledgerTimer = setInterval(() => writeLedger(false), LEDGER_POLL_MS);
  ledgerTimer.unref();

  await platform.start();
  await simulator.start();
  clock.startRealTime(speed);
  logger.info({ prefix: values.prefix, speed, startMs }, 'contact-center simulator takes commands');
  process.stdout.write('READY\n');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    clearInterval(ledgerTimer);
    clearInterval(watchHolds);
    clock.stopRealTime();
    let code = 0;
    try {
      await platform.stop();
      await simulator.stop();
    } catch (error) {
      code = 1;
      logger.error({ err: error instanceof Error ? error.message : String(error) }, 'stop failed');
    }
    writeLedger(true);
    await client.quit().catch(() => client.disconnect());
    process.exit(code);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`platform-process: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
