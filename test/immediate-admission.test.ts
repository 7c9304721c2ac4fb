import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { admitImmediate, immediateSecondsLeft } from '../src/domain/calendar/immediate-admission.ts';
import { serviceCalendar } from '../src/domain/calendar/booking-plan.ts';
import { parseServiceOptions } from '../src/domain/service-options.ts';
import { decideQueueStatus } from '../src/domain/wait/offer-decision.ts';
import { estimated } from '../src/domain/wait/wait-estimate.ts';
import { GesError } from '../src/domain/errors.ts';

/** Immediate callbacks and business hours (immediate-admission.ts): never queued while closed. */

const hours = {
  name: 'office',
  timeZone: 'UTC',
  weekly: { mon: ['09:00-17:00'], tue: ['09:00-17:00'], wed: ['09:00-17:00'], thu: ['09:00-17:00'], fri: ['09:00-17:00'] },
};
const at = (iso: string) => Date.parse(iso);
// 2030-03-04 is a Monday.
const MON_NOON = at('2030-03-04T12:00:00Z');
const MON_1645 = at('2030-03-04T16:45:00Z');
const MON_NIGHT = at('2030-03-04T20:00:00Z');
const TUE_OPEN = at('2030-03-05T09:00:00Z');

function calendar(options = parseServiceOptions({})) {
  return serviceCalendar(hours, null, options);
}

describe('immediate admission', () => {
  test('open: now; closed: kept for the first slot of the next opening', () => {
    const options = parseServiceOptions({});
    assert.deepEqual(admitImmediate(calendar(options), options, MON_NOON, 'sales'), { kind: 'now' });
    const night = admitImmediate(calendar(options), options, MON_NIGHT, 'sales');
    assert.equal(night.kind, 'at-opening');
    assert.equal(night.kind === 'at-opening' && night.slot.start, TUE_OPEN);
    assert.equal(
      night.kind === 'at-opening' && night.desiredTime,
      TUE_OPEN + options.executionBufferSec * 1000,
      'desired the execution buffer after opening: it joins the queue as the office opens',
    );
  });

  test('rejectOutOfHours refuses an immediate request while closed, with a 400 that says why', () => {
    const options = parseServiceOptions({ rejectOutOfHours: true });
    assert.throws(
      () => admitImmediate(calendar(options), options, MON_NIGHT, 'sales'),
      (err: unknown) => err instanceof GesError && err.code === 'GES_OUTSIDE_BUSINESS_HOURS' && err.http === 400 && /outside business hours/.test(err.message),
    );
  });

  test('the immediate blackout counts as closed, for create and for queue-status alike', () => {
    const options = parseServiceOptions({ immediateBlackoutMinutes: 30 });
    const cal = calendar(options);
    assert.equal(immediateSecondsLeft(cal.hours, options, MON_1645), 0, '15 minutes before closing, inside a 30-minute blackout');
    const late = admitImmediate(cal, options, MON_1645, 'sales');
    assert.equal(late.kind === 'at-opening' && late.slot.start, TUE_OPEN, 'the next opening, not the few minutes left today');
    const status = decideQueueStatus({
      immediateEnabled: true,
      scheduledEnabled: true,
      secondsUntilClose: immediateSecondsLeft(cal.hours, options, MON_1645),
      estimate: estimated(10),
    });
    assert.equal(status.offerImmediateCallback, false);
    assert.equal(immediateSecondsLeft(cal.hours, options, MON_NOON), 5 * 3600 - 30 * 60, 'open-for minus the blackout');
    const strict = parseServiceOptions({ immediateBlackoutMinutes: 30, rejectOutOfHours: true });
    assert.throws(() => admitImmediate(calendar(strict), strict, MON_1645, 'sales'), /30-minute immediate blackout/);
  });

  test('a service without business hours is always open', () => {
    const options = parseServiceOptions({ immediateBlackoutMinutes: 60 });
    assert.deepEqual(admitImmediate(serviceCalendar(null, null, options), options, MON_NIGHT, 'sales'), { kind: 'now' });
  });
});
