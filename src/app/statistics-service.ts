import type pg from 'pg';
import { parseServiceOptions } from '../domain/service-options.ts';
import { calendarOf } from '../domain/calendar/booking-plan.ts';
import { startOfLocalDay } from '../domain/calendar/time-zone.ts';
import { answerStatistics, type StatisticsAnswer } from '../domain/statistics/statistics-answer.ts';
import type { QueueStatisticsInput } from '../domain/statistics/queue-statistics-input.ts';
import { parseMaxAge, StatisticsCache } from '../domain/statistics/statistics-cache.ts';
import { defaultStatisticRequests, type StatisticRequest } from '../domain/statistics/statistics-request.ts';
import type { QueueObservation } from '../domain/wait/queue-observation.ts';
import { EMPTY_MEASURES } from '../domain/wait/queue-measures.ts';
import { queueStatisticCounts } from '../store/queue-statistic-counts-read.ts';
import { findService, listServices } from '../store/service-store.ts';
import type { DbClock } from '../store/db-clock.ts';
import type { Tenant } from '../store/tenant-store.ts';
import type { QueueWaitSource } from './queue-status-service.ts';

export interface StatisticsReply {
  answer: StatisticsAnswer;
  /** Seconds since the answer was computed (0 when computed for this request): the Age header. */
  ageSec: number;
}

/**
 * get-statistic-ex (docs/STATISTICS.md): the values come from the engine's view of each queue (agents,
 * waiting callbacks, recent interactions) and one Postgres read per queue for the other counts; answers
 * are kept per node under the reference's cache rule.
 */
export class StatisticsService {
  readonly #cache: StatisticsCache<StatisticsAnswer>;

  constructor(
    private readonly pool: pg.Pool,
    private readonly clock: DbClock,
    private readonly waits: QueueWaitSource | undefined,
    private readonly retentionDays: number,
  ) {
    this.#cache = new StatisticsCache({ now: () => this.clock.now().getTime() });
  }

  /** `asked` undefined (an empty body): the tenant's default set, see defaultStatisticRequests. */
  async answer(tenant: Tenant, asked: readonly StatisticRequest[] | undefined, cacheControl: string | undefined): Promise<StatisticsReply> {
    const requests = asked ?? defaultStatisticRequests((await listServices(this.pool, tenant.id)).map((s) => s.name));
    const maxAge = parseMaxAge(cacheControl);
    const kept = this.#cache.get(String(tenant.id), requests, maxAge);
    if (kept) return { answer: kept.answer, ageSec: kept.ageSec };
    const now = this.clock.now().getTime();
    const inputs = new Map<string, QueueStatisticsInput | undefined>();
    for (const name of new Set(requests.map((r) => r.objectId))) inputs.set(name, await this.#input(tenant, name, now));
    const answer = answerStatistics(requests, (name) => inputs.get(name), now);
    this.#cache.set(String(tenant.id), requests, answer);
    return { answer, ageSec: 0 };
  }

  async #input(tenant: Tenant, serviceName: string, now: number): Promise<QueueStatisticsInput | undefined> {
    const service = await findService(this.pool, tenant.id, serviceName);
    if (!service) return undefined;
    const options = parseServiceOptions(service.options);
    const zone = calendarOf(service, options).hours.timeZone;
    const counts = await queueStatisticCounts(
      this.pool,
      tenant.id,
      service.id,
      options.executionBufferSec,
      new Date(startOfLocalDay(now, zone)),
      this.retentionDays,
    );
    const observation = (await this.waits?.queueWait(tenant.id, tenant.name, service.id, 'mode3'))?.obs ?? idleObservation(now);
    return {
      observation,
      scheduled: counts.scheduled,
      routing: counts.routing,
      processing: counts.processing,
      completedToday: counts.completedToday,
      estimatorError: counts.estimatorError,
      ...(counts.oldestQueuedAt === undefined ? {} : { oldestQueuedAt: counts.oldestQueuedAt }),
    };
  }
}

/** A node without an engine (API-only tests) knows no agents and no interactions. */
function idleObservation(now: number): QueueObservation {
  return { now, agentsLoggedIn: 0, agentsFree: 0, agentsBusy: 0, waiting: 0, inFlight: 0, measures: EMPTY_MEASURES };
}
