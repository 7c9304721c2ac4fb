import { Type } from 'typebox';
import { Envelope } from '../envelope.ts';

/** confirm / snooze: the callback id, as retrieve and cancel take it. */
export const PushAnswerBody = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

export const PushAnswerResponse = Envelope(
  Type.Object({
    id: Type.String(),
    action: Type.Enum(['DIAL', 'CALL_IN', 'SNOOZE'], {
      description:
        'DIAL: GES calls the customer now; CALL_IN: call toPhoneNumber (keying accessCode) before expirationTime; SNOOZE: pushed again after snoozedUntil',
    }),
    toPhoneNumber: Type.Optional(Type.String()),
    accessCode: Type.Optional(Type.Number()),
    expirationTime: Type.Optional(Type.Number({ description: 'epoch ms, as call-in/requests/create answers it' })),
    callInRequestId: Type.Optional(Type.String()),
    snoozedUntil: Type.Optional(Type.String({ format: 'date-time' })),
  }),
);

/** POST /notification/publish as engagement-client-js 9.0.18-19 (NotificationPublishParms) sends it. */
export const NotificationPublishBody = Type.Object({
  channel: Type.String({ minLength: 1, maxLength: 16, description: "Only 'FCM'" }),
  target: Type.String({ minLength: 1, maxLength: 4096, description: 'FCM registration token of the recipient' }),
  event: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.String({ maxLength: 4096 })], {
    description:
      'The FCM message fields (notification, data, android, apns, webpush), as an object or its JSON text; the target replaces any token/topic/condition',
  }),
  validate_only: Type.Optional(Type.Boolean({ description: "Firebase's dry run: checked, not delivered" })),
});

export const NotificationPublishResponse = Envelope(Type.Object({ name: Type.String({ description: 'Message id as FCM reports it' }) }));
