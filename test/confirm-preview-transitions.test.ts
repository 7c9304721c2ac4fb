import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideAttemptStep, holdsAgent, type AttemptEvent, type AttemptSituation, type AttemptStep } from '../src/domain/engine/attempt-transitions.ts';
import { stateOfPhase, type AttemptPhase, type FirstConnectParty } from '../src/domain/engine/attempt-phase.ts';

/**
 * The rows of the decision table for customer confirmation (userConfirm) and agent preview
 * (agentPreview). Pure; test/engine-confirm-preview.test.ts checks the engine carries them out.
 */

const CONFIRM_END = { onNoConfirm: 'END' } as const;
const CONFIRM_CONNECT = { onNoConfirm: 'CONNECT' } as const;

function at(phase: AttemptPhase, first: FirstConnectParty = 'CUSTOMER', more: Partial<AttemptSituation> = {}): AttemptSituation {
  return { phase, first, attempt: 1, predicted: true, expired: false, ...more };
}

const IGNORE: AttemptStep = { step: 'ignore' };
const preview = (rejects: number, maxRejects = 3) => ({ preview: { rejects, maxRejects } });

interface Row {
  name: string;
  situation: AttemptSituation;
  event: AttemptEvent;
  expected: AttemptStep;
}

const TABLE: Row[] = [
  // customer confirmation
  {
    name: 'userConfirm: the answered customer hears the prompt before any agent is asked for',
    situation: at('DIALING', 'CUSTOMER', { confirm: CONFIRM_END }),
    event: { type: 'answered' },
    expected: {
      step: 'advance',
      from: ['DIALING'],
      to: 'CONFIRMING',
      history: 'DIAL',
      detail: 'answered',
      agentFound: false,
      then: { type: 'confirm_customer' },
      outcome: 'answered',
    },
  },
  {
    name: 'without userConfirm the answered customer waits for an agent at once, as before',
    situation: at('DIALING'),
    event: { type: 'answered' },
    expected: {
      step: 'advance',
      from: ['DIALING'],
      to: 'AWAITING_AGENT',
      history: 'DIAL',
      detail: 'answered',
      agentFound: false,
      then: { type: 'reserve_agent' },
      outcome: 'answered',
    },
  },
  {
    name: 'confirmed: an agent is asked for',
    situation: at('CONFIRMING', 'CUSTOMER', { confirm: CONFIRM_END }),
    event: { type: 'customer_confirmed' },
    expected: {
      step: 'advance',
      from: ['CONFIRMING'],
      to: 'AWAITING_AGENT',
      history: 'STATE',
      detail: 'customer confirmed',
      agentFound: false,
      then: { type: 'reserve_agent' },
    },
  },
  {
    name: 'declined with END: the callback completes FAIL_USER_NO_CONFIRM',
    situation: at('CONFIRMING', 'CUSTOMER', { confirm: CONFIRM_END }),
    event: { type: 'customer_not_confirmed', why: 'declined' },
    expected: { step: 'end', from: ['CONFIRMING'], reason: 'FAIL_USER_NO_CONFIRM', detail: 'not confirmed (declined)' },
  },
  {
    name: 'timed out with END: FAIL_USER_NO_CONFIRM too',
    situation: at('CONFIRMING', 'CUSTOMER', { confirm: CONFIRM_END }),
    event: { type: 'customer_not_confirmed', why: 'timeout' },
    expected: { step: 'end', from: ['CONFIRMING'], reason: 'FAIL_USER_NO_CONFIRM', detail: 'not confirmed (timeout)' },
  },
  {
    name: 'timed out with CONNECT: an agent is asked for anyway',
    situation: at('CONFIRMING', 'CUSTOMER', { confirm: CONFIRM_CONNECT }),
    event: { type: 'customer_not_confirmed', why: 'timeout' },
    expected: {
      step: 'advance',
      from: ['CONFIRMING'],
      to: 'AWAITING_AGENT',
      history: 'STATE',
      detail: 'not confirmed (timeout): connecting anyway',
      agentFound: false,
      then: { type: 'reserve_agent' },
    },
  },
  {
    name: 'a confirmation heard again once the attempt moved on changes nothing',
    situation: at('AWAITING_AGENT', 'CUSTOMER', { confirm: CONFIRM_END }),
    event: { type: 'customer_confirmed' },
    expected: IGNORE,
  },
  {
    name: 'a late not-confirmed after connecting changes nothing',
    situation: at('TALKING', 'CUSTOMER', { confirm: CONFIRM_END }),
    event: { type: 'customer_not_confirmed', why: 'declined' },
    expected: IGNORE,
  },
  {
    name: 'the customer hangs up during the prompt: abandoned, retried by policy',
    situation: at('CONFIRMING', 'CUSTOMER', { confirm: CONFIRM_END }),
    event: { type: 'call_ended', talkSeconds: 0 },
    expected: { step: 'fail', from: ['CONFIRMING'], outcome: 'abandoned', releaseAgent: false },
  },

  // agent preview
  {
    name: 'agent first, agentPreview: the reserved agent previews before the dial',
    situation: at('RESERVING', 'AGENT', preview(0)),
    event: { type: 'agent_reserved', agentId: 'a1' },
    expected: {
      step: 'advance',
      from: ['RESERVING'],
      to: 'PREVIEWING',
      history: 'STATE',
      detail: 'agent reserved: preview',
      agentFound: true,
      then: { type: 'preview', agentId: 'a1' },
      holds: 'a1',
    },
  },
  {
    name: 'customer first, agentPreview: the reserved agent previews while the customer waits',
    situation: at('AWAITING_AGENT', 'CUSTOMER', preview(0)),
    event: { type: 'agent_reserved', agentId: 'a2' },
    expected: {
      step: 'advance',
      from: ['AWAITING_AGENT'],
      to: 'PREVIEWING',
      history: 'STATE',
      detail: 'agent reserved: preview',
      agentFound: true,
      then: { type: 'preview', agentId: 'a2' },
      holds: 'a2',
    },
  },
  {
    name: 'agent first, accepted: the customer is dialed for that agent (a dial, counted as one)',
    situation: at('PREVIEWING', 'AGENT', preview(0)),
    event: { type: 'preview_accepted', agentId: 'a1' },
    expected: {
      step: 'advance',
      from: ['PREVIEWING'],
      to: 'DIALING',
      history: 'DIAL',
      detail: 'dial',
      agentFound: false,
      then: { type: 'dial', agentId: 'a1' },
    },
  },
  {
    name: 'customer first, accepted: the customer is connected to that agent',
    situation: at('PREVIEWING', 'CUSTOMER', preview(0)),
    event: { type: 'preview_accepted', agentId: 'a2' },
    expected: {
      step: 'advance',
      from: ['PREVIEWING'],
      to: 'CONNECTING',
      history: 'STATE',
      detail: 'preview accepted',
      agentFound: false,
      then: { type: 'connect', agentId: 'a2' },
    },
  },
  {
    name: 'agent first, a first reject: back to reserving, the agent recorded',
    situation: at('PREVIEWING', 'AGENT', preview(0)),
    event: { type: 'preview_rejected', agentId: 'a1', why: 'rejected' },
    expected: { step: 'rejected', from: ['PREVIEWING'], to: 'RESERVING', agentId: 'a1', why: 'rejected' },
  },
  {
    name: 'customer first, a timeout counts as a reject: another agent is asked for, the customer still waiting',
    situation: at('PREVIEWING', 'CUSTOMER', preview(1)),
    event: { type: 'preview_rejected', agentId: 'a2', why: 'timeout' },
    expected: { step: 'rejected', from: ['PREVIEWING'], to: 'AWAITING_AGENT', agentId: 'a2', why: 'timeout' },
  },
  {
    name: 'the n-th reject ends the callback AGENT_PREVIEW_CANCEL_AFTER_<n>REJECTS',
    situation: at('PREVIEWING', 'AGENT', preview(2, 3)),
    event: { type: 'preview_rejected', agentId: 'a3', why: 'rejected' },
    expected: {
      step: 'end',
      from: ['PREVIEWING'],
      reason: 'AGENT_PREVIEW_CANCEL_AFTER_3REJECTS',
      detail: 'preview rejected',
      rejectedBy: { agentId: 'a3', why: 'rejected' },
    },
  },
  {
    name: 'maxPreviewRejects 1: the first timeout ends it',
    situation: at('PREVIEWING', 'CUSTOMER', preview(0, 1)),
    event: { type: 'preview_rejected', agentId: 'a1', why: 'timeout' },
    expected: {
      step: 'end',
      from: ['PREVIEWING'],
      reason: 'AGENT_PREVIEW_CANCEL_AFTER_1REJECTS',
      detail: 'preview timeout',
      rejectedBy: { agentId: 'a1', why: 'timeout' },
    },
  },
  {
    name: 'a reject heard again after the attempt moved on changes nothing (it is counted once)',
    situation: at('RESERVING', 'AGENT', preview(1)),
    event: { type: 'preview_rejected', agentId: 'a1', why: 'rejected' },
    expected: IGNORE,
  },
  {
    name: 'an accept heard again once dialing changes nothing',
    situation: at('DIALING', 'AGENT', preview(0)),
    event: { type: 'preview_accepted', agentId: 'a1' },
    expected: IGNORE,
  },
  {
    name: 'the agent to preview is not held any more: ask again, no reject counted',
    situation: at('PREVIEWING', 'AGENT', preview(0)),
    event: { type: 'no_agent' },
    expected: {
      step: 'advance',
      from: ['PREVIEWING'],
      to: 'RESERVING',
      history: 'STATE',
      detail: 'preview agent lost',
      agentFound: false,
      then: { type: 'reserve_agent' },
    },
  },
  {
    name: 'agent first, the preview failed on the platform: no dial was made, back to the queue, the agent given back',
    situation: at('PREVIEWING', 'AGENT', preview(0)),
    event: { type: 'failed' },
    expected: { step: 'requeue', from: ['PREVIEWING'], detail: 'preview failed', reported: 'failed', releaseAgent: true },
  },
  {
    name: 'customer first, the customer hangs up during the preview: abandoned, the agent given back',
    situation: at('PREVIEWING', 'CUSTOMER', preview(0)),
    event: { type: 'call_ended', talkSeconds: 0 },
    expected: { step: 'fail', from: ['PREVIEWING'], outcome: 'abandoned', releaseAgent: true },
  },
];

