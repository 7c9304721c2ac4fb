import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { GesError } from '../../domain/errors.ts';
import type { CallbackService } from '../../app/callback-service.ts';
import type { CallbackRecord } from '../../domain/callback-record.ts';
import { maskPhone } from '../../domain/phone-number.ts';
import { ErrorEnvelope, success } from '../envelope.ts';
import {
  CallbackIdBody,
  CallbackResponse,
  CancelResponse,
  CreateCallbackBody,
  CreateResponse,
  FindBody,
  FindResponse,
  HistoryResponse,
  RescheduleBody,
} from '../schemas/callback-schemas.ts';

const errors = { 400: ErrorEnvelope, 401: ErrorEnvelope, 404: ErrorEnvelope, 500: ErrorEnvelope };

/** The API view of a stored callback: GES's fields, then our extensions. */
export function toApiCallback(r: CallbackRecord & { positionInQueue?: number; estimatedWaitTime?: number }) {
  const extras = r.extras ?? {};
  return {
    id: r.id,
    desiredTime: r.desiredTime.toISOString(),
    callbackState: r.state,
    ...(r.state === 'COMPLETED' && r.reason ? { callbackReason: r.reason } : {}),
    phoneNumber: r.phoneNumber,
    serviceName: r.serviceName,
    createdTime: r.createdAt.toISOString(),
    updatedTime: r.updatedAt.toISOString(),
    priority: r.priority,
    cbOfferType: extras.cbOfferType ?? (r.scheduled ? 'SCHEDULED' : 'ASAP'),
    language: extras.language ?? 'en-US',
    ...(extras.inboundVQ !== undefined ? { inboundVQ: extras.inboundVQ } : {}),
    ...(extras.offerThreshold !== undefined ? { offerThreshold: extras.offerThreshold } : {}),
    ...(extras.channel !== undefined ? { channel: extras.channel } : {}),
    ...(extras.offerTiming !== undefined ? { offerTiming: extras.offerTiming } : {}),
    ...(extras.cbOriginationIxnId !== undefined ? { cbOriginationIxnId: extras.cbOriginationIxnId } : {}),
    ...(extras.surveyRP !== undefined ? { surveyRP: extras.surveyRP } : {}),
    ...(extras.routePoint !== undefined ? { routePoint: extras.routePoint } : {}),
    ...(extras.alwaysCheckCapacity !== undefined ? { alwaysCheckCapacity: extras.alwaysCheckCapacity } : {}),
    ...(extras.pushTargets !== undefined ? { pushTargets: extras.pushTargets } : {}),
    ...(r.positionInQueue !== undefined ? { positionInQueue: r.positionInQueue } : {}),
    ...(r.estimatedWaitTime !== undefined ? { estimatedWaitTime: r.estimatedWaitTime } : {}),
    ...(r.userData ? { userData: r.userData } : {}),
  };
}

function idempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const key = (Array.isArray(header) ? header[0] : header)?.trim() ?? '';
  if (key.length === 0 || key.length > 255) throw new GesError('GES_IDEMPOTENCY_KEY_INVALID', 'Idempotency-Key must be 1 to 255 characters');
  return key;
}

/** POST /engagement/v3/callbacks/* (ges-api.md §1.1-1.3 and the documented extensions). */
export function callbackRoutes(service: CallbackService): FastifyPluginAsync {
  return async (parent) => {
    const app = parent.withTypeProvider<TypeBoxTypeProvider>();

    app.post(
      '/callbacks/create',
      {
        schema: {
          summary: 'Create (book) a callback',
          description: 'Without desiredTime the callback is immediate. Extension: an Idempotency-Key header makes retries safe for 24 h.',
          tags: ['callbacks'],
          body: CreateCallbackBody,
          response: { 200: CreateResponse, ...errors, 409: ErrorEnvelope, 413: ErrorEnvelope, 429: ErrorEnvelope },
        },
      },
      async (request, reply) => {
        const outcome = await service.create(request.tenant, request.body, idempotencyKey(request.headers['idempotency-key']));
        if (outcome.replayed) reply.header('idempotent-replayed', 'true');
        request.log.info(
          { callbackId: outcome.id, phone: maskPhone(request.body.phoneNumber.replace(/[^+0-9]/g, '')), replayed: outcome.replayed },
          'callback created',
        );
        return success(String(request.id), {
          id: outcome.id,
          ...(outcome.desiredTime ? { desiredTime: outcome.desiredTime.toISOString() } : {}),
          ...(outcome.droppedUserDataKeys.length > 0 ? { ignoredUserDataKeys: outcome.droppedUserDataKeys } : {}),
        });
      },
    );

    app.post(
      '/callbacks/retrieve',
      {
        schema: { summary: 'Query one callback by id', tags: ['callbacks'], body: CallbackIdBody, response: { 200: CallbackResponse, ...errors } },
      },
      async (request) => success(String(request.id), toApiCallback(await service.retrieveLive(request.tenant, request.body.id))),
    );

    app.post(
      '/callbacks/cancel',
      {
        schema: {
          summary: 'Cancel a callback',
          description: 'Completes it with reason CANCELLED. Refused (400) while PROCESSING and once COMPLETED.',
          tags: ['callbacks'],
          body: CallbackIdBody,
          response: { 200: CancelResponse, ...errors },
        },
      },
      async (request) => {
        const record = await service.cancel(request.tenant, request.body.id);
        return success(String(request.id), { id: record.id });
      },
    );

    app.post(
      '/callbacks/reschedule',
      {
        schema: {
          summary: 'Extension: move a SCHEDULED callback to another desired time',
          tags: ['extensions'],
          body: RescheduleBody,
          response: { 200: CallbackResponse, ...errors },
        },
      },
      async (request) => success(String(request.id), toApiCallback(await service.reschedule(request.tenant, request.body.id, request.body.desiredTime))),
    );

    app.post(
      '/callbacks/find',
      {
        schema: {
          summary: 'Extension: list callbacks by service, number, states and desired-time range, with cursor paging',
          tags: ['extensions'],
          body: FindBody,
          response: { 200: FindResponse, ...errors },
        },
      },
      async (request) => {
        const page = await service.find(request.tenant, request.body);
        return success(String(request.id), { callbacks: page.callbacks.map(toApiCallback), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
      },
    );

    app.post(
      '/callbacks/history',
      {
        schema: {
          summary: 'Extension: every state change, reschedule and dial attempt of a callback',
          tags: ['extensions'],
          body: CallbackIdBody,
          response: { 200: HistoryResponse, ...errors },
        },
      },
      async (request) => {
        const events = await service.history(request.tenant, request.body.id);
        return success(String(request.id), {
          id: request.body.id,
          events: events.map((e) => ({
            time: e.at.toISOString(),
            kind: e.kind,
            state: e.state,
            attempt: e.attempt,
            actor: e.actor,
            ...(e.reason ? { reason: e.reason } : {}),
            ...(e.detail ? { detail: e.detail } : {}),
          })),
        });
      },
    );
  };
}
