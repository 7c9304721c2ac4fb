import type { CallbackEngine } from '../engine/callback-engine.ts';
import type { LiveFigures } from '../app/queue-monitor-source.ts';

/**
 * The callback engine as the console's source of waits, agents and queue positions. Mode 2 is the
 * API's default EWT (throughput and the agents who handle the queue); -1 ("unknown") becomes
 * undefined, which the console shows as a dash.
 */
export function engineLiveFigures(engine: Pick<CallbackEngine, 'queueWait' | 'live'>): LiveFigures {
  return {
    async queue(tenant, serviceId) {
      const wait = await engine.queueWait(tenant.id, tenant.name, serviceId, 'mode2');
      if (!wait) return undefined;
      return { ewtSeconds: wait.estimate.seconds, agentsLoggedIn: wait.obs.agentsLoggedIn, agentsFree: wait.obs.agentsFree };
    },
    async callback(tenant, record) {
      const live = await engine.live(tenant.id, record);
      if (!live) return undefined;
      return { position: live.positionInQueue, ewtSeconds: live.estimatedWaitTime >= 0 ? live.estimatedWaitTime : undefined };
    },
  };
}
