/**
 * What the simulated agent "sees" when a callback's call is put through to them: the callback's
 * userData as the platform received it in the call's context (unpacked from GES_UserData when the
 * service attaches it as one JSON value), the preview keys' values, route point and language. Tests
 * assert on it that what a customer gave at create reaches the agent; it holds customer data, so
 * nothing logs it.
 */
import { SINGLE_JSON_KEY, type CallContext } from '../../domain/call-context.ts';

export interface AgentScreen {
  readonly agentId: string;
  /** userData as the agent reads it, whichever way it was attached. */
  readonly userData: Readonly<Record<string, unknown>>;
  /** The values of the context's previewKeys, in order (keys the callback lacks are left out). */
  readonly preview: readonly { readonly key: string; readonly value: unknown }[];
  readonly routePoint?: string;
  readonly language?: string;
  readonly priority: number;
}

/** The screen of a call put through with its context; a call without one (a platform's own test call) shows nothing of a callback. */
export function agentScreen(agentId: string, context: CallContext | undefined): AgentScreen | undefined {
  if (context === undefined) return undefined;
  const userData = unpack(context.attachedData);
  const preview = (context.previewKeys ?? []).filter((key) => key in userData).map((key) => ({ key, value: userData[key] }));
  return {
    agentId,
    userData,
    preview,
    priority: context.priority,
    ...(context.routePoint === undefined ? {} : { routePoint: context.routePoint }),
    ...(context.language === undefined ? {} : { language: context.language }),
  };
}

/** single_json: one key holding the JSON of the userData; separate_keys: the keys themselves. */
function unpack(attached: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const keys = Object.keys(attached);
  const packed = attached[SINGLE_JSON_KEY];
  if (keys.length === 1 && typeof packed === 'string') {
    try {
      const parsed: unknown = JSON.parse(packed);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      // Not JSON after all: shown as the one key it is.
    }
  }
  return { ...attached };
}
