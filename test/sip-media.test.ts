/**
 * The SIP adapter's media layer (src/voice/sip/media): G.711, RTP packets, RFC 4733 digits, WAV
 * prompts, and RTP endpoints on real UDP sockets on loopback, each party on its own address:
 * endpoints on 127.0.0.2/127.0.0.3, the plain dgram "phones" of the bridge test on .4 and .5, a
 * stranger on .6 and a host outside the allowlist on .9.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeALaw, decodeMuLaw, encodeALaw, encodeMuLaw, transcode } from '../src/voice/sip/media/g711.ts';
import { buildRtp, parseRtp, type RtpPacket } from '../src/voice/sip/media/rtp-packet.ts';
import { buildTelephoneEvent, TelephoneEventDecoder } from '../src/voice/sip/media/telephone-event.ts';
import { DEFAULT_PROMPT_DIR, loadPrompt, loadPrompts, parseWav, PROMPT_NAMES, promptOfPcm, wavOfPcm } from '../src/voice/sip/media/prompt.ts';
import { RtpSequenceTracker } from '../src/voice/sip/media/rtp-sequence-tracker.ts';
import { RtpPortPool } from '../src/voice/sip/media/rtp-port-pool.ts';
import type { RtpEndpoint } from '../src/voice/sip/media/rtp-endpoint.ts';
import { waitFor } from './support/wait-for.ts';

/** A sine sweep of 8 kHz samples: every level of both laws gets used. */
function tone(samples: number, amplitude = 12000, hz = 440): Int16Array {
  return Int16Array.from({ length: samples }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / 8000) * (0.2 + (0.8 * i) / samples)));
}

/** Largest error G.711 may make on a sample: half a quantisation step, about 1/32 of the value, plus clipping at the top. */
function assertClose(actual: Int16Array, expected: Int16Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i += 1) {
    const bound = Math.max(16, Math.abs(expected[i]!) / 12);
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= bound, `${what}: sample ${i} is ${actual[i]}, expected about ${expected[i]}`);
  }
}

// --- G.711 -----------------------------------------------------------------------------------

test('G.711: known code words of both laws', () => {
  assert.deepEqual([...encodeMuLaw(Int16Array.of(0, -1, 32767, -32768))], [0xff, 0x7f, 0x80, 0x00]);
  assert.deepEqual([...decodeMuLaw(Uint8Array.of(0xff, 0x7f, 0x80, 0x00, 0xf0))], [0, 0, 32124, -32124, 120]);
  assert.deepEqual([...encodeALaw(Int16Array.of(0, -1, 32767, -32768))], [0xd5, 0x55, 0xaa, 0x2a]);
  assert.deepEqual([...decodeALaw(Uint8Array.of(0xd5, 0x55, 0xaa, 0x2a))], [8, -8, 32256, -32256]);
});

test('G.711: every code word survives decode then encode; linear samples come back within a quantisation step', () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const mu = encodeMuLaw(decodeMuLaw(all));
  for (let b = 0; b < 256; b += 1) assert.equal(mu[b], b === 0x7f ? 0xff : b, `µ-law ${b}`); // 0x7f is µ-law's negative zero
  assert.deepEqual([...encodeALaw(decodeALaw(all))], [...all]);
  const pcm = Int16Array.from({ length: 4000 }, () => randomInt(-32000, 32000));
  assertClose(decodeMuLaw(encodeMuLaw(pcm)), pcm, 'µ-law');
  assertClose(decodeALaw(encodeALaw(pcm)), pcm, 'A-law');
});

test('G.711: transcoding between the laws keeps the signal, and the same law is a copy', () => {
  const pcm = tone(800);
  assertClose(decodeALaw(transcode(encodeMuLaw(pcm), 'PCMU', 'PCMA')), pcm, 'µ-law to A-law');
  assertClose(decodeMuLaw(transcode(encodeALaw(pcm), 'PCMA', 'PCMU')), pcm, 'A-law to µ-law');
  const bytes = encodeMuLaw(pcm);
  const copy = transcode(bytes, 'PCMU', 'PCMU');
  assert.deepEqual(copy, bytes);
  assert.notEqual(copy, bytes);
});

// --- RTP packets ------------------------------------------------------------------------------

