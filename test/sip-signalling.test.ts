import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { after, describe, test } from 'node:test';
import { pino, type Logger } from 'pino';
import { dialFailureOfSip, SIP_OUTCOME_TABLE, sipOutcomeTableMarkdown } from '../src/domain/sip-final-response.ts';
import type { DialFailure } from '../src/voice/voice-port.ts';
import type { SipAgentCredentials, SipRegistrationBook } from '../src/voice/sip/sip-agent-directory.ts';
import { answerChallenge, DigestServer, ha1, NONCE_LIFETIME_MS, type AuthHeader } from '../src/voice/sip/signalling/digest.ts';
import { FloodGuard } from '../src/voice/sip/signalling/flood-guard.ts';
import { parseNetworks } from '../src/voice/sip/signalling/network-allowlist.ts';
import { dtmfOfInfo } from '../src/voice/sip/signalling/info-dtmf.ts';
import { maskUri } from '../src/voice/sip/signalling/mask-uri.ts';
import type { CallFailure, OutboundCall } from '../src/voice/sip/signalling/outbound-call.ts';
import { buildSdp, negotiate } from '../src/voice/sip/signalling/sdp.ts';
import * as sip from 'sip';
import { SipUserAgent, type SipUserAgentOptions } from '../src/voice/sip/signalling/sip-user-agent.ts';
import { freePort, freeSipPort, sippMessages, startBaresip, startSipp, tempDir, writeToneWav, parseRtcpSummaries, PeerProcess } from './support/sip-peers.ts';
import { waitFor } from './support/wait-for.ts';

/**
 * The SIP signalling layer against real SIP software on loopback: SIPp plays trunks and phones
 * answering, refusing, ringing for ever, challenging; baresip registers to our registrar. GES is
 * 127.0.0.1, every peer its own 127.0.0.x.
 */

const GES = '127.0.0.1';
const SDP_OFFER = buildSdp({ address: GES, port: 40000, codecs: ['PCMU', 'PCMA'], telephoneEvent: 101, sessionId: 1 });

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

function testLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger: Logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { logger, lines };
}

