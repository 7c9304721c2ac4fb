import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait-for.ts';

/**
 * Real SIP software as test peers, on loopback: SIPp (scripted UAS/UAC scenarios) and baresip (a
 * softphone: registers, auto-answers, plays a WAV, dials, hangs up and sends DTMF on command over
 * ctrl_tcp). Each party gets its own 127.0.0.x address and a free port; readiness is a condition
 * (a bound socket, a line of output), never a fixed wait; stop() kills the process for sure.
 */

export const SCENARIO_DIR = fileURLToPath(new URL('../sip/scenarios/', import.meta.url));

/** A port free on `address` now (bound to 0 and released), for the protocol the peer listens on. */
export async function freePort(address: string, protocol: 'udp' | 'tcp' = 'udp'): Promise<number> {
  if (protocol === 'tcp') {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, address, resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** A port free on `address` for both UDP and TCP (SIP listens on both). */
export async function freeSipPort(address: string): Promise<number> {
  for (;;) {
    const port = await freePort(address, 'udp');
    const server = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, address, () => resolve(true));
    });
    if (ok) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      return port;
    }
  }
}

function hexAddress(address: string, port: number): string {
  const ip = address
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0').toUpperCase())
    .reverse()
    .join('');
  return `${ip}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
}

/** True when some process has a UDP socket bound to address:port (Linux /proc/net/udp). */
export async function udpBound(address: string, port: number): Promise<boolean> {
  const table = await readFile('/proc/net/udp', 'utf8');
  const wanted = hexAddress(address, port);
  return table.split('\n').some((line) => line.trim().split(/\s+/)[1] === wanted);
}

export async function tcpListening(address: string, port: number): Promise<boolean> {
  const table = await readFile('/proc/net/tcp', 'utf8');
  const wanted = hexAddress(address, port);
  // State 0A: LISTEN.
  return table.split('\n').some((line) => {
    const f = line.trim().split(/\s+/);
    return f[1] === wanted && f[3] === '0A';
  });
}

export async function tempDir(prefix = 'ges-sip-'): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A WAV file baresip's aufile can play: 8 kHz mono 16-bit PCM, a sine of `hz` for `ms`. */
export async function writeToneWav(path: string, ms = 1000, hz = 440): Promise<string> {
  const samples = Math.round((8000 * ms) / 1000);
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

export class PeerProcess {
  readonly output: string[] = [];
  readonly exited: Promise<number | null>;
  #code: number | null | undefined;
  readonly child: ChildProcess;
  /** Working folder of the process, when it has one of its own. */
  dir: string | undefined;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    opts: { cwd?: string } = {},
  ) {
    this.child = spawn(command, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => {
      this.output.push(String(chunk));
      if (this.output.length > 5_000) this.output.splice(0, this.output.length - 5_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (c, signal) => resolve((this.#code = c ?? (signal ? -1 : null))));
      this.child.on('error', (e) => {
        keep(Buffer.from(String(e)));
        resolve((this.#code = -2));
      });
    });
  }

  text(): string {
    return this.output.join('');
  }

  /** undefined while it runs. */
  exitCode(): number | null | undefined {
    return this.#code;
  }

  waitForOutput(pattern: RegExp, what: string, ms = 10_000): Promise<RegExpExecArray> {
    return waitFor(() => pattern.exec(this.text()), `${this.name}: ${what}`, ms);
  }

  /** The exit code, within `ms` (fails naming the process otherwise). */
  async waitForExit(ms = 15_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name} did not exit within ${ms} ms; output:\n${this.text().slice(-3000)}`)), ms);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM, SIGKILL after `ms`: always leaves no process behind. */
  async stop(ms = 3_000): Promise<number | null> {
    if (this.#code !== undefined) return this.#code;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface SippOptions {
  /** File name under test/sip/scenarios, or an absolute path. */
  scenario: string;
  address: string;
  port: number;
  /** UAC scenarios: where to send (address:port). */
  remote?: string;
  /** -key name value pairs, usable as [name] in the scenario. */
  keys?: Record<string, string>;
  mediaPort?: number;
  transport?: 'u1' | 't1';
  /** Calls to run (-m); default 1. */
  calls?: number;
  timeoutSec?: number;
  extraArgs?: string[];
}

/** SIPp in the foreground, ending after its calls (-m); ready once its SIP socket is bound. */
export async function startSipp(o: SippOptions): Promise<PeerProcess> {
  const scenario = o.scenario.startsWith('/') ? o.scenario : join(SCENARIO_DIR, o.scenario);
  const mediaPort = o.mediaPort ?? (await freePort(o.address));
  const args = [
    '-sf',
    scenario,
    '-i',
    o.address,
    '-p',
    String(o.port),
    '-mi',
    o.address,
    '-mp',
    String(mediaPort),
    '-m',
    String(o.calls ?? 1),
    '-t',
    o.transport ?? 'u1',
    '-timeout',
    `${o.timeoutSec ?? 30}s`,
    '-timeout_error',
    '-nostdin',
    '-trace_err',
    '-trace_msg',
    ...Object.entries(o.keys ?? {}).flatMap(([k, v]) => ['-key', k, v]),
    ...(o.extraArgs ?? []),
  ];
  if (o.remote !== undefined) args.push(o.remote);
  // Its own folder: -trace_msg and -trace_err write there, removed with the process.
  const dir = await tempDir('ges-sipp-');
  const peer = new PeerProcess(`sipp ${o.scenario}`, 'sipp', args, { cwd: dir.path });
  const stop = peer.stop.bind(peer);
  peer.stop = async (ms?: number) => {
    const code = await stop(ms);
    await dir.remove();
    return code;
  };
  peer.dir = dir.path;
  await waitFor(
    async () => (await udpBound(o.address, o.port)) || (o.transport === 't1' && (await tcpListening(o.address, o.port))) || peer.exitCode() !== undefined,
    `sipp listening on ${o.address}:${o.port}`,
    10_000,
  );
  if (peer.exitCode() !== undefined) {
    const text = peer.text();
    await peer.stop();
    throw new Error(`sipp exited at start: ${text.slice(-2000)}`);
  }
  return peer;
}

/** The messages SIPp traced (-trace_msg writes <scenario>_<pid>_messages.log in its cwd). */
export async function sippMessages(peer: PeerProcess, scenario: string): Promise<string> {
  const base = scenario.replace(/^.*\//, '').replace(/\.xml$/, '');
  return readFile(join(peer.dir ?? tmpdir(), `${base}_${peer.child.pid}_messages.log`), 'utf8').catch(() => '');
}

export interface BaresipOptions {
  address: string;
  sipPort: number;
  /** Lines of the accounts file, e.g. `<sip:alice@acme>;auth_pass=secret;outbound="sip:127.0.0.1:5060";regint=60`. */
  accounts: string[];
  /** Every call answered by itself (answermode=auto on each account line that does not say otherwise). */
  autoAnswer?: boolean;
  /** WAV file (8 kHz mono 16-bit works with g711) sent as the microphone; default: silence generator ausine off, aufile of none. */
  audioSource?: string;
  /** Where received audio goes (a WAV path written by aufile/sndfile), default: discarded. */
  audioSink?: string;
  /** ctrl_tcp on this port (same address): commands and events, see BaresipControl. */
  ctrlPort?: number;
  rtpPortRange?: [number, number];
  extraConfig?: string[];
  extraModules?: string[];
  /** -s: every SIP message in its output (for a failing test's message). */
  sipTrace?: boolean;
}

export interface Baresip extends PeerProcess {
  readonly control: BaresipControl | undefined;
  shutdown(): Promise<void>;
}

/**
 * baresip 1.0.0 with a generated config in a temporary folder (-f): only the modules a test
 * needs, sip_listen and net_interface pinned to its own loopback address so it never picks another.
 */
export async function startBaresip(o: BaresipOptions): Promise<Baresip> {
  const dir = await tempDir('ges-baresip-');
  const rtp = o.rtpPortRange ?? [await freePort(o.address), 0];
  const rtpRange = rtp[1] === 0 ? `${rtp[0] - (rtp[0] % 2)}-${rtp[0] - (rtp[0] % 2) + 10}` : `${rtp[0]}-${rtp[1]}`;
  const modules = [
    'g711.so',
    'aufile.so',
    'account.so',
    ...(o.ctrlPort !== undefined ? ['menu.so', 'ctrl_tcp.so'] : []),
    'rtcpsummary.so',
    ...(o.extraModules ?? []),
  ];
  const config = [
    'poll_method\t\tepoll',
    `sip_listen\t\t${o.address}:${o.sipPort}`,
    `net_interface\t\t${o.address}`,
    `net_prefer_ipv6\t\tno`,
    `audio_player\t\taufile,${o.audioSink ?? '/dev/null'}`,
    `audio_source\t\taufile,${o.audioSource ?? '/dev/zero'}`,
    'audio_alert\t\taufile,/dev/null',
    'audio_srate\t\t8000',
    'audio_channels\t\t1',
    `rtp_ports\t\t${rtpRange}`,
    'rtp_stats\t\tyes',
    'module_path\t\t/usr/lib/baresip/modules',
    ...modules.map((m) => `module\t\t\t${m}`),
    ...(o.ctrlPort !== undefined ? [`ctrl_tcp_listen\t\t${o.address}:${o.ctrlPort}`] : []),
    ...(o.extraConfig ?? []),
  ];
  const accounts = o.accounts.map((a) => (o.autoAnswer && !/answermode=/.test(a) ? `${a};answermode=auto` : a));
  await writeFile(join(dir.path, 'config'), config.join('\n') + '\n');
  await writeFile(join(dir.path, 'accounts'), accounts.join('\n') + '\n');
  await writeFile(join(dir.path, 'contacts'), '');
  const peer = new PeerProcess('baresip', 'baresip', ['-f', dir.path, ...(o.sipTrace ? ['-s'] : [])], { cwd: dir.path });
  let control: BaresipControl | undefined;
  if (o.ctrlPort !== undefined) {
    const port = o.ctrlPort;
    await waitFor(async () => (await tcpListening(o.address, port)) || peer.exitCode() !== undefined, 'baresip ctrl_tcp listening', 10_000);
    if (peer.exitCode() === undefined) control = await BaresipControl.connect(o.address, port);
  }
  peer.dir = dir.path;
  return Object.assign(peer, {
    control,
    async shutdown() {
      control?.close();
      await peer.stop();
      await dir.remove();
    },
  });
}

/** What rtcpsummary prints when a call closes (`EX=BareSip;CS=..;PR=..;PS=..;PL=rx,tx;...`): RTP packets received, sent, lost. */
export interface BaresipRtpSummary {
  packetsReceived: number;
  packetsSent: number;
  lostReceived: number;
  lostSent: number;
  jitterMs: [number, number];
}

export function parseRtcpSummaries(output: string): BaresipRtpSummary[] {
  return [...output.matchAll(/EX=BareSip;CS=\d+;CD=\d+;PR=(\d+);PS=(\d+);PL=(-?\d+),(-?\d+);PD=[^;]*;JI=([\d.]+),([\d.]+);/g)].map((m) => ({
    packetsReceived: Number(m[1]),
    packetsSent: Number(m[2]),
    lostReceived: Number(m[3]),
    lostSent: Number(m[4]),
    jitterMs: [Number(m[5]), Number(m[6])],
  }));
}

export interface BaresipEvent {
  event: true;
  type: string;
  class?: string;
  accountaor?: string;
  param?: string;
  [k: string]: unknown;
}

/**
 * baresip's ctrl_tcp: netstring-framed JSON `{command, params, token}`. Commands are the menu's
 * long names: `dial` (params: the URI), `hangup`, `accept`, `sndcode` (params: the keys, sent as
 * RFC 4733 events), `reginfo`, `callstat`; events (CALL_ESTABLISHED, CALL_CLOSED, REGISTER_OK,
 * CALL_RTCP with rtcpsummary...) are collected in `events`.
 */
export class BaresipControl {
  readonly events: BaresipEvent[] = [];
  readonly #socket: Socket;
  #buffer = '';
  #token = 0;
  readonly #pending = new Map<string, (r: { ok: boolean; data: string }) => void>();

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#onData(chunk));
    socket.on('error', () => {});
  }

  static connect(address: string, port: number): Promise<BaresipControl> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: address, port }, () => resolve(new BaresipControl(s)));
      s.once('error', reject);
    });
  }

  command(command: string, params = ''): Promise<{ ok: boolean; data: string }> {
    const token = String(++this.#token);
    const body = JSON.stringify({ command, params, token });
    return new Promise((resolve) => {
      this.#pending.set(token, resolve);
      this.#socket.write(`${Buffer.byteLength(body)}:${body},`);
    });
  }

  /** Calls `uri` (the menu's dial); CALL_ESTABLISHED / CALL_CLOSED follow as events. */
  dial(uri: string): Promise<{ ok: boolean; data: string }> {
    return this.command('dial', uri);
  }

  hangup(): Promise<{ ok: boolean; data: string }> {
    return this.command('hangup');
  }

  accept(): Promise<{ ok: boolean; data: string }> {
    return this.command('accept');
  }

  /** Keys sent in the call in progress as RFC 4733 telephone-events (not SIP INFO). */
  sendDtmf(digits: string): Promise<{ ok: boolean; data: string }> {
    return this.command('sndcode', digits);
  }

  waitForEvent(type: string, what = type, ms = 10_000, from = 0): Promise<BaresipEvent> {
    return waitFor(() => this.events.slice(from).find((e) => e.type === type), `baresip event ${what}`, ms);
  }

  close(): void {
    this.#socket.destroy();
  }

  #onData(chunk: string): void {
    this.#buffer += chunk;
    for (;;) {
      const colon = this.#buffer.indexOf(':');
      if (colon < 0) return;
      const len = Number(this.#buffer.slice(0, colon));
      if (this.#buffer.length < colon + 1 + len + 1) return;
      const body = this.#buffer.slice(colon + 1, colon + 1 + len);
      this.#buffer = this.#buffer.slice(colon + 1 + len + 1);
      try {
        const msg = JSON.parse(body) as { response?: boolean; ok?: boolean; data?: string; token?: string; event?: boolean };
        if (msg.response && msg.token !== undefined) {
          this.#pending.get(msg.token)?.({ ok: msg.ok === true, data: msg.data ?? '' });
          this.#pending.delete(msg.token);
        } else if (msg.event) this.events.push(msg as BaresipEvent);
      } catch {
        // A frame that is not JSON: ignored (the control channel is only for tests).
      }
    }
  }
}
