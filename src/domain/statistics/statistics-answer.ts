import { GesError } from '../errors.ts';
import { STATISTICS, type StatisticDefinition, type StatisticObjectType, type StatisticValue } from './statistic-catalog.ts';
import type { QueueStatisticsInput } from './queue-statistics-input.ts';
import type { StatisticRequest } from './statistics-request.ts';

/**
 * The data of a get-statistic-ex answer: one item per statistic asked for, in the order asked, in
 * the shape of the GWS statistics API GES proxied (ges-api.md §1.9: name, objectId, objectType,
 * timestamp, value).
 */

export interface StatisticItem {
  /** The name as asked (a GWS alias stays the alias: clients match answers by name). */
  readonly name: string;
  readonly objectId: string;
  readonly objectType: StatisticObjectType;
  /** Epoch ms the value was computed at. */
  readonly timestamp: number;
  readonly value: StatisticValue;
}

export interface StatisticsAnswer {
  readonly statistics: readonly StatisticItem[];
}

/**
 * Computes every statistic asked for at `now`. `inputFor` gives a service's numbers by name, or
 * undefined for a name that is no service of the tenant, which is refused (GES_SERVICE_UNKNOWN)
 * naming the statistic: answering zeros would hide a typo in a dashboard.
 */
export function answerStatistics(
  requests: readonly StatisticRequest[],
  inputFor: (serviceName: string) => QueueStatisticsInput | undefined,
  now: number,
): StatisticsAnswer {
  const inputs = new Map<string, QueueStatisticsInput>();
  const statistics = requests.map((request, index): StatisticItem => {
    let input = inputs.get(request.objectId);
    if (input === undefined) {
      input = inputFor(request.objectId);
      if (input === undefined)
        throw new GesError(
          'GES_SERVICE_UNKNOWN',
          `statistics[${index}].objectId: ${JSON.stringify(request.objectId)} is not a callback service of this tenant`,
        );
      inputs.set(request.objectId, input);
    }
    const definition: StatisticDefinition = STATISTICS[request.name];
    const computed = definition.compute(input, now);
    return {
      name: request.askedName ?? request.name,
      objectId: request.objectId,
      objectType: request.objectType,
      timestamp: now,
      value: { value: computed.value, unit: definition.unit, ...(computed.message === undefined ? {} : { message: computed.message }) },
    };
  });
  return { statistics };
}
