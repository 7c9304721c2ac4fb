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
 *
 * A heartbeat that finds the hash gone (its HSET creates the field: Redis lost its data, or the
 * hash expired while the platform could not write) re-announces the whole presence: reset, a
 * heartbeat, and agent_ready for every agent ready now. Otherwise the ready changes lost with
 * Redis would leave every GES node believing busy agents that are in fact free, possibly all of a
 * queue's, and nothing would be dialed for it again.
 */
import type { Logger } from 'pino';
import { HEARTBEAT_FIELD, HEARTBEAT_LIVES, presenceField } from './agent-presence.ts';
import { MultiBatchWriter } from './multi-batch-writer.ts';
import type { RedisClient } from './redis-client.ts';
import { entryFields, type PresenceEntry } from '../voice-contract.ts';
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
  /** The agents ready as last published, by hash field: what a re-announcement repeats. */
  readonly #ready = new Map<string, PresenceEntry>();
  /** Heartbeats that follow a reset, which are meant to create the hash. */
  readonly #afterReset = new WeakSet<PresenceEntry>();

  constructor(options: PresencePublisherOptions) {
    if (!Number.isInteger(options.heartbeatMs) || options.heartbeatMs < 100 || options.heartbeatMs > 600_000) {
      throw new RangeError(`heartbeatMs must be an integer from 100 to 600000 (got ${options.heartbeatMs})`);
    }
    this.#o = options;
  }

  #newWriter(): MultiBatchWriter<PresenceEntry> {
    const { keys } = this.#o;
    const maxLen = String(this.#o.maxLen);
    const commandsOf = (item: PresenceEntry): string[][] => {
      const xadd = ['XADD', keys.presenceChanges, 'MAXLEN', '~', maxLen, '*', ...entryFields(item)];
      switch (item.type) {
        case 'agent_ready':
          return [['HSET', keys.presenceReady, presenceField(item.tenant, item.queue, item.agentId), String(item.at)], xadd];
        case 'agent_not_ready':
          return [['HDEL', keys.presenceReady, presenceField(item.tenant, item.queue, item.agentId)], xadd];
        case 'presence_heartbeat':
          return [
            ['HSET', keys.presenceReady, HEARTBEAT_FIELD, JSON.stringify({ at: item.at, intervalMs: item.intervalMs })],
            ['PEXPIRE', keys.presenceReady, String(HEARTBEAT_LIVES * item.intervalMs)],
            xadd,
          ];
        case 'presence_reset':
          return [['DEL', keys.presenceReady], xadd];
      }
    };
    return new MultiBatchWriter<PresenceEntry>({
      client: this.#o.client,
      label: 'presence',
      logger: this.#o.logger,
      build: (multi, items) => {
        for (const item of items) for (const [command, ...args] of commandsOf(item)) multi.call(command!, ...args);
      },
      written: (items, replies) => {
        let at = 0;
        let lost = false;
        for (const item of items) {
          // A heartbeat's first command is its HSET, which answers 1 when it created the field.
          if (item.type === 'presence_heartbeat' && Number(replies[at]) === 1 && !this.#afterReset.has(item)) lost = true;
          at += commandsOf(item).length;
        }
        if (lost) this.#reannounce();
      },
    });
  }

  /** The hash was found gone: everything GES nodes should know is said again, in an order that leaves them right. */
  #reannounce(): void {
    const writer = this.#writer;
    if (writer === undefined) return;
    this.#o.logger.warn({ ready: this.#ready.size }, 'presence hash lost (Redis flushed or restarted empty?); announcing every agent again');
    writer.push({ type: 'presence_reset', at: Date.now() });
    // The heartbeat before the agents, so the nodes count them (and dispatch) as each arrives.
    this.#beat(true);
    for (const entry of this.#ready.values()) writer.push(entry);
  }

  /** Forgets any previous presence and starts the heartbeat. */
  start(): void {
    if (this.#writer !== undefined) return;
    this.#writer = this.#newWriter();
    this.#ready.clear();
    this.#writer.push({ type: 'presence_reset', at: Date.now() });
    this.#beat(true);
    this.#timer = setInterval(() => this.#beat(), this.#o.heartbeatMs);
    this.#timer.unref();
  }

  /** Queues a change; ignored when not started. */
  publish(entry: PresenceEntry): void {
    if (this.#writer === undefined) return;
    if (entry.type === 'agent_ready') this.#ready.set(presenceField(entry.tenant, entry.queue, entry.agentId), entry);
    else if (entry.type === 'agent_not_ready') this.#ready.delete(presenceField(entry.tenant, entry.queue, entry.agentId));
    else if (entry.type === 'presence_reset') this.#ready.clear();
    this.#writer.push(entry);
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

  #beat(afterReset = false): void {
    const beat: PresenceEntry = { type: 'presence_heartbeat', at: Date.now(), intervalMs: this.#o.heartbeatMs };
    if (afterReset) this.#afterReset.add(beat);
    this.#writer?.push(beat);
  }
}
