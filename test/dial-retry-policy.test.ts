import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceCalendar } from '../src/domain/calendar/booking-plan.ts';
import { parseServiceOptions } from '../src/domain/service-options.ts';
import { decideRetry, finalReason, type FailedDialOutcome } from '../src/domain/engine/dial-retry-policy.ts';

/**
 * The retry rule of every dial outcome (docs/ENGINE.md, "Call progress and machines"): how many
 * attempts, how long between them, always inside business hours and before the time to live ends,
 * and the completion reason once they are spent.
 */

const options = parseServiceOptions({});
const always = serviceCalendar(null, null, options).hours;
const weekdays = { mon: ['09:00-17:00'], tue: ['09:00-17:00'], wed: ['09:00-17:00'], thu: ['09:00-17:00'], fri: ['09:00-17:00'] };
const newYork = serviceCalendar({ name: 'ny', timeZone: 'America/New_York', weekly: weekdays }, null, options).hours;
const at = (iso: string) => Date.parse(iso);
const NOW = at('2030-03-06T15:00:00Z'); // a Wednesday, 10:00 in New York
const DAY_LATER = NOW + 86_400_000;

test('defaults: fax and sit fail at once like an invalid number, a network failure is retried like a platform failure', () => {
  assert.deepEqual(options.retry.fax, { maxAttempts: 1, delaySec: 300 });
  assert.deepEqual(options.retry.sit, { maxAttempts: 1, delaySec: 300 });
  assert.deepEqual(options.retry.networkFailure, { maxAttempts: 3, delaySec: 60 });
  for (const outcome of ['fax', 'sit'] as const) {
    assert.deepEqual(decideRetry(outcome, 1, options, always, NOW, DAY_LATER), { retry: false, reason: 'FAIL_CALL_TO_CUSTOMER' }, outcome);
  }
  assert.deepEqual(decideRetry('network_failure', 1, options, always, NOW, DAY_LATER), { retry: true, atMs: NOW + 60_000 });
  assert.deepEqual(decideRetry('network_failure', 2, options, always, NOW, DAY_LATER), { retry: true, atMs: NOW + 60_000 });
  assert.deepEqual(decideRetry('network_failure', 3, options, always, NOW, DAY_LATER), { retry: false, reason: 'FAIL_ERROR' });
});

test('each outcome has its own rule: per-outcome overrides apply to that outcome only', () => {
  const custom = parseServiceOptions({ retry: { fax: { maxAttempts: 2, delaySec: 120 }, sit: { maxAttempts: 3, delaySec: 30 } } });
  assert.deepEqual(decideRetry('fax', 1, custom, always, NOW, DAY_LATER), { retry: true, atMs: NOW + 120_000 });
  assert.deepEqual(decideRetry('fax', 2, custom, always, NOW, DAY_LATER), { retry: false, reason: 'FAIL_CALL_TO_CUSTOMER' });
  assert.deepEqual(decideRetry('sit', 2, custom, always, NOW, DAY_LATER), { retry: true, atMs: NOW + 30_000 });
  assert.deepEqual(decideRetry('machine', 1, custom, always, NOW, DAY_LATER), { retry: true, atMs: NOW + 300_000 }, 'machine keeps its default');
});

test('completion reasons once the retries are spent: the path failing is FAIL_ERROR, the line of the customer FAIL_CALL_TO_CUSTOMER', () => {
  const expected: Record<FailedDialOutcome, string> = {
    busy: 'FAIL_CALL_TO_CUSTOMER',
    no_answer: 'FAIL_CALL_TO_CUSTOMER',
    machine: 'FAIL_CALL_TO_CUSTOMER',
    invalid_number: 'FAIL_CALL_TO_CUSTOMER',
    fax: 'FAIL_CALL_TO_CUSTOMER',
    sit: 'FAIL_CALL_TO_CUSTOMER',
    network_failure: 'FAIL_ERROR',
    failed: 'FAIL_ERROR',
    abandoned: 'FAIL_AGENT_CONNECT',
  };
  for (const [outcome, reason] of Object.entries(expected)) assert.equal(finalReason(outcome as FailedDialOutcome), reason, outcome);
});

test('new outcomes retry inside business hours only, and never after the time to live', () => {
  const custom = parseServiceOptions({ retry: { fax: { maxAttempts: 3, delaySec: 600 }, networkFailure: { maxAttempts: 3, delaySec: 600 } } });
  // Friday 16:55 New York: a 10 minute pause ends after closing, so the retry waits for Monday 09:00 (13:00Z, daylight time).
  const fridayLate = at('2030-03-08T21:55:00Z');
  for (const outcome of ['fax', 'network_failure'] as const) {
    assert.deepEqual(
      decideRetry(outcome, 1, custom, newYork, fridayLate, at('2030-03-20T00:00:00Z')),
      { retry: true, atMs: at('2030-03-11T13:00:00Z') },
      outcome,
    );
    // The time to live ends before Monday's opening: no retry, the callback completes.
    assert.equal(decideRetry(outcome, 1, custom, newYork, fridayLate, at('2030-03-10T00:00:00Z')).retry, false, outcome);
  }
});