test('RTP: build then parse gives the fields back; CSRCs, an extension and padding are skipped', () => {
  const payload = Uint8Array.from({ length: 160 }, (_, i) => i);
  const built = buildRtp({ marker: true, payloadType: 8, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef, payload });
  assert.equal(built.length, 172);
  const parsed = parseRtp(built)!;
  assert.deepEqual(
    { ...parsed, payload: [...parsed.payload] },
    { marker: true, payloadType: 8, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef, payload: [...payload] },
  );

  // V=2 P=1 X=1 CC=2, PT 0; 2 CSRCs, a 1-word extension, 4 payload bytes, 3 padding bytes.
  const complex = Buffer.from([
    0xb2, 0x00, 0x00, 0x07, 0, 0, 0, 9, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 0xbe, 0xde, 0x00, 0x01, 9, 9, 9, 9, 0xa, 0xb, 0xc, 0xd, 0, 0, 3,
  ]);
  const p = parseRtp(complex)!;
  assert.deepEqual([p.marker, p.payloadType, p.sequenceNumber, p.timestamp, p.ssrc, [...p.payload]], [false, 0, 7, 9, 1, [0xa, 0xb, 0xc, 0xd]]);

  assert.equal(parseRtp(Buffer.alloc(11, 0x80)), undefined, 'shorter than the fixed header');
  assert.equal(parseRtp(Buffer.from([0x40, ...Buffer.alloc(11)])), undefined, 'version 1');
  assert.equal(parseRtp(Buffer.from([0x8f, ...Buffer.alloc(11)])), undefined, '15 CSRCs announced, none there');
  assert.equal(parseRtp(Buffer.from([0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 50])), undefined, 'more padding than packet');
});

test('RTP loss: sequence gaps counted across the 16-bit wraparound, a late packet not counted as lost', () => {
  const tracker = new RtpSequenceTracker();
  const seqs = [65530, 65531, 65533, 65534, 65535, 0, 2, 3, 1, 4, 7];
  for (const s of seqs) tracker.update(42, s);
  // Missing: 65532, 5, 6 (1 arrived late). As in RFC 3550 A.3 a duplicate would count as received.
  assert.equal(tracker.lost(), 3);
  // A new SSRC (the sender restarted) starts a new count; the old stream's loss stays.
  for (const s of [100, 101, 103]) tracker.update(43, s);
  assert.equal(tracker.lost(), 4);
  // A single wild jump is a stray, not a restart of the sequence.
  tracker.update(43, 30000);
  tracker.update(43, 104);
  assert.equal(tracker.lost(), 4);
});

// --- RFC 4733 ------------------------------------------------------------------------------------

test('RFC 4733: one digit per event, whatever the repeats, the redundant ends and a retransmitted start', () => {
  const decoder = new TelephoneEventDecoder();
  const seen: (string | undefined)[] = [];
  const press = (digit: string, ts: number) => {
    seen.push(decoder.push(buildTelephoneEvent(digit, { end: false, duration: 160 }), ts));
    seen.push(decoder.push(buildTelephoneEvent(digit, { end: false, duration: 160 }), ts)); // start retransmitted
    seen.push(decoder.push(buildTelephoneEvent(digit, { end: false, duration: 320 }), ts));
    for (let i = 0; i < 3; i += 1) seen.push(decoder.push(buildTelephoneEvent(digit, { end: true, duration: 480 }), ts));
  };
  press('1', 1000);
  press('#', 2000);
  press('1', 3000); // the same key again is a new press
  // Start and updates lost: the end packets alone still give the digit, once.
  for (let i = 0; i < 3; i += 1) seen.push(decoder.push(buildTelephoneEvent('D', { end: true, duration: 800 }), 4000));
  // A late repeat of the first press is not a new one.
  seen.push(decoder.push(buildTelephoneEvent('1', { end: true, duration: 480 }), 1000));
  // Flash (event 16) is not a digit.
  seen.push(decoder.push(Uint8Array.of(16, 0x80, 0, 160), 5000));
  assert.deepEqual(
    seen.filter((d) => d !== undefined),
    ['1', '#', '1', 'D'],
  );
  assert.throws(() => buildTelephoneEvent('x', { end: false, duration: 0 }), /not a DTMF digit/);
});

// --- WAV prompts ------------------------------------------------------------------------------------

