import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CALL_PHASES,
  decideAttemptStep,
  holdsAgent,
  type AttemptEvent,
  type AttemptSituation,
  type AttemptStep,
} from '../src/domain/engine/attempt-transitions.ts';
import type { AttemptPhase, FirstConnectParty } from '../src/domain/engine/attempt-phase.ts';
import { PHASES } from '../src/domain/engine/attempt-phase.ts';
import { decidePushStep, pushActions, type PushAnswer, type PushSituation } from '../src/domain/engine/push-answer.ts';
import { fcmMessage, MAX_PUSH_DATA_BYTES } from '../src/domain/push-message.ts';
import { generateKeyPairSync, verify } from 'node:crypto';
import { signedAssertion } from '../src/app/google-access-token.ts';

/**
 * The decision table of attempts, row by row: which event in which phase does what. Pure, so it
 * needs no database; the engine tests check that the steps are carried out.
 */

const FAILURES = ['busy', 'no_answer', 'machine', 'invalid_number', 'failed', 'fax', 'sit', 'network_failure'] as const;

function at(phase: AttemptPhase, first: FirstConnectParty = 'CUSTOMER', more: Partial<AttemptSituation> = {}): AttemptSituation {
  return { phase, first, attempt: 1, predicted: true, expired: false, ...more };
}

const IGNORE: AttemptStep = { step: 'ignore' };

interface Row {
  name: string;
  situation: AttemptSituation;
  event: AttemptEvent;
  expected: AttemptStep;
}

