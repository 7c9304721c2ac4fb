import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { QueueStatusService } from '../../app/queue-status-service.ts';
import { GesError } from '../../domain/errors.ts';
import { parseApiWaitMode, type ApiWaitMode } from '../../domain/wait/wait-estimator.ts';
import { Envelope, ErrorEnvelope, success } from '../envelope.ts';

const errorResponses = { 400: ErrorEnvelope, 401: ErrorEnvelope, 500: ErrorEnvelope, 503: ErrorEnvelope };

const EwtItem = Type.Object({
  virtualQueue: Type.String(),
  estimatedWaitTime: Type.Number({ description: 'Seconds; -1 when no estimate exists (see message)' }),
  resultCode: Type.Integer({
    description: '0: estimatedWaitTime is an estimate; 1: no agents logged in; 2: no interactions on the queue yet; 3: not a callback service of this tenant',
  }),
  message: Type.Optional(Type.String()),
});
const QueueStatus = Type.Object({ ewt: Type.Number(), offerImmediateCallback: Type.Boolean(), offerScheduledCallback: Type.Boolean() });

const ModeQuery = {
  mode: Type.Optional(Type.String({ maxLength: 16, description: 'mode1, mode2 (default) or mode3, any case' })),
  'include-calls-on-hold': Type.Optional(
    Type.Boolean({ description: 'Accepted and without effect: GES queues callbacks only, and a callback is never on hold' }),
  ),
};

function modeOf(request: FastifyRequest): ApiWaitMode {
  const given = (request.query as { mode?: string }).mode;
  const mode = parseApiWaitMode(given);
  if (!mode) throw new GesError('GES_VALIDATION', `mode must be mode1, mode2 or mode3 (got ${JSON.stringify((given ?? '').slice(0, 32))})`);
  return mode;
}

/** Estimated wait time (ges-api.md §1.7) and queue readiness (§1.6). */
export function queueRoutes(service: QueueStatusService): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/estimated-wait-time',
      {
        schema: {
          summary: 'Estimated wait of one or more virtual queues',
          description:
            "mode1: recent throughput and pending count; mode2 (default): also the agents logged in (-1 when none); mode3: GES's best estimator (docs/ESTIMATED-WAIT.md). -1 with a message when no estimate exists.",
          tags: ['queues'],
          querystring: Type.Object({ 'virtual-queues': Type.String({ minLength: 1, maxLength: 4096 }), ...ModeQuery }),
          response: { 200: Envelope(Type.Array(EwtItem)), ...errorResponses },
        },
      },
      async (request) => {
        const q = request.query as { 'virtual-queues': string };
        const mode = modeOf(request);
        const queues = q['virtual-queues']
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s.length > 0);
        if (queues.length === 0 || queues.length > 50) throw new GesError('GES_VALIDATION', 'virtual-queues must name 1 to 50 queues, comma-separated');
        return success(String(request.id), await service.estimatedWaitTimes(request.tenant, queues, mode));
      },
    );

    // The path of GES's 2018 tutorials: one queue, answered as one item rather than an array.
    app.get(
      '/estimated-wait-time/virtual-queues/:virtualQueue',
      {
        schema: {
          summary: 'Estimated wait of one virtual queue (the older path; data is one item)',
          tags: ['queues'],
          params: Type.Object({ virtualQueue: Type.String({ minLength: 1, maxLength: 255 }) }),
          querystring: Type.Object(ModeQuery),
          response: { 200: Envelope(EwtItem), ...errorResponses },
        },
      },
      async (request) => {
        const { virtualQueue } = request.params as { virtualQueue: string };
        const [item] = await service.estimatedWaitTimes(request.tenant, [virtualQueue], modeOf(request));
        return success(String(request.id), item);
      },
    );

    app.get(
      '/callbacks/queue-status/:queueName',
      {
        schema: {
          summary: 'Estimated wait and whether the queue offers immediate and scheduled callbacks',
          description:
            "offerImmediateCallback is false while the office is closed or within the service's immediate blackout; a create then is refused or kept for the opening (rejectOutOfHours).",
          tags: ['queues'],
          params: Type.Object({ queueName: Type.String({ minLength: 1, maxLength: 255 }) }),
          response: { 200: Envelope(QueueStatus), ...errorResponses },
        },
      },
      async (request) => {
        const { queueName } = request.params as { queueName: string };
        const d = await service.queueStatus(request.tenant, queueName);
        return success(String(request.id), { ewt: d.ewt, offerImmediateCallback: d.offerImmediateCallback, offerScheduledCallback: d.offerScheduledCallback });
      },
    );
  };
}
