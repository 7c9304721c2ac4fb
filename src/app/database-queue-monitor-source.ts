import type pg from 'pg';
import type { CallbackState } from '../domain/callback-state.ts';
import { ALWAYS_OPEN, openIntervals } from '../domain/calendar/business-hours.ts';
import { parseBusinessHours } from '../domain/calendar/calendar-config.ts';
import { DAY_MS } from '../domain/calendar/time-zone.ts';
import { countActiveByServiceAndState } from '../store/callback-list-read.ts';
import type { CallbackRecord } from '../domain/callback-record.ts';
import { findService } from '../store/service-store.ts';
import type { Tenant } from '../store/tenant-store.ts';
import type { CallbackLive, LiveFigures, QueueMonitorSource, QueueSample, QueueSnapshot } from './queue-monitor-source.ts';

type Counts = Map<number, Partial<Record<CallbackState, number>>>;

/**
 * The queue monitor's source: counts of unfinished callbacks by state read from PostgreSQL,
 * opening times from the service's business hours, and, when a LiveFigures provider is given (the
 * callback engine), its EWT, agents and queue positions; without one those stay unknown. One count
 * query per tenant serves every queue of the page (kept `memoMs`). The chart's history is sampled in
 * this node's memory as the monitor is watched, at most every `sampleEveryMs`, for the last hour.
 */
export class DatabaseQueueMonitorSource implements QueueMonitorSource {
  readonly #counts = new Map<number, { at: number; counts: Promise<Counts> }>();
  readonly #samples = new Map<string, QueueSample[]>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: { now?: () => number; live?: LiveFigures; memoMs?: number; sampleEveryMs?: number } = {},
  ) {}

  async queueSnapshot(tenant: Tenant, serviceName: string): Promise<QueueSnapshot> {
    const service = await findService(this.pool, tenant.id, serviceName);
    const now = (this.options.now ?? Date.now)();
    const byState = service ? ((await this.#tenantCounts(tenant.id, now)).get(service.id) ?? {}) : {};
    const figures = service ? await this.options.live?.queue(tenant, service.id) : undefined;
    const snapshot: QueueSnapshot = {
      ewtSeconds: figures?.ewtSeconds,
      queued: byState.QUEUED ?? 0,
      scheduled: byState.SCHEDULED ?? 0,
      routing: byState.ROUTING ?? 0,
      processing: byState.PROCESSING ?? 0,
      agentsLoggedIn: figures?.agentsLoggedIn,
      agentsFree: figures?.agentsFree,
    };
    if (service) {
      const hours = service.businessHours ? parseBusinessHours(service.businessHours.definition) : ALWAYS_OPEN;
      const intervals = openIntervals(hours, now - DAY_MS, now + 8 * DAY_MS);
      const current = intervals.find((i) => i.start <= now && now < i.end);
      const next = intervals.find((i) => i.start > now);
      if (current) snapshot.closesAt = new Date(current.end);
      else if (next) snapshot.opensAt = new Date(next.start);
      this.#sample(`${tenant.id}|${serviceName}`, now, snapshot);
    }
    return snapshot;
  }

  async history(tenant: Tenant, serviceName: string, sinceMs: number): Promise<QueueSample[]> {
    return (this.#samples.get(`${tenant.id}|${serviceName}`) ?? []).filter((s) => s.at.getTime() >= sinceMs);
  }

  async callbackLive(tenant: Tenant, callback: CallbackRecord): Promise<CallbackLive | undefined> {
    return this.options.live?.callback(tenant, callback);
  }

  #tenantCounts(tenantId: number, now: number): Promise<Counts> {
    const memo = this.#counts.get(tenantId);
    if (memo && now - memo.at < (this.options.memoMs ?? 2000)) return memo.counts;
    const counts = countActiveByServiceAndState(this.pool, tenantId).then((rows) => {
      const out: Counts = new Map();
      for (const r of rows) out.set(r.serviceId, { ...out.get(r.serviceId), [r.state]: r.count });
      return out;
    });
    counts.catch(() => this.#counts.delete(tenantId));
    if (this.#counts.size > 10_000) this.#counts.clear();
    this.#counts.set(tenantId, { at: now, counts });
    return counts;
  }

  #sample(key: string, now: number, snapshot: QueueSnapshot): void {
    let list = this.#samples.get(key);
    if (!list) {
      if (this.#samples.size > 10_000) this.#samples.clear();
      this.#samples.set(key, (list = []));
    }
    const last = list.at(-1);
    if (last && now - last.at.getTime() < (this.options.sampleEveryMs ?? 15_000)) return;
    list.push({ at: new Date(now), ewtSeconds: snapshot.ewtSeconds, queueLength: snapshot.queued });
    while (list.length > 0 && list[0]!.at.getTime() < now - 3_600_000) list.shift();
  }
}
