import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy for fault tests. `blackhole()` stops delivering bytes in both directions without
 * closing anything, as a network partition does while TCP keeps retransmitting: clients see a
 * server that is there and silent. What was sent meanwhile is held and delivered in order on
 * `restore()`, as the retransmissions would be once the partition heals. `cut()` resets every
 * connection instead (the server went away).
 */
export class TcpProxy {
  #server: Server | undefined;
  #holed = false;
  readonly #pairs = new Set<{ client: Socket; upstream: Socket; held: [Socket, Buffer][] }>();

  constructor(
    private readonly targetPort: number,
    private readonly targetHost = '127.0.0.1',
  ) {}

  async start(port = 0): Promise<number> {
    const server = createServer((client) => this.#accept(client));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  #accept(client: Socket): void {
    const upstream = connect(this.targetPort, this.targetHost);
    const pair = { client, upstream, held: [] as [Socket, Buffer][] };
    this.#pairs.add(pair);
    const forward = (to: Socket) => (chunk: Buffer) => {
      if (this.#holed) pair.held.push([to, chunk]);
      else to.write(chunk);
    };
    client.on('data', forward(upstream));
    upstream.on('data', forward(client));
    const close = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  }

  /** From now on nothing gets through, in either direction, and nothing is closed. */
  blackhole(): void {
    this.#holed = true;
  }

  /** Delivers what was held, in order, and lets traffic through again. */
  restore(): void {
    this.#holed = false;
    for (const pair of this.#pairs) {
      for (const [to, chunk] of pair.held.splice(0)) to.write(chunk);
    }
  }

  /** Resets every open connection (new ones are still accepted). */
  cut(): void {
    for (const pair of this.#pairs) {
      pair.client.resetAndDestroy();
      pair.upstream.destroy();
    }
    this.#pairs.clear();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}
