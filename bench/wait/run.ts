/**
 * Estimator error on the simulator's standard day (docs/BENCHMARKS.md, docs/ESTIMATED-WAIT.md):
 * mean absolute error and bias of every mode and of the naive estimate (position × average handle
 * time ÷ agents), per team size, over several seeded days. Budget: mode3 at least 30 % below naive.
 * Run: npm run bench:wait        (BENCH_DAYS, default 6; BENCH_AGENTS, default 3,8,30)
 */
import { EstimatorErrorTally } from '../../src/domain/wait/estimator-error.ts';
import { WAIT_MODES } from '../../src/domain/wait/wait-estimator.ts';
import { simulatedDay } from './standard-day.ts';

const days = Number(process.env.BENCH_DAYS ?? 6);
const teams = (process.env.BENCH_AGENTS ?? '3,8,30').split(',').map(Number);

console.log(`| Agents | callbacks | ${WAIT_MODES.join(' | ')} | mode3 vs naive |`);
console.log(`| --- | --- | ${WAIT_MODES.map(() => '---').join(' | ')} | --- |`);
for (const agents of teams) {
  const tally = new EstimatorErrorTally();
  for (let d = 0; d < days; d += 1) tally.merge(simulatedDay(`bench-day-${d}`, agents));
  const r = tally.report();
  const cell = (m: string) =>
    `${r[m as 'mode3']!.meanAbsoluteError!.toFixed(0)} / ${r[m as 'mode3']!.meanError! >= 0 ? '+' : ''}${r[m as 'mode3']!.meanError!.toFixed(0)}`;
  const ratio = 1 - r.mode3!.meanAbsoluteError! / r.naive!.meanAbsoluteError!;
  console.log(`| ${agents} | ${r.mode3!.count} | ${WAIT_MODES.map(cell).join(' | ')} | ${(100 * ratio).toFixed(0)} % lower |`);
}
