import type { Queryable } from '../store/db.ts';
import { findServiceByNames, serviceById, type ServiceRow } from '../store/service-store.ts';
import { parseServiceOptions, type ServiceOptions } from '../domain/service-options.ts';
import { calendarOf } from '../domain/calendar/booking-plan.ts';
import type { BusinessHours } from '../domain/calendar/business-hours.ts';
import { callbackQueueScore, type QueuedCallback } from '../domain/engine/queue-order.ts';

export interface EngineService {
  id: number;
  tenantId: number;
  name: string;
  options: ServiceOptions;
  hours: BusinessHours;
}

/** How long the engine trusts a cached service before reading it again (option changes apply within this). */
const TTL_MS = 30_000;

/**
 * Services as the engine needs them (parsed options, business hours), cached briefly: every event
 * needs its service's retry policy and dialing mode, and options change rarely.
 */
export class ServiceDirectory {
  readonly #byId = new Map<number, { at: number; service: EngineService }>();
  readonly #byNames = new Map<string, { at: number; service: EngineService | undefined }>();

  constructor(private readonly db: Queryable) {}

  async byId(id: number): Promise<EngineService | undefined> {
    const hit = this.#byId.get(id);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.service;
    const row = await serviceById(this.db, id);
    if (!row) return undefined;
    return this.#remember(row);
  }

  async byNames(tenantName: string, serviceName: string): Promise<EngineService | undefined> {
    const key = `${tenantName}/${serviceName}`;
    const hit = this.#byNames.get(key);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.service;
    const row = await findServiceByNames(this.db, tenantName, serviceName);
    const service = row ? this.#remember(row) : undefined;
    this.#byNames.set(key, { at: Date.now(), service });
    return service;
  }

  /** A callback's queue score with its service's own priority step (the default one if the service is gone). */
  async queueScore(c: QueuedCallback & { serviceId: number }): Promise<number> {
    return callbackQueueScore(c, (await this.byId(c.serviceId))?.options.priorityStepSec);
  }

  #remember(row: ServiceRow): EngineService {
    const options = parseServiceOptions(row.options);
    const service = { id: row.id, tenantId: row.tenantId, name: row.name, options, hours: calendarOf(row, options).hours };
    this.#byId.set(row.id, { at: Date.now(), service });
    return service;
  }
}
