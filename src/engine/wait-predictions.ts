import * as store from '../store/engine-transition-store.ts';
import type { CallbackRecord } from '../domain/callback-record.ts';
import type { WaitMode } from '../domain/wait/wait-estimator.ts';
import type { WaitEstimate } from '../domain/wait/wait-estimate.ts';
import type { QueueObservation } from '../domain/wait/queue-observation.ts';
import type { EngineContext } from './engine-context.ts';
import type { EngineService } from './service-directory.ts';
import { MAX_PENDING } from '../hot/hot-state.ts';
import { WaitView } from './wait-view.ts';

/** How old a queue observation a wait prediction may use. */
const PREDICTION_OBSERVATION_MS = 10_000;
/** How deep into a USERORIGINATED queue one dispatch looks for callbacks within the push threshold. */
const PUSH_LOOKAHEAD = 100;

/**
 * Waits as the API and the engine ask for them: a callback's live place and wait (retrieve), a
 * queue's wait for a callback booked now, and the prediction recorded as a callback joins its
 * queue, later compared with its real wait.
 */
export class WaitPredictions {
  readonly #ctx: EngineContext;
  readonly #view: WaitView;

  constructor(ctx: EngineContext, view: WaitView) {
    this.#ctx = ctx;
    this.#view = view;
  }

  /** Live place and wait of an active callback (retrieve's positionInQueue and estimatedWaitTime). */
  async live(tenantId: number, record: CallbackRecord): Promise<{ positionInQueue: number; estimatedWaitTime: number } | undefined> {
    const service = await this.#ctx.services.byId(record.serviceId);
    if (!service) return undefined;
    if (record.phase !== 'WAITING' && record.phase !== 'RETRY_WAIT') return { positionInQueue: 0, estimatedWaitTime: 0 }; // being served now
    const obs = await this.#observe(tenantId, await this.#ctx.tenantName(tenantId, service), service);
    const position = record.phase === 'WAITING' ? await this.#ctx.hot.position(tenantId, service.id, record.id) : undefined;
    const place = position ?? obs.waiting + 1;
    const wait = this.#view.callback(obs, place);
    return { positionInQueue: place, estimatedWaitTime: wait.seconds === undefined ? -1 : Math.round(wait.seconds) };
  }

  /** The queue's estimated wait for a callback booked now (estimated-wait-time, queue-status, statistics). */
  async queueWait(
    tenantId: number,
    tenantName: string,
    serviceId: number,
    mode: WaitMode,
  ): Promise<{ estimate: WaitEstimate; obs: QueueObservation } | undefined> {
    const service = await this.#ctx.services.byId(serviceId);
    if (!service) return undefined;
    const obs = await this.#observe(tenantId, tenantName, service);
    return { estimate: this.#view.queue(obs, mode), obs };
  }

  /**
   * Records the wait predicted for callbacks that just joined a queue (mode3, from an observation up
   * to PREDICTION_OBSERVATION_MS old, so a burst of callbacks costs one read of the hot state), to be
   * compared with their real wait when an agent takes them. A failure costs only the measurement.
   */
  async predict(tenantId: number, serviceId: number, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const { db, clock } = this.#ctx;
    try {
      const service = await this.#ctx.services.byId(serviceId);
      if (!service) return;
      const obs = await this.#observe(tenantId, await this.#ctx.tenantName(tenantId, service), service, PREDICTION_OBSERVATION_MS);
      for (const [i, id] of ids.entries()) {
        // The observation may predate these callbacks: each one queues behind those seen waiting and those before it in the batch.
        const wait = this.#view.callback(obs, obs.waiting + i + 1);
        if (wait.seconds !== undefined) await store.recordPrediction(db, id, wait.seconds, clock.sqlNow());
      }
    } catch (err) {
      this.#ctx.logger.warn({ err }, 'recording a wait prediction failed');
    }
  }

  /**
   * USERORIGINATED pacing: how many callbacks, from the head of the queue, may be pending now (pushed
   * and not answered, or confirmed and not yet with an agent): those already in flight, plus the
   * waiting ones whose estimated wait is at most the service's push threshold, and never fewer than
   * the free agents. Looked at up to PUSH_LOOKAHEAD places deep per dispatch.
   */
  async pushPlaces(tenantId: number, tenantName: string, service: EngineService): Promise<number> {
    const obs = await this.#observe(tenantId, tenantName, service);
    const threshold = service.options.pushNotificationThresholdSec;
    let within = 0;
    while (within < Math.min(obs.waiting, PUSH_LOOKAHEAD)) {
      const wait = this.#view.callback(obs, within + 1).seconds;
      if (wait === undefined || wait > threshold) break;
      within++;
    }
    return Math.min(MAX_PENDING, Math.max(obs.agentsFree, obs.inFlight + within));
  }

  #observe(tenantId: number, tenantName: string, service: EngineService, maxAgeMs?: number): Promise<QueueObservation> {
    return this.#view.observe(tenantId, tenantName, service.id, service.name, service.options.firstConnectParty === 'AGENT', maxAgeMs);
  }
}
