import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { createServer as createTcpServer, connect as tcpConnect, isIP, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls';
import * as sip from 'sip';
import type { Logger } from 'pino';

/**
 * GES's sockets around the `sip` package's parser and RFC 3261 transaction layer. The package's
 * own create() binds the sockets itself and parses every datagram before its callback sees it,
 * and it opens a server transaction for every request, kept until answered: a request dropped
 * unanswered (a scanner, a flood) would stay in memory for ever. Here the source address is
 * checked before a byte is parsed (UDP: per datagram; TCP/TLS: at accept, the connection is
 * destroyed), and `admit` is asked before a server transaction is created.
 */
export type SipProtocol = 'UDP' | 'TCP' | 'TLS';

export interface SipRemote {
  protocol: SipProtocol;
  address: string;
  port: number;
}

export interface SipStackOptions {
  address: string;
  publicAddress: string;
  port: number;
  transports: readonly ('udp' | 'tcp' | 'tls')[];
  tlsPort?: number;
  /** `ca`: the certificates outbound TLS trusts instead of the system's (a private trunk CA); names and IPs are checked either way. */
  tls?: { key: string; cert: string; ca?: string };
  allowed: (address: string) => boolean;
  logger: Logger;
  onRefusedNetwork?: () => void;
}

export interface SipStackHandlers {
  /** A request that opened no transaction yet (ACK of a 2xx included): answered through `respond`. */
  onRequest(m: sip.SipMessage, remote: SipRemote): void;
  /** Asked before a server transaction is created for a request: false drops it unanswered. */
  admit(m: sip.SipMessage, remote: SipRemote): boolean;
}

/** Bounds of a stream message, as the package's stream parser applies them: a peer sending more is disconnected. */
const MAX_HEADER_BYTES = 16_384;
const MAX_CONTENT_BYTES = 65_536;
const UDP_RECEIVE_BUFFER = 4 * 1024 * 1024;

export class SipStack {
  readonly #opts: SipStackOptions;
  readonly #handlers: SipStackHandlers;
  readonly #layer = sip.makeTransactionLayer({ 'max-forwards': 70 }, () => {
    throw new Error('unused: connections are passed in');
  });
  #udp: UdpSocket | undefined;
  readonly #servers: Server[] = [];
  /** Open stream connections by `protocol,address,port`: responses and in-dialog requests reuse the connection the peer opened. */
  readonly #streams = new Map<string, Socket>();
  #stopped = false;
  /** Responses the transaction layer made up itself (Timer B/F 408, connection errors 503): no peer sent them. */
  readonly #synthetic = new WeakSet<object>();

  constructor(opts: SipStackOptions, handlers: SipStackHandlers) {
    this.#opts = opts;
    this.#handlers = handlers;
  }

  get publicAddress(): string {
    return this.#opts.publicAddress;
  }

  get port(): number {
    return this.#opts.port;
  }

  /** True when a response was not received from the network but made by the transaction layer or a transport error. */
  isSynthetic(rs: sip.SipMessage): boolean {
    // Parsed messages always carry their version; the layer's makeResponse copies ours, which we never set.
    return this.#synthetic.has(rs) || rs.version === undefined;
  }

  async start(): Promise<void> {
    const { address, port, transports } = this.#opts;
    if (transports.includes('udp')) {
      const socket = createSocket({ type: isIP(address) === 6 ? 'udp6' : 'udp4' });
      socket.on('message', (data, rinfo) => this.#onDatagram(data, rinfo.address, rinfo.port));
      socket.on('error', (e) => this.#opts.logger.warn({ err: e }, 'sip: udp socket error'));
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(port, address, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      try {
        // A burst (a flood, a trunk's retransmissions after an outage) queues in the kernel instead of being lost before we drop it ourselves; capped by net.core.rmem_max.
        socket.setRecvBufferSize(UDP_RECEIVE_BUFFER);
      } catch {
        // The system's limit stays.
      }
      this.#udp = socket;
    }
    if (transports.includes('tcp')) {
      this.#servers.push(
        await this.#listen(
          createTcpServer((s) => this.#accept(s, 'TCP')),
          port,
        ),
      );
    }
    if (transports.includes('tls')) {
      const tls = this.#opts.tls;
      if (tls === undefined) throw new Error('sip: tls transport needs a key and a certificate');
      this.#servers.push(
        await this.#listen(
          createTlsServer({ key: tls.key, cert: tls.cert }, (s) => this.#accept(s, 'TLS')),
          this.#opts.tlsPort ?? 5061,
        ),
      );
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#layer.destroy();
    for (const s of this.#streams.values()) s.destroy();
    this.#streams.clear();
    await Promise.all(this.#servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    const udp = this.#udp;
    this.#udp = undefined;
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
  }

  /** Answers a request through its server transaction (retransmissions of the final response are the layer's). */
  respond(rs: sip.SipMessage): void {
    this.#layer.getServer(rs)?.send(rs);
  }

  /**
   * Sends a request: through a client transaction (its responses to `onResponse`), or, for an ACK,
   * as is. The next hop is the first Route (loose routing) or the request URI; a host name is
   * looked up (A/AAAA; no NAPTR/SRV: trunks are configured with an address or a name and port).
   */
  send(rq: sip.SipMessage, onResponse: (rs: sip.SipMessage) => void = () => {}): void {
    void this.#resolveHop(rq).then(
      (target) => {
        if (rq.method === 'ACK') {
          if (!Array.isArray(rq.headers.via) || rq.headers.via.length === 0) rq.headers.via = [{ params: { branch: sip.generateBranch() } }];
          const cn = this.#open(target, () => {});
          cn.send(rq);
          cn.release();
          return;
        }
        // CANCEL reuses the INVITE's Via (same branch, RFC 3261 9.1); every other request gets a fresh one, branch set by the layer.
        if (rq.method !== 'CANCEL') rq.headers.via = [{ params: {} }, ...(rq.headers.via ?? [])];
        // The connection's error reaches the transaction created just after it (a TCP connect fails asynchronously).
        const ref: { transaction?: sip.SipClientTransaction } = {};
        const fail = (detail: string) => {
          const rs = sip.makeResponse(rq, 503, detail);
          this.#synthetic.add(rs);
          ref.transaction?.message(rs);
        };
        const opened = this.#open(target, (e) => fail(e.message));
        // The layer builds the ACK of a failure without the INVITE's Route; RFC 3261 17.1.1.3 wants it there (a trunk behind a proxy checks).
        const cn: sip.SipConnection = {
          protocol: opened.protocol,
          release: () => opened.release(),
          send: (m) => {
            if (m.method === 'ACK' && m.headers.route === undefined && rq.headers.route !== undefined) m.headers.route = rq.headers.route;
            opened.send(m);
          },
        };
        ref.transaction = this.#layer.createClientTransaction(cn, rq, onResponse);
      },
      (e: Error) => {
        const rs = sip.makeResponse(rq, 503, `unresolved: ${e.message}`);
        this.#synthetic.add(rs);
        onResponse(rs);
      },
    );
  }

  async #resolveHop(rq: sip.SipMessage): Promise<SipRemote> {
    if (this.#stopped) throw new Error('stopped');
    const route = rq.headers.route?.[0];
    const hop = sip.parseUri(route !== undefined ? route.uri : (rq.uri ?? ''));
    if (hop === undefined) throw new Error('no next hop');
    const protocol = (hop.params.transport ?? (hop.schema === 'sips' ? 'tls' : 'udp')).toUpperCase() as SipProtocol;
    if (!['UDP', 'TCP', 'TLS'].includes(protocol) || !this.#opts.transports.includes(protocol.toLowerCase() as 'udp'))
      throw new Error(`transport ${protocol} not enabled`);
    const address = isIP(hop.host) !== 0 ? hop.host : (await lookup(hop.host)).address;
    const port = hop.port !== undefined && hop.port > 0 && Number.isFinite(hop.port) ? hop.port : protocol === 'TLS' ? 5061 : 5060;
    return { protocol, address, port };
  }

  #listen(server: Server, port: number): Promise<Server> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.#opts.address, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }

  #onDatagram(data: Buffer, address: string, port: number): void {
    if (!this.#opts.allowed(address)) {
      this.#opts.onRefusedNetwork?.();
      return;
    }
    const m = sip.parse(data);
    if (m !== undefined) this.#dispatch(m, { protocol: 'UDP', address, port });
  }

  #accept(socket: Socket, protocol: SipProtocol): void {
    const address = socket.remoteAddress ?? '';
    if (!this.#opts.allowed(address)) {
      this.#opts.onRefusedNetwork?.();
      socket.destroy();
      return;
    }
    this.#track(socket, { protocol, address, port: socket.remotePort ?? 0 });
  }

  #track(socket: Socket, remote: SipRemote): void {
    const key = `${remote.protocol},${remote.address},${remote.port}`;
    this.#streams.set(key, socket);
    socket.setEncoding('binary');
    // An idle connection nobody uses is closed, as the package does (a peer keeping hundreds open costs memory).
    socket.setTimeout(120_000, () => socket.destroy());
    socket.on(
      'data',
      sip.makeStreamParser(
        (m) => this.#dispatch(m, remote),
        () => socket.destroy(),
        MAX_HEADER_BYTES,
        MAX_CONTENT_BYTES,
      ),
    );
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.#streams.get(key) === socket) this.#streams.delete(key);
    });
  }

  #dispatch(m: sip.SipMessage, remote: SipRemote): void {
    const h = m.headers as Partial<sip.SipHeaders>;
    if (!(m.method !== undefined || (m.status !== undefined && m.status >= 100 && m.status <= 699))) return;
    if (!Array.isArray(h.via) || h.via.length === 0 || !h['call-id'] || !h.to || !h.from || !h.cseq) return;
    try {
      if (m.method === undefined) {
        this.#layer.getClient(m)?.message(m, remote);
        return;
      }
      const via = m.headers.via[0];
      if (via !== undefined) {
        via.params.received = remote.address;
        if ('rport' in via.params) via.params.rport = remote.port;
      }
      const t = this.#layer.getServer(m);
      if (t !== undefined) {
        t.message(m, remote);
        return;
      }
      if (m.method !== 'ACK') {
        if (!this.#handlers.admit(m, remote)) return;
        this.#layer.createServerTransaction(
          m,
          this.#open(remote, () => {}),
        );
      }
      this.#handlers.onRequest(m, remote);
    } catch (e) {
      this.#opts.logger.error({ err: e }, 'sip: request handling failed');
    }
  }

  /** A connection to `target`: UDP from our socket; a stream: the one the peer opened, or a new one. */
  #open(target: SipRemote, onError: (e: Error) => void): sip.SipConnection {
    const stamp = (m: sip.SipMessage, protocol: SipProtocol) => {
      const via = m.method !== undefined ? m.headers.via[0] : undefined;
      if (via !== undefined) {
        via.host = this.#opts.publicAddress;
        via.port = protocol === 'TLS' ? (this.#opts.tlsPort ?? 5061) : this.#opts.port;
        via.protocol = protocol;
        if (protocol === 'UDP') via.params.rport = null;
      }
    };
    if (target.protocol === 'UDP') {
      return {
        protocol: 'UDP',
        release: () => {},
        send: (m) => {
          stamp(m, 'UDP');
          const text = sip.stringify(m);
          this.#udp?.send(Buffer.from(text, 'binary'), target.port, target.address, (e) => {
            if (e) onError(e);
          });
        },
      };
    }
    const key = `${target.protocol},${target.address},${target.port}`;
    let socket = this.#streams.get(key);
    if (socket === undefined || socket.destroyed) {
      const created: Socket =
        target.protocol === 'TLS'
          ? tlsConnect({
              port: target.port,
              host: target.address,
              ...(isIP(target.address) === 0 ? { servername: target.address } : {}),
              ...(this.#opts.tls?.ca !== undefined ? { ca: this.#opts.tls.ca } : {}),
            })
          : tcpConnect({ port: target.port, host: target.address, localAddress: this.#opts.address });
      this.#track(created, target);
      socket = created;
    }
    const s = socket;
    const listener = (e: Error) => onError(e);
    // A peer closing the connection mid-transaction fails it now, not at Timer B 32 s later.
    const closed = () => onError(new Error('connection closed'));
    s.on('error', listener);
    s.on('close', closed);
    return {
      protocol: target.protocol,
      release: () => {
        s.off('error', listener);
        s.off('close', closed);
      },
      send: (m) => {
        stamp(m, target.protocol);
        s.write(sip.stringify(m), 'binary');
      },
    };
  }
}
