import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import * as sip from 'sip';
import type { Logger } from 'pino';
import { answerChallenge, type AuthHeader } from './digest.ts';
import { dtmfOfInfo } from './info-dtmf.ts';
import type { SipStack } from './sip-stack.ts';
import { maskUri } from './mask-uri.ts';

/**
 * One call GES places (a customer or an agent leg), UAC side of RFC 3261: the INVITE, its
 * provisional and final responses, the ACK of the 2xx (ours: the transaction layer ACKs only
 * failures), the ring timeout's CANCEL, one answer to a 401/407, and the dialog afterwards (BYE
 * either way, INFO DTMF, session refreshes). Emits progress, answered, failed, ended, dtmf.
 */
export type CallFailure = { kind: 'final'; status: number } | { kind: 'ring_timeout' } | { kind: 'transport'; detail: string };

export interface InviteRequest {
  uri: string;
  from: { user: string; displayName?: string };
  outboundProxy?: string;
  auth?: { username: string; password: string };
  sdpOffer: string;
  ringTimeoutMs: number;
  headers?: Record<string, string>;
}

/** What a call needs of its user agent. */
export interface CallHost {
  readonly stack: SipStack;
  readonly logger: Logger;
  /** Contact URI of GES on this transport (sip:ges@publicAddress:port;transport=...). */
  contactFor(uri: string): string;
  addDialog(key: string, call: OutboundCall): void;
  removeDialog(key: string): void;
}

type State = 'calling' | 'early' | 'cancelling' | 'answered' | 'ended' | 'failed';

export interface CallEvents {
  progress: (status: number) => void;
  answered: (sdpAnswer: string) => void;
  failed: (why: CallFailure) => void;
  ended: (by: 'remote' | 'local') => void;
  dtmf: (digit: string) => void;
}

const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE';

export class OutboundCall extends EventEmitter {
  readonly callId = `${randomBytes(12).toString('hex')}@ges`;
  readonly #host: CallHost;
  readonly #req: InviteRequest;
  readonly #fromTag = randomBytes(6).toString('hex');
  #state: State = 'calling';
  #cseq = 1;
  #invite: sip.SipMessage | undefined;
  #authTried = false;
  #cancelPending = false;
  /** Why the call is being cancelled: the ring timeout, or cancel() by the caller. */
  #cancelReason: 'ring_timeout' | 'local' = 'ring_timeout';
  #ringTimer: NodeJS.Timeout | undefined;
  #sessionTimer: NodeJS.Timeout | undefined;
  #remoteTag: string | undefined;
  #remoteTarget: string | undefined;
  #routeSet: sip.SipAddress[] = [];
  #ack: sip.SipMessage | undefined;
  #remoteSeq = -1;
  #lastProgress = 0;
  #answeredAt: number | undefined;

  override on<K extends keyof CallEvents>(event: K, listener: CallEvents[K]): this {
    return super.on(event, listener);
  }

  override once<K extends keyof CallEvents>(event: K, listener: CallEvents[K]): this {
    return super.once(event, listener);
  }

  constructor(host: CallHost, req: InviteRequest) {
    super();
    this.#host = host;
    this.#req = req;
    // Emitted after the caller had a chance to subscribe.
    process.nextTick(() => this.#sendInvite(undefined));
    this.#ringTimer = setTimeout(() => this.#onRingTimeout(), req.ringTimeoutMs);
  }

  /** When the 2xx arrived (ms since the epoch), undefined before. */
  get answeredAt(): number | undefined {
    return this.#answeredAt;
  }

  get state(): State {
    return this.#state;
  }

  get #dialogKey(): string {
    return `${this.callId};${this.#fromTag}`;
  }