test('prompts: the shipped WAVs load as 8 kHz audio cut into 160-byte frames per codec, cached', async () => {
  const prompts = await loadPrompts();
  assert.deepEqual(Object.keys(prompts), ['confirm', 'preview', 'message']);
  for (const name of PROMPT_NAMES) {
    const prompt = prompts[name];
    assert.equal(prompt.durationMs, (await loadPrompt(join(DEFAULT_PROMPT_DIR, `${name}.wav`))).durationMs);
    assert.ok(prompt.durationMs > 1500 && prompt.durationMs < 10_000, `${name}: ${prompt.durationMs} ms`);
    const frames = prompt.frames('PCMU');
    assert.equal(frames.length, Math.ceil(prompt.durationMs / 20), name);
    assert.ok(frames.every((f) => f.length === 160));
    assert.equal(prompt.frames('PCMU'), frames, 'cut once per codec');
    assert.equal(prompt.frames('PCMA').length, frames.length);
  }
});

test('prompts: PCM16 and G.711 WAVs with extra chunks load; anything else is refused with a clear error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ges-wav-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pcm = tone(8000 / 10 + 37); // 100 ms and a bit: the last frame is padded with silence
  const good = wavOfPcm(pcm);
  writeFileSync(join(dir, 'good.wav'), good);
  const prompt = await loadPrompt(join(dir, 'good.wav'));
  assert.equal(prompt.durationMs, (pcm.length * 1000) / 8000);
  const alaw = prompt.frames('PCMA');
  assert.equal(alaw.length, 6);
  assertClose(decodeALaw(alaw[0]!), pcm.subarray(0, 160), 'first A-law frame');
  assert.deepEqual([...alaw[5]!.subarray(37)], new Array<number>(123).fill(0xd5), 'padded with A-law silence');

  /** A WAV of the given format fields around `data`, with an odd-sized LIST chunk before the data. */
  const wav = (tag: number, channels: number, rate: number, bits: number, data: Uint8Array) => {
    const fmt = Buffer.alloc(16);
    fmt.writeUInt16LE(tag, 0);
    fmt.writeUInt16LE(channels, 2);
    fmt.writeUInt32LE(rate, 4);
    fmt.writeUInt32LE((rate * channels * bits) / 8, 8);
    fmt.writeUInt16LE((channels * bits) / 8, 12);
    fmt.writeUInt16LE(bits, 14);
    const chunk = (id: string, body: Uint8Array) => {
      const head = Buffer.alloc(8);
      head.write(id, 0, 'latin1');
      head.writeUInt32LE(body.length, 4);
      return Buffer.concat([head, body, Buffer.alloc(body.length & 1)]);
    };
    const body = Buffer.concat([Buffer.from('WAVE'), chunk('fmt ', fmt), chunk('LIST', Buffer.from('INFOx')), chunk('data', data)]);
    const riff = Buffer.alloc(8);
    riff.write('RIFF', 0, 'latin1');
    riff.writeUInt32LE(body.length, 4);
    return Buffer.concat([riff, body]);
  };
  const mu = encodeMuLaw(pcm);
  const muPrompt = parseWav(wav(7, 1, 8000, 8, mu));
  assert.deepEqual(muPrompt.frames('PCMU')[0], mu.subarray(0, 160), 'µ-law played as it is');
  assertClose(decodeALaw(muPrompt.frames('PCMA')[1]!), pcm.subarray(160, 320), 'µ-law file played as A-law');
  assert.deepEqual(parseWav(wav(6, 1, 8000, 8, encodeALaw(pcm))).frames('PCMA')[2], encodeALaw(pcm).subarray(320, 480));

  const refused: [string, Buffer, RegExp][] = [
    ['stereo', wav(1, 2, 8000, 16, new Uint8Array(640)), /2 channels/],
    ['16 kHz', wav(1, 1, 16000, 16, new Uint8Array(640)), /16000 Hz/],
    ['8-bit PCM', wav(1, 1, 8000, 8, new Uint8Array(640)), /PCM with 8 bits/],
    ['float', wav(3, 1, 8000, 32, new Uint8Array(640)), /format tag 3/],
    ['no data', good.subarray(0, 36), /no data chunk/],
    ['truncated', good.subarray(0, 200), /truncated/],
    ['not RIFF', Buffer.from('ID3\x03 an mp3 perhaps'), /not a RIFF\/WAVE file/],
  ];
  for (const [what, bytes, message] of refused) {
    writeFileSync(join(dir, 'bad.wav'), bytes);
    await assert.rejects(loadPrompt(join(dir, 'bad.wav')), (err: Error) => message.test(err.message) && err.message.includes('bad.wav'), what);
  }
});

