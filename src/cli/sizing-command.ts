import { InvalidArgumentError, type Command } from 'commander';
import {
  SIZING_DEFAULTS,
  SizingInputError,
  estimateSizing,
  formatBytes,
  formatCount,
  type SizingEstimate,
  type SizingInput,
} from '../domain/sizing/sizing-estimate.ts';

function num(flag: string) {
  return (value: string) => {
    if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError(`${flag} must be a number`);
    return Number(value);
  };
}

/** The estimate as a table: GES's needs from its measured figures beside the seed's formulas. */
export function renderSizingTable(e: SizingEstimate): string {
  const i = e.input;
  const rows: [string, string, string][] = [
    ['', 'GES (measured)', 'seed formula'],
    ['Postgres disk', formatBytes(e.ges.postgresBytes), formatBytes(e.seed.postgresBytes)],
    ['Redis memory', formatBytes(e.ges.redisBytes), formatBytes(e.seed.redisBytes)],
    ['Redis operations per minute', formatCount(e.ges.redisOpsPerMinute), formatCount(e.seed.redisOpsPerMinute)],
  ];
  const w = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: [string, string, string]) => `${r[0].padEnd(w[0]!)}  ${r[1].padStart(w[1]!)}  ${r[2].padStart(w[2]!)}`;
  const pct = Math.round(i.scheduledShare * 100);
  const scheduled = pct === 0 ? 'all immediate' : `${pct}% scheduled, booked ${i.bookedAheadDays} days ahead`;
  return [
    `Sizing for ${formatCount(i.callbacksPerDay)} callbacks a day with ${i.userDataKb} kB of userData each, kept ${i.days} days`,
    `(${scheduled}; worked over ${i.busyHours} h a day; ${i.ewtMinutes} min in queue; ${i.nodes} node(s), ${i.tenants} tenant(s))`,
    '',
    line(rows[0]!),
    ...rows.slice(1).map(line),
    '',
    `Callbacks stored at once: ${formatCount(e.callbacksHeld)}; waiting in Redis at once: ${formatCount(e.scheduledWaiting + e.active)}.`,
    'GES keeps only ids and times of waiting callbacks in Redis (never userData, nothing once finished),',
    'and a booked callback costs no Redis command until it is due. The Postgres figure is for callbacks',
    'as created; the history of worked callbacks (a few events per attempt) comes on top. 1 kB = 1,000 bytes.',
  ].join('\n');
}

export function addSizingCommand(program: Command): void {
  const d = SIZING_DEFAULTS;
  program
    .command('sizing')
    .description("estimate Postgres disk, Redis memory and Redis operations for a callback load, beside the seed's sizing formulas")
    .requiredOption('--callbacks-per-day <n>', 'callbacks created per day', num('--callbacks-per-day'))
    .requiredOption('--user-data-kb <k>', 'average userData per callback, in kB (1 kB = 1,000 bytes)', num('--user-data-kb'))
    .option('--days <n>', 'days each callback is kept after its desired time (the retention)', num('--days'), d.days)
    .option('--scheduled-share <0-1>', 'share of callbacks that are scheduled', num('--scheduled-share'), d.scheduledShare)
    .option('--booked-ahead-days <n>', 'average days between booking a scheduled callback and its time', num('--booked-ahead-days'), d.bookedAheadDays)
    .option('--busy-hours <h>', 'hours a day over which callbacks are worked', num('--busy-hours'), d.busyHours)
    .option('--ewt-minutes <m>', 'average wait in the queue for an agent, in minutes', num('--ewt-minutes'), d.ewtMinutes)
    .option('--nodes <n>', 'GES nodes (pods)', num('--nodes'), d.nodes)
    .option('--tenants <n>', 'tenants (the seed counts idle Redis load per tenant)', num('--tenants'), d.tenants)
    .option('--json', 'print the estimate as JSON (bytes and operations per minute, unrounded)')
    .action((o: SizingInput & { json?: boolean }) => {
      const { json, ...input } = o;
      let estimate: SizingEstimate;
      try {
        estimate = estimateSizing(input);
      } catch (err) {
        if (!(err instanceof SizingInputError)) throw err;
        throw new Error(`--${err.field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be ${err.rule} (got ${err.value})`, { cause: err });
      }
      console.log(json ? JSON.stringify(estimate, null, 2) : renderSizingTable(estimate));
    });
}
