/**
 * A day of every voice flow, shared by the day on the in-process simulator (engine-flows-day.test.ts)
 * and the day of three GES processes over the Redis-stream contract (engine-multinode.test.ts): the
 * services that turn each flow on, the simulated contact center's mixes, and the check of every
 * callback against the platform's dial ledger (its reason follows from what the ledger says happened:
 * the network's outcome, the customer's answer to the prompt, the agents' answers to the previews,
 * the message left, the disposition chosen).
 */
import assert from 'node:assert/strict';
import type { TestDb } from './test-env.ts';
import type { DialLedgerFile } from '../../src/voice/redis-stream/dial-ledger-file.ts';
import { previewRejectReason, reasonName, stateName, type CompletionReason } from '../../src/domain/callback-state.ts';
import { DISPOSITION_STORED } from '../../src/domain/disposition.ts';
import { parseServiceOptions, type ServiceOptions } from '../../src/domain/service-options.ts';
import type { DialResult } from '../../src/voice/simulator/dial-ledger.ts';

export const RETRY: ServiceOptions['retry'] = {
  busy: { maxAttempts: 2, delaySec: 2 },
  noAnswer: { maxAttempts: 2, delaySec: 2 },
  machine: { maxAttempts: 3, delaySec: 1 },
  invalidNumber: { maxAttempts: 1, delaySec: 1 },
  // Platform failures (an attempt given up by its watchdog after a lost event) are retried generously,
  // so that every callback ends on what the customer's phone did.
  failed: { maxAttempts: 10, delaySec: 1 },
  fax: { maxAttempts: 1, delaySec: 1 },
  sit: { maxAttempts: 1, delaySec: 1 },
  // A network failure is the platform's draw for the customer's line: spent after two, so FAIL_ERROR is reached.
  networkFailure: { maxAttempts: 2, delaySec: 1 },
};
/** Open all day (no business hours), no per-number or per-slot limits, scheduled ones queue at their time. */
export const COMMON_OPTIONS = {
  inQueueChecking: 'false',
  requestsPerNumberPer24h: 0,
  slotCapacity: 100000,
  executionBufferSec: 0,
  retry: RETRY,
} as const;
/** The voice flows of docs/ENGINE.md, a service each, beside the plain customer-first and agent-first ones. */
const FLOW_OPTIONS = { ...COMMON_OPTIONS, firstConnectParty: 'CUSTOMER' } as const;
const PREVIEW = { agentPreview: true, maxPreviewRejects: 2, agentRejectRetryTimeoutSec: 0 } as const;
export const SERVICES = {
  sales: { ...COMMON_OPTIONS, firstConnectParty: 'CUSTOMER' },
  support: { ...COMMON_OPTIONS, firstConnectParty: 'AGENT' },
  confirmEnd: { ...FLOW_OPTIONS, userConfirm: true, onUserConfirmTimeout: 'END' },
  confirmConnect: { ...FLOW_OPTIONS, userConfirm: true, onUserConfirmTimeout: 'CONNECT' },
  previewCustomer: { ...FLOW_OPTIONS, ...PREVIEW },
  previewAgent: { ...FLOW_OPTIONS, ...PREVIEW, firstConnectParty: 'AGENT' },
  machineMessage: { ...FLOW_OPTIONS, onMachine: 'LEAVE_MESSAGE', machineMessageText: 'Sorry we missed you, we will call again.' },
  machineAnswered: { ...FLOW_OPTIONS, onMachine: 'TREAT_AS_ANSWERED' },
  // Recreates come due 2 s after the dialog (GES's clock, not the platform's compressed one).
  disposition: { ...FLOW_OPTIONS, enableDispositionDialog: true, agentDispositionTimeoutSec: 10, callBackLaterDelaySec: 2 },
  context: { ...COMMON_OPTIONS, firstConnectParty: 'AGENT', previewKeys: 'orderId' },
} as const;
export type ServiceName = keyof typeof SERVICES;
export const AGENTS: Record<ServiceName, number> = {
  sales: 6,
  support: 4,
  confirmEnd: 2,
  confirmConnect: 2,
  previewCustomer: 3,
  previewAgent: 3,
  machineMessage: 2,
  machineAnswered: 2,
  disposition: 3,
  context: 2,
};
/** Which service callback n is for: half plain, half one of the flows. */
const SERVICE_CYCLE: readonly ServiceName[] = [
  'sales',
  'confirmEnd',
  'support',
  'previewCustomer',
  'sales',
  'machineMessage',
  'disposition',
  'previewAgent',
  'sales',
  'confirmConnect',
  'support',
  'machineAnswered',
  'context',
  'disposition',
];
export const serviceOf = (n: number): ServiceName => SERVICE_CYCLE[n % SERVICE_CYCLE.length]!;
export const phoneOf = (n: number) => `+1415555${2000 + n}`;

