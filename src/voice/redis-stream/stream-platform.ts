/**
 * The platform's side of the Redis-stream voice contract (docs/VOICE-CONTRACT.md), around any
 * VoicePort: normally the ContactCenterSimulator (platform-process.ts), or a thin wrapper of a
 * real telephony API.
 *
 * - Commands: read from the command stream with the platform's own consumer group (default
 *   `platform`), strictly in stream order, and handed to `port.send`. An entry is acknowledged once
 *   the port has taken the command; a malformed one, or one the port refuses as malformed
 *   (TypeError), is acknowledged, logged and dropped; any other failure leaves it pending for a
 *   retry (StreamGroupReader). Dial idempotency is the port's: the simulator's ledger takes a dial
 *   key once, so a command delivered twice is dialed once, and the repeat is answered with the
 *   call's latest event again (written to the event stream like any other).
 * - Events of the port go to the event stream (one MULTI per batch, in order, retried), except
 *   agent presence, which goes to the presence hash and stream (PresencePublisher) with a
 *   heartbeat. An event that breaks the contract is logged and not published.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { createLogger } from '../../logging/logger.ts';
import type { VoiceEvent, VoicePort } from '../voice-port.ts';
import { MultiBatchWriter } from './multi-batch-writer.ts';
import { PresencePublisher } from './presence-publisher.ts';
import type { RedisClient, StreamEntry } from './redis-client.ts';
import { StreamGroupReader, type EntryWork } from './stream-group-reader.ts';
import { callEventDecoder, commandDecoder, entryFields, isAgentPresenceEvent, presenceDecoder, type CallEvent } from './voice-contract.ts';
import { voiceStreamKeys, type VoiceStreamKeys, type VoiceStreamNames } from './voice-stream-keys.ts';

export interface StreamPlatformOptions {
  prefix?: string;
  names?: Partial<VoiceStreamNames>;
  /** Consumer group of the platform on the command stream. Default `platform`. */
  group?: string;
  /** Default `<hostname>-<pid>`. */
  consumer?: string;
  /** Default 30000. */
  blockMs?: number;
  /** Default 100. */
  count?: number;
  /** Default 60000. */
  claimIdleMs?: number;
  /** Default 30000. */
  claimIntervalMs?: number;
  /** Default 5. */
  maxDeliveries?: number;
  /** Approximate length of the event stream. Default 100000. */
  eventMaxLen?: number;
  /** Approximate length of the presence stream. Default 10000. */
  presenceMaxLen?: number;
  /** Heartbeat interval of the presence. Default 15000. */
  heartbeatMs?: number;
  logger?: Logger;
}

export const STREAM_PLATFORM_DEFAULTS = Object.freeze({
  group: 'platform',
  blockMs: 30_000,
  count: 100,
  claimIdleMs: 60_000,
  claimIntervalMs: 30_000,
  maxDeliveries: 5,
  eventMaxLen: 100_000,
  presenceMaxLen: 10_000,
  heartbeatMs: 15_000,
});

/** How long stop() keeps trying to write the events still queued. */
const STOP_FLUSH_MS = 5_000;

export class StreamPlatform {
  readonly keys: VoiceStreamKeys;
  readonly #client: RedisClient;
  readonly #port: VoicePort;
  readonly #logger: Logger;
  readonly #eventMaxLen: string;
  readonly #commands: StreamGroupReader;
  readonly #presence: PresencePublisher;
  #events: MultiBatchWriter<CallEvent> | undefined;
  #unsubscribe: (() => void) | undefined;
  #transition: Promise<void> = Promise.resolve();

