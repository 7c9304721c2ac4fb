import { Type } from 'typebox';
import { Envelope } from '../envelope.ts';

/** Request and response schemas of the callback endpoints (ges-api.md §1.1-1.3, plus extensions). */

const Text = (max: number, description?: string) => Type.String({ maxLength: max, ...(description ? { description } : {}) });

export const PushTarget = Type.Object({
  channel: Type.Enum(['FCM'], { description: 'Only FCM is supported, as in GES' }),
  target: Text(4096, 'FCM registration token'),
});

export const CreateCallbackBody = Type.Object({
  serviceName: Type.String({ minLength: 1, maxLength: 255, description: 'Callback service (virtual queue) of the tenant' }),
  phoneNumber: Type.String({ minLength: 1, maxLength: 64, description: 'Number to call back; normalised to E.164' }),
  desiredTime: Type.Optional(Text(64, 'ISO 8601 UTC, e.g. 2030-06-10T22:05:00.000Z; absent means an immediate callback')),
  cbOfferType: Type.Optional(
    Text(1024, 'Reporting only: ASAP, SCHEDULED or COMBINED_SCHEDULED_AND_ASAP (any case); any other value is ignored and derived from the callback type'),
  ),
  language: Type.Optional(Text(35, 'Prompt language, e.g. en-US')),
  inboundVQ: Type.Optional(Text(255)),
  offerThreshold: Type.Optional(Type.Number({ description: 'EWT threshold (s) that made the callback offered' })),
  channel: Type.Optional(Text(255)),
  offerTiming: Type.Optional(Text(32, 'OFF-HOURS or ON-HOURS')),
  cbOriginationIxnId: Type.Optional(Text(255)),
  surveyRP: Type.Optional(Text(255)),
  priority: Type.Optional(
    Type.Integer({ minimum: -1_000_000, maximum: 1_000_000, description: 'A fraction is rounded to the nearest integer (the client types it Number)' }),
  ),
  routePoint: Type.Optional(Text(255)),
  userData: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Keys that are not JavaScript identifiers are dropped' })),
  captchaToken: Type.Optional(Text(4096)),
  pushTargets: Type.Optional(Type.Array(PushTarget, { maxItems: 10 })),
  pushChannel: Type.Optional(Type.Enum(['FCM'])),
  pushTarget: Type.Optional(Text(4096)),
  alwaysCheckCapacity: Type.Optional(Type.Boolean()),
});

export const CreateCallbackData = Type.Object({
  id: Type.String({ description: 'Callback id' }),
  desiredTime: Type.Optional(
    Type.String({
      format: 'date-time',
      description:
        'Extension, scheduled callbacks only: the desired time booked; later than asked when the slot was full, the time off-hours, or an immediate request came while closed',
    }),
  ),
  ignoredUserDataKeys: Type.Optional(Type.Array(Type.String(), { description: 'Extension: userData keys dropped as not JavaScript identifiers' })),
});

export const CallbackIdBody = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

export const RescheduleBody = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128 }),
  desiredTime: Type.String({ minLength: 1, maxLength: 64 }),
});

const StateName = Type.Enum(['SCHEDULED', 'QUEUED', 'ROUTING', 'PROCESSING', 'COMPLETED']);

export const Callback = Type.Object({
  id: Type.String(),
  desiredTime: Type.String({ format: 'date-time' }),
  callbackState: StateName,
  callbackReason: Type.Optional(Type.String({ description: 'Only when COMPLETED' })),
  phoneNumber: Type.String({ description: 'E.164' }),
  positionInQueue: Type.Optional(Type.Number()),
  estimatedWaitTime: Type.Optional(Type.Number()),
  // Extensions: what the callback was created with.
  serviceName: Type.String(),
  createdTime: Type.String({ format: 'date-time' }),
  updatedTime: Type.String({ format: 'date-time' }),
  priority: Type.Integer(),
  cbOfferType: Type.String(),
  language: Type.Optional(Type.String()),
  inboundVQ: Type.Optional(Type.String()),
  offerThreshold: Type.Optional(Type.Number()),
  channel: Type.Optional(Type.String()),
  offerTiming: Type.Optional(Type.String()),
  cbOriginationIxnId: Type.Optional(Type.String()),
  surveyRP: Type.Optional(Type.String()),
  routePoint: Type.Optional(Type.String()),
  alwaysCheckCapacity: Type.Optional(Type.Boolean()),
  pushTargets: Type.Optional(Type.Array(PushTarget)),
  userData: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

export const CancelData = Type.Object({ id: Type.String() });

export const FindBody = Type.Object({
  serviceName: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  phoneNumber: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  states: Type.Optional(Type.Array(StateName, { minItems: 1, maxItems: 5, uniqueItems: true })),
  from: Type.Optional(Type.String({ maxLength: 64, description: 'Desired time from (inclusive), ISO 8601' })),
  to: Type.Optional(Type.String({ maxLength: 64, description: 'Desired time to (exclusive), ISO 8601' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 250, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page' })),
});

export const FindData = Type.Object({
  callbacks: Type.Array(Callback),
  nextCursor: Type.Optional(Type.String()),
});

export const HistoryData = Type.Object({
  id: Type.String(),
  events: Type.Array(
    Type.Object({
      time: Type.String({ format: 'date-time' }),
      kind: Type.Enum(['STATE', 'DIAL', 'RESCHEDULE', 'DISPOSITION']),
      state: StateName,
      reason: Type.Optional(Type.String()),
      attempt: Type.Integer(),
      actor: Type.Enum(['SYSTEM', 'API', 'CONSOLE']),
      detail: Type.Optional(Type.String()),
    }),
  ),
});

export const CreateResponse = Envelope(CreateCallbackData);
export const CallbackResponse = Envelope(Callback);
export const CancelResponse = Envelope(CancelData);
export const FindResponse = Envelope(FindData);
export const HistoryResponse = Envelope(HistoryData);
