// A 3-process run over SIP with one node killed mid-call: no callback is dialed twice at once,
// and the callback ends per policy.
//
// Three GES node processes (VOICE_PLATFORM=sip) share one PostgreSQL schema and one Redis prefix,
// each with its own SIP port and a disjoint RTP range. The customers are a SIPp UAS on 127.0.0.2
// (the trunk, trunk-answer-or-ring.xml: answers every INVITE with SDP and keeps the call until
// BYE, but lets one number ring until CANCEL); the agent is a fixed URI answered by a second SIPp
// on 127.0.0.3 (uas-answer.xml). Which node placed a call is read from the Via of the INVITE SIPp
// traced (-trace_msg): it carries that node's SIP port; X-GES-Dial-Key names the attempt. The node
// carrying the call is killed three times: connected (A), in the confirmation prompt (B), ringing
// (D, after the node killed in A was restarted, as an orchestrator would); then (C) the agent held
// by the node killed in A takes the next callback once the hold's lease lapsed.
//
// What a customer hears when the node carrying their call dies: the media stops at once (both legs
// end their RTP in that node, docs/VOICE-SIP.md), so the customer and the agent hear silence; no
// BYE ever comes from GES (asserted: SIPp never receives one for those calls), so the call lasts
// until the phone or the trunk gives up on the silence (an RTP timeout) or the person hangs up. A
// retry may ring the phone while it still shows that silent call (SIPp takes both; a phone without
// call waiting answers 486, which is then retried as retry.busy says). GES cannot tell "the call
// went on and its end was lost" from "the node died", so it decides from how far the attempt got:
//   - connected (TALKING): the customer reached an agent, which is what the callback was for; the
//     TALKING watchdog of a surviving node completes it AGENT_CONNECTED ("call end not reported")
//     and nobody is called again. The agent's hold lapses with its lease (60 s, renewed every
//     15 s by the node that died), so the agent is free for the next callback within a minute.
//   - ringing (DIALING): a survivor's watchdog gives the dial up and the policy retries it. Until
//     this test found it, the watchdog re-sent the dial, and the survivor's SIP port, which never saw the key,
//     rang the customer again under the same key while the dead node's INVITE still rang
//     (attempt-watchdog.ts, callsLiveInNode).
//   - before the connection (here: the confirmation prompt playing): the attempt is given up as a
//     platform failure by a surviving node's watchdog and retried as the service's retry.failed
//     says; the retry rings the customer again, from a surviving node, only after the attempt
//     that died was fenced in PostgreSQL, so two live attempts of one callback never exist.
//
// Node death is noticed quickly through ENGINE_WATCHDOG_SEC=8: the liveness entry of a node lasts
// half the shortest watchdog (4 s), after which a survivor rebuilds the due index from PostgreSQL
// and times the dead node's watchdogs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentAdmin } from '../src/app/agent-admin.ts';
import { phaseName } from '../src/domain/engine/attempt-phase.ts';
import { stateName } from '../src/domain/callback-state.ts';
import * as history from '../src/store/callback-history.ts';
import { createTestDb, createTestTenant, TEST_DATABASE_URL } from './support/test-env.ts';
import { connectRedis, dropPrefix, testPrefix, TEST_REDIS_URL } from './support/redis-env.ts';
import { startNode, type GesNode } from './support/fault-processes.ts';
import { freeSipPort, sippMessages, startSipp, type PeerProcess } from './support/sip-peers.ts';
import { waitFor } from './support/wait-for.ts';
import type { ServiceOptions } from '../src/domain/service-options.ts';

/** Above SIP_RING_TIMEOUT_SEC (5), so a live node's ringing call ends by its ring timeout, not its watchdog. */
const WATCHDOG_SEC = 8;
/** The SIP port's hold lease (sip-voice-port.ts HOLD_LEASE_MS): a dead node's hold lapses within it. */
const HOLD_LEASE_MS = 60_000;
/** The customers' trunk answers every number but RINGING, which rings until cancelled; the agent's phone answers. */
const TRUNK_SCENARIO = 'trunk-answer-or-ring.xml';
const AGENT_SCENARIO = 'uas-answer.xml';
const scenarioOf = new WeakMap<PeerProcess, string>();
const SERVED = '+14155550101';
const CONFIRMING = '+14155550102';
const NEXT = '+14155550103';
/** trunk-answer-or-ring.xml rings this number until CANCEL. */
const RINGING = '+14155550104';
const RETRY_FAILED = { maxAttempts: 2, delaySec: 1 };

