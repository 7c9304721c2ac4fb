import { GesError } from './errors.ts';
import { normalizePhone } from './phone-number.ts';
import { activeLimit, type ServiceOptions } from './service-options.ts';
import { filterUserData } from './user-data.ts';
import { parseInstant } from './instant.ts';

/** How far in the past a desiredTime may lie and still mean "now": absorbs client clock drift. */
export const PAST_TOLERANCE_MS = 60_000;

/** The body of POST /callbacks/create as the schema admits it. */
export interface CreateCallbackInput {
  serviceName: string;
  phoneNumber: string;
  desiredTime?: string;
  cbOfferType?: string;
  language?: string;
  inboundVQ?: string;
  offerThreshold?: number;
  channel?: string;
  offerTiming?: string;
  cbOriginationIxnId?: string;
  surveyRP?: string;
  priority?: number;
  routePoint?: string;
  userData?: Record<string, unknown>;
  captchaToken?: string;
  pushTargets?: { channel: string; target: string }[];
  pushChannel?: string;
  pushTarget?: string;
  alwaysCheckCapacity?: boolean;
}

/**
 * Optional request fields kept with the callback for reporting and later stages. Not captchaToken:
 * it is spent by the create (its digest is kept to refuse replays) and no read answers it.
 */
export type CallbackExtras = Partial<
  Omit<CreateCallbackInput, 'serviceName' | 'phoneNumber' | 'desiredTime' | 'userData' | 'priority' | 'pushChannel' | 'pushTarget' | 'captchaToken'>
>;

/** A validated create, ready for the store. */
export interface CreatePlan {
  phone: string; // E.164
  scheduled: boolean;
  desiredTime: Date | undefined; // undefined: now, by the database clock
  priority: number;
  extras: CallbackExtras | undefined;
  userData: Record<string, unknown> | undefined;
  droppedUserDataKeys: string[];
  maxActivePerNumber: number | undefined;
  maxRequestsPer24h: number | undefined;
  /** The request's alwaysCheckCapacity or the service's: a full or closed desired slot is refused, never moved. */
  alwaysCheckCapacity: boolean;
}

/** cbOfferType values GES reports; the field is reporting-only (ges-api.md §1.1). */
export const OFFER_TYPES = Object.freeze(['ASAP', 'SCHEDULED', 'COMBINED_SCHEDULED_AND_ASAP'] as const);

/**
 * The canonical cbOfferType, or undefined when the value is not one (then it is derived from the
 * callback's type). Never refused: the client's model sends a sentence as its default
 * ("ASAP if the request does not include the desiredTime parameter and SCHEDULED if ..."), and a
 * reporting field must not fail a booking.
 */
export function offerType(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toUpperCase();
  return OFFER_TYPES.find((t) => t === v);
}

const EXTRA_FIELDS = [
  'cbOfferType',
  'language',
  'inboundVQ',
  'offerThreshold',
  'channel',
  'offerTiming',
  'cbOriginationIxnId',
  'surveyRP',
  'routePoint',
  'alwaysCheckCapacity',
] as const;

/**
 * Checks a create request against the service's rules and turns it into what is stored. Pure:
 * `now` is the database clock as the caller knows it.
 */
export function planCreate(input: CreateCallbackInput, options: ServiceOptions, now: Date): CreatePlan {
  const phone = normalizePhone(input.phoneNumber, options);

  const alwaysCheckCapacity = input.alwaysCheckCapacity === true || options.alwaysCheckCapacity;
  let desiredTime: Date | undefined;
  if (input.desiredTime !== undefined) {
    desiredTime = parseInstant(input.desiredTime, 'desiredTime');
    checkDesiredTime(desiredTime, options, now);
    // A desired time that is due at once (within the execution buffer) asks for "now": an immediate
    // callback, which takes no slot. alwaysCheckCapacity keeps every desiredTime scheduled (§1.1).
    if (!alwaysCheckCapacity && options.immediateEnabled && isDueAtOnce(desiredTime, options, now)) desiredTime = undefined;
  }
  const scheduled = desiredTime !== undefined;
  if (scheduled && !options.scheduledEnabled)
    throw new GesError('GES_SCHEDULED_DISABLED', `service ${input.serviceName} does not accept scheduled callbacks (desiredTime given)`);
  if (!scheduled && !options.immediateEnabled)
    throw new GesError('GES_IMMEDIATE_DISABLED', `service ${input.serviceName} does not accept immediate callbacks; give a desiredTime`);

  // Both push forms are accepted; the older single pair becomes one entry of pushTargets.
  const pushTargets = [...(input.pushTargets ?? [])];
  if (input.pushChannel !== undefined || input.pushTarget !== undefined) {
    if (!input.pushChannel || !input.pushTarget) throw new GesError('GES_VALIDATION', 'pushChannel and pushTarget must be given together');
    pushTargets.push({ channel: input.pushChannel, target: input.pushTarget });
  }
  if (options.callDirection === 'USERORIGINATED' && pushTargets.length === 0) {
    throw new GesError('GES_PUSH_TARGET_REQUIRED', `service ${input.serviceName} is USERORIGINATED: pushTargets is required`);
  }

  const extras: CallbackExtras = {};
  for (const field of EXTRA_FIELDS) {
    if (input[field] !== undefined) (extras as Record<string, unknown>)[field] = input[field];
  }
  const reportedOfferType = offerType(input.cbOfferType);
  if (reportedOfferType === undefined) delete extras.cbOfferType;
  else extras.cbOfferType = reportedOfferType;
  if (pushTargets.length > 0) extras.pushTargets = pushTargets;

  const { kept, dropped } = filterUserData(input.userData);
  return {
    phone,
    scheduled,
    desiredTime,
    priority: input.priority ?? 0,
    extras: Object.keys(extras).length > 0 ? extras : undefined,
    userData: kept,
    droppedUserDataKeys: dropped,
    maxActivePerNumber: activeLimit(options),
    maxRequestsPer24h: options.requestsPerNumberPer24h > 0 ? options.requestsPerNumberPer24h : undefined,
    alwaysCheckCapacity,
  };
}

/** A desired time no later than now plus the execution buffer: its callback would join the queue at once. */
export function isDueAtOnce(desired: Date, options: ServiceOptions, now: Date): boolean {
  return desired.getTime() <= now.getTime() + options.executionBufferSec * 1000;
}

/** A desired time must not be in the past and must lie within the service's horizon. */
export function checkDesiredTime(desired: Date, options: ServiceOptions, now: Date): void {
  if (desired.getTime() < now.getTime() - PAST_TOLERANCE_MS) {
    throw new GesError('GES_DESIRED_TIME_PAST', `desiredTime ${desired.toISOString()} is in the past (now ${now.toISOString()})`);
  }
  const horizon = now.getTime() + options.horizonDays * 86_400_000;
  if (desired.getTime() > horizon) {
    throw new GesError('GES_DESIRED_TIME_BEYOND_HORIZON', `desiredTime ${desired.toISOString()} is more than ${options.horizonDays} days ahead`);
  }
}
