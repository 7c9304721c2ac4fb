/**
 * Writes items to Redis in order, in batches, each batch one MULTI/EXEC. The platform produces
 * events synchronously inside simulator steps where nothing can await; this queue keeps their
 * order, makes every batch all-or-nothing (a consumer never sees half of a presence change) and
 * retries a batch until Redis takes it, so a Redis blip delays events instead of losing them.
 *
 * A batch whose EXEC failed on the connection is retried whole: if Redis had in fact applied it,
 * its entries appear twice, which at-least-once readers tolerate. A command refused inside EXEC
 * (wrong key type) would be refused again, so that batch is logged and dropped.
 * All keys of one writer must share a cluster slot (a MULTI cannot span slots).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { ChainableCommander } from 'ioredis';
import type { Logger } from 'pino';
import { backoffMs, errorMessage, type RedisClient } from './redis-client.ts';

export interface MultiBatchWriterOptions<T> {
  readonly client: RedisClient;
  readonly label: string;
  readonly logger: Logger;
  /** Queues the commands of `items` on the transaction. */
  build(multi: ChainableCommander, items: readonly T[]): void;
  /** Hears the replies of a batch Redis has taken, command by command in the order build queued them. */
  written?(items: readonly T[], replies: readonly unknown[]): void;
  /** Items per MULTI. Default 200. */
  readonly maxBatch?: number;
}

export class MultiBatchWriter<T> {
  readonly #o: MultiBatchWriterOptions<T>;
  readonly #queue: T[] = [];
  #draining: Promise<void> | undefined;
  readonly #abort = new AbortController();

  constructor(options: MultiBatchWriterOptions<T>) {
    this.#o = options;
  }

  /** Items not yet written. */
  get pending(): number {
    return this.#queue.length;
  }

  push(item: T): void {
    this.#queue.push(item);
    // Started on the next turn, so everything one simulator step emits goes in one batch.
    this.#draining ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#drain());
  }

  /** Resolves once everything pushed so far is written, or when `timeoutMs` runs out; returns what is left. */
  async flush(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.#draining !== undefined && Date.now() < deadline) {
      await Promise.race([this.#draining, delay(Math.max(1, deadline - Date.now()), undefined, { ref: false })]);
    }
    return this.#queue.length;
  }

  /** Gives up retrying (after flush): what is still queued is lost, and reported. */
  close(): number {
    this.#abort.abort();
    const lost = this.#queue.length;
    if (lost > 0) this.#o.logger.error({ stream: this.#o.label, lost }, 'entries not written before shutdown');
    this.#queue.length = 0;
    return lost;
  }

  async #drain(): Promise<void> {
    const o = this.#o;
    const max = o.maxBatch ?? 200;
    let failures = 0;
    try {
      while (this.#queue.length > 0 && !this.#abort.signal.aborted) {
        const batch = this.#queue.slice(0, max);
        try {
          const multi = o.client.multi();
          o.build(multi, batch);
          const results = await multi.exec();
          if (results === null) throw new Error('transaction aborted');
          const refused = results.find(([error]) => error);
          if (refused) o.logger.error({ stream: o.label, items: batch.length, err: errorMessage(refused[0]) }, 'batch refused by Redis; dropped');
          this.#queue.splice(0, batch.length);
          failures = 0;
          if (!refused)
            o.written?.(
              batch,
              results.map(([, reply]) => reply),
            );
        } catch (error) {
          failures += 1;
          o.logger.warn({ stream: o.label, err: errorMessage(error), failures, queued: this.#queue.length }, 'write failed; retrying');
          await delay(backoffMs(failures), undefined, { signal: this.#abort.signal }).catch(() => undefined);
        }
      }
    } finally {
      this.#draining = undefined;
    }
  }
}
