import type { ServiceOptions } from './service-options.ts';

/**
 * What the platform and the agent are told of a callback on its call (the `context` of dial,
 * reserve_agent and connect, docs/VOICE-CONTRACT.md "Context on the call"), built from the callback
 * and its service's options. Pure; it holds customer data, so nothing of it is ever logged.
 */
export interface CallContext {
  /** The callback's userData as the service attaches it: each key its own (separate_keys) or one JSON string under GES_UserData (single_json). */
  attachedData: Record<string, unknown>;
  /** Some userData keys did not fit the bounds and were left out. */
  truncated?: boolean;
  /** Route point to place or route the call through: the callback's own, else the service's. */
  routePoint?: string;
  /** Language of prompts to the customer (the callback's `language`). */
  language?: string;
  /** The callback's priority (higher is served earlier). */
  priority: number;
  /** What the customer's phone shows as the caller. */
  callerId?: { number?: string; name?: string };
  /** Digits dialed before the customer's number to reach an outside line. */
  dialPrefix?: string;
  /** Trunk group the outbound call leaves through. */
  trunkGroup?: string;
  /** userData keys an agent preview shows, in order (present only when the service names some). */
  previewKeys?: string[];
}

/**
 * Call progress detection for a dial: whether the platform tells machines (and faxes) from people,
 * and what it does with the line when a machine answers: `hang_up` (report machine, end the call),
 * `wait` (report machine and keep the line for GES's next command). Without detection a machine or
 * fax is reported `answered`.
 */
export interface CallProgress {
  detect: boolean;
  onMachine: 'hang_up' | 'wait';
}

/** What a machine is told: a prompt the platform knows by id, or a text for its text-to-speech, or both. */
export interface MachineMessage {
  id?: string;
  text?: string;
}

/** Bounds of a call's context: what a platform must be ready to take; the contract's schemas say the same. */
export const CALL_CONTEXT_LIMITS = Object.freeze({
  /** Attached keys at most. */
  attachedKeys: 100,
  /** Length of an attached key's name. */
  attachedKeyLength: 128,
  /** Bytes of attachedData as JSON (UTF-8). */
  attachedBytes: 16_384,
  routePoint: 255,
  language: 35,
  callerIdNumber: 32,
  callerIdName: 64,
  dialPrefix: 16,
  trunkGroup: 128,
  previewKeys: 50,
  machineMessageId: 128,
  machineMessageText: 2000,
});

/** The one attached key of single_json. */
export const SINGLE_JSON_KEY = 'GES_UserData';

/** What the engine knows of a callback when it sends a command. */
export interface CallFacts {
  userData: Readonly<Record<string, unknown>> | null;
  language?: string | undefined;
  routePoint?: string | undefined;
  priority: number;
}

type ContextOptions = Pick<ServiceOptions, 'attachUdata' | 'routePoint' | 'callerIdNumber' | 'callerIdName' | 'dialPrefix' | 'trunkGroup' | 'previewKeys'>;

const L = CALL_CONTEXT_LIMITS;
const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
/** Bytes of `text` once it is itself written as a JSON string (without the quotes). */
const escapedBytes = (text: string) => bytes(JSON.stringify(text)) - 2;

export function buildCallContext(facts: CallFacts, options: ContextOptions): CallContext {
  const { attachedData, truncated } = attach(facts.userData ?? {}, options.attachUdata);
  const context: CallContext = { attachedData, priority: facts.priority };
  if (truncated) context.truncated = true;
  const routePoint = facts.routePoint ?? options.routePoint;
  if (routePoint !== undefined && routePoint.length > 0) context.routePoint = routePoint.slice(0, L.routePoint);
  if (facts.language !== undefined && facts.language.length > 0) context.language = facts.language.slice(0, L.language);
  if (options.callerIdNumber !== undefined || options.callerIdName !== undefined) {
    context.callerId = {
      ...(options.callerIdNumber === undefined ? {} : { number: options.callerIdNumber }),
      ...(options.callerIdName === undefined ? {} : { name: options.callerIdName }),
    };
  }
  if (options.dialPrefix !== undefined) context.dialPrefix = options.dialPrefix;
  if (options.trunkGroup !== undefined) context.trunkGroup = options.trunkGroup;
  const previewKeys = previewKeysOf(options);
  if (previewKeys.length > 0) context.previewKeys = previewKeys;
  return context;
}

/** The service's `_agent_preview_data` keys, in order, without repeats. */
export function previewKeysOf(options: Pick<ServiceOptions, 'previewKeys'>): string[] {
  if (options.previewKeys === undefined) return [];
  return [...new Set(options.previewKeys.split(',').filter((k) => k.length > 0))].slice(0, L.previewKeys);
}

/**
 * The userData as attached, keys kept in order while they fit the bounds (count, key length,
 * bytes of the attached JSON); a key that does not fit is left out and the context says so.
 */
function attach(
  userData: Readonly<Record<string, unknown>>,
  mode: ContextOptions['attachUdata'],
): { attachedData: Record<string, unknown>; truncated: boolean } {
  const single = mode === 'single_json';
  // separate_keys: {"k":v,...}; single_json: {"GES_UserData":"{\"k\":v,...}"}, every byte of the inner JSON escaped.
  let used = single ? bytes(JSON.stringify({ [SINGLE_JSON_KEY]: '' })) + 2 : 2;
  const kept: Record<string, unknown> = {};
  let count = 0;
  let truncated = false;
  for (const [key, value] of Object.entries(userData)) {
    if (value === undefined) continue;
    const entry = `${JSON.stringify(key)}:${JSON.stringify(value)}`;
    const cost = (single ? escapedBytes(entry) : bytes(entry)) + (count > 0 ? 1 : 0);
    if (key.length > L.attachedKeyLength || (!single && count >= L.attachedKeys) || used + cost > L.attachedBytes) {
      truncated = true;
      continue;
    }
    kept[key] = value;
    used += cost;
    count += 1;
  }
  if (!single) return { attachedData: kept, truncated };
  return { attachedData: count === 0 ? {} : { [SINGLE_JSON_KEY]: JSON.stringify(kept) }, truncated };
}

/** How the dial asks the platform to handle call progress, from the service's options. */
export function callProgressOf(options: Pick<ServiceOptions, 'cpdEnable' | 'onMachine'>): CallProgress {
  // A machine is only kept on the line when GES has something to do with it.
  return { detect: options.cpdEnable, onMachine: options.cpdEnable && options.onMachine !== 'RETRY' ? 'wait' : 'hang_up' };
}

/** The message of leave_message, from the service's options. */
export function machineMessageOf(options: Pick<ServiceOptions, 'machineMessageId' | 'machineMessageText'>): MachineMessage {
  return {
    ...(options.machineMessageId === undefined ? {} : { id: options.machineMessageId }),
    ...(options.machineMessageText === undefined ? {} : { text: options.machineMessageText }),
  };
}