/** One SIP message SIPp traced: when, received or sent, its first line and its Via's sent-by port. */
interface Traced {
  at: number;
  received: boolean;
  line: string;
  callId: string;
  viaPort: number | undefined;
  dialKey: string | undefined;
}

function parseTrace(text: string): Traced[] {
  const out: Traced[] = [];
  for (const block of text.split(/^-{20,} /m).slice(1)) {
    const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d+)\n(\w+) message (received|sent)[^\n]*\n\n([^\n]*)/.exec(block);
    if (!m) continue;
    const via = /^Via: SIP\/2\.0\/\w+ [\d.]+:(\d+)/im.exec(block);
    out.push({
      // SIPp writes local time; the test runs on the same host, so Date reads it the same way.
      at: new Date(`${m[1]}T${m[2]!.slice(0, 12)}`).getTime(),
      received: m[4] === 'received',
      line: m[5]!.trim(),
      callId: /^Call-ID:\s*(\S+)/im.exec(block)?.[1] ?? '',
      viaPort: via ? Number(via[1]) : undefined,
      dialKey: /^X-GES-Dial-Key:\s*(\S+)/im.exec(block)?.[1],
    });
  }
  return out;
}

/** The INVITEs a SIPp UAS received (retransmissions counted once), for a number when given. */
async function invitesTo(peer: PeerProcess, number?: string): Promise<Traced[]> {
  const seen = new Set<string>();
  return parseTrace(await sippMessages(peer, scenarioOf.get(peer)!)).filter((m) => {
    if (!m.received || !m.line.startsWith('INVITE ')) return false;
    if (number !== undefined && !m.line.startsWith(`INVITE sip:${number.slice(1)}@`)) return false;
    if (seen.has(m.callId)) return false;
    seen.add(m.callId);
    return true;
  });
}

/** True once the UAS received a BYE in that call: GES hung it up. */
async function hungUp(peer: PeerProcess, callId: string): Promise<boolean> {
  return parseTrace(await sippMessages(peer, scenarioOf.get(peer)!)).some((m) => m.received && m.callId === callId && m.line.startsWith('BYE '));
}

async function acked(peer: PeerProcess, callId: string): Promise<boolean> {
  return parseTrace(await sippMessages(peer, scenarioOf.get(peer)!)).some((m) => m.received && m.callId === callId && m.line.startsWith('ACK '));
}

