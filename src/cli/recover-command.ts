import type { Command } from 'commander';
import type { Config } from '../config/config.ts';
import { recoverHotState, type RecoveryReport } from '../app/hot-state-recovery.ts';
import { withDatabase } from './database-session.ts';
import { withHotState } from './hot-state-session.ts';
import { progressBar, type ProgressTarget } from './progress-bar.ts';

export class RecoverError extends Error {}

/** `ges recover` without commander: rebuilds the hot state and returns what it put back. */
export async function runRecover(config: Config, progressTo: ProgressTarget = process.stderr): Promise<RecoveryReport> {
  if (!config.REDIS_URL && !config.REDIS_CLUSTER_NODES) {
    throw new RecoverError(
      'recover needs REDIS_URL or REDIS_CLUSTER_NODES: without Redis the hot state lives inside the node, which rebuilds it when it starts',
    );
  }
  return withHotState(config, (hot) =>
    withDatabase(config, async (pool) => {
      const bar = progressBar('recover', progressTo);
      try {
        return await recoverHotState(pool, hot!, (done, total) => bar.update(done, total, 'callbacks'));
      } finally {
        bar.done();
      }
    }),
  );
}

export function describeRecovery(r: RecoveryReport): string {
  return (
    `hot state rebuilt from the database: ${r.scheduled} scheduled, ${r.queued} queued, ${r.retrying} retrying, ${r.inFlight} in flight ` +
    `(${r.services} service(s) with a queue)`
  );
}

export function addRecoverCommand(program: Command, config: () => Config): void {
  program
    .command('recover')
    .description('rebuild the Redis hot state (due index, queues) from the database, e.g. after Redis lost its data; only adds, safe while nodes run')
    .action(async () => {
      console.log(describeRecovery(await runRecover(config())));
    });
}
