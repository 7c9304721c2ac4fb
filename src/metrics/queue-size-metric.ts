import { Gauge, type Registry } from 'prom-client';
import type { QueueSizeRow } from './queue-size-reading.ts';

/** What the gauge reads: the last reading only (src/metrics/queue-size-reading.ts keeps it fresh). */
export interface QueueSizeSource {
  current(): QueueSizeRow[] | undefined;
}

/**
 * `ges_queue_size`, by tenant, service and state. The same figure on every node. A scrape runs no
 * SQL: it copies the last reading, and keeps the series it had while there is none yet.
 */
export function queueSizeMetric(registry: Registry, source: QueueSizeSource | undefined): void {
  new Gauge({
    name: 'ges_queue_size',
    help: 'Callbacks waiting, by tenant, service and state (scheduled: booked, not yet due; queued: waiting for an agent or a retry); read from the database, the same on every node',
    labelNames: ['tenant', 'service', 'state'] as const,
    registers: [registry],
    ...(source
      ? {
          collect() {
            const rows = source.current();
            if (!rows) return; // no reading yet: nothing to say
            this.reset(); // a deleted service's series go away
            for (const r of rows) {
              this.set({ tenant: r.tenant, service: r.service, state: 'scheduled' }, r.scheduled);
              this.set({ tenant: r.tenant, service: r.service, state: 'queued' }, r.queued);
            }
          },
        }
      : {}),
  });
}
