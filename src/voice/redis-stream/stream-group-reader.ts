/**
 * Reads one stream through a consumer group, at least once: an entry is acknowledged (XACK) only
 * after its work has settled successfully, so an entry read by a process that dies stays pending
 * and another consumer takes it over (XAUTOCLAIM) once it has been idle `claimIdleMs`. Used by
 * GES's adapter for the event stream and by the platform for the command stream.
 *
 * - Reads block on a dedicated connection (see blockingConnection) for `blockMs`; an idle reader
 *   costs one XREADGROUP per `blockMs` plus one XAUTOCLAIM per `claimIntervalMs`, nothing else.
 * - At start it first reads its own pending entries (a restart under the same consumer name), then
 *   new ones.
 * - Entries of one batch with the same lane run one after another, in stream order; different
 *   lanes run concurrently. The next batch is read once the batch is done.
 * - Work that fails is left pending and retried through the claim, by any consumer; after
 *   `maxDeliveries` deliveries it is acknowledged and dropped with an error log, so a poison entry
 *   cannot loop forever.
 * - stop() ends the blocking read at once (disconnects its connection) and waits for work in
 *   flight and its acknowledgements. A read whose reply was lost in that disconnect left its
 *   entries pending: they are claimed later, nothing is lost.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import {
  autoclaimReply,
  backoffMs,
  blockingConnection,
  ensureGroup,
  entriesOfReadReply,
  errorMessage,
  isNoGroupError,
  type RedisClient,
  type StreamEntry,
} from './redis-client.ts';

/** What to do with one entry: its lane, and the work (reject = retry later). */
export interface EntryWork {
  readonly lane: string;
  run(): Promise<void>;
}

export interface StreamGroupReaderOptions {
  readonly client: RedisClient;
  readonly stream: string;
  readonly group: string;
  readonly consumer: string;
  /** Short name for logs ("voice events"). */
  readonly label: string;
  readonly blockMs: number;
  readonly count: number;
  readonly claimIdleMs: number;
  readonly claimIntervalMs: number;
  readonly maxDeliveries: number;
  readonly logger: Logger;
  /** Turns an entry into work. Called once per delivery; must not throw. */
  prepare(entry: StreamEntry): EntryWork;
}

interface Session {
  active: boolean;
  readonly abort: AbortController;
  readonly blocking: RedisClient;
  loop: Promise<void> | undefined;
  claimTimer: ReturnType<typeof setTimeout> | undefined;
}

/** Claim rounds per timer tick: bounds the work one tick can pull in after a mass failure. */
const MAX_CLAIM_ROUNDS = 10;

export class StreamGroupReader {
  readonly #o: StreamGroupReaderOptions;
  #session: Session | undefined;
  /** Ids being worked on here, so a claim of our own slow entry does not run it twice at once. */
  readonly #inFlight = new Set<string>();
  /** Batches in progress (read or claimed), awaited by stop(). */
  readonly #busy = new Set<Promise<void>>();

