import { Counter, type Registry } from 'prom-client';

/**
 * Pushes of USERORIGINATED callbacks and of notification/publish, under the original's name
 * `ges_push_notifications_sent`, by tenant and result: sent, rejected (FCM refused the message or
 * token), failed (FCM unavailable after the retries), unconfigured (no usable credentials), and
 * retry (one more try after an unavailable answer, counted as it happens).
 */
export function pushMetrics(registry: Registry) {
  const sent = new Counter({
    name: 'ges_push_notifications_sent',
    help: 'Push notifications sent to FCM, by tenant name and result (sent, rejected, failed, unconfigured, retry)',
    labelNames: ['tenant', 'result'] as const,
    registers: [registry],
  });
  return {
    pushSent: ({ tenant, result }: { tenant: string; result: string }): void => {
      sent.inc({ tenant, result });
    },
  };
}
