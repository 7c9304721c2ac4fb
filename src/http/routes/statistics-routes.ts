import type { FastifyPluginAsync } from 'fastify';
import type { StatisticsService } from '../../app/statistics-service.ts';
import { parseStatisticsRequest } from '../../domain/statistics/statistics-request.ts';
import { STATISTICS_CACHE_TTL_MS } from '../../domain/statistics/statistics-cache.ts';
import { ErrorEnvelope, success } from '../envelope.ts';
import { StatisticsBody, StatisticsCacheControlHeaders, StatisticsResponse } from '../schemas/statistics-schemas.ts';

/** POST /engagement/v3/statistics/operations/get-statistic-ex (ges-api.md §1.9, docs/STATISTICS.md). */
export function statisticsRoutes(service: StatisticsService): FastifyPluginAsync {
  return async (app) => {
    app.post(
      '/statistics/operations/get-statistic-ex',
      {
        schema: {
          summary: 'Queue and agent statistics computed by GES',
          description:
            'Answers are kept 5 minutes per tenant and request; cache-control: max-age=N (N raised to 15) bounds how old a kept answer may be. ' +
            'The statistics offered are listed in docs/STATISTICS.md; GWS names are accepted where GES computes the same value. No body: the default set.',
          tags: ['statistics'],
          headers: StatisticsCacheControlHeaders,
          body: StatisticsBody,
          response: { 200: StatisticsResponse, 400: ErrorEnvelope, 401: ErrorEnvelope, 500: ErrorEnvelope },
        },
        // GES's client (StatisticsApi.statistics) has no body parameter: it posts nothing.
        config: { emptyBody: true },
      },
      async (request, reply) => {
        const requests = parseStatisticsRequest(request.body);
        const header = request.headers['cache-control'];
        const { answer, ageSec } = await service.answer(request.tenant, requests, Array.isArray(header) ? header.join(',') : header);
        // Tells the client how old the values are and how long a shared cache may keep them.
        reply.header('age', String(ageSec));
        reply.header('cache-control', `private, max-age=${Math.max(0, STATISTICS_CACHE_TTL_MS / 1000 - ageSec)}`);
        // `value` is the number itself, as a GWS statistics client reads PeekedStatisticValue.value;
        // unit and message are our extensions beside it.
        return success(String(request.id), {
          statistics: answer.statistics.map((s) => ({
            name: s.name,
            objectId: s.objectId,
            objectType: s.objectType,
            timestamp: s.timestamp,
            value: s.value.value,
            unit: s.value.unit,
            ...(s.value.message === undefined ? {} : { message: s.value.message }),
          })),
        });
      },
    );
  };
}
