/**
 * One SIP call of an attempt, to the customer or to an agent: the INVITE dialog and the RTP socket
 * GES terminates it on. GES is a back-to-back user agent (docs/VOICE-SIP.md, "Bridging"): every
 * leg's media ends in GES, so a prompt can be played and a key press read on it, and two legs are
 * joined by relaying their RTP.
 *
 * A leg is settled once: `answered` resolves with the answer or the failure, `ended` once the
 * call is over from either side; hanging up twice, or after the far end did, is harmless.
 */
import type { RtpEndpoint, RtpStats } from './media/rtp-endpoint.ts';
import type { Codec } from './media/codec.ts';
import { buildSdp, negotiate } from './signalling/sdp.ts';
import type { CallFailure, OutboundCall } from './signalling/outbound-call.ts';
import type { SipUserAgent } from './signalling/sip-user-agent.ts';

/** The codecs GES offers, in its order of preference, and the payload type of its telephone-events. */
export const OFFERED_CODECS: readonly Codec[] = ['PCMU', 'PCMA'];
export const TELEPHONE_EVENT_PT = 101;

export type LegRole = 'customer' | 'agent';

export type RingOutcome = { answered: true } | { answered: false; failure: CallFailure | { kind: 'no_media' } | { kind: 'cancelled' } };

export interface PlaceLeg {
  readonly role: LegRole;
  readonly uri: string;
  readonly from: { user: string; displayName?: string };
  readonly outboundProxy?: string;
  readonly auth?: { username: string; password: string };
  readonly ringTimeoutMs: number;
  readonly headers?: Record<string, string>;
}

export interface LegObserver {
  placed(role: LegRole): void;
  answered(role: LegRole): void;
  failed(role: LegRole, cause: string): void;
  closed(role: LegRole, stats: RtpStats): void;
}

export class CallLeg {
  readonly role: LegRole;
  readonly rtp: RtpEndpoint;
  readonly answered: Promise<RingOutcome>;
  /** Resolves when the call is over, with who ended it. */
  readonly ended: Promise<'remote' | 'local'>;
  #call: OutboundCall;
  #over = false;
  #endedBy: ((by: 'remote' | 'local') => void) | undefined;
  #digitListeners = new Set<(digit: string) => void>();
  readonly #observer: LegObserver | undefined;

  private constructor(role: LegRole, rtp: RtpEndpoint, call: OutboundCall, observer: LegObserver | undefined) {
    this.role = role;
    this.rtp = rtp;
    this.#call = call;
    this.#observer = observer;
    this.ended = new Promise((resolve) => (this.#endedBy = resolve));
    this.answered = new Promise<RingOutcome>((resolve) => {
      call.on('answered', (sdpAnswer) => {
        const remote = negotiate(sdpAnswer, OFFERED_CODECS);
        if (remote === undefined) {
          // Nothing GES can play or relay: an answered call without G.711 is ended at once.
          resolve({ answered: false, failure: { kind: 'no_media' } });
          this.hangUp();
          return;
        }
        rtp.setRemote(remote);
        observer?.answered(role);
        resolve({ answered: true });
      });
      call.on('failed', (why) => {
        observer?.failed(role, causeOf(why));
        resolve({ answered: false, failure: why });
        void this.#close('remote');
      });
    });
    call.on('ended', (by) => void this.#close(by));
    call.on('dtmf', (digit) => this.#digit(digit));
    rtp.onDigit((digit) => this.#digit(digit));
  }

  /** Opens the leg's RTP socket and sends the INVITE with GES's offer. */
  static async place(
    ua: Pick<SipUserAgent, 'invite'>,
    openRtp: () => Promise<RtpEndpoint>,
    req: PlaceLeg,
    observer?: LegObserver,
    now = Date.now,
  ): Promise<CallLeg> {
    const rtp = await openRtp();
    const sdpOffer = buildSdp({
      address: rtp.address,
      port: rtp.port,
      codecs: [...OFFERED_CODECS],
      telephoneEvent: TELEPHONE_EVENT_PT,
      sessionId: String(now()),
    });
    const call = ua.invite({
      uri: req.uri,
      from: req.from,
      ...(req.outboundProxy ? { outboundProxy: req.outboundProxy } : {}),
      ...(req.auth ? { auth: req.auth } : {}),
      sdpOffer,
      ringTimeoutMs: req.ringTimeoutMs,
      ...(req.headers ? { headers: req.headers } : {}),
    });
    observer?.placed(req.role);
    return new CallLeg(req.role, rtp, call, observer);
  }

  get over(): boolean {
    return this.#over;
  }

  /** Key presses from either path (RFC 4733 on the media, SIP INFO on the dialog). */
  onDigit(listener: (digit: string) => void): () => void {
    this.#digitListeners.add(listener);
    return () => this.#digitListeners.delete(listener);
  }

  /**
   * The first key pressed within `timeoutMs`, or undefined at the timeout or when the leg ends;
   * `signal` aborts the wait (the attempt was cancelled).
   */
  nextDigit(timeoutMs: number, signal?: AbortSignal): Promise<string | undefined> {
    return new Promise((resolve) => {
      const done = (digit: string | undefined) => {
        clearTimeout(timer);
        off();
        signal?.removeEventListener('abort', onAbort);
        resolve(digit);
      };
      const onAbort = () => done(undefined);
      const off = this.onDigit((digit) => done(digit));
      const timer = setTimeout(() => done(undefined), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      void this.ended.then(() => done(undefined));
    });
  }

  /** Ends the call whatever its state: CANCEL while it rings, BYE once answered. */
  hangUp(): void {
    if (this.#over) return;
    this.#call.hangUp();
    void this.#close('local');
  }

  #digit(digit: string): void {
    for (const listener of [...this.#digitListeners]) listener(digit);
  }

  async #close(by: 'remote' | 'local'): Promise<void> {
    if (this.#over) return;
    this.#over = true;
    this.#digitListeners.clear();
    const stats = this.rtp.stats();
    await this.rtp.close();
    this.#observer?.closed(this.role, stats);
    this.#endedBy?.(by);
  }
}

/** How a failure is named in logs and metrics: the SIP status, or the kind of failure without one. */
export function causeOf(why: CallFailure | { kind: 'no_media' } | { kind: 'cancelled' }): string {
  return why.kind === 'final' ? String(why.status) : why.kind;
}
