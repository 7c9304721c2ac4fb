import { mkdir } from 'node:fs/promises';
import type { TestContext } from 'node:test';
import { CallbackService } from '../../src/app/callback-service.ts';
import { AgentAdmin } from '../../src/app/agent-admin.ts';
import { PgSipAgentDirectory } from '../../src/app/sip-agent-directory.ts';
import { dialNumberCheck } from '../../src/app/dial-number-check.ts';
import { CallbackEngine } from '../../src/engine/callback-engine.ts';
import { databaseEngineClock } from '../../src/engine/engine-clock.ts';
import { MemoryHotState } from '../../src/hot/memory-hot-state.ts';
import { createLogger } from '../../src/logging/logger.ts';
import type { ServiceOptions } from '../../src/domain/service-options.ts';
import type { CallbackState } from '../../src/domain/callback-state.ts';
import { findTenantByName, type Tenant } from '../../src/store/tenant-store.ts';
import * as history from '../../src/store/callback-history.ts';
import { RtpPortPool } from '../../src/voice/sip/media/rtp-port-pool.ts';
import { FilePromptBook } from '../../src/voice/sip/prompt-book.ts';
import { parseNetworks } from '../../src/voice/sip/signalling/network-allowlist.ts';
import { SipUserAgent } from '../../src/voice/sip/signalling/sip-user-agent.ts';
import { SipVoicePort } from '../../src/voice/sip/sip-voice-port.ts';
import type { RtpStats } from '../../src/voice/sip/media/rtp-endpoint.ts';
import type { VoiceEvent } from '../../src/voice/voice-port.ts';
import { createTestDb, createTestTenant, type TestDb } from './test-env.ts';
import { freePort, freeSipPort, startBaresip, tempDir, writeToneWav, type Baresip } from './sip-peers.ts';
import { waitFor } from './wait-for.ts';

/**
 * A contact center on SIP for one test: PostgreSQL, one engine on real time, GES's SIP user agent
 * on 127.0.0.1, and real softphones (baresip) for the customer (127.0.0.2, called directly as a
 * trunk would deliver the call) and the agents (127.0.0.3 and up, registered with GES's registrar).
 * Every leg's RTP is counted by GES (the observer) and each softphone records what it hears.
 */

export const AGENT_PASSWORD = 'agent-password-1234';
/** The customer's number: baresip answers only calls to its own user, so its account is this number. */
export const CUSTOMER_NUMBER = '+14155550123';

export interface SipCenter {
  db: TestDb;
  tenant: Tenant;
  callbacks: CallbackService;
  voice: SipVoicePort;
  directory: PgSipAgentDirectory;
  admin: AgentAdmin;
  /** Every event the port emitted, in order. */
  heard: VoiceEvent[];
  /** RTP figures of every leg GES closed, by role. */
  legs: { role: string; stats: RtpStats }[];
  sipFailures: { role: string; cause: string }[];
  /** Stops the node as SIGTERM does (quiesce the engine, stop the voice port, stop the engine). */
  stopNode(): Promise<void>;
  /** The role of every leg GES placed, in order. */
  placed: string[];
  /** What happened so far, for a failing test's message. */
  story(): string;
  /** The customer's softphone (none when a SIPp trunk plays the customer). */
  customer: Baresip | undefined;
  /** Folder where the customer's phone records what it hears (sndfile: *-dec.wav). */
  customerSink: string;
  agent(login: string): Promise<Baresip & { sink: string }>;
  standbyAgent(login?: string): Promise<void>;
  details(id: string): Promise<string[]>;
  waitState(id: string, state: CallbackState, ms?: number): Promise<Awaited<ReturnType<CallbackService['retrieve']>>>;
}