const TABLE: Row[] = [
  // agent_reserved
  {
    name: 'agent first: the reserved agent is dialed with',
    situation: at('RESERVING', 'AGENT'),
    event: { type: 'agent_reserved', agentId: 'a1' },
    expected: {
      step: 'advance',
      from: ['RESERVING'],
      to: 'DIALING',
      history: 'DIAL',
      detail: 'dial',
      agentFound: true,
      then: { type: 'dial', agentId: 'a1' },
      holds: 'a1',
    },
  },
  {
    name: 'customer first: the customer on the line is connected to the reserved agent',
    situation: at('AWAITING_AGENT'),
    event: { type: 'agent_reserved', agentId: 'a2' },
    expected: {
      step: 'advance',
      from: ['AWAITING_AGENT'],
      to: 'CONNECTING',
      history: 'STATE',
      detail: 'agent reserved',
      agentFound: true,
      then: { type: 'connect', agentId: 'a2' },
      holds: 'a2',
    },
  },
  {
    name: 'a repeated agent_reserved once dialing changes nothing',
    situation: at('DIALING', 'AGENT'),
    event: { type: 'agent_reserved', agentId: 'a1' },
    expected: IGNORE,
  },
  { name: 'agent_reserved while talking changes nothing', situation: at('TALKING'), event: { type: 'agent_reserved', agentId: 'a1' }, expected: IGNORE },

  // no_agent
  {
    name: 'no agent for a reservation: the same attempt asks again, no new attempt number',
    situation: at('RESERVING', 'AGENT'),
    event: { type: 'no_agent' },
    expected: { step: 'askAgain' },
  },
  {
    name: 'no agent for a reservation past its time to live: expired',
    situation: at('RESERVING', 'AGENT', { expired: true }),
    event: { type: 'no_agent' },
    expected: { step: 'expire', from: ['RESERVING'] },
  },
  {
    name: 'a customer on the line is asked an agent for even past the time to live',
    situation: at('AWAITING_AGENT', 'CUSTOMER', { expired: true }),
    event: { type: 'no_agent' },
    expected: { step: 'askAgain' },
  },
  { name: 'no agent for a customer on the line: ask again', situation: at('AWAITING_AGENT'), event: { type: 'no_agent' }, expected: { step: 'askAgain' } },
  {
    name: 'the agent could not be used: the connection failed',
    situation: at('CONNECTING'),
    event: { type: 'no_agent' },
    expected: { step: 'fail', from: ['CONNECTING'], outcome: 'abandoned', releaseAgent: true },
  },
  { name: 'no_agent while dialing means nothing', situation: at('DIALING'), event: { type: 'no_agent' }, expected: IGNORE },

  // answered
  {
    name: 'customer first: an answer asks for an agent',
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
    name: 'agent first: an answer is connected to the agent held for the key',
    situation: at('DIALING', 'AGENT'),
    event: { type: 'answered' },
    expected: {
      step: 'advance',
      from: ['DIALING'],
      to: 'CONNECTING',
      history: 'DIAL',
      detail: 'answered',
      agentFound: false,
      then: { type: 'connect' },
      outcome: 'answered',
    },
  },
  { name: 'a repeated answer once connecting changes nothing', situation: at('CONNECTING'), event: { type: 'answered' }, expected: IGNORE },

  // connected
  {
    name: 'connected after agent_reserved',
    situation: at('CONNECTING'),
    event: { type: 'connected' },
    expected: { step: 'talk', from: ['CONNECTING', 'AWAITING_AGENT'], agentFound: false, measureWait: true },
  },
  {
    name: 'connected before agent_reserved was applied: the agent is found now',
    situation: at('AWAITING_AGENT'),
    event: { type: 'connected' },
    expected: { step: 'talk', from: ['CONNECTING', 'AWAITING_AGENT'], agentFound: true, measureWait: true },
  },
  {
    name: "a retry's wait is not measured",
    situation: at('CONNECTING', 'CUSTOMER', { attempt: 2 }),
    event: { type: 'connected' },
    expected: { step: 'talk', from: ['CONNECTING', 'AWAITING_AGENT'], agentFound: false, measureWait: false },
  },
  {
    name: 'no prediction, no measurement',
    situation: at('CONNECTING', 'CUSTOMER', { predicted: false }),
    event: { type: 'connected' },
    expected: { step: 'talk', from: ['CONNECTING', 'AWAITING_AGENT'], agentFound: false, measureWait: false },
  },
  { name: 'a repeated connected while talking changes nothing', situation: at('TALKING'), event: { type: 'connected' }, expected: IGNORE },

  // call_ended
  {
    name: 'the talk ended: served',
    situation: at('TALKING'),
    event: { type: 'call_ended', talkSeconds: 90 },
    expected: { step: 'complete', from: CALL_PHASES, talkSeconds: 90, agentFound: false },
  },
  {
    name: 'talk time with connected lost: served all the same',
    situation: at('CONNECTING'),
    event: { type: 'call_ended', talkSeconds: 12 },
    expected: { step: 'complete', from: CALL_PHASES, talkSeconds: 12, agentFound: false },
  },
  {
    name: 'talk time while still dialing as far as GES knows: served, agent found',
    situation: at('DIALING'),
    event: { type: 'call_ended', talkSeconds: 5 },
    expected: { step: 'complete', from: CALL_PHASES, talkSeconds: 5, agentFound: true },
  },
  {
    name: 'talk time while awaiting an agent: served, agent found',
    situation: at('AWAITING_AGENT'),
    event: { type: 'call_ended', talkSeconds: 5 },
    expected: { step: 'complete', from: CALL_PHASES, talkSeconds: 5, agentFound: true },
  },
  {
    name: 'the customer hung up waiting for an agent',
    situation: at('AWAITING_AGENT'),
    event: { type: 'call_ended', talkSeconds: 0 },
    expected: { step: 'fail', from: ['AWAITING_AGENT'], outcome: 'abandoned', releaseAgent: false },
  },
  {
    name: 'the customer hung up while being connected',
    situation: at('CONNECTING', 'AGENT'),
    event: { type: 'call_ended', talkSeconds: 0 },
    expected: { step: 'fail', from: ['CONNECTING'], outcome: 'abandoned', releaseAgent: true },
  },
  {
    name: 'a call that ended untalked while dialing',
    situation: at('DIALING', 'AGENT'),
    event: { type: 'call_ended', talkSeconds: 0 },
    expected: { step: 'fail', from: ['DIALING'], outcome: 'abandoned', releaseAgent: true },
  },
  {
    name: 'call_ended without talk for a reservation means nothing',
    situation: at('RESERVING', 'AGENT'),
    event: { type: 'call_ended', talkSeconds: 0 },
    expected: IGNORE,
  },
  {
    name: 'call_ended with talk for a reservation means nothing',
    situation: at('RESERVING', 'AGENT'),
    event: { type: 'call_ended', talkSeconds: 30 },
    expected: IGNORE,
  },

  // failure outcomes
  ...FAILURES.map((outcome): Row => ({
    name: `${outcome} while dialing: the dial failed with that outcome`,
    situation: at('DIALING'),
    event: { type: outcome },
    expected: { step: 'fail', from: ['DIALING'], outcome, releaseAgent: false, reported: outcome },
  })),
  ...FAILURES.map((outcome): Row => ({
    name: `agent first, ${outcome} while dialing: the reserved agent is given back`,
    situation: at('DIALING', 'AGENT'),
    event: { type: outcome },
    expected: { step: 'fail', from: ['DIALING'], outcome, releaseAgent: true, reported: outcome },
  })),
  ...FAILURES.map((outcome): Row => ({
    name: `${outcome} for a reservation: back to the queue, no dial spent`,
    situation: at('RESERVING', 'AGENT'),
    event: { type: outcome },
    expected: { step: 'requeue', from: ['RESERVING'], detail: 'reservation failed', reported: outcome },
  })),
  ...(['AWAITING_AGENT', 'CONNECTING'] as const).map((phase): Row => ({
    name: `failed in ${phase}: the customer was lost before an agent came`,
    situation: at(phase),
    event: { type: 'failed' },
    expected: { step: 'fail', from: [phase], outcome: 'abandoned', releaseAgent: phase === 'CONNECTING', reported: 'failed' },
  })),
  { name: 'busy while talking changes nothing', situation: at('TALKING'), event: { type: 'busy' }, expected: IGNORE },
];