  /** Before answer: CANCEL, and failed { final 487 } at once (the caller gave up, what the far end says no longer matters); after: BYE. */
  cancel(): void {
    if (this.#state === 'answered') this.#bye();
    else if (this.#state === 'calling' || this.#state === 'early') {
      this.#cancelReason = 'local';
      this.#startCancel();
      this.#fail({ kind: 'final', status: 487 });
    }
  }

  hangUp(): void {
    this.cancel();
  }

  #fromHeader(): sip.SipAddress {
    const d = this.#req.from.displayName;
    return {
      ...(d !== undefined ? { name: `"${d.replace(/["\\]/g, '')}"` } : {}),
      uri: `sip:${this.#req.from.user}@${this.#host.stack.publicAddress}`,
      params: { tag: this.#fromTag },
    };
  }

  #sendInvite(auth: { header: 'authorization' | 'proxy-authorization'; value: AuthHeader } | undefined): void {
    if (this.#state !== 'calling' && this.#state !== 'early') return;
    const headers: sip.SipHeaders = {
      via: [],
      to: { uri: this.#req.uri, params: {} },
      from: this.#fromHeader(),
      'call-id': this.callId,
      cseq: { seq: this.#cseq, method: 'INVITE' },
      contact: [{ uri: this.#host.contactFor(this.#req.outboundProxy ?? this.#req.uri), params: {} }],
      'max-forwards': '70',
      allow: ALLOW,
      'content-type': 'application/sdp',
      ...(this.#req.headers ?? {}),
    };
    if (this.#req.outboundProxy !== undefined) headers.route = [{ uri: withLr(this.#req.outboundProxy), params: {} }];
    if (auth !== undefined) headers[auth.header] = [auth.value];
    const invite: sip.SipMessage = { method: 'INVITE', uri: this.#req.uri, headers, content: this.#req.sdpOffer };
    this.#invite = invite;
    this.#host.stack.send(invite, (rs) => this.#onResponse(invite, rs));
  }

  #onResponse(invite: sip.SipMessage, rs: sip.SipMessage): void {
    const status = rs.status ?? 0;
    if (invite !== this.#invite) {
      // A 2xx to an INVITE we replaced (after a challenge) cannot come; a 2xx after a CANCEL crossed is handled below.
      return;
    }
    if (status < 200) {
      if (status === 100) return;
      if (this.#state === 'calling') this.#state = 'early';
      if (this.#cancelPending) {
        this.#cancelPending = false;
        this.#sendCancel();
      }
      // A provisional retransmitted by the far end (UDP) is one event, a 183 after a 180 another.
      if (this.#state === 'early' && status !== this.#lastProgress) {
        this.#lastProgress = status;
        this.emit('progress', status);
      }
      return;
    }
    if (status < 300) {
      this.#onAnswer(rs);
      return;
    }
    if (this.#state === 'failed' || this.#state === 'ended' || this.#state === 'answered') return;
    if ((status === 401 || status === 407) && this.#req.auth !== undefined && !this.#authTried && this.#state !== 'cancelling') {
      this.#authTried = true;
      const challenges = (status === 401 ? rs.headers['www-authenticate'] : rs.headers['proxy-authenticate']) ?? [];
      const answer = answerChallenge(challenges, this.#req.auth, 'INVITE', this.#req.uri);
      if (answer !== undefined) {
        this.#cseq += 1;
        this.#sendInvite({ header: status === 401 ? 'authorization' : 'proxy-authorization', value: answer });
        return;
      }
    }
    if (this.#state === 'cancelling') {
      this.#fail(this.#cancelReason === 'ring_timeout' ? { kind: 'ring_timeout' } : { kind: 'final', status });
      return;
    }
    if (this.#host.stack.isSynthetic(rs)) this.#fail({ kind: 'transport', detail: `${status} ${rs.reason ?? ''}`.trim() });
    else this.#fail({ kind: 'final', status });
  }

  #onAnswer(rs: sip.SipMessage): void {
    if (this.#ack !== undefined) {
      // A retransmitted 2xx: our ACK was lost (UDP), send it again.
      this.#host.stack.send(structuredClone(this.#ack));
      return;
    }
    this.#remoteTag = rs.headers.to.params.tag ?? undefined;
    const contact = Array.isArray(rs.headers.contact) ? rs.headers.contact[0] : undefined;
    this.#remoteTarget = contact !== undefined ? sip.stringifyUri(contact.uri) : this.#req.uri;
    this.#routeSet = [...(rs.headers['record-route'] ?? [])].reverse();
    this.#ack = this.#inDialog('ACK', this.#cseq);
    this.#host.stack.send(structuredClone(this.#ack));
    if (this.#state === 'failed' || this.#state === 'cancelling' || this.#state === 'ended') {
      // The 2xx crossed our CANCEL (or came after we gave up): the call exists, end it at once.
      this.#host.addDialog(this.#dialogKey, this);
      this.#state = this.#state === 'cancelling' ? 'cancelling' : this.#state;
      this.#sendBye();
      if (this.#state === 'cancelling') this.#fail(this.#cancelReason === 'ring_timeout' ? { kind: 'ring_timeout' } : { kind: 'final', status: 487 });
      return;
    }
    this.#clearRing();
    this.#state = 'answered';
    this.#answeredAt = Date.now();
    this.#host.addDialog(this.#dialogKey, this);
    this.#armSessionTimer(rs.headers['session-expires']);
    this.emit('answered', rs.content ?? '');
  }

  /** A request inside the dialog, from the far end (its CSeq space). */
  handleRequest(rq: sip.SipMessage): void {
    const method = rq.method ?? '';
    if (method === 'ACK') return;
    const seq = rq.headers.cseq.seq;
    if (seq <= this.#remoteSeq && method !== 'CANCEL') {
      this.#respond(rq, 500, 'Server Internal Error', { 'retry-after': '1' });
      return;
    }
    this.#remoteSeq = Math.max(this.#remoteSeq, seq);
    switch (method) {
      case 'BYE':
        this.#respond(rq, 200, 'OK');
        this.#finish('remote');
        return;
      case 'INFO': {
        const digit = dtmfOfInfo(String(rq.headers['content-type'] ?? ''), rq.content ?? '');
        this.#respond(rq, 200, 'OK');
        if (digit !== undefined && this.#state === 'answered') this.emit('dtmf', digit);
        return;
      }
      case 'INVITE':
      case 'UPDATE': {
        // A session refresh or a hold: the media stays as negotiated, we answer our same SDP (RFC 4028 refreshes keep the dialog alive).
        this.#armSessionTimer(rq.headers['session-expires']);
        const withSdp = method === 'INVITE' || (rq.content ?? '') !== '';
        this.#respond(
          rq,
          200,
          'OK',
          {
            contact: [{ uri: this.#host.contactFor(this.#remoteTarget ?? this.#req.uri), params: {} }],
            ...(withSdp ? { 'content-type': 'application/sdp' } : {}),
          },
          withSdp ? this.#req.sdpOffer : undefined,
        );
        return;
      }
      case 'OPTIONS':
        this.#respond(rq, 200, 'OK', { allow: ALLOW });
        return;
      default:
        this.#respond(rq, 405, 'Method Not Allowed', { allow: ALLOW });
    }
  }

  #respond(rq: sip.SipMessage, status: number, reason: string, headers: Record<string, unknown> = {}, content?: string): void {
    this.#host.stack.respond(sip.makeResponse(rq, status, reason, { headers, ...(content !== undefined ? { content } : {}) }));
  }

  #inDialog(method: string, seq: number): sip.SipMessage {
    const headers: sip.SipHeaders = {
      via: [],
      to: { uri: this.#req.uri, params: this.#remoteTag !== undefined ? { tag: this.#remoteTag } : {} },
      from: this.#fromHeader(),
      'call-id': this.callId,
      cseq: { seq, method },
      'max-forwards': '70',
    };
    if (this.#routeSet.length > 0) headers.route = this.#routeSet.map((r) => ({ ...r }));
    else if (this.#req.outboundProxy !== undefined) headers.route = [{ uri: withLr(this.#req.outboundProxy), params: {} }];
    return { method, uri: this.#remoteTarget ?? this.#req.uri, headers };
  }

  #onRingTimeout(): void {
    this.#ringTimer = undefined;
    if (this.#state !== 'calling' && this.#state !== 'early') return;
    this.#cancelReason = 'ring_timeout';
    this.#startCancel();
    // The outcome is the ring timeout whatever the far end answers the CANCEL (487, nothing at all).
    this.#fail({ kind: 'ring_timeout' });
  }

  #startCancel(): void {
    const early = this.#state === 'early';
    this.#state = 'cancelling';
    this.#clearRing();
    // RFC 3261 9.1: no CANCEL before a provisional response; it goes out with the first one.
    if (early) this.#sendCancel();
    else this.#cancelPending = true;
  }

  #sendCancel(): void {
    const invite = this.#invite;
    const top = invite?.headers.via[0];
    if (invite === undefined || top === undefined) return;
    const cancel: sip.SipMessage = {
      method: 'CANCEL',
      uri: invite.uri ?? this.#req.uri,
      headers: {
        via: [structuredClone(top)],
        to: { ...invite.headers.to, params: {} },
        from: invite.headers.from,
        'call-id': this.callId,
        cseq: { seq: invite.headers.cseq.seq, method: 'CANCEL' },
        'max-forwards': '70',
        ...(invite.headers.route !== undefined ? { route: invite.headers.route } : {}),
      },
    };
    this.#host.stack.send(cancel);
  }

  #bye(): void {
    if (this.#state !== 'answered') return;
    this.#sendBye();
    this.#finish('local');
  }

  #sendBye(): void {
    this.#cseq += 1;
    const bye = this.#inDialog('BYE', this.#cseq);
    this.#host.stack.send(bye, (rs) => {
      if ((rs.status ?? 0) >= 300) this.#host.logger.debug({ status: rs.status, to: maskUri(this.#req.uri) }, 'sip: BYE refused');
    });
    this.#host.removeDialog(this.#dialogKey);
  }

  #armSessionTimer(header: unknown): void {
    if (this.#sessionTimer !== undefined) clearTimeout(this.#sessionTimer);
    this.#sessionTimer = undefined;
    const seconds = typeof header === 'string' ? parseInt(header, 10) : NaN;
    if (!Number.isFinite(seconds) || seconds <= 0 || this.#state !== 'answered') return;
    // We never advertise `timer` support, so the far end refreshes (RFC 4028 9); without a refresh by
    // the interval's end the session is dead on its side: BYE, reported as ended by the remote.
    this.#sessionTimer = setTimeout(() => {
      if (this.#state !== 'answered') return;
      this.#sendBye();
      this.#finish('remote');
    }, seconds * 1000);
  }

  #finish(by: 'remote' | 'local'): void {
    if (this.#state !== 'answered') return;
    this.#state = 'ended';
    this.#clearTimers();
    this.#host.removeDialog(this.#dialogKey);
    this.emit('ended', by);
  }

  #fail(why: CallFailure): void {
    if (this.#state === 'failed' || this.#state === 'ended' || this.#state === 'answered') return;
    this.#state = 'failed';
    this.#clearTimers();
    this.emit('failed', why);
  }

  #clearRing(): void {
    if (this.#ringTimer !== undefined) clearTimeout(this.#ringTimer);
    this.#ringTimer = undefined;
  }

  #clearTimers(): void {
    this.#clearRing();
    if (this.#sessionTimer !== undefined) clearTimeout(this.#sessionTimer);
    this.#sessionTimer = undefined;
  }
}

function withLr(uri: string): string {
  return /;lr\b/.test(uri) ? uri : `${uri};lr`;
}
