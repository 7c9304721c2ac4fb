/**
 * Hands out RTP sockets on the configured port range, one per call leg, on even ports only (RFC
 * 3550 11: RTP on the even port, RTCP on the odd one above, which we leave unbound). Ports are
 * taken round-robin so a port just released is not reused at once, and a late packet of the last
 * call on it is not mistaken for the next call's.
 */
import { bindRtpEndpoint, type RtpEndpoint } from './rtp-endpoint.ts';

export interface RtpPortPoolOptions {
  address: string;
  minPort: number;
  maxPort: number;
  allowed: (address: string) => boolean;
}

export class RtpPortPool {
  readonly #opts: RtpPortPoolOptions;
  readonly #first: number;
  readonly #count: number;
  readonly #used = new Set<number>();
  #next = 0;

  constructor(opts: RtpPortPoolOptions) {
    this.#first = opts.minPort + (opts.minPort % 2);
    this.#count = Math.floor((opts.maxPort - this.#first) / 2) + 1;
    if (!(opts.minPort > 0 && opts.maxPort <= 65535 && this.#count > 0)) throw new Error(`RTP port range ${opts.minPort}-${opts.maxPort} holds no even port`);
    this.#opts = { ...opts };
  }

  async open(): Promise<RtpEndpoint> {
    for (let tried = 0; tried < this.#count; tried += 1) {
      const port = this.#first + 2 * this.#next;
      this.#next = (this.#next + 1) % this.#count;
      if (this.#used.has(port)) continue;
      // Taken before the bind completes, so two concurrent opens never race for one port.
      this.#used.add(port);
      try {
        return await bindRtpEndpoint({ address: this.#opts.address, port, allowed: this.#opts.allowed, onClose: () => this.#used.delete(port) });
      } catch (err) {
        this.#used.delete(port);
        // Another process holds it: try the next one.
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EADDRINUSE' && code !== 'EACCES') throw err;
      }
    }
    throw new Error(`no free RTP port in ${this.#opts.minPort}-${this.#opts.maxPort} on ${this.#opts.address} (${this.#used.size} in use)`);
  }

  inUse(): number {
    return this.#used.size;
  }
}
