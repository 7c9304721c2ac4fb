import type { Command } from 'commander';
import type { Config } from '../config/config.ts';
import { Maintenance, type MaintenanceReport } from '../app/maintenance.ts';
import { DbClock } from '../store/db-clock.ts';
import { createLogger } from '../logging/logger.ts';
import { withDatabase } from './database-session.ts';
import { progressBar, type ProgressTarget } from './progress-bar.ts';

/** `ges purge` without commander: one maintenance round now, with a progress bar on a terminal. */
export async function runPurge(config: Config, progressTo: ProgressTarget = process.stderr): Promise<MaintenanceReport> {
  return withDatabase(config, async (pool) => {
    const bar = progressBar('purge', progressTo);
    try {
      return await new Maintenance(pool, new DbClock(), createLogger('silent'), config.RETENTION_DAYS, 60_000).runOnce((done, total, step) =>
        bar.update(done, total, step),
      );
    } finally {
      bar.done();
    }
  });
}

export function describePurge(r: MaintenanceReport): string {
  return (
    `dropped ${r.partitionsDropped} expired day(s); removed ${r.idempotencyKeysPurged} idempotency key(s), ` +
    `${r.slotCountersPurged} slot counter(s), ${r.callInPurged} call-in request(s) and ${r.failedRequestsPurged} failed-request record(s); ` +
    `marked ${r.callInExpired} call-in request(s) expired; prepared ${r.partitionsCreated} new day(s); ` +
    `forgot ${r.captchaTokensPurged} spent CAPTCHA token(s); analyzed ${r.partitionsAnalyzed} partition(s)`
  );
}

export function addPurgeCommand(program: Command, config: () => Config): void {
  program
    .command('purge')
    .description('apply the 14-day retention now (drop expired days, stale keys, counters and call-in requests)')
    .action(async () => {
      console.log(describePurge(await runPurge(config())));
    });
}