export async function startSipCenter(
  t: TestContext,
  opts: {
    service?: Partial<ServiceOptions>;
    customerAutoAnswer?: boolean;
    customerTone?: string;
    agentTone?: string;
    ringTimeoutSec?: number;
    /** The engine's cap on every watchdog, the talk watchdog included (ENGINE_WATCHDOG_SEC). */
    watchdogCapSec?: number;
    /** Customers reached at this address and port instead of a baresip (a SIPp scenario playing the trunk). */
    trunk?: { address: string; port: number; auth?: { username: string; password: string } };
  } = {},
): Promise<SipCenter> {
  // One teardown, last started first: node:test runs after-hooks in the order they were added,
  // and the port must let go of its agents while the database is still there.
  const cleanups: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  const db = await createTestDb();
  cleanups.push(() => db.close());
  const t0 = await createTestTenant(db, undefined, { sales: { ...opts.service } });
  const tenant = (await findTenantByName(db.pool, t0.name))!;
  const logger = createLogger(process.env.SIP_TEST_DEBUG ? 'debug' : 'silent');
  const gesPort = await freeSipPort('127.0.0.1');
  const allowed = parseNetworks('127.0.0.0/8');
  const directory = new PgSipAgentDirectory(db.pool, { refreshMs: 200 });
  const ua = new SipUserAgent({
    address: '127.0.0.1',
    publicAddress: '127.0.0.1',
    port: gesPort,
    transports: ['udp', 'tcp'],
    allowed,
    flood: { perSecond: 100, burst: 200 },
    registrar: { book: directory, domain: '', defaultTenant: '', minExpiresSec: 10, maxExpiresSec: 3600, algorithms: ['MD5'] },
    logger,
  });
  const rtpBase = 30000 + Math.floor(Math.random() * 15000) * 2;
  const rtp = new RtpPortPool({ address: '127.0.0.1', minPort: rtpBase, maxPort: rtpBase + 40, allowed });
  const customerPort = opts.trunk?.port ?? (await freeSipPort('127.0.0.2'));
  const customerHost = opts.trunk?.address ?? '127.0.0.2';
  const heard: VoiceEvent[] = [];
  const legs: { role: string; stats: RtpStats }[] = [];
  const sipFailures: { role: string; cause: string }[] = [];
  const placed: string[] = [];
  const voice = new SipVoicePort({
    ua,
    openRtp: () => rtp.open(),
    agents: directory,
    registrations: directory,
    prompts: new FilePromptBook(''),
    customerUriTemplate: `sip:{prefix}{number}@${customerHost}:${customerPort}`,
    ...(opts.trunk?.auth ? { trunkAuth: opts.trunk.auth } : {}),
    defaultCallerId: '18005550100',
    ringTimeoutMs: (opts.ringTimeoutSec ?? 20) * 1000,
    agentRingTimeoutMs: 15_000,
    numberAllowed: dialNumberCheck(db.pool),
    observer: {
      placed: (role) => void placed.push(role),
      answered: () => undefined,
      failed: (role, cause) => sipFailures.push({ role, cause }),
      closed: (role, stats) => legs.push({ role, stats }),
    },
    logger,
  });
  voice.onEvent((e) => void heard.push(e));
  const engine = new CallbackEngine({
    db: db.pool,
    hot: new MemoryHotState(),
    voice,
    clock: databaseEngineClock(db.clock),
    logger,
    pollMs: 200,
    watchdogCapSec: opts.watchdogCapSec ?? 120,
  });
  const callbacks = new CallbackService(db.pool, db.clock);
  callbacks.attach(engine, (err) => {
    throw err;
  });
  const files = await tempDir('ges-sip-center-');
  // Every phone needs a microphone: baresip 1.0 drops a call whose audio source fails to open.
  const customerTone = opts.customerTone ?? (await writeToneWav(`${files.path}/customer-tone.wav`, 60000, 440));
  const agentTone = opts.agentTone ?? (await writeToneWav(`${files.path}/agent-tone.wav`, 60000, 1000));
  const customerSink = `${files.path}/customer-heard`;
  await mkdir(customerSink);
  const customer = opts.trunk
    ? undefined
    : await startBaresip({
        address: '127.0.0.2',
        sipPort: customerPort,
        accounts: [`<sip:${CUSTOMER_NUMBER.slice(1)}@127.0.0.2:${customerPort}>;regint=0${opts.customerAutoAnswer === false ? '' : ';answermode=auto'}`],
        audioSource: customerTone,
        // baresip 1.0's aufile has no player: the sndfile filter records what the phone decodes.
        extraModules: ['sndfile.so'],
        extraConfig: [`snd_path		${customerSink}`],
        ctrlPort: await freePort('127.0.0.2', 'tcp'),
      });
  const agents: Baresip[] = [];
  await voice.start();
  await engine.start();
  // The node's stop order (src/main/engine-runtime.ts): the engine stops taking work but still hears
  // events, the voice port hangs up and tells what it cut off, then the engine stops.
  let nodeStopped: Promise<void> | undefined;
  const stopNode = () =>
    (nodeStopped ??= (async () => {
      await engine.quiesce();
      await voice.stop();
      await engine.stop();
    })());
  cleanups.push(async () => {
    await stopNode();
    await Promise.all([customer?.shutdown(), ...agents.map((a) => a.shutdown())]);
    await files.remove();
  });
  const admin = new AgentAdmin(db.pool);
  let nextAddress = 3;
  return {
    db,
    tenant,
    callbacks,
    voice,
    directory,
    admin,
    heard,
    legs,
    sipFailures,
    placed,
    stopNode,
    customer,
    customerSink,
    /** Creates the agent (ready for sales) and its softphone, registered with GES: auto-answering. */
    async agent(login: string) {
      const address = `127.0.0.${nextAddress++}`;
      await admin.create(tenant.name, login, { queues: ['sales'], password: AGENT_PASSWORD });
      const sink = `${files.path}/${login}-heard`;
      await mkdir(sink);
      const phone = await startBaresip({
        address,
        sipPort: await freeSipPort(address),
        accounts: [`<sip:${login}@${tenant.name}>;auth_pass=${AGENT_PASSWORD};outbound="sip:127.0.0.1:${gesPort}";regint=600;answermode=auto`],
        audioSource: agentTone,
        extraModules: ['sndfile.so'],
        extraConfig: [`snd_path\t\t${sink}`],
        ctrlPort: await freePort(address, 'tcp'),
      });
      agents.push(phone);
      await waitFor(() => directory.contactOf(tenant.name, login), `${login} registered`, 15_000).catch((err: Error) => {
        throw new Error(`${err.message}; the softphone said:\n${phone.text().slice(-3000)}`);
      });
      await admin.setReady(tenant.name, login);
      await waitFor(() => directory.available(tenant.name, 'sales') > 0, `${login} available`, 5_000);
      return Object.assign(phone, { sink });
    },
    /** An agent at a fixed URI nobody answers: the queue has an agent, so the engine dials customers. */
    async standbyAgent(login = 'standby') {
      await admin.create(tenant.name, login, { queues: ['sales'], uri: 'sip:standby@127.0.0.250:5999' });
      await admin.setReady(tenant.name, login);
      await waitFor(() => directory.available(tenant.name, 'sales') > 0, `${login} available`, 5_000);
    },
    story: () => `events ${cc_events(heard)}; legs placed ${placed.join(',')}; SIP failures ${JSON.stringify(sipFailures)}`,
    details: async (id: string) => (await history.listEvents(db.pool, tenant.id, id)).map((e) => e.detail ?? ''),
    async waitState(id: string, state: CallbackState, ms = 30_000) {
      return waitFor(
        async () => {
          const r = await callbacks.retrieve(tenant, id);
          return r.state === state ? r : undefined;
        },
        `callback ${state}`,
        ms,
      ).catch(async (err: Error) => {
        throw new Error(
          `${err.message} (now ${(await callbacks.retrieve(tenant, id)).state}); ${cc_events(heard)}; history ${(await history.listEvents(db.pool, tenant.id, id)).map((e) => e.detail).join(' | ')}`,
        );
      });
    },
  };
}

function cc_events(heard: VoiceEvent[]): string {
  return heard.map((e) => ('agentId' in e ? `${e.type}(${e.agentId})` : e.type)).join(',');
}
