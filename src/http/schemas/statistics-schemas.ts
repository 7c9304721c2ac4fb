import { Type } from 'typebox';
import { Envelope } from '../envelope.ts';
import { STATISTIC_NAMES, STATISTIC_OBJECT_TYPES } from '../../domain/statistics/statistic-catalog.ts';
import { MAX_OBJECT_ID_LENGTH, MAX_STATISTICS_PER_REQUEST } from '../../domain/statistics/statistics-request.ts';

/**
 * Schemas of POST /statistics/operations/get-statistic-ex (ges-api.md §1.9), for the OpenAPI page
 * and a first shape check. `name` and `objectType` stay plain strings here on purpose: the domain
 * (parseStatisticsRequest) refuses an unknown one with a message naming the statistic and the
 * allowed values, which a schema enum error would not.
 */

export const StatisticsBody = Type.Object({
  data: Type.Object({
    statistics: Type.Array(
      Type.Object({
        name: Type.String({ minLength: 1, maxLength: 255, description: `One of: ${STATISTIC_NAMES.join(', ')} (docs/STATISTICS.md)` }),
        objectId: Type.String({ minLength: 1, maxLength: MAX_OBJECT_ID_LENGTH, description: 'The callback service (queue) name' }),
        objectType: Type.String({ minLength: 1, maxLength: 64, description: `${STATISTIC_OBJECT_TYPES.join(' or ')}; AgentGroup only for the agent counts` }),
      }),
      { minItems: 1, maxItems: MAX_STATISTICS_PER_REQUEST },
    ),
  }),
});

export const StatisticsCacheControlHeaders = Type.Object({
  'cache-control': Type.Optional(Type.String({ maxLength: 256, description: 'max-age=N: accept a kept answer at most N seconds old (N raised to 15); answers are kept 5 minutes' })),
});

export const StatisticValueSchema = Type.Object({
  value: Type.Number({ description: '-1 when the value cannot be known yet (see message)' }),
  unit: Type.Enum(['count', 'seconds', 'percent']),
  message: Type.Optional(Type.String()),
});

export const StatisticsData = Type.Object({
  statistics: Type.Array(
    Type.Object({
      name: Type.String(),
      objectId: Type.String(),
      objectType: Type.String(),
      timestamp: Type.Integer({ description: 'Epoch ms the value was computed at' }),
      value: StatisticValueSchema,
    }),
  ),
});

export const StatisticsResponse = Envelope(StatisticsData);