  constructor(client: RedisClient, port: VoicePort, options: StreamPlatformOptions = {}) {
    const d = STREAM_PLATFORM_DEFAULTS;
    this.keys = voiceStreamKeys(options.prefix, options.names);
    this.#client = client;
    this.#port = port;
    this.#logger = options.logger ?? createLogger('info');
    this.#eventMaxLen = String(options.eventMaxLen ?? d.eventMaxLen);
    this.#commands = new StreamGroupReader({
      client,
      stream: this.keys.commands,
      group: options.group ?? d.group,
      consumer: options.consumer ?? `${hostname()}-${process.pid}`,
      label: 'voice commands',
      blockMs: options.blockMs ?? d.blockMs,
      count: options.count ?? d.count,
      claimIdleMs: options.claimIdleMs ?? d.claimIdleMs,
      claimIntervalMs: options.claimIntervalMs ?? d.claimIntervalMs,
      maxDeliveries: options.maxDeliveries ?? d.maxDeliveries,
      logger: this.#logger,
      prepare: (entry) => this.#prepare(entry),
    });
    this.#presence = new PresencePublisher({
      client,
      keys: this.keys,
      maxLen: options.presenceMaxLen ?? d.presenceMaxLen,
      heartbeatMs: options.heartbeatMs ?? d.heartbeatMs,
      logger: this.#logger,
    });
  }

  /** Call before the port starts, so the agents it announces at start are published. */
  start(): Promise<void> {
    return this.#serialize(async () => {
      if (this.#events !== undefined) return;
      const keys = this.keys;
      const maxLen = this.#eventMaxLen;
      this.#events = new MultiBatchWriter<CallEvent>({
        client: this.#client,
        label: 'voice events',
        logger: this.#logger,
        build: (multi, items) => {
          for (const event of items) multi.call('XADD', keys.events, 'MAXLEN', '~', maxLen, '*', ...entryFields(event));
        },
      });
      this.#presence.start();
      this.#unsubscribe = this.#port.onEvent((event) => this.#publish(event));
      try {
        await this.#commands.start();
      } catch (error) {
        await this.#halt();
        throw error;
      }
    });
  }

  /** Stops taking commands (waiting for the one in hand), writes the events still queued, and withdraws the presence. */
  stop(): Promise<void> {
    return this.#serialize(async () => {
      if (this.#events === undefined) return;
      await this.#commands.stop();
      await this.#halt();
    });
  }

  /** Events not yet written to Redis. */
  get pendingEvents(): number {
    return this.#events?.pending ?? 0;
  }

  async #halt(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    const events = this.#events;
    this.#events = undefined;
    if (events !== undefined) {
      await events.flush(STOP_FLUSH_MS);
      events.close();
    }
    await this.#presence.stop(STOP_FLUSH_MS);
  }

  #serialize(step: () => Promise<void>): Promise<void> {
    const next = this.#transition.then(step);
    this.#transition = next.catch(() => undefined);
    return next;
  }

  #prepare(entry: StreamEntry): EntryWork {
    // One lane: commands are carried out in the order GES sent them (reserve before dial...).
    const decoded = commandDecoder.decode(entry.fields);
    if (!decoded.ok) {
      this.#logger.warn({ stream: 'voice commands', id: entry.id, reason: decoded.reason }, 'malformed voice command acknowledged and dropped');
      return { lane: '', run: () => Promise.resolve() };
    }
    const command = decoded.value;
    return {
      lane: '',
      run: async () => {
        try {
          await this.#port.send(command);
        } catch (error) {
          if (!(error instanceof TypeError)) throw error;
          this.#logger.warn(
            { stream: 'voice commands', id: entry.id, type: command.type, dialKey: command.dialKey, err: error.message },
            'voice command refused by the platform; dropped',
          );
        }
      },
    };
  }

  #publish(event: VoiceEvent): void {
    if (isAgentPresenceEvent(event)) {
      const checked = presenceDecoder.check(event);
      if (checked.ok) this.#presence.publish(checked.value);
      else this.#logger.error({ reason: checked.reason }, 'presence event breaks the voice contract; not published');
      return;
    }
    const checked = callEventDecoder.check(event);
    if (!checked.ok) {
      this.#logger.error({ reason: checked.reason }, 'voice event breaks the voice contract; not published');
      return;
    }
    this.#events?.push(checked.value);
  }
}
