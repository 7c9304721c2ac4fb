import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CUSTOMER_NUMBER, startSipCenter } from './support/sip-contact-center.ts';
import { waitFor } from './support/wait-for.ts';
import { tempDir } from './support/sip-peers.ts';

/**
 * The call flows over SIP, end to end: the engine on PostgreSQL, GES's SIP adapter, and real
 * softphones (baresip) for the customer and the agents, all on loopback. Each test hears the call
 * as the people would: the customer's phone rings and a key is pressed on it, the agent's phone
 * rings, audio crosses both ways (each phone records what it hears; GES counts every leg's RTP),
 * a hang-up ends the callback with the reason the policy gives.
 */

/** An 8 kHz mono 16-bit WAV of a sine tone: what a phone "says", told apart by its frequency. */
async function toneWav(path: string, hz: number, seconds: number): Promise<string> {
  const samples = 8000 * seconds;
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / 8000)), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(16000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  await writeFile(path, Buffer.concat([header, data]));
  return path;
}

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

const CONFIRM = { userConfirm: true, userConfirmTimeoutSec: 10, onUserConfirmTimeout: 'END' as const };

test('customer first: the phone rings, the customer presses 1, the agent answers, audio flows both ways, the customer hangs up: COMPLETED', async (t) => {
  const tones = await tempDir('ges-tones-');
  t.after(() => tones.remove());
  const customerTone = await toneWav(`${tones.path}/customer.wav`, 440, 20);
  const agentTone = await toneWav(`${tones.path}/agent.wav`, 1000, 20);
  const cc = await startSipCenter(t, { service: CONFIRM, customerTone, agentTone });
  const alice = await cc.agent('alice');
  const { id } = await cc.callbacks.create(cc.tenant, { serviceName: 'sales', phoneNumber: CUSTOMER_NUMBER });

  // The customer's phone rings and answers; GES plays the prompt; the customer presses 1.
  await cc.customer!.control!.waitForEvent('CALL_ESTABLISHED', 'customer answered', 20_000).catch((err: Error) => {
    throw new Error(
      `${err.message}; GES heard ${JSON.stringify(cc.heard)}, failures ${JSON.stringify(cc.sipFailures)}; phone: ${cc.customer!.text().slice(-2000)}`,
    );
  });
  await waitFor(() => cc.heard.some((e) => e.type === 'answered'), 'answered heard');
  // Pressed once the prompt is heard, as a person would.
  await waitFor(async () => (await audibleSeconds(cc.customerSink)) >= 1, 'the prompt heard by the customer', 15_000).catch((err: Error) => {
    throw new Error(`${err.message}; phone: ${cc.customer!.text().slice(-3000)}`);
  });
  const pressed = await cc.customer!.control!.command('sndcode', '1');
  if (process.env.SIP_TEST_DEBUG) console.error('SNDCODE', JSON.stringify(pressed));
  await waitFor(() => cc.heard.some((e) => e.type === 'customer_confirmed'), 'customer_confirmed', 15_000).catch((err: Error) => {
    throw new Error(
      `${err.message}; phone: ${cc
        .customer!.text()
        .replace(/\[0:00:\d\d\] audio=[0-9/]+ \(bit\/s\)\s*/g, '')
        .slice(-3000)}`,
    );
  });

  // The agent's phone rings and answers: customer and agent are connected.
  await alice.control!.waitForEvent('CALL_ESTABLISHED', 'agent answered', 20_000);
  await waitFor(() => cc.heard.some((e) => e.type === 'connected'), 'connected', 20_000);

  // Let audio run, then the customer hangs up.
  await waitFor(async () => (await audibleSeconds(alice.sink)) >= 1.5 && (await audibleSeconds(cc.customerSink)) >= 1.5, 'audio both ways', 20_000);
  await cc.customer!.control!.command('hangup');
  const done = await cc.waitState(id, 'COMPLETED', 20_000);
  assert.equal(done.reason, 'AGENT_CONNECTED');

  // GES relayed RTP both ways, in G.711.
  await waitFor(() => cc.legs.length >= 2, 'both legs closed');
  const customerLeg = cc.legs.find((l) => l.role === 'customer')!;
  const agentLeg = cc.legs.find((l) => l.role === 'agent')!;
  assert.ok(customerLeg.stats.packetsRelayed > 50, `customer → agent relayed ${customerLeg.stats.packetsRelayed}`);
  assert.ok(agentLeg.stats.packetsRelayed > 50, `agent → customer relayed ${agentLeg.stats.packetsRelayed}`);
  assert.equal(customerLeg.stats.lastCodecReceived, 'PCMU');
  assert.equal(agentLeg.stats.lastCodecReceived, 'PCMU');
  assert.ok(customerLeg.stats.packetsLost <= customerLeg.stats.packetsReceived / 100, 'under 1 % lost on loopback');

  // The history tells each step.
  const details = await cc.details(id);
  assert.ok(
    details.some((d) => /confirm/i.test(d)),
    details.join(' | '),
  );
  assert.ok(
    details.some((d) => /talk \d+ s/.test(d)),
    details.join(' | '),
  );
});
