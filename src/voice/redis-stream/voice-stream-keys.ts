/**
 * The Redis keys of the voice contract (docs/VOICE-CONTRACT.md), built from one key prefix. Both
 * sides (GES's adapter and the platform) must build them the same way, so they live here alone.
 *
 * Redis Cluster: every command of the contract touches one key, except the presence writes and the
 * presence snapshot, which touch the presence hash and the presence stream in one MULTI. Those two
 * names therefore carry the same hash tag (`{AgentPresence}` by default); a prefix with its own
 * tag (`{ges}:`) puts every key in that one slot instead, which is also valid.
 */

export interface VoiceStreamNames {
  /** GES → platform commands. The original deployment's name. */
  commands: string;
  /** Platform → GES call events (consumer groups). */
  events: string;
  /** Platform → every GES node: agent presence changes, resets and heartbeats (plain XREAD). */
  presenceChanges: string;
  /** Hash of the agents ready right now, plus the platform's last heartbeat. */
  presenceReady: string;
}

export const DEFAULT_VOICE_KEY_PREFIX = 'ges:';

export const DEFAULT_VOICE_STREAM_NAMES: Readonly<VoiceStreamNames> = Object.freeze({
  commands: 'NewCallbackStream',
  events: 'VoiceEventStream',
  presenceChanges: '{AgentPresence}:changes',
  presenceReady: '{AgentPresence}:ready',
});

export type VoiceStreamKeys = Readonly<VoiceStreamNames>;

/** The keys for `prefix`; throws when the two presence keys could land in different cluster slots. */
export function voiceStreamKeys(prefix: string = DEFAULT_VOICE_KEY_PREFIX, names: Partial<VoiceStreamNames> = {}): VoiceStreamKeys {
  const n = { ...DEFAULT_VOICE_STREAM_NAMES, ...names };
  const keys: VoiceStreamKeys = Object.freeze({
    commands: prefix + n.commands,
    events: prefix + n.events,
    presenceChanges: prefix + n.presenceChanges,
    presenceReady: prefix + n.presenceReady,
  });
  const changesTag = hashTagOf(keys.presenceChanges);
  if (changesTag === undefined || changesTag !== hashTagOf(keys.presenceReady)) {
    throw new RangeError(
      `voice stream keys: ${keys.presenceChanges} and ${keys.presenceReady} must share a hash tag ({...}) so that they stay in one Redis Cluster slot`,
    );
  }
  return keys;
}

/** The part of a key Redis Cluster hashes: the first non-empty `{...}`, or undefined when none. */
export function hashTagOf(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  if (close <= open + 1) return undefined;
  return key.slice(open + 1, close);
}
