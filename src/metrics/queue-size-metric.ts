import { Gauge, type Registry } from 'prom-client';

export interface QueueSizeRow {
  tenant: string;
  service: string;
  scheduled: number;
  queued: number;
}

/**
 * `ges_queue_size`, from a read model the composition root hands in (one grouped count over the
 * partial index of waiting callbacks, src/store/callback-counts-read.ts). It is the same figure on
 * every node, so a reading is shared by the scrapes of `maxAgeMs`, and a read that does not answer
 * within `timeoutMs` leaves the last reading in place.
 */
export function queueSizeMetric(registry: Registry, read: (() => Promise<QueueSizeRow[]>) | undefined, maxAgeMs: number, timeoutMs: number): void {
  let last: { at: number; rows: QueueSizeRow[] } | undefined;
  let pending: Promise<typeof last> | undefined;
  const current = async (): Promise<QueueSizeRow[] | undefined> => {
    if (last && Date.now() - last.at < maxAgeMs) return last.rows;
    pending ??= withTimeout(read!(), timeoutMs)
      .then(
        (rows) => (last = { at: Date.now(), rows }),
        () => undefined,
      )
      .finally(() => {
        pending = undefined;
      });
    return (await pending)?.rows;
  };
  new Gauge({
    name: 'ges_queue_size',
    help: 'Callbacks waiting, by tenant, service and state (scheduled: booked, not yet due; queued: waiting for an agent or a retry); read from the database, the same on every node',
    labelNames: ['tenant', 'service', 'state'] as const,
    registers: [registry],
    ...(read
      ? {
          async collect() {
            const rows = await current();
            if (!rows) return; // the database did not answer: keep the last reading
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

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  promise.catch(() => undefined); // a late failure after the timeout must not go unhandled
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