for (const row of TABLE) {
  test(`${row.situation.phase} + ${row.event.type} (${row.situation.first} first): ${row.name}`, () => {
    assert.deepEqual(decideAttemptStep(row.situation, row.event), row.expected);
  });
}

test('the flows are off unless their options say so: the events of the flows mean nothing in the phases of today', () => {
  const events: AttemptEvent[] = [
    { type: 'customer_confirmed' },
    { type: 'customer_not_confirmed', why: 'declined' },
    { type: 'preview_accepted', agentId: 'a' },
    { type: 'preview_rejected', agentId: 'a', why: 'rejected' },
  ];
  for (const phase of ['WAITING', 'RESERVING', 'DIALING', 'AWAITING_AGENT', 'CONNECTING', 'TALKING', 'RETRY_WAIT'] as const) {
    for (const first of ['CUSTOMER', 'AGENT'] as const) {
      for (const event of events) assert.deepEqual(decideAttemptStep(at(phase, first), event), IGNORE, `${phase} ${first} ${event.type}`);
    }
  }
  // agent_reserved without agentPreview goes straight on, as before.
  assert.equal((decideAttemptStep(at('RESERVING', 'AGENT'), { type: 'agent_reserved', agentId: 'a' }) as { to?: string }).to, 'DIALING');
});

test('a previewing agent is held by GES (given back when the attempt ends there); the phases show QUEUED and ROUTING', () => {
  for (const first of ['CUSTOMER', 'AGENT'] as const) {
    assert.equal(holdsAgent('PREVIEWING', first), true);
    assert.equal(holdsAgent('CONFIRMING', first), false);
    assert.equal(stateOfPhase('PREVIEWING', first), 'ROUTING');
    assert.equal(stateOfPhase('CONFIRMING', first), 'QUEUED');
  }
});