  constructor(options: StreamGroupReaderOptions) {
    for (const name of ['blockMs', 'count', 'claimIdleMs', 'claimIntervalMs', 'maxDeliveries'] as const) {
      const value = options[name];
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`${options.label}: ${name} must be a positive integer (got ${value})`);
    }
    this.#o = options;
  }

  get running(): boolean {
    return this.#session !== undefined;
  }

  async start(): Promise<void> {
    if (this.#session !== undefined) return;
    const o = this.#o;
    await ensureGroup(o.client, o.stream, o.group);
    const blocking = blockingConnection(o.client, `${o.consumer}:${o.label.replace(/\s+/g, '-')}`);
    // A connection error is reported by the failing read; without a listener ioredis would print it.
    blocking.on('error', (error: unknown) => o.logger.debug({ stream: o.label, err: errorMessage(error) }, 'blocking connection error'));
    const session: Session = { active: true, abort: new AbortController(), blocking, loop: undefined, claimTimer: undefined };
    this.#session = session;
    session.loop = this.#readLoop(session);
    this.#scheduleClaim(session);
  }

  async stop(): Promise<void> {
    const session = this.#session;
    if (session === undefined) return;
    this.#session = undefined;
    session.active = false;
    session.abort.abort();
    clearTimeout(session.claimTimer);
    session.blocking.disconnect();
    await session.loop;
    while (this.#busy.size > 0) await Promise.allSettled([...this.#busy]);
    await this.#forgetConsumerIfIdle();
  }

  async #readLoop(session: Session): Promise<void> {
    const o = this.#o;
    // '0': our own pending entries (from before a restart) first; then '>' for new ones.
    let cursor = '0';
    let failures = 0;
    while (session.active) {
      try {
        const args = ['GROUP', o.group, o.consumer, 'COUNT', String(o.count)];
        if (cursor === '>') args.push('BLOCK', String(o.blockMs));
        args.push('STREAMS', o.stream, cursor);
        const entries = entriesOfReadReply(await session.blocking.call('XREADGROUP', ...args));
        failures = 0;
        if (cursor !== '>') cursor = entries.length === 0 ? '>' : entries[entries.length - 1]!.id;
        if (entries.length > 0) await this.#track(this.#process(entries));
      } catch (error) {
        if (!session.active) break;
        failures += 1;
        if (isNoGroupError(error)) {
          // The stream was deleted under us: recreate it and its group.
          await ensureGroup(o.client, o.stream, o.group).catch(() => undefined);
          cursor = '0';
        }
        o.logger.warn({ stream: o.label, err: errorMessage(error), failures }, 'stream read failed; retrying');
        await delay(backoffMs(failures), undefined, { signal: session.abort.signal }).catch(() => undefined);
      }
    }
  }

  #scheduleClaim(session: Session): void {
    const timer = setTimeout(() => {
      if (!session.active) return;
      void this.#track(this.#claim(session)).finally(() => {
        if (session.active) this.#scheduleClaim(session);
      });
    }, this.#o.claimIntervalMs);
    // The blocking connection keeps the process alive while running; the timer alone must not.
    timer.unref();
    session.claimTimer = timer;
  }

  /** Takes over entries idle for claimIdleMs in any consumer's pending list (a dead node's, or our failed ones). */
  async #claim(session: Session): Promise<void> {
    const o = this.#o;
    let cursor = '0-0';
    try {
      for (let round = 0; round < MAX_CLAIM_ROUNDS && session.active; round += 1) {
        const reply = await o.client.call('XAUTOCLAIM', o.stream, o.group, o.consumer, String(o.claimIdleMs), cursor, 'COUNT', String(o.count));
        const { next, entries } = autoclaimReply(reply);
        if (entries.length > 0) {
          o.logger.info({ stream: o.label, claimed: entries.length }, 'claimed entries left pending by a consumer');
          await this.#process(entries);
        }
        if (next === '0-0') break;
        cursor = next;
      }
    } catch (error) {
      if (session.active && !isNoGroupError(error)) o.logger.warn({ stream: o.label, err: errorMessage(error) }, 'claim of pending entries failed');
    }
  }

  async #process(entries: StreamEntry[]): Promise<void> {
    const o = this.#o;
    const lanes = new Map<string, { id: string; work: EntryWork }[]>();
    const mine: string[] = [];
    for (const entry of entries) {
      if (this.#inFlight.has(entry.id)) continue;
      this.#inFlight.add(entry.id);
      mine.push(entry.id);
      const work = this.#prepare(entry);
      const lane = lanes.get(work.lane);
      if (lane === undefined) lanes.set(work.lane, [{ id: entry.id, work }]);
      else lane.push({ id: entry.id, work });
    }
    const done: string[] = [];
    const failed: string[] = [];
    await Promise.all(
      [...lanes.values()].map(async (lane) => {
        for (const { id, work } of lane) {
          try {
            await work.run();
            done.push(id);
          } catch (error) {
            failed.push(id);
            o.logger.warn({ stream: o.label, id, err: errorMessage(error) }, 'entry handling failed; left pending for a retry');
          }
        }
      }),
    );
    try {
      for (const id of failed) {
        const deliveries = await this.#deliveries(id);
        if (deliveries >= o.maxDeliveries) {
          o.logger.error({ stream: o.label, id, deliveries }, 'entry dropped after its last delivery failed');
          done.push(id);
        }
      }
      if (done.length > 0) await o.client.call('XACK', o.stream, o.group, ...done);
    } catch (error) {
      // Not acknowledged: the entries are claimed and handled again later (at least once).
      o.logger.warn({ stream: o.label, err: errorMessage(error) }, 'acknowledgement failed; entries will be delivered again');
    } finally {
      for (const id of mine) this.#inFlight.delete(id);
    }
  }

  /** prepare() must not throw; if it does anyway, the entry is treated as one it cannot read. */
  #prepare(entry: StreamEntry): EntryWork {
    try {
      return this.#o.prepare(entry);
    } catch (error) {
      this.#o.logger.error({ stream: this.#o.label, id: entry.id, err: errorMessage(error) }, 'entry could not be read; dropped');
      return { lane: '', run: () => Promise.resolve() };
    }
  }

  /** How many times the group delivered the entry (0 when it is no longer pending). */
  async #deliveries(id: string): Promise<number> {
    const reply = await this.#o.client.call('XPENDING', this.#o.stream, this.#o.group, id, id, '1');
    const row = Array.isArray(reply) ? (reply[0] as unknown[] | undefined) : undefined;
    return row === undefined ? 0 : Number(row[3]);
  }

  /**
   * A consumer with nothing pending is removed from the group on a clean stop, so consumer names
   * of departed nodes do not pile up. One with pending entries stays: deleting it would drop them.
   */
  async #forgetConsumerIfIdle(): Promise<void> {
    const o = this.#o;
    try {
      const pending = await o.client.call('XPENDING', o.stream, o.group, '-', '+', '1', o.consumer);
      if (Array.isArray(pending) && pending.length === 0) await o.client.call('XGROUP', 'DELCONSUMER', o.stream, o.group, o.consumer);
    } catch (error) {
      o.logger.debug({ stream: o.label, err: errorMessage(error) }, 'could not remove the consumer on stop');
    }
  }

  #track(work: Promise<void>): Promise<void> {
    this.#busy.add(work);
    return work.finally(() => this.#busy.delete(work));
  }
}
