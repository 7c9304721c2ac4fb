import { normalizePhone } from '../phone-number.ts';

/**
 * The matching rule of Click-To-Call-In: which waiting request, if any, an inbound call belongs
 * to. The store applies it in one statement (src/store/call-in-store.ts, `matchInboundCall`) so
 * that two calls can never take the same request; this is the same rule in plain code, the
 * reference a test holds the SQL to.
 *
 * A request matches a call when
 * - it belongs to the call's tenant, and the number dialed is the one the request was given (so it
 *   was in the group's pool when the request was made; a number removed from the pool since keeps
 *   serving the requests already told to dial it, until they expire);
 * - it is still waiting (not matched by another call) and not expired: `expiresAt` is after "now",
 *   the database clock unless a simulation passes its own time;
 * - its access code, when it has one, equals the code the caller keyed in. A request without a code
 *   (the group does not use codes) matches whatever was keyed.
 *
 * Several requests may match: always without codes, when two customers were told the same number,
 * and rarely with codes, when two concurrent creates drew the same code for the same number. Then
 * the request made from the caller's own number wins (the customer gave it in the request and now
 * calls from it), else the most recent one (an older request on the same number is more likely
 * abandoned: its customer had longer to call and did not). Ties of creation time are broken by id
 * so the choice is deterministic.
 */

export const CALL_IN_STATES = Object.freeze({ WAITING: 1, MATCHED: 2, EXPIRED: 3 } as const);
export type CallInStateName = 'WAITING' | 'MATCHED' | 'EXPIRED';

export function callInStateName(code: number): CallInStateName {
  const name = (Object.keys(CALL_IN_STATES) as CallInStateName[]).find((k) => CALL_IN_STATES[k] === code);
  if (!name) throw new RangeError(`unknown call-in state ${code}`);
  return name;
}

/** What the rule needs of a request. Numbers are E.164. */
export interface MatchableRequest {
  id: string;
  tenantId: number;
  toNumber: string;
  fromNumber: string | undefined;
  accessCode: number | undefined;
  state: CallInStateName;
  createdAtMs: number;
  expiresAtMs: number;
}

/** An inbound call as the rule sees it: numbers normalised, the keyed code read as a number. */
export interface InboundCallFacts {
  tenantId: number;
  toNumber: string;
  fromNumber: string | undefined;
  accessCode: number | undefined;
}

export function matches(request: MatchableRequest, call: InboundCallFacts, nowMs: number): boolean {
  return (
    request.tenantId === call.tenantId &&
    request.toNumber === call.toNumber &&
    request.state === 'WAITING' &&
    request.expiresAtMs > nowMs &&
    (request.accessCode === undefined || request.accessCode === call.accessCode)
  );
}

/** The request the call is matched to, or undefined. */
export function chooseMatch<R extends MatchableRequest>(requests: readonly R[], call: InboundCallFacts, nowMs: number): R | undefined {
  let best: R | undefined;
  for (const r of requests) {
    if (!matches(r, call, nowMs)) continue;
    if (best === undefined || preferred(r, best, call)) best = r;
  }
  return best;
}

function preferred(a: MatchableRequest, b: MatchableRequest, call: InboundCallFacts): boolean {
  const aOwn = call.fromNumber !== undefined && a.fromNumber === call.fromNumber;
  const bOwn = call.fromNumber !== undefined && b.fromNumber === call.fromNumber;
  if (aOwn !== bOwn) return aOwn;
  if (a.createdAtMs !== b.createdAtMs) return a.createdAtMs > b.createdAtMs;
  return a.id > b.id;
}

/**
 * A number as the platform reports it (dialed number or caller id), in E.164, or undefined when it
 * cannot be read: a withheld caller id, a SIP user part. National formats are read as US numbers;
 * platforms normally report E.164 already.
 */
export function inboundNumber(raw: string | undefined): string | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  try {
    return normalizePhone(raw, { defaultCountry: 'US', disallowImpossibleNumbers: false, disallowPremiumNumbers: false });
  } catch {
    return undefined;
  }
}
