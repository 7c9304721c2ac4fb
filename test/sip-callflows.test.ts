import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CUSTOMER_NUMBER, startSipCenter, type SipCenter } from './support/sip-contact-center.ts';
import { waitFor } from './support/wait-for.ts';
import { freeSipPort, sippMessages, startSipp, tempDir, writeToneWav } from './support/sip-peers.ts';
import type { VoiceEvent } from '../src/voice/voice-port.ts';

/**
 * The call flows over SIP, end to end: the engine on PostgreSQL, GES's SIP adapter, and real
 * softphones (baresip) for the customer and the agents, all on loopback. Each test hears the call
 * as the people would: the customer's phone rings and a key is pressed on it, the agent's phone
 * rings, audio crosses both ways (each phone records what it hears; GES counts every leg's RTP),
 * a hang-up ends the callback with the reason the policy gives.
 */

/** Seconds of audible sound a phone recorded (its sndfile *-dec.wav files in `dir`: frames of 20 ms above silence). */
async function audibleSeconds(dir: string): Promise<number> {
  const decoded = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('-dec.wav'));
  let seconds = 0;
  for (const f of decoded) seconds += audibleInWav(await readFile(join(dir, f)).catch(() => Buffer.alloc(0)));
  return seconds;
}

function audibleInWav(wav: Buffer): number {
  const start = wav.indexOf('data') + 8;
  if (start < 8) return 0;
  let loud = 0;
  const frame = 320; // 20 ms at 8 kHz, 16-bit
  for (let at = start; at + frame <= wav.length; at += frame) {
    let sum = 0;
    for (let i = at; i < at + frame; i += 2) sum += Math.abs(wav.readInt16LE(i));
    if (sum / (frame / 2) > 500) loud++;
  }
  return loud * 0.02;
}

/** Both phones' tones, for the tests that check audio end to end. */
async function tones(t: TestContext): Promise<{ customerTone: string; agentTone: string }> {
  const dir = await tempDir('ges-tones-');
  t.after(() => dir.remove());
  return { customerTone: await writeToneWav(`${dir.path}/customer.wav`, 30000, 440), agentTone: await writeToneWav(`${dir.path}/agent.wav`, 30000, 1000) };
}

/** Each phone hears the other's tone through GES's relay (1.5 s of it). */
async function bothHear(cc: SipCenter, agent: { sink: string; text(): string }): Promise<void> {
  await waitFor(async () => (await audibleSeconds(agent.sink)) >= 1.5 && (await audibleSeconds(cc.customerSink)) >= 1.5, 'audio both ways', 20_000).catch(
    async (err: Error) => {
      throw new Error(
        `${err.message}: agent heard ${await audibleSeconds(agent.sink)} s, customer ${await audibleSeconds(cc.customerSink)} s; events ${JSON.stringify(cc.heard.map((e) => e.type))}; agent phone: ${agent.text().slice(-1500)}`,
      );
    },
  );
}

/** A SIPp phone that answers, presses `key` (RFC 4733, from sip-tester's pcaps) a second later, and waits for GES's BYE. */
function keyPressingPhone(address: string, port: number, key: '1' | '2') {
  return startSipp({ scenario: 'trunk-press-key.xml', address, port, keys: { dtmf_pcap: `/usr/share/sip-tester/dtmf_2833_${key}.pcap` }, timeoutSec: 60 });
}

function heard(cc: SipCenter, type: VoiceEvent['type'], ms = 20_000) {
  return waitFor(() => cc.heard.find((e) => e.type === type), `${type} heard`, ms).catch((err: Error) => {
    throw new Error(`${err.message}; ${cc.story()}`);
  });
}

/** A phone's call is up (ctrl_tcp CALL_ESTABLISHED), or the test fails telling what GES did. */
async function established(
  cc: SipCenter,
  phone: { control: { waitForEvent(type: string, what: string, ms: number): Promise<unknown> } | undefined; text(): string },
  who: string,
) {
  await phone.control!.waitForEvent('CALL_ESTABLISHED', `${who} answered`, 20_000).catch((err: Error) => {
    throw new Error(
      `${err.message}; ${cc.story()}; ${who}'s phone: ${phone
        .text()
        .replace(/\[0:00:\d+\] audio=[0-9/]+ \(bit\/s\)\s*/g, '')
        .slice(-1500)}`,
    );
  });
}

async function assertRelayedBothWays(cc: SipCenter): Promise<void> {
  await waitFor(() => cc.legs.filter((l) => l.role === 'customer').length >= 1 && cc.legs.filter((l) => l.role === 'agent').length >= 1, 'both legs closed');
  const customerLeg = cc.legs.find((l) => l.role === 'customer')!;
  const agentLeg = cc.legs.findLast((l) => l.role === 'agent')!;
  assert.ok(customerLeg.stats.packetsRelayed > 50, `customer → agent relayed ${customerLeg.stats.packetsRelayed}`);
  assert.ok(agentLeg.stats.packetsRelayed > 50, `agent → customer relayed ${agentLeg.stats.packetsRelayed}`);
  assert.equal(customerLeg.stats.lastCodecReceived, 'PCMU');
  assert.equal(agentLeg.stats.lastCodecReceived, 'PCMU');
  assert.ok(customerLeg.stats.packetsLost <= customerLeg.stats.packetsReceived / 100, 'under 1 % lost on loopback');
}