/** The outcomes a dial can have on the platform, and the retry policy GES applies to each. */
const POLICY_OF = {
  busy: 'busy',
  no_answer: 'noAnswer',
  machine: 'machine',
  invalid_number: 'invalidNumber',
  fax: 'fax',
  sit: 'sit',
  network_failure: 'networkFailure',
} as const;
type CustomerFailure = keyof typeof POLICY_OF;
const isCustomerFailure = (s: string | null | undefined): s is CustomerFailure => s != null && s in POLICY_OF;
/** Details of the history event that ends an attempt without an agent (the engine's reading of it). */
const ATTEMPT_END_DETAILS = new Set(['busy', 'no_answer', 'machine', 'invalid_number', 'failed', 'abandoned', 'fax', 'sit', 'network_failure']);

const KIND = { STATE: 1, DIAL: 2 } as const;

/**
 * The simulated contact center's settings for `count` callbacks (the platform process's --sim, or
 * the in-process simulator's config): outcomes of every kind, the machine services' customers a
 * machine every other dial, some numbers always fax, tone or network failure, many customers who
 * do not confirm and many agents who reject, and dispositions answered well within their timeout.
 */
export function flowSim(count: number) {
  const perNumber: Record<string, { machine?: number; fax?: number; sit?: number; networkFailure?: number }> = {};
  for (let n = 0; n < count; n++) {
    if (serviceOf(n).startsWith('machine')) perNumber[phoneOf(n)] = { machine: 0.5 };
    else if (n % 40 === 3) perNumber[phoneOf(n)] = { networkFailure: 1 };
    else if (n % 40 === 17) perNumber[phoneOf(n)] = { fax: 1 };
    else if (n % 40 === 29) perNumber[phoneOf(n)] = { sit: 1 };
  }
  return {
    customers: { answer: 0.56, busy: 0.1, noAnswer: 0.08, machine: 0.1, invalid: 0.06, fax: 0.04, sit: 0.03, networkFailure: 0.03 },
    perNumber,
    // Answered customers wait for an agent far longer than the run: every answer is worked, none abandons.
    customerPatienceSec: 7200,
    confirmation: { confirm: 0.6, decline: 0.25, timeout: 0.15 },
    preview: { accept: 0.6, reject: 0.3, timeout: 0.1 },
    // No desired time with CALL_BACK_LATER: over Redis the platform's clock runs ahead of GES's; callBackLaterDelaySec decides.
    dispositions: { mix: { DONE: 0.6, CALL_BACK_LATER: 0.3, NOT_INTERESTED: 0.1 }, afterSec: { mean: 3, sd: 1 } },
  };
}

