/**
 * The platform's side of agent presence (read by AgentPresence on every GES node): each change
 * updates the hash of ready agents and is announced on the presence stream in the same MULTI, so a
 * node's snapshot (hash + last stream id, read in one MULTI) and the stream never disagree.
 *
 * - agent_ready: HSET <ready> <[tenant,queue,agentId]> <at>;   agent_not_ready: HDEL.
 * - presence_heartbeat: HSET <ready> @heartbeat {at,intervalMs} and PEXPIRE <ready> 3 intervals,
 *   so the hash of a platform that died disappears by itself.
 * - presence_reset: DEL <ready> (at start, forgetting a previous run, and at stop).
 * Every item is also XADDed (MAXLEN ~) to the presence stream.
 */
import type { Logger } from 'pino';
import { HEARTBEAT_FIELD, HEARTBEAT_LIVES, presenceField } from './agent-presence.ts';
import { MultiBatchWriter } from './multi-batch-writer.ts';
import type { RedisClient } from './redis-client.ts';
import { entryFields, type PresenceEntry } from './voice-contract.ts';
import type { VoiceStreamKeys } from './voice-stream-keys.ts';

export interface PresencePublisherOptions {
  readonly client: RedisClient;
  readonly keys: VoiceStreamKeys;
  readonly maxLen: number;
  readonly heartbeatMs: number;
  readonly logger: Logger;
}

export class PresencePublisher {
  readonly #o: PresencePublisherOptions;
  /** One writer per start(): a stopped writer has given up its queue for good. */
  #writer: MultiBatchWriter<PresenceEntry> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: PresencePublisherOptions) {
    if (!Number.isInteger(options.heartbeatMs) || options.heartbeatMs < 100 || options.heartbeatMs > 600_000) {
      throw new RangeError(`heartbeatMs must be an integer from 100 to 600000 (got ${options.heartbeatMs})`);
    }
    this.#o = options;
  }

  #newWriter(): MultiBatchWriter<PresenceEntry> {
    const { keys } = this.#o;
    const maxLen = String(this.#o.maxLen);
    return new MultiBatchWriter<PresenceEntry>({
      client: this.#o.client,
      label: 'presence',
      logger: this.#o.logger,
      build: (multi, items) => {
        for (const item of items) {
          switch (item.type) {
            case 'agent_ready':
              multi.call('HSET', keys.presenceReady, presenceField(item.tenant, item.queue, item.agentId), String(item.at));
              break;
            case 'agent_not_ready':
              multi.call('HDEL', keys.presenceReady, presenceField(item.tenant, item.queue, item.agentId));
              break;
            case 'presence_heartbeat':
              multi.call('HSET', keys.presenceReady, HEARTBEAT_FIELD, JSON.stringify({ at: item.at, intervalMs: item.intervalMs }));
              multi.call('PEXPIRE', keys.presenceReady, String(HEARTBEAT_LIVES * item.intervalMs));
              break;
            case 'presence_reset':
              multi.call('DEL', keys.presenceReady);
              break;
          }
          multi.call('XADD', keys.presenceChanges, 'MAXLEN', '~', maxLen, '*', ...entryFields(item));
        }
      },
    });
  }

  /** Forgets any previous presence and starts the heartbeat. */
  start(): void {
    if (this.#writer !== undefined) return;
    this.#writer = this.#newWriter();
    this.#writer.push({ type: 'presence_reset', at: Date.now() });
    this.#beat();
    this.#timer = setInterval(() => this.#beat(), this.#o.heartbeatMs);
    this.#timer.unref();
  }

  /** Queues a change; ignored when not started. */
  publish(entry: PresenceEntry): void {
    this.#writer?.push(entry);
  }

  /** Stops the heartbeat, announces that no agent is present any more, and writes what is queued. */
  async stop(timeoutMs: number): Promise<void> {
    const writer = this.#writer;
    if (writer === undefined) return;
    this.#writer = undefined;
    clearInterval(this.#timer);
    this.#timer = undefined;
    writer.push({ type: 'presence_reset', at: Date.now() });
    await writer.flush(timeoutMs);
    writer.close();
  }

  #beat(): void {
    this.#writer?.push({ type: 'presence_heartbeat', at: Date.now(), intervalMs: this.#o.heartbeatMs });
  }
}