test("customer first: the customer's phone rings, it presses 1 at the prompt, the agent's phone rings, both answer, audio flows both ways, the customer hangs up: COMPLETED", async (t) => {
  const cc = await startSipCenter(t, { ...(await tones(t)), service: { userConfirm: true, userConfirmTimeoutSec: 10, onUserConfirmTimeout: 'END' } });
  const alice = await cc.agent('alice');
  const { id } = await cc.callbacks.create(cc.tenant, { serviceName: 'sales', phoneNumber: CUSTOMER_NUMBER });
  await established(cc, cc.customer!, 'customer');
  // Pressed once the prompt is heard, as a person would (an RFC 4733 telephone-event from the softphone).
  await waitFor(async () => (await audibleSeconds(cc.customerSink)) >= 1, 'the prompt heard by the customer', 15_000);
  await cc.customer!.control!.command('sndcode', '1');
  await heard(cc, 'customer_confirmed');
  await established(cc, alice, 'agent');
  await heard(cc, 'connected');
  await bothHear(cc, alice);
  await cc.customer!.control!.command('hangup');
  const done = await cc.waitState(id, 'COMPLETED', 20_000);
  assert.equal(done.reason, 'AGENT_CONNECTED');
  await assertRelayedBothWays(cc);
  // Each phone's own count of the packets it received on the call (baresip prints it at the end).
  for (const [who, phone] of [
    ['customer', cc.customer!],
    ['agent', alice],
  ] as const) {
    const received = await waitFor(() => /packets:\s+\d+\s+(\d+)/.exec(phone.text())?.[1], `${who}'s RTP summary`, 10_000);
    assert.ok(Number(received) > 50, `${who} received ${received} RTP packets`);
  }
  // The history tells each step, with what SIP said.
  const details = await cc.details(id);
  assert.ok(details.includes('dial'), details.join(' | '));
  assert.ok(
    details.some((d) => /\(SIP 200\)/.test(d)),
    `the answer's SIP status in the history: ${details.join(' | ')}`,
  );
  assert.ok(
    details.some((d) => /confirm/i.test(d)),
    details.join(' | '),
  );
  assert.ok(
    details.some((d) => /^talk \d+ s \(customer hung up\)$/.test(d)),
    details.join(' | '),
  );
});

test('customer first with confirmation through a trunk (SIPp): the customer presses 1 (RFC 4733), then the agent is rung and connected; the agent hangs up: COMPLETED', async (t) => {
  const port = await freeSipPort('127.0.0.2');
  const trunk = await keyPressingPhone('127.0.0.2', port, '1');
  t.after(() => trunk.stop());
  const cc = await startSipCenter(t, {
    service: {
      userConfirm: true,
      userConfirmTimeoutSec: 10,
      onUserConfirmTimeout: 'END',
      callerIdNumber: '18005550199',
      callerIdName: 'Acme Care',
      dialPrefix: '9',
    },
    trunk: { address: '127.0.0.2', port },
  });
  const alice = await cc.agent('alice');
  const { id } = await cc.callbacks.create(cc.tenant, { serviceName: 'sales', phoneNumber: CUSTOMER_NUMBER });
  await heard(cc, 'customer_confirmed');
  await established(cc, alice, 'agent');
  await heard(cc, 'connected');
  await alice.control!.command('hangup');
  const done = await cc.waitState(id, 'COMPLETED', 20_000);
  assert.equal(done.reason, 'AGENT_CONNECTED');
  // GES hung up the customer's leg when the agent left: the trunk's scenario ends on that BYE.
  assert.equal(await trunk.waitForExit(10_000), 0, trunk.text().slice(-1500));
  // The trunk was asked for the number behind the service's dial-out prefix, with its caller id.
  const invite = (await sippMessages(trunk, 'trunk-press-key.xml')).split(/\n(?=INVITE )/).find((m) => m.startsWith('INVITE '));
  assert.match(invite ?? '', /^INVITE sip:914155550123@127\.0\.0\.2/, 'the dial-out prefix before the number');
  assert.match(invite ?? '', /\nFrom: "Acme Care" <sip:18005550199@/i, 'caller id and display name');
  const details = await cc.details(id);
  assert.ok(
    details.some((d) => /confirm/i.test(d)),
    details.join(' | '),
  );
  assert.ok(
    details.some((d) => /\(agent hung up\)$/.test(d)),
    details.join(' | '),
  );
});