for (const row of TABLE) {
  test(`${row.situation.phase} + ${row.event.type} (${row.situation.first} first): ${row.name}`, () => {
    assert.deepEqual(decideAttemptStep(row.situation, row.event), row.expected);
  });
}

test('an attempt that is not in flight (waiting, pausing for a retry) ignores every event', () => {
  const events: AttemptEvent[] = [
    { type: 'answered' },
    { type: 'agent_reserved', agentId: 'a' },
    { type: 'no_agent' },
    { type: 'connected' },
    { type: 'call_ended', talkSeconds: 0 },
    { type: 'call_ended', talkSeconds: 60 },
    { type: 'message_left' },
    ...FAILURES.map((type) => ({ type })),
  ];
  for (const phase of ['WAITING', 'RETRY_WAIT'] as const) {
    for (const first of ['CUSTOMER', 'AGENT'] as const) {
      for (const event of events) assert.deepEqual(decideAttemptStep(at(phase, first), event), IGNORE, `${phase} ${first} ${event.type}`);
    }
  }
});

test('an agent is held by GES from agent_reserved until it is connected: while connecting, and while dialing agent first', () => {
  const held = (first: FirstConnectParty) =>
    (['WAITING', 'RESERVING', 'DIALING', 'AWAITING_AGENT', 'CONNECTING', 'TALKING', 'RETRY_WAIT'] as const).filter((p) => holdsAgent(p, first));
  assert.deepEqual(held('CUSTOMER'), ['CONNECTING']);
  assert.deepEqual(held('AGENT'), ['DIALING', 'CONNECTING']);
});

// ---- USERORIGINATED (push) callbacks: src/domain/engine/push-answer.ts -------------------------

