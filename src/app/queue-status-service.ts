import type pg from 'pg';
import { GesError } from '../domain/errors.ts';
import { parseServiceOptions } from '../domain/service-options.ts';
import { calendarOf } from '../domain/calendar/booking-plan.ts';
import { immediateSecondsLeft } from '../domain/calendar/immediate-admission.ts';
import { decideQueueStatus, type QueueStatusDecision } from '../domain/wait/offer-decision.ts';
import { apiWaitTime, noEstimate, type WaitEstimate } from '../domain/wait/wait-estimate.ts';
import type { ApiWaitMode } from '../domain/wait/wait-estimator.ts';
import type { QueueObservation } from '../domain/wait/queue-observation.ts';
import { findService } from '../store/service-store.ts';
import type { DbClock } from '../store/db-clock.ts';
import type { Tenant } from '../store/tenant-store.ts';

/** What the engine answers about a queue's wait (CallbackEngine.queueWait). */
export interface QueueWaitSource {
  queueWait(tenantId: number, tenantName: string, serviceId: number, mode: ApiWaitMode): Promise<{ estimate: WaitEstimate; obs: QueueObservation } | undefined>;
}

/**
 * `resultCode` of an estimated-wait item (the client model's field; its values are not public, so
 * these are GES's documented choice, docs/API.md): 0 when estimatedWaitTime is an estimate, else why
 * it is -1.
 */
export const EWT_RESULT_CODES = Object.freeze({ OK: 0, NO_AGENTS: 1, NO_HISTORY: 2, UNKNOWN_QUEUE: 3 } as const);

export interface EwtItem {
  virtualQueue: string;
  estimatedWaitTime: number;
  resultCode: number;
  message?: string;
}

/** Estimated waits and queue readiness (estimated-wait-time, queue-status). */
export class QueueStatusService {
  constructor(
    private readonly pool: pg.Pool,
    private readonly clock: DbClock,
    private readonly waits: QueueWaitSource | undefined,
  ) {}

  /** One item per virtual queue asked for, in the order asked; an unknown queue answers -1 with a message. */
  async estimatedWaitTimes(tenant: Tenant, queues: readonly string[], mode: ApiWaitMode): Promise<EwtItem[]> {
    const out: EwtItem[] = [];
    for (const name of queues) {
      const service = await findService(this.pool, tenant.id, name);
      if (!service) {
        out.push({ virtualQueue: name, estimatedWaitTime: -1, resultCode: EWT_RESULT_CODES.UNKNOWN_QUEUE, message: 'not a callback service of this tenant' });
        continue;
      }
      const estimate = (await this.waits?.queueWait(tenant.id, tenant.name, service.id, mode))?.estimate ?? noEstimate('NO_AGENTS');
      out.push({
        virtualQueue: name,
        ...apiWaitTime(estimate),
        resultCode: estimate.reason === undefined ? EWT_RESULT_CODES.OK : EWT_RESULT_CODES[estimate.reason],
      });
    }
    return out;
  }

  async queueStatus(tenant: Tenant, queue: string): Promise<QueueStatusDecision> {
    const service = await findService(this.pool, tenant.id, queue);
    if (!service) throw new GesError('GES_SERVICE_UNKNOWN', `queue ${JSON.stringify(queue.slice(0, 255))} is not a callback service of this tenant`);
    const options = parseServiceOptions(service.options);
    // The immediate blackout counts as closed, exactly as a create sees it (immediate-admission.ts).
    const secondsUntilClose = immediateSecondsLeft(calendarOf(service, options).hours, options, this.clock.now().getTime());
    const estimate = (await this.waits?.queueWait(tenant.id, tenant.name, service.id, 'mode3'))?.estimate ?? noEstimate('NO_AGENTS');
    return decideQueueStatus({ immediateEnabled: options.immediateEnabled, scheduledEnabled: options.scheduledEnabled, secondsUntilClose, estimate });
  }
}
