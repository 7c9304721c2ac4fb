import { GesError } from '../errors.ts';
import { isStatisticName, STATISTIC_NAMES, STATISTICS, type StatisticName, type StatisticObjectType } from './statistic-catalog.ts';

/**
 * The body of get-statistic-ex. GES's own SDK leaves it free-form; it is the body of the GWS
 * statistics API GES proxied (ges-api.md §1.9, INFERRED there):
 * `{ "data": { "statistics": [ { "name", "objectId", "objectType" } ] } }`.
 *
 * Checked here, not only by the route's JSON schema, so that every refusal names the statistic and
 * what is wrong with it ("statistics[2].name: "Foo" is not a statistic GES provides"), and so that
 * the engine or a test can use it without HTTP.
 */

export interface StatisticRequest {
  readonly name: StatisticName;
  /** For every GES statistic: the callback service's name. */
  readonly objectId: string;
  readonly objectType: StatisticObjectType;
}

/** One request answers at most this many statistics: a dashboard needs a few dozen, and it bounds the work of one call. */
export const MAX_STATISTICS_PER_REQUEST = 100;
/** Longest objectId, the limit of a service name. */
export const MAX_OBJECT_ID_LENGTH = 255;

const refuse = (message: string): never => {
  throw new GesError('GES_VALIDATION', message);
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The statistics asked for, in request order; throws GES_VALIDATION naming the first problem. */
export function parseStatisticsRequest(body: unknown): StatisticRequest[] {
  const shape = 'body must be {"data": {"statistics": [{"name", "objectId", "objectType"}]}}';
  if (!isRecord(body) || !isRecord(body.data)) return refuse(shape);
  const list = body.data.statistics;
  if (!Array.isArray(list)) return refuse(`data.statistics must be an array; ${shape}`);
  if (list.length === 0) return refuse('data.statistics is empty: name at least one statistic');
  if (list.length > MAX_STATISTICS_PER_REQUEST) return refuse(`data.statistics has ${list.length} entries; at most ${MAX_STATISTICS_PER_REQUEST} per request`);
  return list.map((item, index) => parseOne(item, `statistics[${index}]`));
}

function parseOne(item: unknown, where: string): StatisticRequest {
  if (!isRecord(item)) return refuse(`${where} must be an object {name, objectId, objectType}`);
  const { name, objectId, objectType } = item;
  if (typeof name !== 'string' || name === '') return refuse(`${where}.name must be a statistic name`);
  if (!isStatisticName(name)) return refuse(`${where}.name: ${JSON.stringify(name.slice(0, 100))} is not a statistic GES provides (known: ${STATISTIC_NAMES.join(', ')})`);
  if (typeof objectId !== 'string' || objectId === '') return refuse(`${where}.objectId must be the name of a callback service`);
  if (objectId.length > MAX_OBJECT_ID_LENGTH) return refuse(`${where}.objectId is longer than ${MAX_OBJECT_ID_LENGTH} characters`);
  const allowed = STATISTICS[name].objectTypes;
  if (typeof objectType !== 'string' || !(allowed as readonly string[]).includes(objectType)) {
    const got = typeof objectType === 'string' ? JSON.stringify(objectType.slice(0, 100)) : 'missing';
    return refuse(`${where}.objectType: ${name} is available for ${allowed.join(' or ')} (got ${got})`);
  }
  return { name, objectId, objectType: objectType as StatisticObjectType };
}
