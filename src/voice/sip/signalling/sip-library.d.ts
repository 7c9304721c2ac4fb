/**
 * Typing of the parts of the `sip` package (kirm/sip.js 0.0.6, CommonJS, untyped) GES uses: its
 * message parser and serializer and its RFC 3261 transaction layer (retransmission timers A-K).
 * GES runs its own sockets around them (sip-transport.ts) so that a request from a network not
 * allowed is dropped before it is parsed and a flood never creates transactions.
 */
declare module 'sip' {
  export interface SipUri {
    schema?: string;
    user?: string;
    password?: string;
    host: string;
    port?: number;
    params: Record<string, string | null>;
    headers: Record<string, string>;
  }
  export interface SipAddress {
    name?: string;
    uri: string | SipUri;
    params: Record<string, string | null>;
  }
  export interface SipVia {
    version?: string;
    protocol?: string;
    host?: string;
    port?: number;
    params: Record<string, string | null | number>;
  }
  export interface SipCSeq {
    seq: number;
    method: string;
  }
  /** Parsed auth header: `scheme` plus the raw (quoted where they were) parameters. */
  export type SipAuthHeader = { scheme: string } & Record<string, string>;
  export interface SipHeaders {
    via: SipVia[];
    to: SipAddress;
    from: SipAddress;
    'call-id': string;
    cseq: SipCSeq;
    contact?: SipAddress[] | '*';
    route?: SipAddress[];
    'record-route'?: SipAddress[];
    'content-type'?: string;
    'content-length'?: number;
    'www-authenticate'?: SipAuthHeader[];
    'proxy-authenticate'?: SipAuthHeader[];
    authorization?: SipAuthHeader[];
    'proxy-authorization'?: SipAuthHeader[];
    [name: string]: unknown;
  }
  export interface SipMessage {
    method?: string;
    uri?: string | SipUri;
    version?: string;
    status?: number;
    reason?: string;
    headers: SipHeaders;
    content?: string;
  }
  /** A way to send on one flow, as the transaction layer wants it. */
  export interface SipConnection {
    send(m: SipMessage): void;
    release(): void;
    protocol: string;
  }
  export interface SipClientTransaction {
    message(m: SipMessage, remote?: unknown): void;
    shutdown(): void;
  }
  export interface SipServerTransaction {
    send(m: SipMessage): void;
    message(m: SipMessage, remote?: unknown): void;
    shutdown(): void;
  }
  export interface SipTransactionLayer {
    createServerTransaction(rq: SipMessage, cn: SipConnection): SipServerTransaction;
    createClientTransaction(cn: SipConnection, rq: SipMessage, callback: (rs: SipMessage) => void): SipClientTransaction;
    getServer(m: SipMessage): SipServerTransaction | undefined;
    getClient(m: SipMessage): SipClientTransaction | undefined;
    destroy(): void;
  }

  export function parse(data: string | Buffer): SipMessage | undefined;
  export function stringify(m: SipMessage): string;
  export function parseUri(s: string | SipUri): SipUri | undefined;
  export function stringifyUri(u: string | SipUri): string;
  export function makeResponse(
    rq: SipMessage,
    status: number,
    reason?: string,
    extension?: { headers?: Record<string, unknown>; content?: string },
  ): SipMessage;
  export function makeTransactionLayer(
    options: { 'max-forwards'?: number },
    open: (target: unknown, onError?: (e: Error) => void) => SipConnection,
  ): SipTransactionLayer;
  export function makeStreamParser(
    onMessage: (m: SipMessage) => void,
    onFlood?: () => void,
    maxBytesHeaders?: number,
    maxContentLength?: number,
  ): (data: string) => void;
  export function generateBranch(): string;
  export function stringifyAuthHeader(a: SipAuthHeader): string;
}