// --- RTP endpoints ---------------------------------------------------------------------------------

/** A pool on its own random high range, so parallel test files do not fight over ports. */
function pool(address: string, size = 200, allowed = (a: string) => a.startsWith('127.0.0.') && a !== '127.0.0.9'): RtpPortPool {
  const min = 20000 + 2 * randomInt(0, 10000);
  return new RtpPortPool({ address, minPort: min, maxPort: min + size - 1, allowed });
}

interface Phone {
  readonly socket: Socket;
  readonly address: string;
  readonly port: number;
  readonly received: RtpPacket[];
  send(packet: Buffer, to: RtpEndpoint): void;
}

/** A plain UDP socket standing for a SIP phone's media: records what it receives. */
async function phone(address: string): Promise<Phone> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  const received: RtpPacket[] = [];
  socket.on('message', (msg) => {
    const packet = parseRtp(msg);
    if (packet) received.push({ ...packet, payload: Uint8Array.from(packet.payload) });
  });
  return { socket, address, port: socket.address().port, received, send: (packet, to) => socket.send(packet, to.port, to.address) };
}

test('port pool: even ports of the range, counted while in use, released on close, a clear error when exhausted', async () => {
  const p = pool('127.0.0.2', 4); // two even ports
  const a = await p.open();
  const b = await p.open();
  assert.ok(a.port % 2 === 0 && b.port % 2 === 0 && a.port !== b.port);
  assert.equal(a.address, '127.0.0.2');
  assert.equal(p.inUse(), 2);
  await assert.rejects(p.open(), /no free RTP port/);
  await a.close();
  await a.close(); // twice is harmless
  assert.equal(p.inUse(), 1);
  const c = await p.open();
  assert.equal(c.port, a.port);
  assert.throws(() => b.setRemote({ address: '127.0.0.3', port: 0, codec: 'PCMU', payloadType: 0 }), /bad RTP port 0/);
  assert.throws(() => b.setRemote({ address: '127.0.0.3', port: 4000, codec: 'PCMU', payloadType: 0, eventPayloadType: 128 }), /bad payload type 128/);
  assert.throws(() => b.bridgeTo(b), /itself/);
  assert.throws(() => b.bridgeTo(a), /closed endpoint/);
  await Promise.all([b.close(), c.close()]);
  assert.equal(p.inUse(), 0);
  assert.throws(() => new RtpPortPool({ address: '127.0.0.2', minPort: 20001, maxPort: 20001, allowed: () => true }), /no even port/);
});

test('two endpoints: a played prompt arrives paced, every frame, in the negotiated codec and an unbroken sequence', async (t) => {
  const [a, b] = await Promise.all([pool('127.0.0.2').open(), pool('127.0.0.3').open()]);
  t.after(() => Promise.all([a.close(), b.close()]));
  a.setRemote({ address: b.address, port: b.port, codec: 'PCMA', payloadType: 8 });
  b.setRemote({ address: a.address, port: a.port, codec: 'PCMA', payloadType: 8 });
  const prompt = promptOfPcm(tone(15 * 160));
  const started = performance.now();
  await a.play(prompt);
  // 15 frames: the first at once, the last 14 x 20 ms later (timers are never early).
  assert.ok(performance.now() - started >= 14 * 20 - 2, `played in ${performance.now() - started} ms`);
  await waitFor(() => b.stats().packetsReceived === 15, 'the 15 frames at the other endpoint', 5000);
  const stats = b.stats();
  assert.equal(stats.lastCodecReceived, 'PCMA');
  assert.equal(stats.packetsLost, 0, 'an unbroken sequence');
  assert.equal(stats.bytesReceived, 15 * 172);
  assert.equal(a.stats().packetsSent, 15);

  // The packets themselves, seen by a plain socket: marker on the first, sequence +1 and timestamp +160 a frame.
  const ear = await phone('127.0.0.4');
  t.after(() => ear.socket.close());
  a.setRemote({ address: ear.address, port: ear.port, codec: 'PCMU', payloadType: 0 });
  await a.play(prompt);
  await waitFor(() => ear.received.length === 15, 'the 15 frames at the plain socket', 5000);
  const frames = prompt.frames('PCMU');
  ear.received.forEach((p, i) => {
    const first = ear.received[0]!;
    assert.equal(p.payloadType, 0);
    assert.equal(p.marker, i === 0);
    assert.equal(p.ssrc, first.ssrc);
    assert.equal(p.sequenceNumber, (first.sequenceNumber + i) & 0xffff);
    assert.equal(p.timestamp, (first.timestamp + 160 * i) >>> 0);
    assert.deepEqual(p.payload, frames[i]);
  });

  // A looping prompt plays until stopped, and the promise resolves then.
  const looping = a.play(promptOfPcm(tone(160 * 3)), { loop: true });
  await waitFor(() => ear.received.length >= 15 + 8, 'a looping prompt past its end', 5000);
  a.stopPlaying();
  await looping;
  const after = ear.received.length;
  await b.close(); // a closed endpoint plays nothing and resolves at once
  await b.play(prompt);
  assert.equal(b.stats().packetsSent, 0);
  assert.ok(ear.received.length >= after);
});

