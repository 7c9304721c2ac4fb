import type { HotState, InteractionSample } from '../hot/hot-state.ts';
import type { VoicePort } from '../voice/voice-port.ts';
import { EMPTY_MEASURES, recordCompletion, type QueueMeasures } from '../domain/wait/queue-measures.ts';
import type { QueueObservation } from '../domain/wait/queue-observation.ts';
import { callbackWait, queueWait, type WaitMode } from '../domain/wait/wait-estimator.ts';
import type { WaitEstimate } from '../domain/wait/wait-estimate.ts';

/** How long an observation of a queue is reused: estimates for many retrieves cost one read. */
const CACHE_MS = 2000;

/**
 * Builds what the wait estimators look at from the hot state (queue counts, the last 32
 * interactions) and the voice platform's presence, and answers estimates. Observations are cached
 * for two seconds per queue, so polling clients do not turn into Redis traffic.
 */
export class WaitView {
  readonly #cache = new Map<string, { at: number; obs: QueueObservation }>();

  constructor(
    private readonly hot: HotState,
    private readonly voice: VoicePort,
    private readonly nowMs: () => number,
  ) {}

  async observe(
    tenantId: number,
    tenantName: string,
    serviceId: number,
    serviceName: string,
    agentFirst: boolean,
    maxAgeMs = CACHE_MS,
  ): Promise<QueueObservation> {
    const key = `${tenantId}:${serviceId}`;
    const now = this.nowMs();
    const hit = this.#cache.get(key);
    if (hit && now - hit.at < maxAgeMs && now >= hit.at) return hit.obs;
    const [counts, samples] = await Promise.all([this.hot.counts(tenantId, serviceId), this.hot.samples(tenantId, serviceId)]);
    const free = this.voice.availableAgents(tenantName, serviceName);
    const loggedIn = Math.max(free, this.voice.agentsLoggedIn?.(tenantName, serviceName) ?? free);
    const obs: QueueObservation = {
      now,
      agentsLoggedIn: loggedIn,
      agentsFree: free,
      agentsBusy: loggedIn - free,
      waiting: counts.waiting,
      inFlight: counts.pending,
      agentHeldWhileDialing: agentFirst,
      measures: measuresOf(samples, loggedIn),
    };
    this.#cache.set(key, { at: now, obs });
    return obs;
  }

  callback(obs: QueueObservation, position: number, mode: WaitMode = 'mode3'): WaitEstimate {
    return callbackWait(mode, obs, Math.max(1, position));
  }

  queue(obs: QueueObservation, mode: WaitMode): WaitEstimate {
    return queueWait(mode, obs);
  }
}

/** The estimators' measures from the hot state's samples (oldest first). */
export function measuresOf(samples: readonly InteractionSample[], agentsLoggedIn: number): QueueMeasures {
  let m = EMPTY_MEASURES;
  for (const s of samples) {
    const connectedAt = s.atMs - s.handleSec * 1000;
    m = recordCompletion(m, { queuedAt: connectedAt - s.waitSec * 1000, connectedAt, handleSec: s.handleSec, agentsLoggedIn });
  }
  return m;
}
