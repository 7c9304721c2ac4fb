import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { after, describe, test } from 'node:test';
import { pino, type Logger } from 'pino';
import { dialFailureOfSip, SIP_OUTCOME_TABLE } from '../src/domain/sip-final-response.ts';
import type { DialFailure } from '../src/voice/voice-port.ts';
import type { SipAgentCredentials, SipRegistrationBook } from '../src/voice/sip/sip-agent-directory.ts';
import { answerChallenge, DigestServer, ha1, NONCE_LIFETIME_MS, type AuthHeader } from '../src/voice/sip/signalling/digest.ts';
import { FloodGuard } from '../src/voice/sip/signalling/flood-guard.ts';
import { parseNetworks } from '../src/voice/sip/signalling/network-allowlist.ts';
import { dtmfOfInfo, maskUri, type CallFailure, type OutboundCall } from '../src/voice/sip/signalling/outbound-call.ts';
import { buildSdp, negotiate } from '../src/voice/sip/signalling/sdp.ts';
import { SipUserAgent, type SipUserAgentOptions } from '../src/voice/sip/signalling/sip-user-agent.ts';
import { freePort, freeSipPort, startBaresip, sippMessages, startSipp, type PeerProcess } from './support/sip-peers.ts';
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

describe('SIP signalling against SIPp', () => {
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

  test('nobody listening: a transport failure (no SIP response) -> network_failure', async () => {
    const t = new Cleanup();
    try {
      const { ua } = await startUa(t, { transports: ['udp', 'tcp'] });
      const port = await freePort('127.0.0.9', 'tcp');
      const e = record(invite(ua, `sip:4155550123@127.0.0.9:${port};transport=tcp`));
      await waitFor(() => e.failed.length === 1, 'failed');
      assert.equal(e.failed[0]?.kind, 'transport');
      assert.equal(dialFailureOfSip(e.failed[0]!), 'network_failure');
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
      this.#creds.set(`${a.tenant}/${a.login}`, { ha1Md5: ha1('MD5', a.login, a.tenant, a.password), ha1Sha256: ha1('SHA-256', a.login, a.tenant, a.password) });
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
  const registrar = (book: SipRegistrationBook) => ({ book, domain: '', defaultTenant: '', minExpiresSec: 30, maxExpiresSec: 3600, algorithms: ['MD5'] as const });

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
