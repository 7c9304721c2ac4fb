/**
 * What one GES node's media relay carries: N bridged calls, each a customer "phone" (PCMU) and an
 * agent "phone" (PCMA) sending 50 packets a second both ways through a pair of RtpEndpoints, so
 * every packet is parsed, transcoded and sent again (the costliest path of a bridge). The phones
 * run in a child process so that this process does nothing but relay and its CPU time
 * (process.cpuUsage) is the relay's alone. N grows until more than 0.1 % of the packets are lost
 * or the relay falls behind (packets still in flight a second after the phones stop).
 * Run: npm run bench:sip     (BENCH_CALLS, default 50,100,200,400,600,800,1000,1200,1600; BENCH_SECONDS, default 5)
 * Prints a markdown table; the results belong in docs/BENCHMARKS.md.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { buildRtp } from '../../src/voice/sip/media/rtp-packet.ts';
import { encodeALaw, encodeMuLaw } from '../../src/voice/sip/media/g711.ts';
import { RtpPortPool } from '../../src/voice/sip/media/rtp-port-pool.ts';
import type { RtpEndpoint } from '../../src/voice/sip/media/rtp-endpoint.ts';

const RELAY_ADDRESS = '127.0.0.2';
const CUSTOMER_ADDRESS = '127.0.0.4';
const AGENT_ADDRESS = '127.0.0.5';
const PACKET_MS = 20;
const LOSS_LIMIT = 0.001;
const DRAIN_LIMIT_MS = 1000;
/** Phones running this late no longer offer 50 packets a second: the level says nothing of the relay. */
const PHONE_LAG_LIMIT_MS = 200;

type ToPhones = { type: 'open'; legs: { customer: number; agent: number }[] } | { type: 'run'; seconds: number };
type FromPhones =
  | { type: 'opened'; phones: { customer: number; agent: number }[] }
  | { type: 'result'; sent: number; received: number; cpuMs: number; maxLagMs: number; drainMs: number };

// --- the phones (child process) -------------------------------------------------------------------

