/**
 * The voice port over Redis streams: how GES talks to a real telephony platform (contract:
 * docs/VOICE-CONTRACT.md). Knows nothing of Postgres.
 *
 * - send(): one XADD to the command stream (`NewCallbackStream`), trimmed with MAXLEN ~. Every
 *   command carries its dialKey, by which the platform makes it idempotent.
 * - Events: read from the event stream through the consumer group `ges`, one consumer per node;
 *   acknowledged once every handler's promise has resolved; a failed or orphaned event is taken
 *   over after `claimIdleMs` (StreamGroupReader). Events of one dialKey (or inbound callId) are
 *   handled in order on a node; across nodes they may run concurrently.
 * - Presence: every node follows the platform's presence stream (AgentPresence), so
 *   availableAgents() is a synchronous read of local memory; agent_ready / agent_not_ready are
 *   delivered to the handlers of every node, without acknowledgement.
 * - A malformed event (bad JSON, unknown version or type, schema violation) is acknowledged,
 *   logged with its id and the rule it broke but none of its content, and dropped.
 * - Redis Cluster: every command touches one key, except the presence snapshot (one MULTI on two
 *   keys of one hash tag).
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { Redis } from 'ioredis';
import { createLogger } from '../../logging/logger.ts';
import type { VoiceCommand, VoiceEvent, VoiceEventHandler, VoicePort } from '../voice-port.ts';
import { VoiceEventHandlers, throwHandlerErrors } from '../voice-event-handlers.ts';
import { AgentPresence } from './agent-presence.ts';
import type { RedisClient, StreamEntry } from './redis-client.ts';
import { StreamGroupReader, type EntryWork } from './stream-group-reader.ts';
import { callEventDecoder, commandDecoder, entryFields } from '../voice-contract.ts';
import { voiceStreamKeys, type VoiceStreamKeys, type VoiceStreamNames } from './voice-stream-keys.ts';

export interface RedisStreamVoicePortOptions {
  /** Prepended to every key. Default `ges:`. */
  prefix?: string;
  /** Stream and hash names under the prefix (defaults in voice-stream-keys.ts). */
  names?: Partial<VoiceStreamNames>;
  /** Consumer group of GES on the event stream. Default `ges`. */
  group?: string;
  /**
   * This node's consumer name. Default `<hostname>-<pid>`. A name stable across restarts (a pod
   * name) lets a restarted node finish its own pending events at once instead of after claimIdleMs.
   */
  consumer?: string;
  /** How long one blocking read waits. Sets the idle cost, not the latency. Default 30000. */
  blockMs?: number;
  /** Entries per read. Default 100. */
  count?: number;
  /** An event pending this long on any consumer is taken over. Default 60000; keep it above the slowest handler. */
  claimIdleMs?: number;
  /** How often to look for such events. Default 30000. */
  claimIntervalMs?: number;
  /** Deliveries of an event whose handler keeps failing before it is dropped. Default 5. */
  maxDeliveries?: number;
  /** Approximate length the command stream is trimmed to on every XADD. Default 100000. */
  commandMaxLen?: number;
  logger?: Logger;
}

export const REDIS_STREAM_PORT_DEFAULTS = Object.freeze({
  group: 'ges',
  blockMs: 30_000,
  count: 100,
  claimIdleMs: 60_000,
  claimIntervalMs: 30_000,
  maxDeliveries: 5,
  commandMaxLen: 100_000,
});

export class RedisStreamVoicePort implements VoicePort {
  readonly keys: VoiceStreamKeys;
  readonly group: string;
  readonly consumer: string;
  readonly #client: RedisClient;
  readonly #logger: Logger;
  readonly #commandMaxLen: string;
  readonly #handlers = new VoiceEventHandlers();
  readonly #events: StreamGroupReader;
  readonly #presence: AgentPresence;
  #running = false;
  /** start()/stop() in progress, so overlapping calls wait for each other instead of racing. */
  #transition: Promise<void> = Promise.resolve();

