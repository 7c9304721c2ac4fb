/**
 * What the stream adapters need of ioredis: one client type for a standalone server and a cluster,
 * a dedicated connection for blocking reads, and readers of the stream replies.
 *
 * Commands go through `call()` and replies are read defensively because their shape depends on the
 * caller's client options: ioredis 6 speaks RESP3 by default and its legacy reply mapping turns the
 * one-stream map reply of XREAD/XREADGROUP into `[name, entries]`, where RESP2 gives
 * `[[name, entries]]`; a client with the RESP3 mapping gives Map objects.
 */
import { Cluster, type Redis } from 'ioredis';

export type RedisClient = Redis | Cluster;

/**
 * A new connection, same server and options, for blocking reads: a blocked connection can do
 * nothing else, and disconnecting it is how stop() ends a BLOCK at once. It never times out a
 * command by itself (the BLOCK does), but ioredis's blocking guard resolves a read a few seconds
 * after its BLOCK expired, so a half-open socket cannot hang the loop forever.
 */
export function blockingConnection(client: RedisClient, connectionName: string): RedisClient {
  // blockingTimeout is the guard for a read without BLOCK (the pending-entries read at start);
  // a read with BLOCK n is guarded at n + blockingTimeoutGrace.
  // The offline queue is on whatever the caller chose: the loop awaits its read anyway, and the
  // first read is usually sent before the new connection is up.
  const overrides = {
    connectionName,
    lazyConnect: false,
    enableOfflineQueue: true,
    commandTimeout: undefined,
    blockingTimeout: 60_000,
    blockingTimeoutGrace: 5_000,
    maxRetriesPerRequest: null,
  };
  if (client instanceof Cluster) {
    return client.duplicate([], { redisOptions: { ...client.options.redisOptions, ...overrides } });
  }
  return client.duplicate(overrides);
}

/** One stream entry; `fields` is null for a pending id whose entry was trimmed away. */
export interface StreamEntry {
  readonly id: string;
  readonly fields: ReadonlyMap<string, string> | null;
}

/** Entries of an XREAD / XREADGROUP reply on a single stream (empty on timeout). */
export function entriesOfReadReply(reply: unknown): StreamEntry[] {
  if (reply === null || reply === undefined) return [];
  let entries: unknown;
  if (reply instanceof Map) entries = reply.values().next().value;
  else if (Array.isArray(reply)) {
    if (reply.length === 0) return [];
    entries = typeof reply[0] === 'string' || Buffer.isBuffer(reply[0]) ? reply[1] : (reply[0] as unknown[])[1];
  } else if (typeof reply === 'object') entries = Object.values(reply)[0];
  return entryList(entries);
}

/** `[next cursor, claimed entries]` of an XAUTOCLAIM reply (Redis 7 adds deleted ids, not needed). */
export function autoclaimReply(reply: unknown): { next: string; entries: StreamEntry[] } {
  if (!Array.isArray(reply) || reply.length < 2) throw new TypeError('unexpected XAUTOCLAIM reply');
  return { next: String(reply[0]), entries: entryList(reply[1]) };
}

/** The entries of an XRANGE / XREVRANGE reply, or of the entry list inside a read reply. */
export function entryList(list: unknown): StreamEntry[] {
  if (!Array.isArray(list)) return [];
  return list.map((item) => {
    const [id, raw] = item as [unknown, unknown];
    return { id: String(id), fields: raw === null || raw === undefined ? null : pairs(raw) };
  });
}

/** A hash reply (HGETALL) as a Map, whatever the reply mapping. */
export function hashReply(reply: unknown): Map<string, string> {
  if (reply instanceof Map) return new Map([...reply].map(([k, v]) => [String(k), String(v)]));
  if (Array.isArray(reply)) return pairs(reply);
  if (reply !== null && typeof reply === 'object') return new Map(Object.entries(reply).map(([k, v]) => [k, String(v)]));
  return new Map();
}

function pairs(raw: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (raw instanceof Map) {
    for (const [k, v] of raw) out.set(String(k), String(v));
    return out;
  }
  if (!Array.isArray(raw)) return out;
  for (let i = 0; i + 1 < raw.length; i += 2) out.set(String(raw[i]), String(raw[i + 1]));
  return out;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The group (or its stream) is gone: someone deleted the key, or Redis lost its data. Recreate and
 * go on. A read blocked at that moment is ended by Redis (7.0+) with UNBLOCKED instead of NOGROUP.
 */
export function isNoGroupError(error: unknown): boolean {
  const message = errorMessage(error);
  return message.startsWith('NOGROUP') || message.startsWith('UNBLOCKED the stream key no longer exists');
}

/** Creates the consumer group, and the stream with it; an existing group is left as it is. */
export async function ensureGroup(client: RedisClient, stream: string, group: string): Promise<void> {
  try {
    // From the start of the stream, not '$': entries written before the first consumer came up
    // (a platform that started first) are work too.
    await client.call('XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM');
  } catch (error) {
    if (!errorMessage(error).startsWith('BUSYGROUP')) throw error;
  }
}

/** Backoff after the n-th consecutive failure of a loop: 0.5 s doubling to 30 s. */
export function backoffMs(failures: number): number {
  return Math.min(30_000, 500 * 2 ** Math.max(0, failures - 1));
}