test('push answers: the table of confirm, snooze and expiry in each phase', () => {
  const at = (phase: AttemptPhase, answer: PushAnswer, over: Partial<PushSituation> = {}) =>
    decidePushStep({ phase, pushes: 1, maxPushes: 3, callIn: false, ...over }, answer).step;
  assert.equal(at('PUSHED', 'confirm'), 'dial');
  assert.equal(at('PUSHED', 'confirm', { callIn: true }), 'callIn');
  assert.equal(at('PUSHED', 'snooze'), 'snooze');
  assert.equal(at('PUSHED', 'snooze', { pushes: 3 }), 'refuse', 'the last push cannot be snoozed');
  assert.equal(at('PUSHED', 'expired'), 'giveUp');
  // Anywhere else an answer is late or early: nothing moves.
  for (const phase of Object.keys(PHASES) as AttemptPhase[]) {
    if (phase === 'PUSHED') continue;
    for (const answer of ['confirm', 'snooze', 'expired'] as const) assert.equal(at(phase, answer), 'refuse', `${answer} in ${phase}`);
  }
  assert.deepEqual(pushActions(1, 3), ['CONFIRM', 'SNOOZE', 'CANCEL']);
  assert.deepEqual(pushActions(3, 3), ['CONFIRM', 'CANCEL']);
});

test('push message: a string-only data message, bounded, with its time to live; no number, no userData', () => {
  const now = Date.UTC(2030, 0, 1);
  const m = fcmMessage(
    'reg-token',
    { callbackId: 'cb-1', serviceName: 'app', actions: ['CONFIRM'], push: 1, maxPushes: 3, expiresAt: new Date(now + 300_000) },
    now,
  );
  assert.equal(m.token, 'reg-token');
  assert.equal(m.android.ttl, '300s');
  assert.ok(Object.values(m.data).every((v) => typeof v === 'string'));
  assert.deepEqual(Object.keys(m.data).sort(), ['actions', 'callbackId', 'expiresAt', 'maxPushes', 'push', 'serviceName', 'type']);
  assert.throws(
    () => fcmMessage('t', { callbackId: 'x', serviceName: 's'.repeat(MAX_PUSH_DATA_BYTES), actions: [], push: 1, maxPushes: 1, expiresAt: new Date(now) }, now),
    /exceeds/,
  );
});

test('the OAuth assertion is an RS256 JWT of the service account, for the FCM scope, at most one hour', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const account = {
    projectId: 'p',
    clientEmail: 'a@p.iam.gserviceaccount.com',
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    tokenUri: 'https://oauth2.googleapis.com/token',
  };
  const jwt = signedAssertion(account, 'https://token.example/t', 1_900_000_000);
  const [h, c, sig] = jwt.split('.');
  assert.ok(verify('RSA-SHA256', Buffer.from(`${h}.${c}`), publicKey, Buffer.from(sig!, 'base64url')));
  assert.deepEqual(JSON.parse(Buffer.from(h!, 'base64url').toString()), { alg: 'RS256', typ: 'JWT' });
  assert.deepEqual(JSON.parse(Buffer.from(c!, 'base64url').toString()), {
    iss: 'a@p.iam.gserviceaccount.com',
    scope: 'https://www.googleapis.com/auth/firebase.messaging',
    aud: 'https://token.example/t',
    iat: 1_900_000_000,
    exp: 1_900_003_600,
  });
});

// ---- machines: the service's onMachine decides (docs/ENGINE.md, "Call progress and machines") ----