  constructor(client: RedisClient, options: RedisStreamVoicePortOptions = {}) {
    const d = REDIS_STREAM_PORT_DEFAULTS;
    this.keys = voiceStreamKeys(options.prefix, options.names);
    this.group = options.group ?? d.group;
    this.consumer = options.consumer ?? `${hostname()}-${process.pid}`;
    this.#client = client;
    this.#logger = options.logger ?? createLogger('info');
    const commandMaxLen = options.commandMaxLen ?? d.commandMaxLen;
    if (!Number.isInteger(commandMaxLen) || commandMaxLen < 1) throw new RangeError(`commandMaxLen must be a positive integer (got ${commandMaxLen})`);
    this.#commandMaxLen = String(commandMaxLen);
    const blockMs = options.blockMs ?? d.blockMs;
    const count = options.count ?? d.count;
    this.#events = new StreamGroupReader({
      client,
      stream: this.keys.events,
      group: this.group,
      consumer: this.consumer,
      label: 'voice events',
      blockMs,
      count,
      claimIdleMs: options.claimIdleMs ?? d.claimIdleMs,
      claimIntervalMs: options.claimIntervalMs ?? d.claimIntervalMs,
      maxDeliveries: options.maxDeliveries ?? d.maxDeliveries,
      logger: this.#logger,
      prepare: (entry) => this.#prepare(entry),
    });
    this.#presence = new AgentPresence({
      client,
      keys: this.keys,
      consumer: this.consumer,
      blockMs,
      count,
      logger: this.#logger,
      deliver: (event) => this.#deliver(event),
    });
  }

  async send(command: VoiceCommand): Promise<void> {
    const checked = commandDecoder.check(command);
    if (!checked.ok) throw new TypeError(`invalid voice command: ${checked.reason}`);
    if (!this.#running) throw new Error(`redis-stream voice port is not running (command ${command.type})`);
    await this.#client.call('XADD', this.keys.commands, 'MAXLEN', '~', this.#commandMaxLen, '*', ...entryFields(command));
  }

  onEvent(handler: VoiceEventHandler): () => void {
    return this.#handlers.subscribe(handler);
  }

  availableAgents(tenant: string, queue: string): number {
    return this.#presence.available(tenant, queue);
  }

  /** Free agents plus those busy within the last 30 minutes (AgentPresence.loggedIn). */
  agentsLoggedIn(tenant: string, queue: string): number {
    return this.#presence.loggedIn(tenant, queue);
  }

  get running(): boolean {
    return this.#running;
  }

  start(): Promise<void> {
    return this.#serialize(async () => {
      if (this.#running) return;
      await this.#presence.start();
      try {
        await this.#events.start();
      } catch (error) {
        await this.#presence.stop();
        throw error;
      }
      this.#running = true;
    });
  }

  /** Ends the blocking reads at once, then waits for handlers in flight and their acknowledgements. */
  stop(): Promise<void> {
    return this.#serialize(async () => {
      if (!this.#running) return;
      this.#running = false;
      await Promise.all([this.#events.stop(), this.#presence.stop()]);
    });
  }

  #serialize(step: () => Promise<void>): Promise<void> {
    const next = this.#transition.then(step);
    this.#transition = next.catch(() => undefined);
    return next;
  }

  #prepare(entry: StreamEntry): EntryWork {
    const decoded = callEventDecoder.decode(entry.fields);
    if (!decoded.ok) {
      this.#logger.warn({ stream: 'voice events', id: entry.id, reason: decoded.reason }, 'malformed voice event acknowledged and dropped');
      return { lane: '', run: () => Promise.resolve() };
    }
    const event = decoded.value;
    return { lane: 'dialKey' in event ? event.dialKey : `in:${event.callId}`, run: () => this.#deliver(event) };
  }

  /** Every handler gets the event; the promise rejects if any of them failed (the event is retried). */
  async #deliver(event: VoiceEvent): Promise<void> {
    Object.freeze(event);
    const results = await Promise.allSettled(this.#handlers.list().map(async (handler) => handler(event)));
    throwHandlerErrors(results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : [])));
  }
}

export interface RedisStreamVoicePortHandle {
  readonly port: RedisStreamVoicePort;
  /** Stops the port, then closes the Redis connection the factory opened. */
  close(): Promise<void>;
}

/**
 * For the composition root: connects to Redis (rejecting if it is unreachable, so a node does not
 * start without its telephony) and builds the port on that connection, not started. While Redis is
 * away later, commands fail fast (no offline queue) instead of piling up in memory; the engine
 * retries them by dialKey.
 */
export async function createRedisStreamVoicePort(redisUrl: string, options: RedisStreamVoicePortOptions = {}): Promise<RedisStreamVoicePortHandle> {
  const logger = options.logger ?? createLogger('info');
  const client = new Redis(redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  client.on('error', (error: unknown) => logger.debug({ err: error instanceof Error ? error.message : String(error) }, 'voice redis connection error'));
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    // The host only: the URL may carry a password.
    const where = URL.canParse(redisUrl) ? new URL(redisUrl).host : 'the configured URL';
    throw new Error(`voice platform Redis unreachable at ${where}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const port = new RedisStreamVoicePort(client, { ...options, logger });
  return {
    port,
    async close() {
      await port.stop();
      await client.quit().catch(() => client.disconnect());
    },
  };
}
