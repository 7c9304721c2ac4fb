/**
 * How the end of an unanswered SIP call leg maps to the outcome GES records (the DialFailure of
 * src/voice/voice-port.ts, which this innermost layer does not import: the names below are the
 * same strings, and a test keeps them in step). One table, as data, so docs/VOICE-SIP.md prints
 * exactly what the code does.
 */
export type SipDialOutcome = 'busy' | 'no_answer' | 'invalid_number' | 'network_failure' | 'failed';

/** Why a call leg ended without an answer, as the signalling layer reports it. */
export type SipCallFailure = { kind: 'final'; status: number } | { kind: 'ring_timeout' } | { kind: 'transport'; detail?: string };

export interface SipOutcomeRule {
  /** A status, a status class (`5xx`), `ring_timeout` or `transport`. */
  readonly when: string;
  readonly outcome: SipDialOutcome;
  /** Why, for the docs table. */
  readonly note: string;
}

/** Exact statuses first; a class row applies to every status of the class not listed above it. */
export const SIP_OUTCOME_TABLE: readonly SipOutcomeRule[] = [
  { when: '486', outcome: 'busy', note: 'Busy Here' },
  { when: '600', outcome: 'busy', note: 'Busy Everywhere' },
  { when: '603', outcome: 'busy', note: 'Decline: the person (or their phone) rejected the call; retried like busy, not a bad number' },
  { when: '480', outcome: 'no_answer', note: 'Temporarily Unavailable (phone off, no registration)' },
  { when: '408', outcome: 'no_answer', note: 'Request Timeout: nobody answered in time' },
  { when: '487', outcome: 'no_answer', note: 'Request Terminated: the ringing was cancelled' },
  { when: 'ring_timeout', outcome: 'no_answer', note: 'GES cancelled after SIP_RING_TIMEOUT_SEC' },
  { when: '404', outcome: 'invalid_number', note: 'Not Found' },
  { when: '484', outcome: 'invalid_number', note: 'Address Incomplete' },
  { when: '604', outcome: 'invalid_number', note: 'Does Not Exist Anywhere' },
  { when: '410', outcome: 'invalid_number', note: 'Gone: the number existed and is no longer in service' },
  { when: '485', outcome: 'invalid_number', note: 'Ambiguous: the number does not name one destination' },
  { when: '403', outcome: 'network_failure', note: 'Forbidden: the trunk refuses GES (credentials, barring): an operator matter, not the customer' },
  { when: '488', outcome: 'network_failure', note: 'Not Acceptable Here: no common codec, a configuration problem between GES and the trunk' },
  { when: '503', outcome: 'network_failure', note: 'Service Unavailable (trunk overloaded or down)' },
  { when: '5xx', outcome: 'network_failure', note: 'Other server failures' },
  { when: 'transport', outcome: 'network_failure', note: 'No SIP response at all: connection refused, unreachable, timeout of the transaction' },
  { when: '4xx', outcome: 'failed', note: 'Other client errors: a request GES should not have sent this way' },
  { when: '6xx', outcome: 'busy', note: 'Other global failures: the callee refuses everywhere' },
  { when: '3xx', outcome: 'failed', note: 'Redirections are not followed' },
];

function keyOf(why: SipCallFailure): string {
  return why.kind === 'final' ? String(why.status) : why.kind;
}

/** The outcome of a failed call leg: the first table row for its status, else its class row, else failed. */
export function dialFailureOfSip(why: SipCallFailure): SipDialOutcome {
  const key = keyOf(why);
  const exact = SIP_OUTCOME_TABLE.find((r) => r.when === key);
  if (exact !== undefined) return exact.outcome;
  if (why.kind === 'final') {
    const cls = `${Math.floor(why.status / 100)}xx`;
    const row = SIP_OUTCOME_TABLE.find((r) => r.when === cls);
    if (row !== undefined) return row.outcome;
  }
  return 'failed';
}

/** The table as docs/VOICE-SIP.md prints it (a docs test can compare the two). */
export function sipOutcomeTableMarkdown(): string {
  const rows = SIP_OUTCOME_TABLE.map((r) => `| ${r.when.replace('_', ' ')} | \`${r.outcome}\` | ${r.note} |`);
  return ['| SIP final response | outcome | why |', '| --- | --- | --- |', ...rows].join('\n') + '\n';
}
