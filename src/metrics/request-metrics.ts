import { Counter, type Registry } from 'prom-client';

export type CallbackType = 'immediate' | 'scheduled';

/**
 * Requests made through the API that create work: callbacks (idempotent replays excluded) and
 * Click-To-Call-In requests, and the inbound calls the call-in router matched. Labels are tenant
 * and service *names*, never anything a client chooses freely.
 */
export function requestMetrics(registry: Registry) {
  const registers = [registry];
  const callbacksCreated = new Counter({
    name: 'ges_callbacks_created',
    help: 'Callbacks created (idempotent replays excluded), by tenant name, service name and type',
    labelNames: ['tenant', 'service', 'type'] as const,
    registers,
  });
  const callInCreated = new Counter({
    name: 'ges_callin_created',
    help: 'Click-To-Call-In requests created, by tenant name',
    labelNames: ['tenant'] as const,
    registers,
  });
  const inboundCalls = new Counter({
    name: 'ges_callin_inbound_calls_total',
    help: 'Inbound calls seen by the call-in router, by result (matched, unmatched, failed)',
    labelNames: ['result'] as const,
    registers,
  });
  return {
    callInRequestsCreated: callInCreated,
    callInInboundCalls: inboundCalls,
    /** Counts a callback really created (never an idempotent replay). */
    callbackCreated: ({ tenant, service, type }: { tenant: string; service: string; type: CallbackType }): void => {
      callbacksCreated.inc({ tenant, service, type });
    },
    /** Counts a Click-To-Call-In request created. */
    callInCreated: ({ tenant }: { tenant: string }): void => {
      callInCreated.inc({ tenant });
    },
    /** Counts an inbound call the call-in router handled, by result. */
    inboundCallRouted: ({ result }: { result: 'matched' | 'unmatched' | 'failed' }): void => {
      inboundCalls.inc({ result });
    },
  };
}