/** What a day must have played, whatever its seed: each flow to each of its ends. */
export function assertEveryFlowPlayed(summary: Awaited<ReturnType<typeof checkCallbacks>>, recreated: number): void {
  for (const reason of [
    'AGENT_CONNECTED',
    'FAIL_CALL_TO_CUSTOMER',
    'FAIL_ERROR',
    'FAIL_USER_NO_CONFIRM',
    'MESSAGE_LEFT',
    'AGENT_PREVIEW_CANCEL_AFTER_2REJECTS',
  ])
    assert.ok((summary.reasons[reason] ?? 0) > 0, `some callback completed ${reason} (${JSON.stringify(summary.reasons)})`);
  for (const [flow, n] of Object.entries(summary.flows)) assert.ok(n > 0, `the day played ${flow} (${JSON.stringify(summary.flows)})`);
  for (const outcome of ['fax', 'sit', 'network_failure', 'machine'])
    assert.ok((summary.outcomes[outcome] ?? 0) > 0, `some call ended ${outcome} (${JSON.stringify(summary.outcomes)})`);
  assert.ok(recreated > 0, 'some CALL_BACK_LATER recreated a callback');
}

export interface Created {
  id: string;
  service: ServiceName;
  /** The userData orderId it was created with (the context service), to be found on the agent's screen. */
  orderId?: string;
  /** The callback whose CALL_BACK_LATER disposition recreated this one. */
  recreatedFrom?: string;
  scheduled: boolean;
  via: string;
}

/** The callbacks CALL_BACK_LATER dispositions recreated (chains included), each linked to its original. */
export async function recreatedCallbacks(db: TestDb, created: Created[]): Promise<Created[]> {
  const known = new Set(created.map((c) => c.id));
  const { rows } = await db.pool.query<{ id: string; service: string; detail: string }>(
    `SELECT c.id, s.name AS service, e.detail FROM callback c JOIN callback_service s ON s.id = c.service_id
       JOIN callback_event e ON e.callback_id = c.id AND e.detail LIKE 'recreated from %'`,
  );
  const out: Created[] = [];
  for (const row of rows) {
    if (known.has(row.id)) continue;
    out.push({ id: row.id, service: row.service as ServiceName, scheduled: true, via: 'recreate', recreatedFrom: row.detail.slice('recreated from '.length) });
  }
  return out;
}

interface EventRow {
  callback_id: string;
  kind: number;
  state: number;
  reason: number | null;
  attempt: number;
  detail: string | null;
  at: Date;
}

/**
 * Checks every callback against the platform's ledger: its completion reason follows from what
 * happened to its last call, every earlier attempt ended the way the engine recorded it, each
 * attempt was dialed once, attempt numbers follow one another, and scheduled callbacks were not
 * queued before their time.
 */
