import { GesError } from '../errors.ts';
import { isStatisticName, STATISTIC_NAMES, STATISTICS, type StatisticName, type StatisticObjectType } from './statistic-catalog.ts';
import { GWS_OBJECT_TYPE_ALIASES, GWS_STATISTIC_ALIASES, GWS_STATISTICS_NOT_COMPUTABLE } from './gws-statistic-names.ts';

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
  /** The name as the client asked (a GWS alias, or the GES name); the answer carries this one. */
  readonly askedName?: string;
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

/**
 * The statistics asked for, in request order; throws GES_VALIDATION naming the first problem.
 * `undefined` when the body names none (GES's client sends no body at all: its operation has no body
 * parameter): the caller answers the tenant's default set (defaultStatisticRequests).
 */
export function parseStatisticsRequest(body: unknown): StatisticRequest[] | undefined {
  const shape = 'body must be {"data": {"statistics": [{"name", "objectId", "objectType"}]}}';
  if (body === undefined || body === null) return undefined;
  if (isRecord(body) && Object.keys(body).every((k) => k === 'data') && (body.data === undefined || body.data === null)) return undefined;
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
  const canonical = canonicalStatistic(name);
  if (canonical === undefined) {
    const why = Object.hasOwn(GWS_STATISTICS_NOT_COMPUTABLE, name)
      ? `the GWS statistic ${name} ${GWS_STATISTICS_NOT_COMPUTABLE[name]}`
      : `${JSON.stringify(name.slice(0, 100))} is not a statistic GES provides`;
    return refuse(`${where}.name: ${why} (supported: ${SUPPORTED_NAMES.join(', ')})`);
  }
  if (typeof objectId !== 'string' || objectId === '') return refuse(`${where}.objectId must be the name of a callback service`);
  if (objectId.length > MAX_OBJECT_ID_LENGTH) return refuse(`${where}.objectId is longer than ${MAX_OBJECT_ID_LENGTH} characters`);
  const allowed = STATISTICS[canonical].objectTypes;
  const type = typeof objectType === 'string' ? GWS_OBJECT_TYPE_ALIASES[objectType.trim().toLowerCase()] : undefined;
  if (type === undefined || !allowed.includes(type)) {
    const got = typeof objectType === 'string' ? JSON.stringify(objectType.slice(0, 100)) : 'missing';
    return refuse(`${where}.objectType: ${name} is available for ${allowed.join(' or ')} (got ${got})`);
  }
  return { name: canonical, ...(canonical === name ? {} : { askedName: name }), objectId, objectType: type };
}

/** Every name a request may use: GES's own, then the GWS aliases. */
export const SUPPORTED_NAMES: readonly string[] = Object.freeze([...STATISTIC_NAMES, ...Object.keys(GWS_STATISTIC_ALIASES)]);

/** GES's statistic for a name: its own (any case) or a GWS alias (any case). */
function canonicalStatistic(name: string): StatisticName | undefined {
  if (isStatisticName(name)) return name;
  if (Object.hasOwn(GWS_STATISTIC_ALIASES, name)) return GWS_STATISTIC_ALIASES[name];
  const lower = name.toLowerCase();
  const own = STATISTIC_NAMES.find((n) => n.toLowerCase() === lower);
  if (own) return own;
  const alias = Object.keys(GWS_STATISTIC_ALIASES).find((n) => n.toLowerCase() === lower);
  return alias === undefined ? undefined : GWS_STATISTIC_ALIASES[alias];
}

/** The statistics an empty request answers for each service (docs/STATISTICS.md, "Empty body"). */
export const DEFAULT_STATISTICS: readonly StatisticName[] = Object.freeze([
  'CurrentWaitingCallbacks',
  'CurrentScheduledCallbacks',
  'ExpectedWaitTime',
  'AgentsLoggedIn',
  'AgentsAvailable',
]);

/** Services an empty request covers, in name order; the rest must be named in the body. */
export const MAX_DEFAULT_SERVICES = Math.floor(MAX_STATISTICS_PER_REQUEST / DEFAULT_STATISTICS.length);

/** The default set for a tenant's services: DEFAULT_STATISTICS of each of the first MAX_DEFAULT_SERVICES. */
export function defaultStatisticRequests(serviceNames: readonly string[]): StatisticRequest[] {
  return [...serviceNames]
    .sort()
    .slice(0, MAX_DEFAULT_SERVICES)
    .flatMap((objectId) => DEFAULT_STATISTICS.map((name) => ({ name, objectId, objectType: 'Queue' as const })));
}