test('bridge: audio both ways with PCMU<->PCMA transcoding, digits heard and forwarded, loss counted, strangers refused', async (t) => {
  const p = pool('127.0.0.2');
  const [customerLeg, agentLeg] = await Promise.all([p.open(), p.open()]);
  const [customer, agent, stranger, outsider] = await Promise.all([phone('127.0.0.4'), phone('127.0.0.5'), phone('127.0.0.6'), phone('127.0.0.9')]);
  t.after(async () => {
    for (const ph of [customer, agent, stranger, outsider]) ph.socket.close();
    await Promise.all([customerLeg.close(), agentLeg.close()]);
  });
  // The customer's SDP names another port than the one it sends from (NAT): symmetric RTP latches on.
  customerLeg.setRemote({ address: customer.address, port: customer.port + 1, codec: 'PCMU', payloadType: 0, eventPayloadType: 101 });
  agentLeg.setRemote({ address: agent.address, port: agent.port, codec: 'PCMA', payloadType: 8, eventPayloadType: 96 });
  const digits: string[] = [];
  customerLeg.onDigit((d) => digits.push(d));
  const prompting = customerLeg.play(promptOfPcm(tone(8000 * 5)), { loop: true });
  customerLeg.bridgeTo(agentLeg);
  await prompting; // bridging stops the prompt

  // Customer -> agent: 50 frames starting just below the wraparound, 3 of them "lost" on the way.
  const pcm = tone(50 * 160, 14000, 300);
  const ssrc = 0x1234abcd;
  const dropped = new Set([65534, 3, 20]);
  let sent = 0;
  for (let i = 0; i < 50; i += 1) {
    const seq = (65520 + i) & 0xffff;
    if (dropped.has(seq)) continue;
    customer.send(
      buildRtp({ payloadType: 0, sequenceNumber: seq, timestamp: 160 * i, ssrc, payload: encodeMuLaw(pcm.subarray(i * 160, (i + 1) * 160)) }),
      customerLeg,
    );
    sent += 1;
  }
  await waitFor(() => agent.received.length === sent, 'the customer audio at the agent', 5000);
  assert.ok(
    agent.received.every((pk) => pk.payloadType === 8 && pk.ssrc === ssrc),
    'PCMA for the agent, the sender stream kept',
  );
  for (const pk of agent.received) {
    const i = (pk.sequenceNumber - 65520 + 65536) % 65536;
    assertClose(decodeALaw(pk.payload), pcm.subarray(i * 160, (i + 1) * 160), `frame ${i} at the agent`);
  }
  await waitFor(() => customerLeg.stats().packetsLost === 3, 'the 3 missing frames counted as lost', 2000);
  assert.equal(customerLeg.stats().packetsRelayed, sent);
  assert.equal(customerLeg.stats().lastCodecReceived, 'PCMU');

  // Agent -> customer, to the port the customer really sends from.
  const agentPcm = tone(10 * 160, 9000, 700);
  for (let i = 0; i < 10; i += 1)
    agent.send(
      buildRtp({ payloadType: 8, sequenceNumber: 500 + i, timestamp: 160 * i, ssrc: 77, payload: encodeALaw(agentPcm.subarray(i * 160, (i + 1) * 160)) }),
      agentLeg,
    );
  await waitFor(() => customer.received.length === 10, 'the agent audio at the customer', 5000);
  customer.received.forEach((pk, i) => {
    assert.equal(pk.payloadType, 0);
    assertClose(decodeMuLaw(pk.payload), agentPcm.subarray(i * 160, (i + 1) * 160), `frame ${i} at the customer`);
  });
  assert.equal(agentLeg.stats().packetsLost, 0);
  assert.equal(agentLeg.stats().lastCodecReceived, 'PCMA');

  // A key press of the customer while bridged: heard once here, passed on with the agent leg's event type.
  const key = (end: boolean, duration: number, seq: number) =>
    buildRtp({
      marker: !end && duration === 160,
      payloadType: 101,
      sequenceNumber: seq,
      timestamp: 160 * 60,
      ssrc,
      payload: buildTelephoneEvent('5', { end, duration }),
    });
  [key(false, 160, 30), key(false, 320, 31), key(true, 480, 32), key(true, 480, 33), key(true, 480, 34)].forEach((pk) => customer.send(pk, customerLeg));
  await waitFor(() => agent.received.filter((pk) => pk.payloadType === 96).length === 5, 'the key press forwarded to the agent', 5000);
  assert.deepEqual(digits, ['5']);
  assert.equal(agent.received.at(-1)!.payload[0], 5, 'event 5 forwarded');

  // Packets from anyone but the negotiated phone are dropped: another host, a host outside the
  // allowlist, and another port of the customer's own host once its port is latched.
  const before = { customer: customerLeg.stats(), agentPackets: agent.received.length };
  const other = await phone('127.0.0.4');
  t.after(() => other.socket.close());
  const intruder = buildRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 1, ssrc: 666, payload: new Uint8Array(160) });
  const intruderKey = buildRtp({
    payloadType: 101,
    sequenceNumber: 2,
    timestamp: 99999,
    ssrc: 666,
    payload: buildTelephoneEvent('9', { end: true, duration: 160 }),
  });
  for (const from of [stranger, outsider, other]) {
    from.send(intruder, customerLeg);
    from.send(intruderKey, customerLeg);
  }
  await waitFor(() => customerLeg.stats().refusedPackets === before.customer.refusedPackets + 6, 'the 6 foreign packets refused', 5000);
  // A marker packet from the customer after the strangers: once it is relayed, they would have been too.
  customer.send(buildRtp({ payloadType: 0, sequenceNumber: 70, timestamp: 160 * 70, ssrc, payload: new Uint8Array(160).fill(0xff) }), customerLeg);
  await waitFor(() => agent.received.length === before.agentPackets + 1, 'the customer packet after the strangers', 5000);
  assert.equal(agent.received.at(-1)!.ssrc, ssrc, 'nothing of the strangers reached the agent');
  assert.deepEqual(digits, ['5'], 'no digit injected');
  assert.equal(customerLeg.stats().packetsReceived, before.customer.packetsReceived + 1);

  // Unbridged, nothing is relayed any more; a digit is still heard.
  customerLeg.unbridge();
  customer.send(
    buildRtp({ payloadType: 101, sequenceNumber: 71, timestamp: 160 * 71, ssrc, payload: buildTelephoneEvent('#', { end: true, duration: 160 }) }),
    customerLeg,
  );
  await waitFor(() => digits.length === 2, 'the digit after unbridging', 5000);
  assert.deepEqual(digits, ['5', '#']);
  assert.equal(agent.received.length, before.agentPackets + 1);
});

test('a remote outside the network allowlist is never heard, even when the SDP names it', async (t) => {
  const leg = await pool('127.0.0.3').open();
  const outsider = await phone('127.0.0.9');
  t.after(async () => {
    outsider.socket.close();
    await leg.close();
  });
  leg.setRemote({ address: outsider.address, port: outsider.port, codec: 'PCMU', payloadType: 0, eventPayloadType: 101 });
  const digits: string[] = [];
  leg.onDigit((d) => digits.push(d));
  outsider.send(buildRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 0, ssrc: 9, payload: new Uint8Array(160) }), leg);
  outsider.send(buildRtp({ payloadType: 101, sequenceNumber: 2, timestamp: 0, ssrc: 9, payload: buildTelephoneEvent('1', { end: true, duration: 160 }) }), leg);
  await waitFor(() => leg.stats().refusedPackets === 2, 'both packets refused', 5000);
  assert.equal(leg.stats().packetsReceived, 0);
  assert.deepEqual(digits, []);
});