export async function checkCallbacks(db: TestDb, created: Created[], final: DialLedgerFile) {
  const { rows: callbacks } = await db.pool.query<{
    id: string;
    state: number;
    reason: number | null;
    attempt: number;
    desired_at: Date;
    disposition: number | null;
  }>('SELECT id, state, reason, attempt, desired_at, disposition FROM callback');
  const { rows: events } = await db.pool.query<EventRow>('SELECT callback_id, kind, state, reason, attempt, detail, at FROM callback_event ORDER BY at');
  const byId = new Map(callbacks.map((c) => [c.id, c]));
  const eventsOf = new Map<string, EventRow[]>();
  for (const e of events) eventsOf.set(e.callback_id, [...(eventsOf.get(e.callback_id) ?? []), e]);
  const ledgerOf = new Map<string, Map<number, { received: number; dialed: boolean; result: DialResult | undefined }>>();
  for (const [key, entry] of Object.entries(final.keys)) {
    const colon = key.lastIndexOf(':');
    const id = key.slice(0, colon);
    assert.ok(byId.has(id), `ledger key ${key} belongs to a callback of this run`);
    const attempts = ledgerOf.get(id) ?? new Map();
    attempts.set(Number(key.slice(colon + 1)), { ...entry, result: final.results[key] });
    ledgerOf.set(id, attempts);
  }
  const options = Object.fromEntries(Object.entries(SERVICES).map(([name, o]) => [name, parseServiceOptions(o)])) as Record<
    keyof typeof SERVICES,
    ServiceOptions
  >;

  const recreatesOf = new Map<string, string[]>();
  for (const c of created) if (c.recreatedFrom !== undefined) recreatesOf.set(c.recreatedFrom, [...(recreatesOf.get(c.recreatedFrom) ?? []), c.id]);
  // Previews are keyed by attempt like dials, but an agent-first attempt is previewed before (or without) its dial.
  // Previews and holds are keyed by attempt like dials, but an agent-first attempt is previewed
  // and holds its agent before (or without) its dial; `seq` orders them within the platform.
  const byCallback = <T extends { seq: number }>(record: Readonly<Record<string, readonly T[]>>, what: string) => {
    const out = new Map<string, T[]>();
    for (const [key, list] of Object.entries(record)) {
      const id = key.slice(0, key.lastIndexOf(':'));
      assert.ok(byId.has(id), `${what} key ${key} belongs to a callback of this run`);
      out.set(id, [...(out.get(id) ?? []), ...list]);
    }
    for (const list of out.values()) list.sort((a, b) => a.seq - b.seq);
    return out;
  };
  const previewsOf = byCallback(final.previews, 'previewed');
  const holdsOf = byCallback(final.holds, 'held');
  const storedDisposition = Object.fromEntries(Object.entries(DISPOSITION_STORED).map(([code, n]) => [n, code])) as Record<number, string>;

  let dialsPlaced = 0;
  let givenUp = 0;
  const flows = {
    previews: 0,
    previewRejects: 0,
    rejectedThenConnected: 0,
    confirmations: 0,
    notConfirmedConnectedAnyway: 0,
    machineTreatedAsAnswered: 0,
    contextScreens: 0,
    dispositions: 0,
  };
  /** Dispositions chosen on the platform that GES recorded TIMEOUT: the choice was lost with Redis's data. */
  let dispositionsLost = 0;
  const outcomes: Record<string, number> = {};
  for (const result of Object.values(final.results)) outcomes[result.outcome] = (outcomes[result.outcome] ?? 0) + 1;
  const reasons: Record<string, number> = {};
  for (const c of created) {
    const row = byId.get(c.id);
    assert.ok(row, `${c.id} exists`);
    const what = `${c.id} (${c.service}${c.scheduled ? ', scheduled' : ''}, created on ${c.via})`;
    const flow = options[c.service];
    assert.equal(stateName(row.state), 'COMPLETED', `${what} completed`);
    const reason = reasonName(row.reason)!;
    reasons[reason] = (reasons[reason] ?? 0) + 1;
    const history = eventsOf.get(c.id) ?? [];
    const platformSide = ledgerOf.get(c.id) ?? new Map();
    const last = row.attempt;
    assert.ok(last >= 1, `${what} was attempted`);

    // Each attempt is dialed at most once, and every dial GES recorded reached the platform.
    const dialEvents = history.filter((e) => e.kind === KIND.DIAL && e.detail === 'dial');
    const dialedAttempts = dialEvents.map((e) => e.attempt);
    assert.equal(new Set(dialedAttempts).size, dialedAttempts.length, `${what}: no attempt dialed twice (${dialedAttempts.join(',')})`);
    for (const n of dialedAttempts) assert.ok(platformSide.has(n), `${what}: the dial of attempt ${n} reached the platform`);
    for (const [n, entry] of platformSide) {
      assert.ok(dialedAttempts.includes(n), `${what}: the platform was asked to dial attempt ${n}, which GES recorded as dialed`);
      if (entry.dialed) dialsPlaced += 1;
    }
    const placed = [...platformSide]
      .filter(([, e]) => e.dialed)
      .map(([n]) => n)
      .sort((a, b) => a - b);
    const ending = (n: number) =>
      history.filter(
        (e) =>
          e.attempt === n &&
          ((e.kind === KIND.DIAL && ATTEMPT_END_DETAILS.has(e.detail ?? '')) ||
            (e.kind === KIND.STATE && (e.detail === 'no agent' || e.detail === 'reservation failed'))),
      );
    // No agent is offered the callback again once they rejected it (or let its preview time out):
    // neither shown its preview nor held for it, in any attempt.
    const offers = previewsOf.get(c.id) ?? [];
    const holds = holdsOf.get(c.id) ?? [];
    const rejects = offers.filter((o) => o.answer === 'reject' || o.answer === 'timeout');
    for (const r of rejects) {
      const again = [...offers, ...holds].filter((x) => x.agentId === r.agentId && x.seq > r.answeredSeq!);
      assert.deepEqual(
        again,
        [],
        `${what}: ${r.agentId} rejected it, yet was offered or held for it again (previews ${JSON.stringify(offers)}, holds ${JSON.stringify(holds)})`,
      );
    }
    flows.previews += offers.length;
    flows.previewRejects += rejects.length;
    if (!flow.agentPreview) assert.equal(offers.length, 0, `${what}: previewed without agentPreview`);
    const cancelledOnRejects = flow.agentPreview && rejects.length >= flow.maxPreviewRejects;

    if (flow.firstConnectParty !== 'AGENT') {
      // Customer first: every attempt is a dial, so attempts 1..n are exactly the keys dialed.
      assert.deepEqual(
        placed,
        Array.from({ length: last }, (_, i) => i + 1),
        `${what}: attempts dialed once each, in sequence`,
      );
    } else {
      // Agent first: an attempt whose agent could not be held never dials; it must still be accounted for.
      if (!cancelledOnRejects) assert.ok(dialedAttempts.includes(last), `${what}: the last attempt dialed`);
      for (let n = 1; n < last; n++) assert.ok(dialedAttempts.includes(n) || ending(n).length > 0, `${what}: attempt ${n} is accounted for`);
    }

    // The completion follows from what happened to the last call: what the network did, the
    // customer's answer to the prompt, the agents' answers to the previews.
    const result = platformSide.get(last)?.result;
    const lastKey = `${c.id}:${last}`;
    const confirmation = final.confirmations[lastKey];
    if (confirmation !== undefined) flows.confirmations += 1;
    if (!flow.userConfirm) assert.equal(confirmation, undefined, `${what}: asked to confirm without userConfirm`);
    const person = result !== undefined && (result.outcome === 'answered' || (result.outcome === 'machine' && flow.onMachine === 'TREAT_AS_ANSWERED'));
    const expected: CompletionReason = cancelledOnRejects
      ? previewRejectReason(flow.maxPreviewRejects)
      : result?.connected
        ? 'AGENT_CONNECTED'
        : result?.messageLeft
          ? 'MESSAGE_LEFT'
          : person && flow.userConfirm && flow.onUserConfirmTimeout === 'END' && (confirmation === 'decline' || confirmation === 'timeout')
            ? 'FAIL_USER_NO_CONFIRM'
            : person
              ? 'FAIL_AGENT_CONNECT'
              : result?.outcome === 'network_failure'
                ? 'FAIL_ERROR'
                : result
                  ? 'FAIL_CALL_TO_CUSTOMER'
                  : 'FAIL_ERROR';
    assert.equal(
      reason,
      expected,
      `${what}: completed ${reason}, but its last call (attempt ${last}) was ${JSON.stringify(result)}, confirmation ${confirmation}, previews ${JSON.stringify(offers)}`,
    );
    if (reason === 'MESSAGE_LEFT') assert.equal(flow.onMachine, 'LEAVE_MESSAGE', `${what}: a message left without onMachine LEAVE_MESSAGE`);
    if (reason === 'AGENT_CONNECTED' && flow.previewKeys !== undefined) {
      // What the customer gave at create reached the agent's screen, the preview keys among it.
      const screen = final.screens[lastKey];
      assert.equal(screen?.userData.orderId, c.orderId, `${what}: the agent saw the orderId`);
      assert.deepEqual(screen?.preview, [{ key: 'orderId', value: c.orderId }], `${what}: the preview keys shown`);
      flows.contextScreens += 1;
    }
    if (reason === 'AGENT_CONNECTED') {
      if (rejects.length > 0) flows.rejectedThenConnected += 1;
      if (confirmation === 'decline' || confirmation === 'timeout') flows.notConfirmedConnectedAnyway += 1;
      if (result?.outcome === 'machine') flows.machineTreatedAsAnswered += 1;
    }
    // A failure of the customer's line (the network's included) completes on it once its policy is spent.
    if ((reason === 'FAIL_CALL_TO_CUSTOMER' || reason === 'FAIL_ERROR') && isCustomerFailure(result?.outcome)) {
      const outcome: CustomerFailure = result!.outcome as CustomerFailure;
      const done = history.find((e) => stateName(e.state) === 'COMPLETED')!;
      assert.equal(done.detail, outcome, `${what}: completed on the outcome of its last call`);
      const policy = flow.retry[POLICY_OF[outcome]];
      assert.ok(dialEvents.length >= policy.maxAttempts, `${what}: ${outcome} retried to its limit (${dialEvents.length} of ${policy.maxAttempts} dials)`);
    }

    // Earlier attempts: nobody reached an agent (else the callback would have completed then), and
    // the engine's reading of each matches the platform, or the attempt was given up by a watchdog
    // after its events were lost; a retry happened only while the outcome's policy allowed one.
    for (let n = 1; n < last; n++) {
      const earlier = platformSide.get(n)?.result;
      assert.ok(!earlier?.connected, `${what}: attempt ${n} reached an agent, yet the callback went on to attempt ${n + 1}`);
      if (!dialedAttempts.includes(n)) continue;
      const ends = ending(n).filter((e) => e.kind === KIND.DIAL);
      assert.equal(ends.length, 1, `${what}: attempt ${n} ended once (${ends.map((e) => e.detail).join(',')})`);
      const seen = ends[0]!.detail!;
      if (seen === 'failed') {
        givenUp += 1;
        continue;
      }
      if (seen === 'abandoned')
        assert.ok(
          earlier?.outcome === 'answered' || (earlier?.outcome === 'machine' && flow.onMachine !== 'RETRY'),
          `${what}: attempt ${n} abandoned after an answer (${earlier?.outcome})`,
        );
      else assert.equal(seen, earlier?.outcome, `${what}: attempt ${n} ended as the platform reported`);
      if (isCustomerFailure(seen)) {
        const dialsSoFar = dialEvents.filter((e) => e.attempt <= n).length;
        assert.ok(dialsSoFar < options[c.service].retry[POLICY_OF[seen]].maxAttempts, `${what}: attempt ${n} (${seen}) retried within its policy`);
      }
    }

    // The disposition GES recorded is the agent's (or TIMEOUT, when the flush lost the agent's choice),
    // and a CALL_BACK_LATER recreated the callback exactly once.
    const chosen = final.dispositions[lastKey];
    const recorded = row.disposition === null ? undefined : storedDisposition[row.disposition];
    if (!flow.enableDispositionDialog) assert.equal(recorded, undefined, `${what}: a disposition without the dialog`);
    else if (reason === 'AGENT_CONNECTED' && chosen !== undefined) {
      flows.dispositions += 1;
      if (recorded === 'TIMEOUT') dispositionsLost += 1;
      else assert.equal(recorded, chosen, `${what}: the disposition recorded is the agent's`);
    }
    if (chosen !== undefined) assert.equal(reason, 'AGENT_CONNECTED', `${what}: a disposition for a call not served`);
    const recreates = recreatesOf.get(c.id) ?? [];
    assert.equal(recreates.length, recorded === 'CALL_BACK_LATER' ? 1 : 0, `${what}: disposition ${recorded}, recreated as ${recreates.join(',')}`);

    if (c.scheduled) {
      const queued = history.find((e) => e.kind === KIND.STATE && stateName(e.state) === 'QUEUED');
      assert.ok(queued, `${what} was queued`);
      assert.ok(queued.at.getTime() >= row.desired_at.getTime(), `${what}: queued no earlier than its desired time`);
    }
  }
  return { dialsPlaced, givenUp, reasons, flows, outcomes, dispositionsLost };
}
