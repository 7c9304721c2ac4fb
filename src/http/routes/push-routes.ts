import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { PushCallbackService } from '../../app/push-callback-service.ts';
import { ErrorEnvelope, success } from '../envelope.ts';
import { NotificationPublishBody, NotificationPublishResponse, PushAnswerBody, PushAnswerResponse } from '../schemas/push-schemas.ts';

const errors = { 400: ErrorEnvelope, 401: ErrorEnvelope, 404: ErrorEnvelope, 500: ErrorEnvelope };

/**
 * The customer's app and USERORIGINATED callbacks (docs/API.md, "Push callbacks"): POST
 * /callbacks/confirm and /callbacks/snooze answer the push GES sent (extensions: Genesys' client has
 * no such operation), and POST /notification/publish is the client's older send-a-push operation.
 */
export function pushRoutes(service: PushCallbackService): FastifyPluginAsync {
  return async (parent) => {
    const app = parent.withTypeProvider<TypeBoxTypeProvider>();

    for (const answer of ['confirm', 'snooze'] as const) {
      app.post(
        `/callbacks/${answer}`,
        {
          schema: {
            summary:
              answer === 'confirm'
                ? 'Extension: the customer is available (answer to a push): GES dials them, or gives a number and access code to call'
                : 'Extension: not now (answer to a push): pushed again after the service snooze duration, the place in the queue kept',
            tags: ['extensions'],
            body: PushAnswerBody,
            response: { 200: PushAnswerResponse, ...errors },
          },
        },
        async (request) => {
          const outcome = await service.answer(request.tenant, request.body.id, answer);
          request.log.info({ callbackId: request.body.id, action: outcome.action }, 'push answered');
          return success(String(request.id), {
            id: request.body.id,
            action: outcome.action,
            ...(outcome.action === 'CALL_IN'
              ? {
                  toPhoneNumber: outcome.callIn.toPhoneNumber,
                  ...(outcome.callIn.accessCode !== undefined ? { accessCode: outcome.callIn.accessCode } : {}),
                  expirationTime: outcome.callIn.expirationTime.getTime(),
                  callInRequestId: outcome.callIn.id,
                }
              : {}),
            ...(outcome.action === 'SNOOZE' ? { snoozedUntil: outcome.until.toISOString() } : {}),
          });
        },
      );
    }

    app.post(
      '/notification/publish',
      {
        schema: {
          summary: 'Send an FCM notification to one target with the tenant credentials (NotificationApi of engagement-client-js 9.0.18-19)',
          tags: ['notification'],
          body: NotificationPublishBody,
          response: { 200: NotificationPublishResponse, ...errors, 502: ErrorEnvelope },
        },
      },
      // The target and the event are never logged: a registration token reaches a person's phone.
      async (request) => success(String(request.id), await service.publish(request.tenant, request.body)),
    );
  };
}
