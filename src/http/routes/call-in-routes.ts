import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { CallInService } from '../../app/call-in-service.ts';
import { ErrorEnvelope, success } from '../envelope.ts';
import { CallInResponse, CreateCallInBody } from '../schemas/call-in-schemas.ts';

/** POST /engagement/v3/call-in/requests/create (ges-api.md §1.8). */
export function callInRoutes(service: CallInService): FastifyPluginAsync {
  return async (parent) => {
    const app = parent.withTypeProvider<TypeBoxTypeProvider>();

    app.post(
      '/call-in/requests/create',
      {
        schema: {
          summary: 'Create a Click-To-Call-In request',
          description:
            'Answers the number to dial (and, when the group uses them, the access code to key in) before expirationTime; ' +
            'the inbound call is then matched to this request and carries its userData.',
          tags: ['call-in'],
          body: CreateCallInBody,
          response: { 200: CallInResponse, 400: ErrorEnvelope, 401: ErrorEnvelope, 413: ErrorEnvelope, 429: ErrorEnvelope, 500: ErrorEnvelope },
        },
      },
      async (request) => {
        const r = await service.create(request.tenant, request.body);
        // Neither number, the access code nor userData is logged: the request id leads to them.
        request.log.info({ callInRequestId: r.id, group: r.groupName }, 'call-in request created');
        return success(String(request.id), {
          id: r.id,
          toPhoneNumber: r.toPhoneNumber,
          groupName: r.groupName,
          expirationTime: r.expirationTime.getTime(),
          ...(r.accessCode !== undefined ? { accessCode: r.accessCode } : {}),
          ...(r.fromPhoneNumber !== undefined ? { fromPhoneNumber: r.fromPhoneNumber } : {}),
          ...(r.callbackServiceId !== undefined ? { callbackServiceId: r.callbackServiceId } : {}),
          ...(r.droppedUserDataKeys.length > 0 ? { ignoredUserDataKeys: r.droppedUserDataKeys } : {}),
        });
      },
    );
  };
}
