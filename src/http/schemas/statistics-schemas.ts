import { Type } from 'typebox';
import { Envelope } from '../envelope.ts';
import { STATISTIC_OBJECT_TYPES } from '../../domain/statistics/statistic-catalog.ts';
import { MAX_OBJECT_ID_LENGTH, MAX_STATISTICS_PER_REQUEST, SUPPORTED_NAMES } from '../../domain/statistics/statistics-request.ts';

/**
 * Schemas of POST /statistics/operations/get-statistic-ex (ges-api.md §1.9), for the OpenAPI page
 * and a first shape check. `name` and `objectType` stay plain strings here on purpose: the domain
 * (parseStatisticsRequest) refuses an unknown one with a message naming the statistic and the
 * allowed values, which a schema enum error would not.
 */

export const StatisticsBody = Type.Object({
  data: Type.Optional(
    Type.Object(
      {
        statistics: Type.Array(
          Type.Object({
            name: Type.String({ minLength: 1, maxLength: 255, description: `One of: ${SUPPORTED_NAMES.join(', ')}, any case (docs/STATISTICS.md)` }),
            objectId: Type.String({ minLength: 1, maxLength: MAX_OBJECT_ID_LENGTH, description: 'The callback service (queue) name' }),
            objectType: Type.String({
              minLength: 1,
              maxLength: 64,
              description: `${STATISTIC_OBJECT_TYPES.join(' or ')}; AgentGroup only for the agent counts`,
            }),
          }),
          { minItems: 1, maxItems: MAX_STATISTICS_PER_REQUEST },
        ),
      },
      { description: "Absent (or no body at all, as GES's client sends): the default set of docs/STATISTICS.md" },
    ),
  ),
});

export const StatisticsCacheControlHeaders = Type.Object({
  'cache-control': Type.Optional(
    Type.String({ maxLength: 256, description: 'max-age=N: accept a kept answer at most N seconds old (N raised to 15); answers are kept 5 minutes' }),
  ),
});

export const StatisticsData = Type.Object({
  statistics: Type.Array(
    Type.Object({
      name: Type.String({ description: 'The name as asked' }),
      objectId: Type.String(),
      objectType: Type.String(),
      timestamp: Type.Integer({ description: 'Epoch ms the value was computed at' }),
      value: Type.Number({ description: 'The statistic itself, as GWS clients read it (-1 when it cannot be known yet; see message)' }),
      unit: Type.Enum(['count', 'seconds', 'percent'], { description: 'Extension' }),
      message: Type.Optional(Type.String({ description: 'Extension: why value is -1' })),
    }),
  ),
});

export const StatisticsResponse = Envelope(StatisticsData);
