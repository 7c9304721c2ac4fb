/**
 * One call leg's media: a UDP socket on an even port that plays prompts into the call, hears the
 * caller's key presses (RFC 4733) and, once the customer and the agent are both up, relays their
 * audio to each other. GES is a B2BUA on the media path too, because neither party may learn
 * the other's address and because the two legs may have negotiated different G.711 laws.
 *
 * Only the negotiated remote is heard: packets from addresses outside the network allowlist or
 * from any host other than the one in the SDP are dropped and counted (refusedPackets), so a
 * stranger cannot inject audio or digits into a call. The SDP port is not trusted either way: a
 * phone behind NAT sends from another port, so the first packet from the SDP host fixes the port
 * we send to and listen for (symmetric RTP, RFC 4961).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { type Codec, FRAME_MS, SAMPLES_PER_FRAME } from './codec.ts';
import { transcodeInto } from './g711.ts';
import type { Prompt } from './prompt.ts';
import { buildRtp, parseRtp, type RtpPacket } from './rtp-packet.ts';
import { RtpSequenceTracker } from './rtp-sequence-tracker.ts';
import { TelephoneEventDecoder } from './telephone-event.ts';

export type { Codec } from './codec.ts';

export interface RtpRemote {
  address: string;
  port: number;
  codec: Codec;
  payloadType: number;
  eventPayloadType?: number;
}

export interface RtpStats {
  /** Packets this socket sent: prompt frames and what the bridged leg relayed through it. */
  packetsSent: number;
  /** Packets accepted from the remote (audio and events). */
  packetsReceived: number;
  /** Sequence gaps of the remote's stream (RFC 3550 A.3: expected minus received, never below 0). */
  packetsLost: number;
  /** Packets received here and forwarded to the bridged leg. */
  packetsRelayed: number;
  bytesReceived: number;
  lastCodecReceived?: Codec;
  /** Packets dropped for their source: not allowed, not the negotiated host, not the latched port, or before any remote was set. */
  refusedPackets: number;
}

export interface RtpEndpoint {
  readonly address: string;
  readonly port: number;
  setRemote(remote: RtpRemote): void;
  play(prompt: Prompt, opts?: { loop?: boolean }): Promise<void>;
  stopPlaying(): void;
  onDigit(listener: (digit: string) => void): () => void;
  bridgeTo(other: RtpEndpoint): void;
  unbridge(): void;
  stats(): RtpStats;
  close(): Promise<void>;
}

export interface RtpEndpointOptions {
  address: string;
  port: number;
  allowed: (address: string) => boolean;
  /** Called once the socket is closed (the pool takes its port back). */
  onClose?: () => void;
}

/** A timer stall longer than this re-anchors the pacing instead of bursting the missed frames. */
const MAX_CATCH_UP_FRAMES = 5;

/** Binds the socket; rejects with the bind error (EADDRINUSE ...) so the pool can try another port. */
export async function bindRtpEndpoint(opts: RtpEndpointOptions): Promise<RtpEndpoint> {
  const socket = createSocket({ type: opts.address.includes(':') ? 'udp6' : 'udp4' });
  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error) => {
      socket.close();
      reject(err);
    };
    socket.once('error', failed);
    socket.bind({ address: opts.address, port: opts.port, exclusive: true }, () => {
      socket.off('error', failed);
      resolve();
    });
  });
  return new UdpRtpEndpoint(socket, opts);
}

interface Playing {
  stop(): void;
}

class UdpRtpEndpoint implements RtpEndpoint {
  readonly address: string;
  readonly port: number;
  readonly #socket: Socket;
  readonly #allowed: (address: string) => boolean;
  readonly #onClose: (() => void) | undefined;
  readonly #digits = new Set<(digit: string) => void>();
  readonly #events = new TelephoneEventDecoder();
  readonly #sequence = new RtpSequenceTracker();
  readonly #stats = { packetsSent: 0, packetsReceived: 0, packetsRelayed: 0, bytesReceived: 0, refusedPackets: 0 };
  #lastCodec: Codec | undefined;
  #remote: RtpRemote | undefined;
  /** The port the remote really sends from (symmetric RTP), once its first packet arrived. */
  /**
   * Where the remote's media really comes from (symmetric RTP, "comedia"): the first packet from an
   * allowed address fixes it, and from then on only that address and port are heard and sent to.
   * A phone's packets need not come from the address its SDP names: a softphone whose socket is
   * bound to every interface sends to 127.0.0.1 from 127.0.0.1, and one behind NAT from its
   * router's public address. Before the first packet, media goes to the SDP's address.
   */
  #latched: { address: string; port: number } | undefined;
  #peer: UdpRtpEndpoint | undefined;
  #playing: Playing | undefined;
  #closed: Promise<void> | undefined;
  // Our own stream for prompts: random SSRC, sequence and timestamp origin (RFC 3550 5.1).
  readonly #ssrc = randomInt(2 ** 32);
  #seq = randomInt(65536);
  #timestamp = randomInt(2 ** 32);
  #lastSentAt: number | undefined;