test(
  'SIP, 3 nodes, the node carrying a call killed (SIGKILL) mid-call: no callback dialed twice at once, each ends per policy',
  { timeout: 120_000 },
  async (t) => {
    const started = Date.now();
    const cleanups: (() => Promise<unknown>)[] = [];
    t.after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    });
    const db = await createTestDb();
    cleanups.push(() => db.close());
    const redis = await connectRedis();
    const prefix = testPrefix();
    cleanups.push(async () => {
      await dropPrefix(redis, prefix);
      redis.disconnect();
    });
    const tenant = await createTestTenant(db, undefined, {
      sales: { retry: { failed: RETRY_FAILED, networkFailure: RETRY_FAILED } as ServiceOptions['retry'] },
      confirm: {
        userConfirm: true,
        userConfirmTimeoutSec: 8,
        onUserConfirmTimeout: 'END',
        retry: { failed: RETRY_FAILED, networkFailure: RETRY_FAILED } as ServiceOptions['retry'],
      },
      // A customer who lets it ring: one attempt for no answer, a retry after a failure.
      ring: { retry: { failed: RETRY_FAILED, networkFailure: RETRY_FAILED, noAnswer: { maxAttempts: 1, delaySec: 1 } } as ServiceOptions['retry'] },
    });

    const customerPort = await freeSipPort('127.0.0.2');
    const customers = await startSipp({ scenario: TRUNK_SCENARIO, address: '127.0.0.2', port: customerPort, calls: 10, timeoutSec: 300 });
    scenarioOf.set(customers, TRUNK_SCENARIO);
    cleanups.push(() => customers.stop());
    const agentPort = await freeSipPort('127.0.0.3');
    const agents = await startSipp({ scenario: AGENT_SCENARIO, address: '127.0.0.3', port: agentPort, calls: 5, timeoutSec: 300 });
    scenarioOf.set(agents, AGENT_SCENARIO);
    cleanups.push(() => agents.stop());

    const admin = new AgentAdmin(db.pool);
    await admin.create(tenant.name, 'agent1', { queues: ['sales'], uri: `sip:agent1@127.0.0.3:${agentPort}` });
    await admin.setReady(tenant.name, 'agent1');
    // The confirm service needs an agent ready for the engine to call its customers; nobody answers
    // this one, and no customer of it confirms, so it is never rung.
    await admin.create(tenant.name, 'standby', { queues: ['confirm', 'ring'], uri: 'sip:standby@127.0.0.250:5999' });
    await admin.setReady(tenant.name, 'standby');

    const rtpBase = 30000 + Math.floor(Math.random() * 10000) * 2;
    const sipPorts: number[] = [];
    for (let i = 0; i < 3; i++) sipPorts.push(await freeSipPort('127.0.0.1'));
    const env = (i: number) => ({
      DATABASE_URL: TEST_DATABASE_URL,
      DATABASE_SCHEMA: db.schema,
      DATABASE_POOL_MAX: '6',
      MIGRATE_ON_START: 'false',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      HOST: '127.0.0.1',
      PORT: '0',
      INTERNAL_PORT: '0',
      VOICE_PLATFORM: 'sip',
      SIP_LISTEN_ADDRESS: '127.0.0.1',
      SIP_PORT: String(sipPorts[i]),
      SIP_TRANSPORTS: 'udp',
      SIP_RTP_PORT_MIN: String(rtpBase + i * 100),
      SIP_RTP_PORT_MAX: String(rtpBase + i * 100 + 98),
      SIP_ALLOWED_NETWORKS: '127.0.0.0/8',
      SIP_CUSTOMER_URI: `sip:{number}@127.0.0.2:${customerPort}`,
      SIP_RING_TIMEOUT_SEC: '5',
      ENGINE_POLL_MS: '200',
      ENGINE_WATCHDOG_SEC: String(WATCHDOG_SEC),
      DEMO_SEED: 'false',
      LOG_LEVEL: 'info',
      MAINTENANCE_INTERVAL_SEC: '86400',
    });
    const nodes: GesNode[] = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const node = await startNode(`node${i}`, env(i));
        cleanups.push(() => node.stop(5000));
        return node;
      }),
    );
    const nodeBySipPort = (port: number | undefined) => nodes[sipPorts.indexOf(port ?? -1)];

    const create = async (node: GesNode, serviceName: string, phoneNumber: string): Promise<string> => {
      const res = await fetch(`${node.apiUrl}/engagement/v3/callbacks/create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': tenant.apiKey },
        body: JSON.stringify({ serviceName, phoneNumber }),
      });
      const body = (await res.json()) as { data?: { id: string }; status: { message: string } };
      assert.equal(res.status, 200, body.status.message);
      return body.data!.id;
    };
    const row = async (id: string) => {
      const { rows } = await db.pool.query<{ state: number; phase: number; attempt: number }>('SELECT state, phase, attempt FROM callback WHERE id = $1', [id]);
      const r = rows[0]!;
      return { state: stateName(r.state), phase: phaseName(r.phase), attempt: r.attempt };
    };
    const events = (id: string) => history.listEvents(db.pool, tenant.id, id);
    const agentHeld = async () => {
      const { rows } = await db.pool.query<{ held: boolean }>(
        "SELECT held_by IS NOT NULL AND held_until > now() AS held FROM sip_agent WHERE login = 'agent1'",
      );
      return rows[0]!.held;
    };
    const kill = async (victim: GesNode) => {
      victim.child.kill('SIGKILL');
      await victim.exited;
      return Date.now();
    };

    try {
      // ---- A: killed while customer and agent talk ---------------------------------------------
      const served = await create(nodes[0]!, 'sales', SERVED);
      await waitFor(async () => (await row(served)).phase === 'TALKING', 'the first callback connected', 30_000);
      const [customerCall] = await waitFor(async () => {
        const invites = await invitesTo(customers, SERVED);
        return invites.length === 1 && (await acked(customers, invites[0]!.callId)) ? invites : undefined;
      }, "the customer's call answered and acknowledged");
      const [agentCall] = await waitFor(async () => {
        const invites = await invitesTo(agents);
        return invites.length === 1 && (await acked(agents, invites[0]!.callId)) ? invites : undefined;
      }, "the agent's call answered and acknowledged");
      const carrier = nodeBySipPort(customerCall!.viaPort);
      assert.ok(carrier, `the customer INVITE came from a node (Via port ${customerCall!.viaPort}, nodes on ${sipPorts.join(', ')})`);
      assert.equal(agentCall!.viaPort, customerCall!.viaPort, 'both legs of a call are placed by one node (the media of both ends in it)');
      assert.equal(await agentHeld(), true, 'the agent is held for the call');
      const killedA = await kill(carrier);
      t.diagnostic(`A: ${carrier.name} (SIP ${customerCall!.viaPort}) carried the connected call; SIGKILL at ${((killedA - started) / 1000).toFixed(1)} s`);

      const doneA = await waitFor(
        async () => ((await row(served)).state === 'COMPLETED' ? row(served) : undefined),
        'the connected callback to complete',
        30_000,
      );
      const historyA = await events(served);
      const ending = historyA.at(-1)!;
      assert.equal(ending.reason, 'AGENT_CONNECTED', `served: completes AGENT_CONNECTED (${JSON.stringify(historyA)})`);
      assert.equal(doneA.attempt, 1, 'a served customer is not called again');
      assert.match(ending.detail ?? '', /call end not reported/);
      t.diagnostic(`A: COMPLETED AGENT_CONNECTED ${((ending.at.getTime() - killedA) / 1000).toFixed(1)} s after the kill`);

      // ---- B: killed while the customer hears the confirmation prompt ----------------------------
      const survivors = nodes.filter((n) => n !== carrier);
      const confirming = await create(survivors[0]!, 'confirm', CONFIRMING);
      await waitFor(async () => (await row(confirming)).phase === 'CONFIRMING', 'the second callback to play its prompt', 30_000);
      const [first] = await waitFor(async () => {
        const invites = await invitesTo(customers, CONFIRMING);
        return invites.length === 1 && (await acked(customers, invites[0]!.callId)) ? invites : undefined;
      }, 'the second customer answered');
      const carrierB = nodeBySipPort(first!.viaPort);
      assert.ok(carrierB && carrierB !== carrier, `a surviving node placed the second call (Via port ${first!.viaPort})`);
      const killedB = await kill(carrierB);
      const last = nodes.find((n) => n !== carrier && n !== carrierB)!;
      t.diagnostic(`B: ${carrierB.name} carried the call in its prompt; SIGKILL at ${((killedB - started) / 1000).toFixed(1)} s`);

      const doneB = await waitFor(
        async () => ((await row(confirming)).state === 'COMPLETED' ? row(confirming) : undefined),
        'the retried callback to end',
        45_000,
      );
      const historyB = await events(confirming);
      t.diagnostic(`B history: ${JSON.stringify(historyB.map((e) => [e.at.toISOString(), e.kind, e.state, e.reason, e.attempt, e.detail]))}`);
      assert.equal(doneB.attempt, 2, 'retried once, as retry.failed says');
      const invitesB = await invitesTo(customers, CONFIRMING);
      assert.equal(invitesB.length, 2, 'the customer was rung twice: once per attempt');
      assert.equal(nodeBySipPort(invitesB[1]!.viaPort), last, 'the retry was placed by the node still alive');
      // Attempt 1 was fenced (ended in PostgreSQL) before attempt 2 began, and the INVITE of attempt
      // 2 came after that: at no moment were two attempts of the callback live.
      const endOf1 = historyB.filter((e) => e.attempt === 1).at(-1)!;
      const startOf2 = historyB.find((e) => e.attempt === 2)!;
      assert.ok(endOf1.at.getTime() <= startOf2.at.getTime(), `attempt 1 ended (${endOf1.at.toISOString()}) before attempt 2 (${startOf2.at.toISOString()})`);
      assert.ok(invitesB[1]!.at >= endOf1.at.getTime(), `the second INVITE (${new Date(invitesB[1]!.at).toISOString()}) after attempt 1 was fenced`);
      assert.ok(invitesB[1]!.at > killedB, 'and after the node carrying attempt 1 died');
      // What the customer's phone saw: the dead node's calls were never hung up by GES (no BYE),
      // so the phone still had the first call, silent, when the retry rang it.
      for (const [peer, call] of [
        [customers, customerCall!],
        [agents, agentCall!],
        [customers, first!],
      ] as const)
        assert.equal(await hungUp(peer, call.callId), false, `no BYE ever came for ${call.callId}, placed by a dead node`);

      // ---- D: killed while the customer's phone rings ---------------------------------------------
      // The node killed in A comes back (as an orchestrator restarts a pod): three processes again
      // were started, two run. The call of the node killed now is never answered nor cancelled.
      const back = sipPorts.indexOf(customerCall!.viaPort!);
      nodes[back] = await startNode(`${carrier.name}-restarted`, env(back));
      const restarted = nodes[back];
      cleanups.push(() => restarted.stop(5000));
      const ringing = await create(last, 'ring', RINGING);
      const [firstRing] = await waitFor(async () => {
        const invites = await invitesTo(customers, RINGING);
        return invites.length === 1 ? invites : undefined;
      }, "the third customer's phone to ring");
      const carrierD = nodeBySipPort(firstRing!.viaPort);
      assert.equal((await row(ringing)).phase, 'DIALING');
      assert.ok(carrierD && carrierD !== restarted, `a node placed it (Via port ${firstRing!.viaPort})`);
      const killedD = await kill(carrierD);
      t.diagnostic(`D: ${carrierD.name} placed the ringing call; SIGKILL at ${((killedD - started) / 1000).toFixed(1)} s`);
      const doneD = await waitFor(async () => ((await row(ringing)).state === 'COMPLETED' ? row(ringing) : undefined), 'the ringing callback to end', 45_000);
      const historyD = await events(ringing);
      const invitesD = await invitesTo(customers, RINGING);
      t.diagnostic(`D history: ${JSON.stringify(historyD.map((e) => [e.at.toISOString(), e.state, e.reason, e.attempt, e.detail]))}`);
      t.diagnostic(`D INVITEs: ${JSON.stringify(invitesD.map((i) => [new Date(i.at).toISOString(), i.viaPort, i.dialKey]))}`);
      const keys = invitesD.map((i) => i.dialKey);
      assert.equal(new Set(keys).size, keys.length, `one call per dial key, ever: ${keys.join(', ')}`);
      assert.deepEqual(keys, [`${ringing}:1`, `${ringing}:2`], 'one INVITE per attempt, two attempts');
      assert.equal(doneD.attempt, 2);
      const detailsD = historyD.map((e) => `${e.attempt} ${e.detail ?? ''}`);
      assert.ok(
        detailsD.includes('1 failed (no news of the call: its node is gone or it rang past the watchdog)'),
        `attempt 1 given up: ${detailsD.join('; ')}`,
      );
      assert.equal(historyD.at(-1)!.reason, 'FAIL_CALL_TO_CUSTOMER', 'the retry rang out: no answer, no attempt left');
      assert.equal(nodeBySipPort(invitesD[1]!.viaPort), restarted, 'the retry was placed by the node alive');
      for (let n = 1; n < invitesD.length; n++) {
        const endOfPrevious = historyD.filter((e) => e.attempt === n).at(-1)!;
        assert.ok(invitesD[n]!.at >= endOfPrevious.at.getTime(), `the INVITE of attempt ${n + 1} after attempt ${n} was fenced`);
      }

      // ---- the dead node's agent hold lapses within its lease ----------------------------------
      const freed = await waitFor(
        async () => ((await agentHeld()) ? undefined : Date.now()),
        "the dead node's hold on agent1 to lapse",
        HOLD_LEASE_MS + 10_000,
      );
      assert.ok(freed - killedA <= HOLD_LEASE_MS + 2000, `freed ${freed - killedA} ms after the kill, within the ${HOLD_LEASE_MS} ms lease`);
      assert.equal((await invitesTo(agents)).length, 1, 'nobody rang agent1 while the dead node held it');
      const freedAfterSec = ((freed - killedA) / 1000).toFixed(1);

      // ---- C: the freed agent takes the next callback, from the last node ---------------------------
      const next = await create(restarted, 'sales', NEXT);
      await waitFor(async () => (await row(next)).phase === 'TALKING', 'the next callback connected to agent1', 30_000);
      const agentInvites = await invitesTo(agents);
      assert.equal(agentInvites.length, 2, 'agent1 rung again once free');
      assert.equal(nodeBySipPort(agentInvites[1]!.viaPort), restarted, 'by the node still alive');
      assert.equal(restarted.exitCode(), undefined, 'the last node runs on');
      assert.equal((await invitesTo(customers, SERVED)).length, 1, 'the served customer was never called again');
      t.diagnostic(
        `agent1 free ${freedAfterSec} s after the kill, rung for the next callback by ${restarted.name}; whole run ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    } catch (error) {
      for (const p of nodes) {
        const tail = p.lines.filter((l) => !l.includes('"msg":"request completed"') && !l.includes('"msg":"incoming request"')).slice(-25);
        process.stderr.write(`---- ${p.name} (exit ${String(p.exitCode())}) ----\n${tail.join('\n')}\n`);
      }
      process.stderr.write(`---- customers ----\n${(await sippMessages(customers, TRUNK_SCENARIO)).slice(-3000)}\n`);
      throw error;
    }
  },
);