/** Everything a test started, stopped even when the test fails. */
class Cleanup {
  readonly #tasks: (() => Promise<unknown>)[] = [];
  add<T>(task: () => Promise<unknown>, value: T): T {
    this.#tasks.push(task);
    return value;
  }
  async run(): Promise<void> {
    for (const t of this.#tasks.splice(0).reverse()) await t().catch(() => {});
  }
}

async function startUa(c: Cleanup, over: Partial<SipUserAgentOptions> = {}): Promise<{ ua: SipUserAgent; port: number; lines: LogLine[]; refused: string[] }> {
  const port = await freeSipPort(GES);
  const { logger, lines } = testLogger();
  const refused: string[] = [];
  const ua = new SipUserAgent({
    address: GES,
    publicAddress: GES,
    port,
    transports: ['udp', 'tcp'],
    allowed: parseNetworks('127.0.0.0/8'),
    flood: { perSecond: 50, burst: 100 },
    logger,
    metrics: { refused: (r) => void refused.push(r) },
    ...over,
  });
  await ua.start();
  c.add(() => ua.stop(), undefined);
  return { ua, port, lines, refused };
}

type Events = { progress: number[]; answered: string[]; failed: CallFailure[]; ended: ('remote' | 'local')[]; dtmf: string[] };

function record(call: OutboundCall): Events {
  const e: Events = { progress: [], answered: [], failed: [], ended: [], dtmf: [] };
  call.on('progress', (s) => e.progress.push(s));
  call.on('answered', (s) => e.answered.push(s));
  call.on('failed', (w) => e.failed.push(w));
  call.on('ended', (b) => e.ended.push(b));
  call.on('dtmf', (d) => e.dtmf.push(d));
  return e;
}

async function sipp(c: Cleanup, address: string, scenario: string, keys?: Record<string, string>): Promise<{ peer: PeerProcess; uri: string }> {
  const port = await freeSipPort(address);
  const peer = await startSipp({ scenario, address, port, ...(keys ? { keys } : {}) });
  c.add(() => peer.stop(), undefined);
  return { peer, uri: `sip:4155550123@${address}:${port}` };
}

function invite(ua: SipUserAgent, uri: string, over: Partial<Parameters<SipUserAgent['invite']>[0]> = {}): OutboundCall {
  return ua.invite({ uri, from: { user: 'ges', displayName: 'Acme callback' }, sdpOffer: SDP_OFFER, ringTimeoutMs: 10_000, ...over });
}

describe('SIP calls: SIPp as the far end (and a second user agent for TLS)', () => {
  const c = new Cleanup();
  after(() => c.run());

  test('answered with SDP, ACKed, then our BYE ends it', async () => {
    const t = new Cleanup();
    try {
      const { ua } = await startUa(t);
      const { peer, uri } = await sipp(t, '127.0.0.3', 'uas-answer.xml');
      const call = invite(ua, uri);
      const e = record(call);
      await waitFor(() => e.answered.length === 1, 'answered');
      assert.deepEqual(e.progress, [180]);
      const remote = negotiate(e.answered[0] ?? '', ['PCMU', 'PCMA']);
      assert.equal(remote?.codec, 'PCMA', 'the answer lists PCMA first: its preference');
      assert.equal(remote?.eventPayloadType, 101);
      assert.equal(remote?.address, '127.0.0.3');
      assert.ok(call.answeredAt !== undefined);
      call.hangUp();
      assert.deepEqual(e.ended, ['local']);
      assert.equal(await peer.waitForExit(), 0, peer.text().slice(-2000));
      assert.equal(ua.dialogs(), 0);
    } finally {
      await t.run();
    }
  });

  for (const [status, outcome] of [
    [486, 'busy'],
    [404, 'invalid_number'],
    [503, 'network_failure'],
  ] as const) {
    test(`${status} is failed { final ${status} } -> ${outcome}`, async () => {
      const t = new Cleanup();
      try {
        const { ua } = await startUa(t);
        const { peer, uri } = await sipp(t, '127.0.0.4', `uas-${status}.xml`);
        const e = record(invite(ua, uri));
        await waitFor(() => e.failed.length === 1, 'failed');
        assert.deepEqual(e.failed, [{ kind: 'final', status }]);
        assert.equal(dialFailureOfSip(e.failed[0]!), outcome);
        assert.equal(await peer.waitForExit(), 0, peer.text().slice(-2000));
      } finally {
        await t.run();
      }
    });
  }

  test('ringing past the ring timeout: CANCEL sent, failed ring_timeout -> no_answer', async () => {
    const t = new Cleanup();
    try {
      const { ua } = await startUa(t);
      const { peer, uri } = await sipp(t, '127.0.0.5', 'uas-ring-forever.xml');
      const e = record(invite(ua, uri, { ringTimeoutMs: 1_000 }));
      await waitFor(() => e.failed.length === 1, 'failed');
      assert.deepEqual(e.progress, [180]);
      assert.deepEqual(e.failed, [{ kind: 'ring_timeout' }]);
      assert.equal(dialFailureOfSip(e.failed[0]!), 'no_answer');
      // SIPp exits 0 only after it got the CANCEL, answered it and its 487 was ACKed.
      assert.equal(await peer.waitForExit(), 0, peer.text().slice(-2000));
      assert.equal(e.answered.length, 0);
    } finally {
      await t.run();
    }
  });

  test('a 407 challenge is answered once with the trunk credentials (MD5, qop=auth), and the call is answered', async () => {
    const t = new Cleanup();
    try {
      const { ua } = await startUa(t);
      const { peer, uri } = await sipp(t, '127.0.0.6', 'uas-auth.xml');
      const call = invite(ua, uri, { auth: { username: 'ges', password: 's3cret' } });
      const e = record(call);
      await waitFor(() => e.answered.length === 1 || e.failed.length === 1, 'answered');
      assert.deepEqual(e.failed, [], peer.text().slice(-2000));
      call.hangUp();
      assert.equal(await peer.waitForExit(), 0, peer.text().slice(-2000));
      // The answer SIPp received, checked by an independent computation (RFC 7616 3.4.1).
      const traced = await sippMessages(peer, 'uas-auth.xml');
      const header = /Proxy-Authorization: Digest (.*)/.exec(traced)?.[1] ?? '';
      const p = Object.fromEntries([...header.matchAll(/(\w+)=("([^"]*)"|[^,\s]+)/g)].map((m) => [m[1], m[3] ?? m[2]]));
      const md5 = (s: string) => createHash('md5').update(s).digest('hex');
      const expected = md5(`${md5('ges:trunk.test:s3cret')}:ab12cd34ef56:${p.nc}:${p.cnonce}:auth:${md5(`INVITE:${p.uri}`)}`);
      assert.equal(p.realm, 'trunk.test');
      assert.equal(p.uri, uri);
      assert.equal(p.response, expected, header);
    } finally {
      await t.run();
    }
  });

  test('a challenge to the authenticated retry (wrong password) is not answered again: failed { final 407 }', async () => {
    const t = new Cleanup();
    try {
      const { ua } = await startUa(t);
      const { peer, uri } = await sipp(t, '127.0.0.6', 'uas-auth-twice.xml');
      const e = record(invite(ua, uri, { auth: { username: 'ges', password: 'wrong' } }));
      await waitFor(() => e.failed.length === 1, 'failed');
      assert.deepEqual(e.failed, [{ kind: 'final', status: 407 }]);
      assert.equal(dialFailureOfSip(e.failed[0]!), 'failed');
      assert.equal(await peer.waitForExit(), 0, peer.text().slice(-2000));
    } finally {
      await t.run();
    }
  });

  test('a BYE from the far end after answer: ended remote, answered 200', async () => {
    const t = new Cleanup();
    try {
      const { ua } = await startUa(t);
      const { peer, uri } = await sipp(t, '127.0.0.7', 'uas-remote-bye.xml');
      const e = record(invite(ua, uri));
      await waitFor(() => e.ended.length === 1, 'ended');
      assert.deepEqual(e.ended, ['remote']);
      assert.equal(await peer.waitForExit(), 0, peer.text().slice(-2000));
      assert.equal(ua.dialogs(), 0);
    } finally {
      await t.run();
    }
  });

  test('SIP INFO keys (application/dtmf-relay and application/dtmf) are dtmf events', async () => {
    const t = new Cleanup();
    try {
      const { ua } = await startUa(t);
      const { peer, uri } = await sipp(t, '127.0.0.8', 'uas-info-dtmf.xml');
      const call = invite(ua, uri);
      const e = record(call);
      await waitFor(() => e.dtmf.length === 2, 'two dtmf events');
      assert.deepEqual(e.dtmf, ['5', '#']);
      call.hangUp();
      assert.equal(await peer.waitForExit(), 0, peer.text().slice(-2000));
    } finally {
      await t.run();
    }
  });

  test('over TCP: answered, then our BYE on the same connection', async () => {
    const t = new Cleanup();
    try {
      const { ua } = await startUa(t);
      const port = await freeSipPort('127.0.0.12');
      const peer = await startSipp({ scenario: 'uas-answer.xml', address: '127.0.0.12', port, transport: 't1' });
      t.add(() => peer.stop(), undefined);
      const call = invite(ua, `sip:4155550123@127.0.0.12:${port};transport=tcp`);
      const e = record(call);
      await waitFor(() => e.answered.length === 1 || e.failed.length === 1, 'answered');
      assert.deepEqual(e.failed, []);
      call.hangUp();
      assert.equal(await peer.waitForExit(), 0, peer.text().slice(-2000));
    } finally {
      await t.run();
    }
  });

  test('through an outbound proxy: the INVITE goes to the proxy (Route ;lr) whatever the URI host', async () => {
    const t = new Cleanup();
    try {
      const { ua } = await startUa(t);
      const port = await freeSipPort('127.0.0.13');
      const peer = await startSipp({ scenario: 'uas-486.xml', address: '127.0.0.13', port });
      t.add(() => peer.stop(), undefined);
      const e = record(invite(ua, 'sip:4155550123@trunk.invalid', { outboundProxy: `sip:127.0.0.13:${port}` }));
      await waitFor(() => e.failed.length === 1, 'failed');
      assert.deepEqual(e.failed, [{ kind: 'final', status: 486 }]);
      assert.equal(await peer.waitForExit(), 0, peer.text().slice(-2000));
      const traced = await sippMessages(peer, 'uas-486.xml');
      const route = new RegExp(`Route:\\s+<sip:127\\.0\\.0\\.13:${port};lr>`);
      assert.match(/INVITE sip[^]*?\r\n\r\n/.exec(traced)?.[0] ?? '', route);
      assert.match(/ACK sip[^]*?\r\n\r\n/.exec(traced)?.[0] ?? '', route, 'the ACK of the 486 carries the Route too');
    } finally {
      await t.run();
    }
  });

  test('session refreshes (UPDATE, re-INVITE) answered 200, the re-INVITE with our SDP; the call goes on until the remote BYE', async () => {
    const t = new Cleanup();
    try {
      const { ua } = await startUa(t);
      const { peer, uri } = await sipp(t, '127.0.0.14', 'uas-refresh.xml');
      const e = record(invite(ua, uri));
      await waitFor(() => e.ended.length === 1, 'ended');
      assert.deepEqual(e.ended, ['remote']);
      assert.equal(e.answered.length, 1);
      assert.equal(await peer.waitForExit(), 0, peer.text().slice(-2000));
      const traced = await sippMessages(peer, 'uas-refresh.xml');
      assert.ok(traced.includes('m=audio 40000 RTP/AVP 0 8 101'), 'our SDP in the 200 to the re-INVITE');
    } finally {
      await t.run();
    }
  });

  test('TLS: a call to another user agent over TLS (its certificate checked against our CA) gets its 480 back; an untrusted one is a transport failure', async () => {
    const t = new Cleanup();
    try {
      const dir = await tempDir();
      t.add(() => dir.remove(), undefined);
      const openssl = new PeerProcess('openssl', 'openssl', [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-keyout',
        `${dir.path}/key.pem`,
        '-out',
        `${dir.path}/cert.pem`,
        '-subj',
        '/CN=127.0.0.15',
        '-addext',
        'subjectAltName=IP:127.0.0.15',
      ]);
      assert.equal(await openssl.waitForExit(), 0, openssl.text());
      const tls = { key: await readFile(`${dir.path}/key.pem`, 'utf8'), cert: await readFile(`${dir.path}/cert.pem`, 'utf8') };
      const bTls = await freePort('127.0.0.15', 'tcp');
      await startUa(t, { address: '127.0.0.15', publicAddress: '127.0.0.15', transports: ['udp', 'tls'], tlsPort: bTls, tls });
      const { ua } = await startUa(t, { transports: ['udp', 'tls'], tlsPort: await freePort(GES, 'tcp'), tls: { ...tls, ca: tls.cert } });
      const e = record(invite(ua, `sip:4155550123@127.0.0.15:${bTls};transport=tls`));
      await waitFor(() => e.failed.length === 1, 'failed');
      assert.deepEqual(e.failed, [{ kind: 'final', status: 480 }]);
      const { ua: untrusting } = await startUa(t, { transports: ['udp', 'tls'], tlsPort: await freePort(GES, 'tcp'), tls });
      const u = record(invite(untrusting, `sip:4155550123@127.0.0.15:${bTls};transport=tls`));
      await waitFor(() => u.failed.length === 1, 'failed');
      assert.equal(u.failed[0]?.kind, 'transport');
    } finally {
      await t.run();
    }
  });

  test('nobody listening: a transport failure (no SIP response) -> network_failure', async () => {
    const t = new Cleanup();
    try {
      const { ua } = await startUa(t, { transports: ['udp', 'tcp'] });
      const port = await freePort('127.0.0.9', 'tcp');
      const e = record(invite(ua, `sip:4155550123@127.0.0.9:${port};transport=tcp`));
      await waitFor(() => e.failed.length === 1, 'failed');
      const why = e.failed[0];
      assert.equal(why?.kind, 'transport');
      assert.equal(why && dialFailureOfSip(why), 'network_failure');
    } finally {
      await t.run();
    }
  });
});

/** The registrar's book, in memory: what the PostgreSQL one does, bindings with an expiry. */
class MemoryBook implements SipRegistrationBook {
  readonly #creds = new Map<string, SipAgentCredentials>();
  readonly bindings = new Map<string, { contact: string; expiresSec: number; at: number }[]>();
  readonly binds: { tenant: string; login: string; contact: string; expiresSec: number }[] = [];
  lookups = 0;

  constructor(
    readonly tenants: string[],
    agents: { tenant: string; login: string; password: string }[],
  ) {
    for (const a of agents) {
      this.#creds.set(`${a.tenant}/${a.login}`, {
        ha1Md5: ha1('MD5', a.login, a.tenant, a.password),
        ha1Sha256: ha1('SHA-256', a.login, a.tenant, a.password),
      });
    }
  }

  async credentials(tenant: string, login: string): Promise<SipAgentCredentials | undefined> {
    this.lookups += 1;
    return this.#creds.get(`${tenant}/${login}`);
  }

  async bind(tenant: string, login: string, contact: string, expiresSec: number): Promise<void> {
    this.binds.push({ tenant, login, contact, expiresSec });
    const key = `${tenant}/${login}`;
    const list = (this.bindings.get(key) ?? []).filter((b) => b.contact !== contact);
    if (expiresSec > 0) list.unshift({ contact, expiresSec, at: Date.now() });
    this.bindings.set(key, list);
  }

  async contactOf(tenant: string, login: string): Promise<string | undefined> {
    return this.bindings.get(`${tenant}/${login}`)?.find((b) => b.at + b.expiresSec * 1000 > Date.now())?.contact;
  }

  async isTenant(name: string): Promise<boolean> {
    return this.tenants.includes(name.toLowerCase());
  }
}

describe('SIP registrar against baresip', () => {
  // baresip 1.0 (libre) refuses a 401 that holds any SHA-256 challenge: MD5 only for it.
  const registrar = (book: SipRegistrationBook) => ({
    book,
    domain: '',
    defaultTenant: '',
    minExpiresSec: 30,
    maxExpiresSec: 3600,
    algorithms: ['MD5'] as const,
  });

  test('baresip registers alice@acme with digest: bound with its contact and expiry', async () => {
    const t = new Cleanup();
    try {
      const book = new MemoryBook(['acme'], [{ tenant: 'acme', login: 'alice', password: 'secret' }]);
      const { port } = await startUa(t, { registrar: registrar(book) });
      const phonePort = await freeSipPort('127.0.0.2');
      const phone = await startBaresip({
        address: '127.0.0.2',
        sipPort: phonePort,
        sipTrace: true,
        accounts: [`<sip:alice@acme>;auth_pass=secret;outbound="sip:${GES}:${port};transport=udp";regint=60`],
      });
      t.add(() => phone.shutdown(), undefined);
      const binding = await waitFor(() => book.bindings.get('acme/alice')?.[0] ?? phone.exitCode() !== undefined, 'alice bound', 15_000).catch((e: Error) => {
        throw new Error(`${e.message}\n${phone.text().slice(-3000)}`);
      });
      assert.ok(binding !== true, `baresip exited: ${phone.text().slice(-3000)}`);
      // baresip makes its contact user unique (alice-0x...): the host and port are what GES dials.
      assert.match(binding.contact, new RegExp(`^sip:alice[^@]*@127\\.0\\.0\\.2:${phonePort}\\b`));
      assert.equal(binding.expiresSec, 60);
      assert.equal(await book.contactOf('acme', 'alice'), binding.contact);
      await phone.waitForOutput(/200 OK|REGISTER_OK|registered/i, 'baresip registered');
    } finally {
      await t.run();
    }
  });

  test('GES calls the registered softphone: baresip auto-answers, hangs up on a ctrl_tcp command: ended remote; its own call to GES gets 480', async () => {
    const t = new Cleanup();
    try {
      const book = new MemoryBook(['acme'], [{ tenant: 'acme', login: 'alice', password: 'secret' }]);
      const { ua, port } = await startUa(t, { registrar: registrar(book) });
      const dir = await tempDir();
      t.add(() => dir.remove(), undefined);
      const ctrlPort = await freePort('127.0.0.2', 'tcp');
      const phone = await startBaresip({
        address: '127.0.0.2',
        sipPort: await freeSipPort('127.0.0.2'),
        ctrlPort,
        autoAnswer: true,
        audioSource: await writeToneWav(`${dir.path}/tone.wav`, 3000),
        accounts: [`<sip:alice@acme>;auth_pass=secret;outbound="sip:${GES}:${port};transport=udp";regint=60`],
      });
      t.add(() => phone.shutdown(), undefined);
      const contact = await waitFor(() => book.contactOf('acme', 'alice'), 'alice registered');
      const call = invite(ua, contact);
      const e = record(call);
      await waitFor(() => e.answered.length === 1 || e.failed.length === 1, 'answered', 10_000);
      assert.deepEqual(e.failed, [], phone.text().slice(-2000));
      const remote = negotiate(e.answered[0] ?? '', ['PCMU', 'PCMA']);
      assert.equal(remote?.address, '127.0.0.2');
      assert.equal(remote?.eventPayloadType, 101, 'baresip takes our telephone-event');
      await phone.control?.waitForEvent('CALL_ESTABLISHED');
      const stat = await phone.control?.command('callstat');
      assert.match(stat?.data ?? '', /telephone-event/, 'callstat shows the negotiated SDP');
      assert.equal((await phone.control?.sendDtmf('5#'))?.ok, true, 'sndcode accepted (RFC 4733: the media layer hears it)');
      const r = await phone.control?.hangup();
      assert.equal(r?.ok, true, JSON.stringify(r));
      await waitFor(() => e.ended.length === 1, 'ended');
      assert.deepEqual(e.ended, ['remote']);
      await phone.control?.waitForEvent('CALL_CLOSED');
      // The other way: GES takes no calls over SIP, baresip's INVITE gets 480.
      const before = phone.control?.events.length ?? 0;
      assert.equal((await phone.control?.dial(`sip:ges@${GES}:${port};transport=udp`))?.ok, true);
      const closed = await phone.control?.waitForEvent('CALL_CLOSED', 'the call to GES refused', 10_000, before);
      assert.match(String(closed?.param ?? ''), /480/, JSON.stringify(closed));
      // rtcpsummary reports at the end of each call; its figures need RTCP from the far end, which
      // nobody sends in this test (no media on GES's side), hence its error line instead.
      await phone.waitForOutput(/EX=BareSip;/, 'rtcpsummary line');
      assert.match(phone.text(), /EX=BareSip;ERROR=No RTCP stats collected/);
      assert.deepEqual(parseRtcpSummaries(phone.text()), []);
      assert.equal(parseRtcpSummaries('EX=BareSip;CS=1;CD=3;PR=150;PS=149;PL=0,1;PD=0,0;JI=0.5,1.5;DL=0.0;IP=a,b;')[0]?.packetsReceived, 150);
    } finally {
      await t.run();
    }
  });

  test('a wrong password gets 403 and no binding', async () => {
    const t = new Cleanup();
    try {
      const book = new MemoryBook(['acme'], [{ tenant: 'acme', login: 'alice', password: 'secret' }]);
      const { port, refused } = await startUa(t, { registrar: registrar(book) });
      const phone = await startBaresip({
        address: '127.0.0.2',
        sipPort: await freeSipPort('127.0.0.2'),
        accounts: [`<sip:alice@acme>;auth_pass=wrong;outbound="sip:${GES}:${port};transport=udp";regint=60`],
      });
      t.add(() => phone.shutdown(), undefined);
      await waitFor(() => refused.includes('auth'), 'the REGISTER refused', 15_000);
      await phone.waitForOutput(/403/, 'baresip told 403');
      assert.equal(book.binds.length, 0);
      assert.equal(await book.contactOf('acme', 'alice'), undefined);
    } finally {
      await t.run();
    }
  });
});

/** A UDP socket on `address` that sends raw SIP and counts what comes back. */
async function rawSipClient(
  address: string,
): Promise<{ send(text: string, port: number): Promise<void>; received: string[]; close(): Promise<void>; port: number }> {
  const socket = createSocket('udp4');
  const received: string[] = [];
  socket.on('message', (m) => received.push(m.toString('latin1')));
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  return {
    port: socket.address().port,
    received,
    send: (text, port) => new Promise<void>((resolve, reject) => socket.send(Buffer.from(text, 'latin1'), port, GES, (e) => (e ? reject(e) : resolve()))),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

function floodRequest(method: string, i: number, from: { address: string; port: number }, gesPort: number): string {
  const uri = method === 'REGISTER' ? 'sip:acme' : `sip:4155550${String(i).padStart(3, '0')}@${GES}:${gesPort}`;
  return [
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${from.address}:${from.port};branch=z9hG4bKflood${i};rport`,
    `From: <sip:scanner@${from.address}>;tag=f${i}`,
    `To: <${method === 'REGISTER' ? 'sip:alice@acme' : uri}>`,
    `Call-ID: flood-${i}@${from.address}`,
    `CSeq: 1 ${method}`,
    `Contact: <sip:scanner@${from.address}:${from.port}>`,
    'Max-Forwards: 70',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

describe('SIP network allowlist and flood guard', () => {
  test('2,000 REGISTER/INVITE from a network not allowed: no answer, counted, the call in progress unaffected', async () => {
    const t = new Cleanup();
    try {
      const book = new MemoryBook(['acme'], []);
      const { ua, port, refused } = await startUa(t, {
        allowed: parseNetworks('127.0.0.1/32, 127.0.0.10/32'),
        registrar: { book, domain: '', defaultTenant: '', minExpiresSec: 30, maxExpiresSec: 3600 },
      });
      const { peer, uri } = await sipp(t, '127.0.0.10', 'uas-answer.xml');
      const call = invite(ua, uri);
      const e = record(call);
      await waitFor(() => e.answered.length === 1, 'answered');
      const flooder = await rawSipClient('127.0.0.66');
      t.add(() => flooder.close(), undefined);
      const refusedNetwork = () => refused.filter((r) => r === 'network').length;
      // In bursts of 100, each waited for: what is measured is GES dropping them, not the kernel's socket buffer overflowing.
      for (let i = 0; i < 2000; i++) {
        await flooder.send(floodRequest(i % 2 === 0 ? 'REGISTER' : 'INVITE', i, { address: '127.0.0.66', port: flooder.port }, port), port);
        if (i % 100 === 99) await waitFor(() => refusedNetwork() === i + 1, `${i + 1} flood datagrams refused`);
      }
      assert.equal(refusedNetwork(), 2000);
      assert.equal(flooder.received.length, 0, 'nothing answered');
      assert.equal(book.lookups, 0, 'no digest work');
      assert.equal(ua.flood.sources(), 0, 'dropped before the flood guard: not even a bucket');
      assert.equal(ua.dialogs(), 1);
      assert.deepEqual(e.ended, []);
      call.hangUp();
      assert.equal(await peer.waitForExit(), 0, peer.text().slice(-2000));
    } finally {
      await t.run();
    }
  });

  test('an allowed source above its rate: the excess dropped unanswered, counted, one warn log without URIs', async () => {
    const t = new Cleanup();
    try {
      const { ua, port, refused, lines } = await startUa(t, { flood: { perSecond: 10, burst: 20 } });
      const { peer, uri } = await sipp(t, '127.0.0.11', 'uas-answer.xml');
      const call = invite(ua, uri);
      const e = record(call);
      await waitFor(() => e.answered.length === 1, 'answered');
      const flooder = await rawSipClient('127.0.0.67');
      t.add(() => flooder.close(), undefined);
      const flooded = () => refused.filter((r) => r === 'flood').length;
      const answeredIds = () => new Set(flooder.received.map((r) => /Call-ID: (\S+)/i.exec(r)?.[1])).size;
      const started = Date.now();
      // Every request is either answered (within the bucket) or dropped: each burst of 100 is accounted for before the next.
      for (let i = 0; i < 2000; i++) {
        await flooder.send(floodRequest(i % 2 === 0 ? 'OPTIONS' : 'INVITE', i, { address: '127.0.0.67', port: flooder.port }, port), port);
        if (i % 100 === 99) await waitFor(() => flooded() + answeredIds() >= i + 1, `${i + 1} requests answered or dropped`);
      }
      const answered = answeredIds();
      const refill = Math.ceil(((Date.now() - started) / 1000) * 10);
      assert.ok(answered >= 20 && answered <= 20 + refill + 1, `answered ${answered}: the burst and what the rate refilled (${refill})`);
      assert.equal(ua.flood.dropped(), flooded());
      const warns = lines.filter((l) => l.msg === 'sip: requests over the flood limit dropped');
      assert.equal(warns.length, 1, 'one warn per source per minute');
      assert.equal(warns[0]?.source, '127.0.0.67');
      const leaks = lines.filter((l) => /sips?:[^\s"]*@|4155550/.test(JSON.stringify(l)));
      assert.deepEqual(leaks, [], 'no URI or number logged');
      // The call in progress is untouched: its in-dialog requests are not counted against anyone.
      call.hangUp();
      assert.equal(await peer.waitForExit(), 0, peer.text().slice(-2000));
    } finally {
      await t.run();
    }
  });
});

describe('SIP signalling units', () => {
  test('parseNetworks: IPv4 and IPv6 CIDR, bare addresses, IPv4-mapped IPv6; a malformed entry throws', () => {
    const allowed = parseNetworks('127.0.0.0/8, 10.1.0.0/16,192.0.2.7, 2001:db8::/32, ::1');
    for (const a of ['127.0.0.1', '127.255.0.9', '10.1.200.3', '192.0.2.7', '2001:db8:1::5', '::1', '::ffff:10.1.2.3', '2001:DB8::1']) assert.ok(allowed(a), a);
    for (const a of ['10.2.0.1', '192.0.2.8', '2001:db9::1', '::2', 'fe80::1', 'not-an-ip', '']) assert.ok(!allowed(a), a);
    assert.ok(parseNetworks('0.0.0.0/0')('203.0.113.9'));
    assert.ok(!parseNetworks('0.0.0.0/0')('2001:db8::1'), 'an IPv4 network never matches IPv6');
    assert.ok(!parseNetworks('')('127.0.0.1'), 'nothing allowed');
    for (const bad of ['10.0.0.0/33', '10.0.0/8', 'example.com', '10.0.0.0/x', '::1/129']) assert.throws(() => parseNetworks(bad), bad);
  });

  test('FloodGuard: the burst, then the rate; one warn per source per minute with the count; the map stays bounded', () => {
    let now = 1_000_000;
    const { logger, lines } = testLogger();
    const guard = new FloodGuard({ perSecond: 2, burst: 3, logger, maxSources: 100, now: () => now });
    assert.deepEqual(
      [1, 2, 3, 4, 5].map(() => guard.admit('10.0.0.1')),
      [true, true, true, false, false],
    );
    now += 500;
    assert.equal(guard.admit('10.0.0.1'), true, 'half a second at 2/s refills one');
    assert.equal(guard.admit('10.0.0.1'), false);
    assert.equal(guard.admit('10.0.0.2'), true, 'another source has its own bucket');
    assert.equal(guard.dropped(), 3);
    const warns = () => lines.filter((l) => l.level === 40);
    assert.equal(warns().length, 1, 'first drop logged at once');
    now += 61_000;
    for (let i = 0; i < 10; i++) guard.admit('10.0.0.1');
    assert.equal(warns().length, 2);
    assert.equal(warns()[1]?.dropped, 2, 'the drops since the last log, in one line, with the next request after the minute');
    now += 61_000;
    guard.admit('10.0.0.1');
    assert.equal(warns()[2]?.dropped, 7, 'the drops of that minute');
    for (let i = 0; i < 1_000; i++) guard.admit(`10.9.${i >> 8}.${i & 255}`);
    assert.ok(guard.sources() <= 100);
  });

  test('digest: SHA-256 preferred and MD5 answers verify against HA1; wrong password, forged nonce, other realm refused; expired nonce is stale', async () => {
    let now = 5_000_000;
    const server = new DigestServer({ now: () => now });
    const secrets = { ha1Md5: ha1('MD5', 'alice', 'acme', 'pw'), ha1Sha256: ha1('SHA-256', 'alice', 'acme', 'pw') };
    const lookup = async (user: string) => (user === 'alice' ? secrets : undefined);
    const challenge = server.challenge('acme');
    assert.deepEqual(
      challenge.map((c) => c.algorithm),
      ['SHA-256', 'MD5'],
    );
    const sha = answerChallenge(challenge, { username: 'alice', password: 'pw' }, 'REGISTER', 'sip:acme');
    assert.equal(sha?.algorithm, 'SHA-256');
    assert.deepEqual(await server.verify(sha, 'REGISTER', 'acme', lookup), { ok: true, user: 'alice' });
    const md5 = answerChallenge(challenge.slice(1), { username: 'alice', password: 'pw' }, 'REGISTER', 'sip:acme');
    assert.equal(md5?.algorithm, 'MD5');
    assert.deepEqual(await server.verify(md5, 'REGISTER', 'acme', lookup), { ok: true, user: 'alice' });
    const wrong = answerChallenge(challenge, { username: 'alice', password: 'nope' }, 'REGISTER', 'sip:acme');
    assert.deepEqual(await server.verify(wrong!, 'REGISTER', 'acme', lookup), { ok: false, stale: false });
    assert.deepEqual(await server.verify(sha, 'INVITE', 'acme', lookup), { ok: false, stale: false }, 'the method is part of the hash');
    const forged: AuthHeader = { ...sha, nonce: '"mx7.abc.def"' };
    assert.deepEqual(await server.verify(forged, 'REGISTER', 'acme', lookup), { ok: false, stale: false });
    const otherRealm = answerChallenge(new DigestServer({ now: () => now }).challenge('other'), { username: 'alice', password: 'pw' }, 'REGISTER', 'sip:acme');
    assert.deepEqual(await server.verify(otherRealm!, 'REGISTER', 'acme', lookup), { ok: false, stale: false });
    now += NONCE_LIFETIME_MS + 1;
    assert.deepEqual(await server.verify(sha, 'REGISTER', 'acme', lookup), { ok: false, stale: true });
    assert.equal(server.challenge('acme', true)[0]?.stale, 'true');
    assert.deepEqual(
      new DigestServer({ algorithms: ['MD5'] }).challenge('acme').map((c) => c.algorithm),
      ['MD5'],
    );
  });

  test("SDP: our offer negotiates with ourselves; the far end's codec order wins; no common codec is undefined", () => {
    const ours = buildSdp({ address: '127.0.0.1', port: 20000, codecs: ['PCMA', 'PCMU'], telephoneEvent: 101, sessionId: 42 });
    assert.match(ours, /^v=0\r\n/);
    assert.match(ours, /m=audio 20000 RTP\/AVP 8 0 101\r\n/);
    assert.deepEqual(negotiate(ours, ['PCMU', 'PCMA']), { address: '127.0.0.1', port: 20000, codec: 'PCMA', payloadType: 8, eventPayloadType: 101 });
    const remote =
      'v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 30000 RTP/AVP 18 0 96\r\na=rtpmap:96 telephone-event/8000\r\n';
    assert.deepEqual(negotiate(remote, ['PCMA', 'PCMU']), { address: '10.0.0.5', port: 30000, codec: 'PCMU', payloadType: 0, eventPayloadType: 96 });
    assert.equal(negotiate(remote, ['PCMA']), undefined);
    assert.equal(negotiate('v=0\r\nc=IN IP4 10.0.0.5\r\nm=audio 0 RTP/AVP 0\r\n', ['PCMU']), undefined, 'a refused stream (port 0)');
  });

  test('SIP outcome table: the mapping of issue 15, one row per status, names that are DialFailure values', () => {
    const cases: [Parameters<typeof dialFailureOfSip>[0], DialFailure][] = [
      [{ kind: 'final', status: 486 }, 'busy'],
      [{ kind: 'final', status: 600 }, 'busy'],
      [{ kind: 'final', status: 603 }, 'busy'],
      [{ kind: 'final', status: 480 }, 'no_answer'],
      [{ kind: 'final', status: 408 }, 'no_answer'],
      [{ kind: 'final', status: 487 }, 'no_answer'],
      [{ kind: 'ring_timeout' }, 'no_answer'],
      [{ kind: 'final', status: 404 }, 'invalid_number'],
      [{ kind: 'final', status: 484 }, 'invalid_number'],
      [{ kind: 'final', status: 604 }, 'invalid_number'],
      [{ kind: 'final', status: 410 }, 'invalid_number'],
      [{ kind: 'final', status: 403 }, 'network_failure'],
      [{ kind: 'final', status: 503 }, 'network_failure'],
      [{ kind: 'final', status: 500 }, 'network_failure'],
      [{ kind: 'final', status: 502 }, 'network_failure'],
      [{ kind: 'transport', detail: 'connection refused' }, 'network_failure'],
      [{ kind: 'final', status: 488 }, 'network_failure'],
      [{ kind: 'final', status: 400 }, 'failed'],
      [{ kind: 'final', status: 407 }, 'failed'],
      [{ kind: 'final', status: 606 }, 'busy'],
      [{ kind: 'final', status: 302 }, 'failed'],
    ];
    for (const [why, outcome] of cases) assert.equal(dialFailureOfSip(why), outcome, JSON.stringify(why));
    const outcomes: readonly DialFailure[] = SIP_OUTCOME_TABLE.map((r) => r.outcome);
    assert.ok(outcomes.length > 0);
    assert.equal(new Set(SIP_OUTCOME_TABLE.map((r) => r.when)).size, SIP_OUTCOME_TABLE.length, 'one row per status');
    const markdown = sipOutcomeTableMarkdown();
    assert.equal(markdown.split('\n').filter((l) => l.startsWith('| ')).length, SIP_OUTCOME_TABLE.length + 2, 'header, rule and a line per row');
    assert.match(markdown, /\| ring timeout \| `no_answer` \|/);
  });

  test('INFO DTMF bodies and masked URIs', () => {
    assert.equal(dtmfOfInfo('application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n'), '5');
    assert.equal(dtmfOfInfo('Application/DTMF-Relay; charset=x', 'Signal= 11\r\n'), '#');
    assert.equal(dtmfOfInfo('application/dtmf-relay', 'Signal=10'), '*');
    assert.equal(dtmfOfInfo('application/dtmf', '#'), '#');
    assert.equal(dtmfOfInfo('application/dtmf', 'X'), undefined);
    assert.equal(dtmfOfInfo('text/plain', 'Signal=5'), undefined);
    assert.equal(maskUri('sip:4155550123@trunk.example:5060'), 'sip:********23@trunk.example:5060');
    assert.equal(maskUri('"x" <sips:+4155550123:pw@h>;tag=1'), '"x" <sips:*********23@h>;tag=1', 'inside a header, password dropped');
  });
});

/** A REGISTER over raw UDP answered with our digest code, for the registrar's rules SIPp/baresip are not needed for. */
async function registerRaw(
  client: Awaited<ReturnType<typeof rawSipClient>>,
  gesPort: number,
  o: { user: string; domain: string; password: string; contact?: string; expires?: string; contactParams?: string },
): Promise<sip.SipMessage> {
  const callId = `reg-${Math.random().toString(36).slice(2)}`;
  let cseq = 1;
  const build = (auth?: AuthHeader) =>
    [
      `REGISTER sip:${o.domain} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.20:${client.port};branch=z9hG4bK${callId}${cseq};rport`,
      `From: <sip:${o.user}@${o.domain}>;tag=t${callId}`,
      `To: <sip:${o.user}@${o.domain}>`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} REGISTER`,
      ...(o.contact !== undefined ? [`Contact: ${o.contact}${o.contactParams ?? ''}`] : []),
      ...(o.expires !== undefined ? [`Expires: ${o.expires}`] : []),
      ...(auth ? [`Authorization: ${sip.stringifyAuthHeader(auth)}`] : []),
      'Max-Forwards: 70',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
  const next = async (text: string) => {
    const before = client.received.length;
    await client.send(text, gesPort);
    const raw = await waitFor(() => client.received[before], 'a response to REGISTER');
    const rs = sip.parse(raw);
    assert.ok(rs);
    return rs;
  };
  const first = await next(build());
  if (first.status !== 401) return first;
  cseq += 1;
  const answer = answerChallenge(first.headers['www-authenticate'] ?? [], { username: o.user, password: o.password }, 'REGISTER', `sip:${o.domain}`);
  assert.ok(answer);
  return next(build(answer));
}

describe('SIP registrar rules (raw UDP)', () => {
  test('expiry: clamped to the maximum, 423 with Min-Expires below the minimum, 0 and * unbind; SIP_DOMAIN is the default tenant; unknown domain 404', async () => {
    const t = new Cleanup();
    try {
      const book = new MemoryBook(['acme'], [{ tenant: 'acme', login: 'bob', password: 'pw' }]);
      const { port } = await startUa(t, { registrar: { book, domain: 'sip.ges.test', defaultTenant: 'acme', minExpiresSec: 60, maxExpiresSec: 600 } });
      const client = await rawSipClient('127.0.0.20');
      t.add(() => client.close(), undefined);
      const contact = '<sip:bob@127.0.0.20:5062>';
      let rs = await registerRaw(client, port, { user: 'bob', domain: 'ACME', password: 'pw', contact, expires: '7200' });
      assert.equal(rs.status, 200);
      assert.deepEqual(book.binds.at(-1), { tenant: 'acme', login: 'bob', contact: 'sip:bob@127.0.0.20:5062', expiresSec: 600 });
      const listed = Array.isArray(rs.headers.contact) ? rs.headers.contact[0] : undefined;
      assert.equal(listed?.params.expires, '600', 'the 200 lists the binding with the expiry granted');
      rs = await registerRaw(client, port, { user: 'bob', domain: 'acme', password: 'pw', contact, contactParams: ';expires=10' });
      assert.equal(rs.status, 423);
      assert.equal(rs.headers['min-expires'], '60');
      rs = await registerRaw(client, port, { user: 'bob', domain: 'sip.ges.test', password: 'pw', contact, contactParams: ';expires=120' });
      assert.equal(rs.status, 200, 'SIP_DOMAIN: the default tenant');
      assert.equal(book.binds.at(-1)?.expiresSec, 120);
      rs = await registerRaw(client, port, { user: 'bob', domain: 'acme', password: 'pw', contact, expires: '0' });
      assert.equal(rs.status, 200);
      assert.equal(await book.contactOf('acme', 'bob'), undefined);
      await registerRaw(client, port, { user: 'bob', domain: 'acme', password: 'pw', contact, expires: '300' });
      assert.ok(await book.contactOf('acme', 'bob'));
      rs = await registerRaw(client, port, { user: 'bob', domain: 'acme', password: 'pw', contact: '*', expires: '0' });
      assert.equal(rs.status, 200);
      assert.equal(await book.contactOf('acme', 'bob'), undefined, 'Contact: * removes every binding');
      rs = await registerRaw(client, port, { user: 'bob', domain: 'other.test', password: 'pw', contact });
      assert.equal(rs.status, 404);
    } finally {
      await t.run();
    }
  });

  test('out of dialog: OPTIONS 200, INVITE 480, MESSAGE 405, an unknown dialog 481; REGISTER without a registrar 405', async () => {
    const t = new Cleanup();
    try {
      const { port } = await startUa(t);
      const client = await rawSipClient('127.0.0.21');
      t.add(() => client.close(), undefined);
      const ask = async (method: string, toTag = '') => {
        const before = client.received.length;
        const text = floodRequest(method, Math.floor(Math.random() * 1e6), { address: '127.0.0.21', port: client.port }, port).replace(
          /^(To: .*)$/m,
          `$1${toTag}`,
        );
        await client.send(text, port);
        return sip.parse(await waitFor(() => client.received.slice(before).find((r) => !r.startsWith('SIP/2.0 100')), `${method} answered`))?.status;
      };
      assert.equal(await ask('OPTIONS'), 200);
      assert.equal(await ask('INVITE'), 480);
      assert.equal(await ask('MESSAGE'), 405);
      assert.equal(await ask('BYE', ';tag=nosuch'), 481);
      assert.equal(await ask('REGISTER'), 405);
    } finally {
      await t.run();
    }
  });
});