test("agent first: the agent's phone rings first, then the customer's; audio both ways; the agent hangs up: COMPLETED", async (t) => {
  const cc = await startSipCenter(t, { ...(await tones(t)), service: { firstConnectParty: 'AGENT' } });
  const alice = await cc.agent('alice');
  const { id } = await cc.callbacks.create(cc.tenant, { serviceName: 'sales', phoneNumber: CUSTOMER_NUMBER });
  await established(cc, alice, 'agent');
  await established(cc, cc.customer!, 'customer');
  await heard(cc, 'connected');
  await bothHear(cc, alice);
  await alice.control!.command('hangup');
  const done = await cc.waitState(id, 'COMPLETED', 20_000);
  assert.equal(done.reason, 'AGENT_CONNECTED');
  await assertRelayedBothWays(cc);
  // The agent was on the line before the customer's phone rang.
  assert.deepEqual(cc.placed, ['agent', 'customer']);
});

test("agent preview on the agent's phone: the first agent presses 2 and is not offered the callback again, the second presses 1 and is connected", async (t) => {
  const annPort = await freeSipPort('127.0.0.6');
  const bobPort = await freeSipPort('127.0.0.7');
  const ann = await keyPressingPhone('127.0.0.6', annPort, '2');
  const bob = await keyPressingPhone('127.0.0.7', bobPort, '1');
  t.after(() => Promise.all([ann.stop(), bob.stop()]));
  const cc = await startSipCenter(t, {
    service: { agentPreview: true, agentPreviewAllowReject: true, agentPreviewTimeoutSec: 15, agentRejectRetryTimeoutSec: 1 },
  });
  // Agents behind a PBX, at fixed addresses; only Ann is ready at first, so she is offered it first.
  await cc.admin.create(cc.tenant.name, 'ann', { queues: ['sales'], uri: `sip:ann@127.0.0.6:${annPort}` });
  await cc.admin.create(cc.tenant.name, 'bob', { queues: ['sales'], uri: `sip:bob@127.0.0.7:${bobPort}` });
  await cc.admin.setReady(cc.tenant.name, 'ann');
  await waitFor(() => cc.directory.available(cc.tenant.name, 'sales') > 0, 'ann available');
  const { id } = await cc.callbacks.create(cc.tenant, { serviceName: 'sales', phoneNumber: CUSTOMER_NUMBER });
  await established(cc, cc.customer!, 'customer');
  const rejected = await heard(cc, 'preview_rejected', 25_000);
  assert.equal(rejected.type === 'preview_rejected' && rejected.agentId, 'ann');
  assert.equal(await ann.waitForExit(10_000), 0, 'GES hung up on Ann after her 2');
  await cc.admin.setReady(cc.tenant.name, 'bob');
  const accepted = await heard(cc, 'preview_accepted', 25_000);
  assert.equal(accepted.type === 'preview_accepted' && accepted.agentId, 'bob');
  await heard(cc, 'connected');
  await cc.customer!.control!.command('hangup');
  const done = await cc.waitState(id, 'COMPLETED', 20_000);
  assert.equal(done.reason, 'AGENT_CONNECTED');
  assert.equal(await bob.waitForExit(10_000), 0, bob.text().slice(-1500));
  const details = await cc.details(id);
  assert.ok(
    details.some((d) => /preview rejected/.test(d)),
    details.join(' | '),
  );
});

test('a call that outlives the talk watchdog is ended: GES hangs up both phones; the customer was served, so it completes', async (t) => {
  const cc = await startSipCenter(t, { watchdogCapSec: 4 });
  const alice = await cc.agent('alice');
  const { id } = await cc.callbacks.create(cc.tenant, { serviceName: 'sales', phoneNumber: CUSTOMER_NUMBER });
  await heard(cc, 'connected');
  // Nobody hangs up: the watchdog does, on both legs.
  await cc.customer!.control!.waitForEvent('CALL_CLOSED', 'the customer hung up on by GES', 20_000);
  await alice.control!.waitForEvent('CALL_CLOSED', 'the agent hung up on by GES', 20_000);
  const done = await cc.waitState(id, 'COMPLETED', 20_000);
  assert.equal(done.reason, 'AGENT_CONNECTED');
  assert.ok((await cc.details(id)).includes('call end not reported'));
});

test('a node that stops (SIGTERM) hangs up its calls and tells the engine first: the served callback completes with its talk time', async (t) => {
  const cc = await startSipCenter(t);
  const alice = await cc.agent('alice');
  const { id } = await cc.callbacks.create(cc.tenant, { serviceName: 'sales', phoneNumber: CUSTOMER_NUMBER });
  await heard(cc, 'connected');
  await cc.stopNode();
  // Both phones were hung up on (BYE), and the callback did not wait for another node's watchdog.
  await cc.customer!.control!.waitForEvent('CALL_CLOSED', 'the customer hung up on by GES', 10_000);
  await alice.control!.waitForEvent('CALL_CLOSED', 'the agent hung up on by GES', 10_000);
  const done = await cc.callbacks.retrieve(cc.tenant, id);
  assert.equal(done.state, 'COMPLETED');
  assert.equal(done.reason, 'AGENT_CONNECTED');
  assert.ok((await cc.details(id)).some((d) => /^talk \d+ s \(GES node stopping\)$/.test(d)));
});