async function phones(): Promise<void> {
  const send = (m: FromPhones) => process.send!(m);
  let sockets: { socket: Socket; packet: Buffer }[] = [];
  let received = 0;
  const frame = Int16Array.from({ length: 160 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
  const bind = async (address: string) => {
    const socket = createSocket('udp4');
    socket.on('message', () => (received += 1));
    socket.bind(0, address);
    await once(socket, 'listening');
    return socket;
  };
  process.on('message', (m: ToPhones) => {
    void (async () => {
      if (m.type === 'open') {
        for (const { socket } of sockets) socket.close();
        sockets = [];
        const opened: { customer: number; agent: number }[] = [];
        for (const [i, leg] of m.legs.entries()) {
          const [customer, agent] = await Promise.all([bind(CUSTOMER_ADDRESS), bind(AGENT_ADDRESS)]);
          const mu = buildRtp({ payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 2 * i + 1, payload: encodeMuLaw(frame) });
          const a = buildRtp({ payloadType: 8, sequenceNumber: 0, timestamp: 0, ssrc: 2 * i + 2, payload: encodeALaw(frame) });
          // Connected sockets: Node skips the per-send address handling, which keeps the phones cheaper than the relay.
          customer.connect(leg.customer, RELAY_ADDRESS);
          agent.connect(leg.agent, RELAY_ADDRESS);
          await Promise.all([once(customer, 'connect'), once(agent, 'connect')]);
          sockets.push({ socket: customer, packet: mu }, { socket: agent, packet: a });
          opened.push({ customer: customer.address().port, agent: agent.address().port });
        }
        send({ type: 'opened', phones: opened });
        return;
      }
      received = 0;
      const cpu = process.cpuUsage();
      const ticks = (m.seconds * 1000) / PACKET_MS;
      const start = performance.now();
      let maxLagMs = 0;
      // Every phone sends once a tick; tick n is due at start + n * 20 ms (no drift).
      for (let n = 0; n < ticks; n += 1) {
        const wait = start + n * PACKET_MS - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        maxLagMs = Math.max(maxLagMs, -wait);
        for (const s of sockets) {
          s.packet.writeUInt16BE(n & 0xffff, 2);
          s.packet.writeUInt32BE((n * 160) >>> 0, 4);
          s.socket.send(s.packet);
        }
      }
      const sent = ticks * sockets.length;
      const stopped = performance.now();
      // Drain: what the relay still has in flight arrives now, or counts as lost after the limit.
      while (received < sent && performance.now() - stopped < DRAIN_LIMIT_MS) await new Promise((r) => setTimeout(r, 5));
      const usage = process.cpuUsage(cpu);
      send({ type: 'result', sent, received, cpuMs: (usage.user + usage.system) / 1000, maxLagMs, drainMs: performance.now() - stopped });
    })();
  });
}

// --- the relay (this process) -----------------------------------------------------------------------

async function ask<T extends FromPhones['type']>(child: ChildProcess, m: ToPhones, answer: T): Promise<Extract<FromPhones, { type: T }>> {
  const reply = new Promise<Extract<FromPhones, { type: T }>>((resolve) => {
    const on = (r: FromPhones) => {
      if (r.type !== answer) return;
      child.off('message', on);
      resolve(r as Extract<FromPhones, { type: T }>);
    };
    child.on('message', on);
  });
  child.send(m);
  return reply;
}

async function relay(): Promise<void> {
  const levels = (process.env.BENCH_CALLS ?? '50,100,200,400,600,800,1000,1200,1600').split(',').map(Number);
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const pool = new RtpPortPool({
    address: RELAY_ADDRESS,
    minPort: 30000,
    maxPort: 30000 + 4 * Math.max(...levels) + 100,
    allowed: (a) => a.startsWith('127.'),
  });
  const child = fork(fileURLToPath(import.meta.url), ['--phones'], { stdio: 'inherit' });
  console.log(`| Calls | packets/s relayed | loss % | relay CPU ms per call-second | relay CPU % of a core | phones' worst lag ms |`);
  console.log('| --- | --- | --- | --- | --- | --- |');
  try {
    for (const calls of levels) {
      const legs: [RtpEndpoint, RtpEndpoint][] = [];
      for (let i = 0; i < calls; i += 1) legs.push([await pool.open(), await pool.open()]);
      const { phones: ph } = await ask(child, { type: 'open', legs: legs.map(([c, a]) => ({ customer: c.port, agent: a.port })) }, 'opened');
      legs.forEach(([customerLeg, agentLeg], i) => {
        customerLeg.setRemote({ address: CUSTOMER_ADDRESS, port: ph[i]!.customer, codec: 'PCMU', payloadType: 0, eventPayloadType: 101 });
        agentLeg.setRemote({ address: AGENT_ADDRESS, port: ph[i]!.agent, codec: 'PCMA', payloadType: 8, eventPayloadType: 101 });
        customerLeg.bridgeTo(agentLeg);
      });
      const cpu = process.cpuUsage();
      const started = performance.now();
      const r = await ask(child, { type: 'run', seconds }, 'result');
      const usage = process.cpuUsage(cpu);
      const wallMs = performance.now() - started;
      const cpuMs = (usage.user + usage.system) / 1000;
      const loss = (r.sent - r.received) / r.sent;
      const relayed = legs.reduce((sum, [c, a]) => sum + c.stats().packetsRelayed + a.stats().packetsRelayed, 0);
      console.log(
        `| ${calls} | ${Math.round(relayed / seconds)} | ${(100 * loss).toFixed(3)} | ${(cpuMs / (calls * seconds)).toFixed(3)} | ${((100 * cpuMs) / wallMs).toFixed(0)} | ${r.maxLagMs.toFixed(0)} |`,
      );
      await Promise.all(legs.flat().map((e) => e.close()));
      const why =
        loss > LOSS_LIMIT
          ? `loss ${(100 * loss).toFixed(3)} % above 0.1 %`
          : r.drainMs >= DRAIN_LIMIT_MS
            ? `the relay fell behind (packets in flight ${DRAIN_LIMIT_MS} ms after the phones stopped)`
            : r.maxLagMs > PHONE_LAG_LIMIT_MS
              ? `the phones' process fell behind (${r.maxLagMs.toFixed(0)} ms late), not the relay: more calls need the phones on another machine`
              : undefined;
      if (why !== undefined) {
        console.log(`\nstopped at ${calls} calls: ${why}`);
        break;
      }
    }
  } finally {
    child.kill();
  }
}

if (process.argv.includes('--phones')) await phones();
else await relay();
