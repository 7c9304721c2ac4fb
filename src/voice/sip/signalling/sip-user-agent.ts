import * as sip from 'sip';
import type { Logger } from 'pino';
import type { SipRegistrationBook } from '../sip-agent-directory.ts';
import { FloodGuard } from './flood-guard.ts';
import { OutboundCall, type InviteRequest } from './outbound-call.ts';
import { Registrar } from './registrar.ts';
import { SipStack, type SipRemote } from './sip-stack.ts';
import type { DigestAlgorithm, DigestServer } from './digest.ts';

/**
 * GES's SIP user agent: the listeners, the request router, and the calls it places. GES only
 * places calls (customers, agents) and registers agents' softphones; an INVITE to it is refused
 * with 480 (no inbound calls over SIP yet), an unknown method with 405. What comes from outside
 * the allowed networks is dropped unparsed; out-of-dialog requests above the per-source rate are
 * dropped unanswered.
 */
export interface SipUserAgentOptions {
  address: string;
  publicAddress: string;
  port: number;
  transports: ('udp' | 'tcp' | 'tls')[];
  tlsPort?: number;
  tls?: { key: string; cert: string; ca?: string };
  allowed: (address: string) => boolean;
  flood: { perSecond: number; burst: number };
  registrar?: {
    book: SipRegistrationBook;
    domain: string;
    defaultTenant: string;
    minExpiresSec: number;
    maxExpiresSec: number;
    digest?: DigestServer;
    algorithms?: readonly DigestAlgorithm[];
  };
  logger: Logger;
  metrics?: { refused(reason: 'network' | 'flood' | 'auth'): void };
}

const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REGISTER';

export class SipUserAgent {
  readonly stack: SipStack;
  readonly logger: Logger;
  readonly flood: FloodGuard;
  readonly #opts: SipUserAgentOptions;
  readonly #dialogs = new Map<string, OutboundCall>();
  readonly #registrar: Registrar | undefined;

  constructor(opts: SipUserAgentOptions) {
    this.#opts = opts;
    this.logger = opts.logger;
    this.flood = new FloodGuard({ ...opts.flood, logger: opts.logger, onDrop: () => opts.metrics?.refused('flood') });
    this.stack = new SipStack(
      { ...opts, publicAddress: opts.publicAddress || opts.address, onRefusedNetwork: () => opts.metrics?.refused('network') },
      { onRequest: (m, remote) => this.#route(m, remote), admit: (m, remote) => this.#admit(m, remote) },
    );
    this.#registrar =
      opts.registrar &&
      new Registrar({ ...opts.registrar, logger: opts.logger, ...(opts.metrics ? { onRefusedAuth: () => opts.metrics?.refused('auth') } : {}) });
  }

  start(): Promise<void> {
    return this.stack.start();
  }

  async stop(): Promise<void> {
    for (const call of [...this.#dialogs.values()]) call.hangUp();
    this.#dialogs.clear();
    // The BYEs above leave after their next hop is resolved (a promise): let them out before the sockets close.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await this.stack.stop();
  }

  /** Calls in a dialog now (answered, not yet ended). */
  dialogs(): number {
    return this.#dialogs.size;
  }

  invite(req: InviteRequest): OutboundCall {
    const host = {
      stack: this.stack,
      logger: this.logger,
      contactFor: (uri: string) => this.#contactFor(uri),
      addDialog: (key: string, call: OutboundCall) => this.#dialogs.set(key, call),
      removeDialog: (key: string) => this.#dialogs.delete(key),
    };
    return new OutboundCall(host, req);
  }

  /** GES's Contact on the transport the call goes out on (the transport parameter of the next hop). */
  #contactFor(uri: string): string {
    const transport = sip.parseUri(uri)?.params.transport?.toLowerCase();
    const port = transport === 'tls' ? (this.#opts.tlsPort ?? 5061) : this.#opts.port;
    return `sip:ges@${this.stack.publicAddress}:${port}${transport !== undefined && transport !== 'udp' ? `;transport=${transport}` : ''}`;
  }

  #dialogOf(m: sip.SipMessage): OutboundCall | undefined {
    const tag = m.headers.to.params.tag;
    return tag ? this.#dialogs.get(`${m.headers['call-id']};${tag}`) : undefined;
  }

  /** In-dialog requests of our calls always pass; anything else costs a token of its source. */
  #admit(m: sip.SipMessage, remote: SipRemote): boolean {
    if (this.#dialogOf(m) !== undefined) return true;
    return this.flood.admit(remote.address);
  }

  #route(m: sip.SipMessage, remote: SipRemote): void {
    const method = m.method ?? '';
    const dialog = this.#dialogOf(m);
    if (dialog !== undefined) {
      dialog.handleRequest(m);
      return;
    }
    if (method === 'ACK') return;
    const reply = (status: number, reason: string, headers: Record<string, unknown> = {}) => {
      const rs = sip.makeResponse(m, status, reason, { headers });
      // Our tag on every final answer of an out-of-dialog request (RFC 3261 8.2.6.2).
      if (!rs.headers.to.params.tag) rs.headers.to = { ...rs.headers.to, params: { ...rs.headers.to.params, tag: randomTag() } };
      this.stack.respond(rs);
    };
    if (m.headers.to.params.tag) {
      reply(481, 'Call/Transaction Does Not Exist');
      return;
    }
    switch (method) {
      case 'REGISTER':
        if (this.#registrar === undefined) return reply(405, 'Method Not Allowed', { allow: ALLOW.replace(', REGISTER', '') });
        this.#registrar.handle(m, reply).catch((e: unknown) => {
          this.logger.error({ err: e, source: remote.address }, 'sip: REGISTER failed');
          reply(500, 'Server Internal Error');
        });
        return;
      case 'OPTIONS':
        return reply(200, 'OK', { allow: ALLOW, accept: 'application/sdp' });
      case 'INVITE':
        // GES takes no inbound calls over SIP (yet): "temporarily unavailable" tells a PBX to try elsewhere.
        return reply(480, 'Temporarily Unavailable');
      case 'CANCEL':
        return reply(481, 'Call/Transaction Does Not Exist');
      default:
        return reply(405, 'Method Not Allowed', { allow: ALLOW });
    }
  }
}

function randomTag(): string {
  return Math.random().toString(36).slice(2, 12);
}
