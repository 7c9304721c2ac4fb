import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dialWindow, OPENING_LOOKAHEAD_MS } from '../src/domain/calendar/dial-window.ts';
import { serviceCalendar } from '../src/domain/calendar/booking-plan.ts';
import { parseServiceOptions } from '../src/domain/service-options.ts';
import { decideRetry } from '../src/domain/engine/dial-retry-policy.ts';

/** May a service's callbacks be dialed now (dial-window.ts), and until when are they held if not. */

const options = parseServiceOptions({});
const weekdays = { mon: ['09:00-17:00'], tue: ['09:00-17:00'], wed: ['09:00-17:00'], thu: ['09:00-17:00'], fri: ['09:00-17:00'] };
const newYork = serviceCalendar({ name: 'ny', timeZone: 'America/New_York', weekly: weekdays }, null, options).hours;
const at = (iso: string) => Date.parse(iso);

test('open: dial; the last second before closing still dials, closing itself does not', () => {
  assert.deepEqual(dialWindow(newYork, at('2030-03-08T15:00:00Z')), { kind: 'dial' });
  assert.deepEqual(dialWindow(newYork, at('2030-03-08T21:59:59Z')), { kind: 'dial' });
  assert.equal(dialWindow(newYork, at('2030-03-08T22:00:00Z')).kind, 'hold');
});

test('closed on a Friday before the spring DST change: held until Monday 09:00 daylight time (13:00Z, not 14:00Z)', () => {
  // New York moves to daylight time on Sunday 2030-03-10: Friday closes at 22:00Z, Monday opens at 13:00Z.
  assert.deepEqual(dialWindow(newYork, at('2030-03-08T22:00:30Z')), { kind: 'hold', untilMs: at('2030-03-11T13:00:00Z'), opening: true });
  // And back in the autumn (2030-11-03): Monday 09:00 standard time is 14:00Z.
  assert.deepEqual(dialWindow(newYork, at('2030-11-01T21:30:00Z')), { kind: 'hold', untilMs: at('2030-11-04T14:00:00Z'), opening: true });
});

test('no opening within the look-ahead: held until its end, to be looked at again', () => {
  const never = serviceCalendar({ name: 'never', timeZone: 'UTC', weekly: {} }, null, options).hours;
  const now = at('2030-03-08T12:00:00Z');
  assert.deepEqual(dialWindow(never, now), { kind: 'hold', untilMs: now + OPENING_LOOKAHEAD_MS, opening: false });
});

test('a retry whose pause would end after closing is set for the next opening (and so is never due after hours)', () => {
  const retry = { ...options.retry, busy: { maxAttempts: 3, delaySec: 600 } };
  const decision = decideRetry('busy', 1, { retry }, newYork, at('2030-03-08T21:55:00Z'), at('2030-03-20T00:00:00Z'));
  assert.deepEqual(decision, { retry: true, atMs: at('2030-03-11T13:00:00Z') });
  assert.equal(dialWindow(newYork, decision.retry ? decision.atMs : 0).kind, 'dial');
});
