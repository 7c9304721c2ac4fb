import assert from 'node:assert/strict';
import type pg from 'pg';
import type { DialLedgerFile } from '../../src/voice/redis-stream/dial-ledger-file.ts';
import { reasonName, stateName } from '../../src/domain/callback-state.ts';

/** callback_event.kind values (as the store writes them). */
const EVENT_KIND = { STATE: 1, DIAL: 2 } as const;

/**
 * The fault suite's ledger check: what PostgreSQL recorded of every callback against what the
 * platform's dial ledger says happened on the phone network.
 */

/** Details of the history event that ends a customer-first attempt. */
const ATTEMPT_END = new Set(['busy', 'no_answer', 'machine', 'invalid_number', 'failed', 'abandoned']);

export interface LedgerFigures {
  callbacks: number;
  open: number;
  dials: number;
  connected: number;
  /** Retries whose pause ended more than the slack after its configured delay. */
  lateRetries: string[];
  retries: number;
  /** Longest pause before a retry's dial beyond its configured delay, seconds. */
  worstRetryLateSec: number;
}

interface EventRow {
  callback_id: string;
  kind: number;
  state: number;
  attempt: number;
  detail: string | null;
  at: Date;
}

/**
 * Every callback of `ids` (or of the database) is checked: COMPLETED (0 lost); each attempt dialed
 * at most once by GES and placed at most once by the platform (0 dialed twice); at most one call
 * put through to an agent, on the last attempt, and then the reason AGENT_CONNECTED; and every retry
 * dialed within `retrySlackSec` of the end of its pause (`retryDelaySec` after the attempt ended).
 */
export async function checkLedger(
  pool: pg.Pool,
  ledger: DialLedgerFile,
  opts: { ids?: readonly string[]; retryDelaySec: number; retrySlackSec: number },
): Promise<LedgerFigures> {
  const { rows: callbacks } = await pool.query<{ id: string; state: number; reason: number | null; attempt: number }>(
    opts.ids ? 'SELECT id, state, reason, attempt FROM callback WHERE id = ANY($1::uuid[])' : 'SELECT id, state, reason, attempt FROM callback',
    opts.ids ? [opts.ids] : [],
  );
  const { rows: events } = await pool.query<EventRow>(
    opts.ids
      ? 'SELECT callback_id, kind, state, attempt, detail, at FROM callback_event WHERE callback_id = ANY($1::uuid[]) ORDER BY at'
      : 'SELECT callback_id, kind, state, attempt, detail, at FROM callback_event ORDER BY at',
    opts.ids ? [opts.ids] : [],
  );
  const eventsOf = new Map<string, EventRow[]>();
  for (const e of events) eventsOf.set(e.callback_id, [...(eventsOf.get(e.callback_id) ?? []), e]);
  const byCallback = new Map<string, { attempt: number; dialed: boolean; connected: boolean }[]>();
  for (const [key, entry] of Object.entries(ledger.keys)) {
    const colon = key.lastIndexOf(':');
    const id = key.slice(0, colon);
    const list = byCallback.get(id) ?? [];
    list.push({ attempt: Number(key.slice(colon + 1)), dialed: entry.dialed, connected: ledger.results[key]?.connected === true });
    byCallback.set(id, list);
  }
  const figures: LedgerFigures = { callbacks: callbacks.length, open: 0, dials: 0, connected: 0, lateRetries: [], retries: 0, worstRetryLateSec: 0 };
  if (opts.ids) assert.equal(callbacks.length, new Set(opts.ids).size, 'every create answered 200 is stored');
  for (const c of callbacks) {
    const what = `callback ${c.id}`;
    if (stateName(c.state) !== 'COMPLETED') figures.open += 1;
    const history = eventsOf.get(c.id) ?? [];
    const dialEvents = history.filter((e) => e.kind === EVENT_KIND.DIAL && e.detail === 'dial');
    const attempts = dialEvents.map((e) => e.attempt);
    assert.equal(new Set(attempts).size, attempts.length, `${what}: no attempt dialed twice by GES (${attempts.join(',')})`);
    const placed = (byCallback.get(c.id) ?? []).filter((k) => k.dialed);
    figures.dials += placed.length;
    for (const p of placed) assert.ok(attempts.includes(p.attempt), `${what}: the platform placed attempt ${p.attempt}, which GES recorded as dialed`);
    const connected = placed.filter((p) => p.connected);
    figures.connected += connected.length;
    assert.ok(connected.length <= 1, `${what}: put through to an agent ${connected.length} times`);
    if (connected.length === 1) {
      assert.equal(connected[0]!.attempt, Math.max(...attempts), `${what}: nothing was dialed after the customer reached an agent`);
      if (stateName(c.state) === 'COMPLETED') assert.equal(reasonName(c.reason), 'AGENT_CONNECTED', `${what}: completed as connected`);
    }
    // Retries: from the end of attempt n (busy, no answer, ...) to the dial of attempt n + 1.
    for (const dial of dialEvents) {
      const end = history.find((e) => e.attempt === dial.attempt - 1 && e.kind === EVENT_KIND.DIAL && ATTEMPT_END.has(e.detail ?? ''));
      if (!end) continue;
      figures.retries += 1;
      const lateSec = (dial.at.getTime() - end.at.getTime()) / 1000 - opts.retryDelaySec;
      figures.worstRetryLateSec = Math.max(figures.worstRetryLateSec, lateSec);
      if (lateSec > opts.retrySlackSec) figures.lateRetries.push(`${c.id} attempt ${dial.attempt}: ${lateSec.toFixed(1)} s late`);
    }
  }
  return figures;
}
