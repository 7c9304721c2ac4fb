import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { QueueStatusService } from '../../app/queue-status-service.ts';
import { GesError } from '../../domain/errors.ts';
import { parseApiWaitMode } from '../../domain/wait/wait-estimator.ts';
import { Envelope, ErrorEnvelope, success } from '../envelope.ts';

const errorResponses = { 400: ErrorEnvelope, 401: ErrorEnvelope, 500: ErrorEnvelope, 503: ErrorEnvelope };

const EwtItem = Type.Object({ virtualQueue: Type.String(), estimatedWaitTime: Type.Number(), message: Type.Optional(Type.String()) });
const QueueStatus = Type.Object({ ewt: Type.Number(), offerImmediateCallback: Type.Boolean(), offerScheduledCallback: Type.Boolean() });

/** Estimated wait time (ges-api.md §1.7) and queue readiness (§1.6). */
export function queueRoutes(service: QueueStatusService): FastifyPluginAsync {
  return async (app) => {
    app.get('/estimated-wait-time', {
      schema: {
        summary: 'Estimated wait of one or more virtual queues',
        description: 'mode1: recent throughput and pending count; mode2 (default): also the agents logged in (-1 when none); mode3: GES\'s best estimator (docs/ESTIMATED-WAIT.md). -1 with a message when no estimate exists.',
        tags: ['queues'],
        querystring: Type.Object({
          'virtual-queues': Type.String({ minLength: 1, maxLength: 4096 }),
          mode: Type.Optional(Type.String({ maxLength: 16 })),
          'include-calls-on-hold': Type.Optional(Type.Boolean()),
        }),
        response: { 200: Envelope(Type.Array(EwtItem)), ...errorResponses },
      },
    }, async (request) => {
      const q = request.query as { 'virtual-queues': string; mode?: string };
      const mode = parseApiWaitMode(q.mode);
      if (!mode) throw new GesError('GES_VALIDATION', `mode must be mode1, mode2 or mode3 (got ${JSON.stringify((q.mode ?? "").slice(0, 32))})`);
      const queues = q['virtual-queues'].split(',').map((s) => s.trim()).filter((s) => s.length > 0);
      if (queues.length === 0 || queues.length > 50) throw new GesError('GES_VALIDATION', 'virtual-queues must name 1 to 50 queues, comma-separated');
      return success(String(request.id), await service.estimatedWaitTimes(request.tenant, queues, mode));
    });

    app.get('/callbacks/queue-status/:queueName', {
      schema: {
        summary: 'Estimated wait and whether the queue offers immediate and scheduled callbacks',
        tags: ['queues'],
        params: Type.Object({ queueName: Type.String({ minLength: 1, maxLength: 255 }) }),
        response: { 200: Envelope(QueueStatus), ...errorResponses },
      },
    }, async (request) => {
      const { queueName } = request.params as { queueName: string };
      const d = await service.queueStatus(request.tenant, queueName);
      return success(String(request.id), { ewt: d.ewt, offerImmediateCallback: d.offerImmediateCallback, offerScheduledCallback: d.offerScheduledCallback });
    });
  };
}