  constructor(socket: Socket, opts: RtpEndpointOptions) {
    this.#socket = socket;
    this.address = opts.address;
    this.port = opts.port === 0 ? socket.address().port : opts.port;
    this.#allowed = opts.allowed;
    this.#onClose = opts.onClose;
    // Errors on a UDP socket are per datagram (ICMP unreachable from a phone that hung up); the
    // call goes on, and its signalling decides when it is over.
    socket.on('error', () => {});
    socket.on('message', (msg, rinfo) => this.#receive(msg, rinfo));
  }

  setRemote(remote: RtpRemote): void {
    // An SDP port 0 (a refused stream) or a payload type out of range would only fail later, on
    // a send inside the socket's message handler; a caller is better told now.
    if (!Number.isInteger(remote.port) || remote.port < 1 || remote.port > 65535) throw new Error(`setRemote: bad RTP port ${remote.port}`);
    for (const pt of [remote.payloadType, remote.eventPayloadType ?? 0])
      if (!Number.isInteger(pt) || pt < 0 || pt > 127) throw new Error(`setRemote: bad payload type ${pt}`);
    const current = this.#remote;
    if (current === undefined || current.address !== remote.address || current.port !== remote.port) this.#latched = undefined;
    this.#remote = { ...remote };
  }

  play(prompt: Prompt, opts: { loop?: boolean } = {}): Promise<void> {
    this.stopPlaying();
    if (this.#closed !== undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const playing: Playing = {
        stop: () => {
          clearTimeout(timer);
          if (this.#playing === playing) this.#playing = undefined;
          resolve();
        },
      };
      this.#playing = playing;
      // The RTP clock runs on while nothing is sent, so a new talkspurt starts where wall time is.
      if (this.#lastSentAt !== undefined)
        this.#timestamp = (this.#timestamp + Math.max(0, Math.round(((performance.now() - this.#lastSentAt) * SAMPLES_PER_FRAME) / FRAME_MS))) >>> 0;
      let start = performance.now();
      let frame = 0;
      let marker = true;
      // Frame n is due at start + n * 20 ms: each timeout is set against that schedule, so timer
      // lateness does not add up over a prompt the way chained 20 ms intervals would.
      const tick = () => {
        const now = performance.now();
        if (now - (start + frame * FRAME_MS) > MAX_CATCH_UP_FRAMES * FRAME_MS) start = now - frame * FRAME_MS;
        while (start + frame * FRAME_MS <= now) {
          const remote = this.#remote;
          const frames = prompt.frames(remote?.codec ?? 'PCMU');
          if (frames.length === 0 || (!opts.loop && frame >= frames.length)) return playing.stop();
          if (remote !== undefined) {
            const packet = buildRtp({
              marker,
              payloadType: remote.payloadType,
              sequenceNumber: this.#seq,
              timestamp: this.#timestamp,
              ssrc: this.#ssrc,
              payload: frames[frame % frames.length]!,
            });
            this.#send(packet, remote);
            marker = false;
          }
          this.#seq = (this.#seq + 1) & 0xffff;
          this.#timestamp = (this.#timestamp + SAMPLES_PER_FRAME) >>> 0;
          this.#lastSentAt = now;
          frame += 1;
        }
        timer = setTimeout(tick, Math.max(0, start + frame * FRAME_MS - performance.now()));
      };
      tick();
    });
  }

  stopPlaying(): void {
    this.#playing?.stop();
  }

  onDigit(listener: (digit: string) => void): () => void {
    this.#digits.add(listener);
    return () => this.#digits.delete(listener);
  }

  bridgeTo(other: RtpEndpoint): void {
    if (!(other instanceof UdpRtpEndpoint)) throw new Error('bridgeTo: the other leg is not an RtpEndpoint of this pool');
    if (other === this) throw new Error('bridgeTo: an endpoint cannot be bridged to itself');
    if (this.#closed !== undefined || other.#closed !== undefined) throw new Error('bridgeTo: a closed endpoint cannot be bridged');
    this.unbridge();
    other.unbridge();
    this.stopPlaying();
    other.stopPlaying();
    this.#peer = other;
    other.#peer = this;
  }

  unbridge(): void {
    const peer = this.#peer;
    if (peer === undefined) return;
    this.#peer = undefined;
    if (peer.#peer === this) peer.#peer = undefined;
  }

  stats(): RtpStats {
    return { ...this.#stats, packetsLost: this.#sequence.lost(), ...(this.#lastCodec !== undefined ? { lastCodecReceived: this.#lastCodec } : {}) };
  }

  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.stopPlaying();
      this.unbridge();
      this.#digits.clear();
      this.#socket.close(() => {
        this.#onClose?.();
        resolve();
      });
    });
    return this.#closed;
  }

  #send(packet: Uint8Array, remote: RtpRemote): void {
    if (this.#closed !== undefined) return;
    try {
      this.#socket.send(packet, this.#latched?.port ?? remote.port, this.#latched?.address ?? remote.address);
      this.#stats.packetsSent += 1;
    } catch {
      // A send that throws (an address the socket family cannot reach) loses one packet; thrown
      // from a message handler it would take the whole node down with every other call.
    }
  }

  #receive(msg: Buffer, rinfo: RemoteInfo): void {
    const remote = this.#remote;
    if (remote === undefined) {
      this.#stats.refusedPackets += 1;
      return;
    }
    const latched = this.#latched;
    if (latched === undefined) {
      // The allowlist is asked once per call, for the packet that fixes the source.
      if (!this.#allowed(rinfo.address)) {
        this.#stats.refusedPackets += 1;
        return;
      }
      this.#latched = { address: rinfo.address, port: rinfo.port };
    } else if (rinfo.address !== latched.address || rinfo.port !== latched.port) {
      this.#stats.refusedPackets += 1;
      return;
    }
    const packet = parseRtp(msg);
    if (packet === undefined) return;
    this.#stats.packetsReceived += 1;
    this.#stats.bytesReceived += msg.length;
    this.#sequence.update(packet.ssrc, packet.sequenceNumber);
    if (remote.eventPayloadType !== undefined && packet.payloadType === remote.eventPayloadType) {
      const digit = this.#events.push(packet.payload, packet.timestamp);
      if (digit !== undefined) for (const listener of this.#digits) listener(digit);
      this.#relay(msg, packet, remote, true);
    } else if (packet.payloadType === remote.payloadType) {
      this.#lastCodec = remote.codec;
      this.#relay(msg, packet, remote, false);
    }
    // Other payload types (comfort noise, codecs we did not negotiate) are not passed on: the
    // other leg never agreed to them.
  }

  /**
   * Sends a packet of our remote on to the bridged leg's remote, header kept (SSRC, sequence and
   * timestamp of the sender, so loss and jitter stay visible end to end) and the payload type
   * rewritten to what that leg negotiated; audio is transcoded when the laws differ. The datagram
   * is ours alone, so it is rewritten in place.
   */
  #relay(msg: Buffer, packet: RtpPacket, from: RtpRemote, isEvent: boolean): void {
    const peer = this.#peer;
    if (peer === undefined) return;
    const to = peer.#remote;
    if (to === undefined) return;
    let payloadType: number;
    if (isEvent) {
      // A leg that did not offer telephone-event cannot take them; its key presses would need SIP INFO.
      if (to.eventPayloadType === undefined) return;
      payloadType = to.eventPayloadType;
    } else {
      payloadType = to.payloadType;
      if (from.codec !== to.codec) transcodeInto(packet.payload, from.codec, to.codec, packet.payload);
    }
    msg[1] = (msg[1]! & 0x80) | (payloadType & 0x7f);
    peer.#send(msg, to);
    this.#stats.packetsRelayed += 1;
  }
}