const MACHINE_TABLE: Row[] = [
  {
    name: 'RETRY (said outright) is the default: the dial failed with machine',
    situation: at('DIALING', 'CUSTOMER', { onMachine: 'RETRY' }),
    event: { type: 'machine' },
    expected: { step: 'fail', from: ['DIALING'], outcome: 'machine', releaseAgent: false, reported: 'machine' },
  },
  {
    name: 'LEAVE_MESSAGE: the machine is told the message, the attempt stays dialing with a fresh watchdog',
    situation: at('DIALING', 'CUSTOMER', { onMachine: 'LEAVE_MESSAGE' }),
    event: { type: 'machine' },
    expected: {
      step: 'advance',
      from: ['DIALING'],
      to: 'DIALING',
      history: 'DIAL',
      detail: 'machine: leaving message',
      agentFound: false,
      then: { type: 'leave_message' },
      outcome: 'machine',
    },
  },
  {
    name: 'LEAVE_MESSAGE agent first: the same, the agent stays held until the message is left',
    situation: at('DIALING', 'AGENT', { onMachine: 'LEAVE_MESSAGE' }),
    event: { type: 'machine' },
    expected: {
      step: 'advance',
      from: ['DIALING'],
      to: 'DIALING',
      history: 'DIAL',
      detail: 'machine: leaving message',
      agentFound: false,
      then: { type: 'leave_message' },
      outcome: 'machine',
    },
  },
  {
    name: 'TREAT_AS_ANSWERED customer first: an agent is asked for, as for a person',
    situation: at('DIALING', 'CUSTOMER', { onMachine: 'TREAT_AS_ANSWERED' }),
    event: { type: 'machine' },
    expected: {
      step: 'advance',
      from: ['DIALING'],
      to: 'AWAITING_AGENT',
      history: 'DIAL',
      detail: 'machine: treated as answered',
      agentFound: false,
      then: { type: 'reserve_agent' },
      outcome: 'machine',
    },
  },
  {
    name: 'TREAT_AS_ANSWERED agent first: the held agent is bridged',
    situation: at('DIALING', 'AGENT', { onMachine: 'TREAT_AS_ANSWERED' }),
    event: { type: 'machine' },
    expected: {
      step: 'advance',
      from: ['DIALING'],
      to: 'CONNECTING',
      history: 'DIAL',
      detail: 'machine: treated as answered',
      agentFound: false,
      then: { type: 'connect' },
      outcome: 'machine',
    },
  },
  {
    name: 'a machine reported after the dial (waiting for an agent) is a lost customer, whatever onMachine says',
    situation: at('AWAITING_AGENT', 'CUSTOMER', { onMachine: 'LEAVE_MESSAGE' }),
    event: { type: 'machine' },
    expected: { step: 'fail', from: ['AWAITING_AGENT'], outcome: 'abandoned', releaseAgent: false, reported: 'machine' },
  },
  {
    name: 'message_left while dialing completes the callback (customer first: no agent held)',
    situation: at('DIALING', 'CUSTOMER', { onMachine: 'LEAVE_MESSAGE' }),
    event: { type: 'message_left' },
    expected: { step: 'messageLeft', from: ['DIALING'], releaseAgent: false },
  },
  {
    name: 'message_left agent first gives the held agent back',
    situation: at('DIALING', 'AGENT', { onMachine: 'LEAVE_MESSAGE' }),
    event: { type: 'message_left' },
    expected: { step: 'messageLeft', from: ['DIALING'], releaseAgent: true },
  },
  ...(['RESERVING', 'AWAITING_AGENT', 'CONNECTING', 'TALKING'] as const).map((phase): Row => ({
    name: `message_left in ${phase} means nothing`,
    situation: at(phase),
    event: { type: 'message_left' },
    expected: IGNORE,
  })),
];

for (const row of MACHINE_TABLE) {
  test(`${row.situation.phase} + ${row.event.type} (${row.situation.first} first, ${row.situation.onMachine ?? 'default'}): ${row.name}`, () => {
    assert.deepEqual(decideAttemptStep(row.situation, row.event), row.expected);
  });
}

test('fax, sit and network_failure are failures whatever onMachine says', () => {
  for (const onMachine of ['RETRY', 'LEAVE_MESSAGE', 'TREAT_AS_ANSWERED'] as const) {
    for (const outcome of ['fax', 'sit', 'network_failure'] as const) {
      assert.deepEqual(decideAttemptStep(at('DIALING', 'CUSTOMER', { onMachine }), { type: outcome }), {
        step: 'fail',
        from: ['DIALING'],
        outcome,
        releaseAgent: false,
        reported: outcome,
      });
    }
  }
});
