import { Counter, Gauge, type Registry } from 'prom-client';

/** What a maintenance round reports to the metrics (src/app/maintenance.ts MaintenanceReport). */
export interface RetentionFigures {
  partitionsDropped: number;
  clockOffsetMs: number;
  idempotencyKeysPurged?: number;
  slotCountersPurged?: number;
  callInPurged?: number;
  failedRequestsPurged?: number;
  captchaTokensPurged?: number;
}

/** Maintenance rounds: partitions, retention purges and the measured clock skew. */
export function maintenanceMetrics(registry: Registry) {
  const registers = [registry];
  const runs = new Counter({
    name: 'ges_maintenance_runs_total',
    help: 'Maintenance rounds (partitions, retention, key and counter purges, clock skew), by result (ok, failed)',
    labelNames: ['result'] as const,
    registers,
  });
  const partitionsDropped = new Counter({
    name: 'ges_retention_partitions_dropped_total',
    help: 'Days of callbacks dropped whole by the 14-day retention',
    registers,
  });
  const clockSkew = new Gauge({
    name: 'ges_db_clock_skew_seconds',
    help: 'Database clock minus this node clock, as last measured by maintenance',
    registers,
  });
  const rowsPurged = new Counter({
    name: 'ges_retention_rows_purged_total',
    help: 'Rows deleted by retention and maintenance, by kind (idempotency_key, slot_counter, callin_request, failed_request, captcha_token)',
    labelNames: ['kind'] as const,
    registers,
  });
  return {
    /** Records a maintenance round (retention, partitions, clock skew). */
    maintenanceDone: (report: RetentionFigures): void => {
      runs.inc({ result: 'ok' });
      partitionsDropped.inc(report.partitionsDropped);
      rowsPurged.inc({ kind: 'idempotency_key' }, report.idempotencyKeysPurged ?? 0);
      rowsPurged.inc({ kind: 'slot_counter' }, report.slotCountersPurged ?? 0);
      rowsPurged.inc({ kind: 'callin_request' }, report.callInPurged ?? 0);
      rowsPurged.inc({ kind: 'failed_request' }, report.failedRequestsPurged ?? 0);
      rowsPurged.inc({ kind: 'captcha_token' }, report.captchaTokensPurged ?? 0);
      clockSkew.set(report.clockOffsetMs / 1000);
    },
    maintenanceFailed: (): void => {
      runs.inc({ result: 'failed' });
    },
  };
}
