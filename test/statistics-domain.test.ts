import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Value } from 'typebox/value';
import { GesError } from '../src/domain/errors.ts';
import {
  DEFAULT_STATISTICS,
  MAX_STATISTICS_PER_REQUEST,
  defaultStatisticRequests,
  parseStatisticsRequest,
  type StatisticRequest,
} from '../src/domain/statistics/statistics-request.ts';
import { SERVICE_LEVEL_THRESHOLD_SEC, STATISTIC_NAMES } from '../src/domain/statistics/statistic-catalog.ts';
import { answerStatistics } from '../src/domain/statistics/statistics-answer.ts';
import type { QueueStatisticsInput } from '../src/domain/statistics/queue-statistics-input.ts';
import { MIN_MAX_AGE_SEC, parseMaxAge, STATISTICS_CACHE_TTL_MS, StatisticsCache } from '../src/domain/statistics/statistics-cache.ts';
import { EMPTY_MEASURES, recordCompletion, recordDial } from '../src/domain/wait/queue-measures.ts';
import { StatisticsBody } from '../src/http/schemas/statistics-schemas.ts';

const T0 = Date.UTC(2030, 0, 7, 9);

const body = (...statistics: unknown[]) => ({ data: { statistics } });
const stat = (name: string, objectId = 'sales', objectType = 'Queue') => ({ name, objectId, objectType });

function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof GesError) return { code: err.code, message: err.message };
    throw err;
  }
  assert.fail('expected a refusal');
}

describe('get-statistic-ex request', () => {
  test('a valid body gives the statistics in request order', () => {
    const parsed = parseStatisticsRequest(
      body(stat('ExpectedWaitTime'), stat('AgentsLoggedIn', 'sales', 'AgentGroup'), stat('CurrentWaitingCallbacks', 'support')),
    );
    assert.deepEqual(parsed, [
      { name: 'ExpectedWaitTime', objectId: 'sales', objectType: 'Queue' },
      { name: 'AgentsLoggedIn', objectId: 'sales', objectType: 'AgentGroup' },
      { name: 'CurrentWaitingCallbacks', objectId: 'support', objectType: 'Queue' },
    ]);
    assert.ok(Value.Check(StatisticsBody, body(stat('ExpectedWaitTime'))), 'the route schema takes the same body');
  });

  test('an unknown statistic is refused naming it and its place, listing the supported ones', () => {
    const r = refusal(() => parseStatisticsRequest(body(stat('ExpectedWaitTime'), stat('NoSuchStatistic'))));
    assert.equal(r.code, 'GES_VALIDATION');
    assert.match(
      r.message,
      /^statistics\[1\]\.name: "NoSuchStatistic" is not a statistic GES provides \(supported: .*ExpectedWaitTime.*CurrNumberWaitingCalls/,
    );
    const inbound = refusal(() => parseStatisticsRequest(body(stat('TotalNumberInboundCalls'))));
    assert.match(
      inbound.message,
      /^statistics\[0\]\.name: the GWS statistic TotalNumberInboundCalls counts inbound calls, which never pass through GES \(supported: /,
    );
  });

  test('GWS names GES computes are accepted (any case) and answered under the name asked', () => {
    const parsed = parseStatisticsRequest(
      body(stat('CurrNumberWaitingCalls'), stat('expectedwaittime', 'sales', 'queue'), stat('CurrNumberReadyStatuses', 'sales', 'GroupAgents')),
    )!;
    assert.deepEqual(parsed, [
      { name: 'CurrentWaitingCallbacks', askedName: 'CurrNumberWaitingCalls', objectId: 'sales', objectType: 'Queue' },
      { name: 'ExpectedWaitTime', askedName: 'expectedwaittime', objectId: 'sales', objectType: 'Queue' },
      { name: 'AgentsAvailable', askedName: 'CurrNumberReadyStatuses', objectId: 'sales', objectType: 'AgentGroup' },
    ]);
  });

  test('no body, or no data, asks for the default set', () => {
    assert.equal(parseStatisticsRequest(undefined), undefined);
    assert.equal(parseStatisticsRequest({}), undefined);
    assert.equal(parseStatisticsRequest({ data: null }), undefined);
    const set = defaultStatisticRequests(['support', 'sales']);
    assert.deepEqual(
      set.slice(0, 2).map((r) => [r.name, r.objectId]),
      [
        ['CurrentWaitingCallbacks', 'sales'],
        ['CurrentScheduledCallbacks', 'sales'],
      ],
    );
    assert.equal(set.length, 2 * DEFAULT_STATISTICS.length);
    assert.equal(defaultStatisticRequests(Array.from({ length: 50 }, (_, i) => `s${i}`)).length, MAX_STATISTICS_PER_REQUEST);
  });

  test('the shape, the object type and the limits are checked with readable messages', () => {
    assert.match(refusal(() => parseStatisticsRequest('x')).message, /body must be/);
    assert.match(refusal(() => parseStatisticsRequest({ statistics: [stat('AgentsBusy')] })).message, /body must be \{"data"/);
    assert.match(refusal(() => parseStatisticsRequest({ data: { statistics: 'x' } })).message, /data\.statistics must be an array/);
    assert.match(refusal(() => parseStatisticsRequest(body())).message, /is empty/);
    const many = Array.from({ length: MAX_STATISTICS_PER_REQUEST + 1 }, () => stat('AgentsBusy'));
    assert.match(refusal(() => parseStatisticsRequest(body(...many))).message, /at most 100/);
    assert.match(refusal(() => parseStatisticsRequest(body('AgentsBusy'))).message, /statistics\[0\] must be an object/);
    assert.match(
      refusal(() => parseStatisticsRequest(body(stat('ServiceLevel', 'sales', 'AgentGroup')))).message,
      /statistics\[0\]\.objectType: ServiceLevel is available for Queue \(got "AgentGroup"\)/,
    );
    assert.match(refusal(() => parseStatisticsRequest(body({ name: 'AgentsBusy', objectId: 'sales' }))).message, /Queue or AgentGroup \(got missing\)/);
    assert.match(refusal(() => parseStatisticsRequest(body(stat('AgentsBusy', '')))).message, /objectId must be the name of a callback service/);
    assert.match(refusal(() => parseStatisticsRequest(body(stat('AgentsBusy', 'x'.repeat(256))))).message, /longer than 255/);
  });

  test('docs/STATISTICS.md documents every statistic', () => {
    const doc = readFileSync(new URL('../docs/STATISTICS.md', import.meta.url), 'utf8');
    const documented = new Set([...doc.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((m) => m[1]));
    assert.deepEqual([...documented].sort(), [...STATISTIC_NAMES].sort());
  });
});

describe('get-statistic-ex answer', () => {
  function salesInput(): QueueStatisticsInput {
    let measures = EMPTY_MEASURES;
    // Four connected callbacks that waited 30, 50, 70 and 90 s; handle 200 s; 3 answered dials of 4.
    [30, 50, 70, 90].forEach((waitSec, i) => {
      const connectedAt = T0 - 3_600_000 + i * 60_000;
      measures = recordCompletion(measures, { queuedAt: connectedAt - waitSec * 1000, connectedAt, handleSec: 200, agentsLoggedIn: 4 });
    });
    for (const answered of [true, true, false, true]) measures = recordDial(measures, answered ? { answered, reachSec: 10 } : { answered, failSec: 20 });
    return {
      observation: { now: T0, agentsLoggedIn: 4, agentsFree: 1, agentsBusy: 2, busyElapsedSec: [30, 60], waiting: 3, inFlight: 1, measures },
      scheduled: 7,
      routing: 1,
      processing: 2,
      completedToday: 41,
      oldestQueuedAt: T0 - 95_500,
    };
  }
  const inputs = new Map([['sales', salesInput()]]);
  const ask = (...names: string[]) => parseStatisticsRequest(body(...names.map((n) => stat(n))))!;

  test('every statistic is computed from the queue numbers, in request order, stamped with the time', () => {
    const answer = answerStatistics(ask(...STATISTIC_NAMES), (name) => inputs.get(name), T0);
    const values = Object.fromEntries(answer.statistics.map((s) => [s.name, s.value]));
    assert.deepEqual(
      answer.statistics.map((s) => s.name),
      [...STATISTIC_NAMES],
    );
    assert.ok(answer.statistics.every((s) => s.timestamp === T0 && s.objectId === 'sales' && s.objectType === 'Queue'));
    assert.deepEqual(values.CurrentWaitingCallbacks, { value: 3, unit: 'count' });
    assert.deepEqual(values.CurrentScheduledCallbacks, { value: 7, unit: 'count' });
    assert.deepEqual(values.CurrentRoutingCallbacks, { value: 1, unit: 'count' });
    assert.deepEqual(values.CurrentProcessingCallbacks, { value: 2, unit: 'count' });
    assert.deepEqual(values.CurrentMaxWaitTime, { value: 95.5, unit: 'seconds' });
    assert.deepEqual(values.AverageHandleTime, { value: 200, unit: 'seconds' });
    assert.deepEqual(values.AverageWaitTime, { value: 60, unit: 'seconds' });
    assert.equal(SERVICE_LEVEL_THRESHOLD_SEC, 60);
    assert.deepEqual(values.ServiceLevel, { value: 50, unit: 'percent' }, '2 of 4 waited 60 s or less');
    assert.equal(values.DialSuccessRate!.unit, 'percent');
    assert.ok(values.DialSuccessRate!.value > 70 && values.DialSuccessRate!.value < 80);
    assert.deepEqual(values.CallbacksCompletedToday, { value: 41, unit: 'count' });
    assert.deepEqual(values.AgentsLoggedIn, { value: 4, unit: 'count' });
    assert.deepEqual(values.AgentsAvailable, { value: 1, unit: 'count' });
    assert.deepEqual(values.AgentsBusy, { value: 2, unit: 'count' });
    assert.equal(values.ExpectedWaitTime!.unit, 'seconds');
    assert.ok(Number.isInteger(values.ExpectedWaitTime!.value) && values.ExpectedWaitTime!.value > 0);
  });

  test('values that cannot be known yet are -1 with the reason', () => {
    const fresh: QueueStatisticsInput = { ...salesInput(), observation: { ...salesInput().observation, measures: EMPTY_MEASURES } };
    const empty = answerStatistics(ask('ExpectedWaitTime', 'AverageWaitTime', 'DialSuccessRate'), () => fresh, T0).statistics.map((s) => s.value);
    assert.deepEqual(empty, [
      { value: -1, unit: 'seconds', message: 'no interactions on the queue yet' },
      { value: -1, unit: 'seconds', message: 'no interactions on the queue yet' },
      { value: -1, unit: 'percent', message: 'no dials on the queue yet' },
    ]);
    const nobody: QueueStatisticsInput = {
      ...salesInput(),
      observation: { ...salesInput().observation, agentsLoggedIn: 0, agentsFree: 0, agentsBusy: 0, busyElapsedSec: [] },
    };
    assert.deepEqual(answerStatistics(ask('ExpectedWaitTime'), () => nobody, T0).statistics[0]!.value, {
      value: -1,
      unit: 'seconds',
      message: 'no agents logged in',
    });
    assert.deepEqual(answerStatistics(ask('CurrentMaxWaitTime'), () => ({ ...salesInput(), oldestQueuedAt: undefined }), T0).statistics[0]!.value, {
      value: 0,
      unit: 'seconds',
    });
  });

  test('a statistic about a service the tenant does not have is refused naming it', () => {
    const requests = parseStatisticsRequest(body(stat('AgentsBusy'), stat('AgentsBusy', 'salse')))!;
    const r = refusal(() => answerStatistics(requests, (name) => inputs.get(name), T0));
    assert.deepEqual(r, { code: 'GES_SERVICE_UNKNOWN', message: 'statistics[1].objectId: "salse" is not a callback service of this tenant' });
  });
});

describe('statistics cache', () => {
  test('cache-control max-age: at least 15 s, absent means no bound', () => {
    assert.equal(parseMaxAge(undefined), undefined);
    assert.equal(parseMaxAge(''), undefined);
    assert.equal(parseMaxAge('public'), undefined);
    assert.equal(parseMaxAge('max-age=60'), 60);
    assert.equal(parseMaxAge('Max-Age = 120'), 120);
    assert.equal(parseMaxAge('max-age=5'), MIN_MAX_AGE_SEC);
    assert.equal(parseMaxAge('max-age=0'), 15);
    assert.equal(parseMaxAge('no-cache'), 15);
    assert.equal(parseMaxAge('max-age=soon'), 15, 'a bound was asked for: the tightest one');
    assert.equal(parseMaxAge('public, max-age=90, max-age=30'), 30, 'the strictest of several');
    assert.equal(parseMaxAge(['private', 'max-age=40']), 40);
    assert.equal(parseMaxAge('max-age="45"'), 45);
  });

  const req = (objectId: string): StatisticRequest[] => [{ name: 'AgentsBusy', objectId, objectType: 'Queue' }];

  test('served while younger than max-age (and 5 minutes), per tenant and request', () => {
    let now = T0;
    const cache = new StatisticsCache<string>({ now: () => now });
    assert.equal(cache.get('t1', req('sales'), undefined), undefined);
    cache.set('t1', req('sales'), 'answer-1');
    now += 14_000;
    assert.deepEqual(
      cache.get('t1', req('sales'), parseMaxAge('max-age=1')),
      { answer: 'answer-1', storedAt: T0, ageSec: 14 },
      'max-age below 15 is raised to 15',
    );
    assert.equal(cache.get('t2', req('sales'), undefined), undefined, 'another tenant never sees it');
    assert.equal(cache.get('t1', req('support'), undefined), undefined, 'another request neither');
    now = T0 + 16_000;
    assert.equal(cache.get('t1', req('sales'), 15), undefined, 'older than max-age: compute again');
    assert.equal(cache.get('t1', req('sales'), 1), undefined, 'a raw value below 15 is raised, not trusted');
    assert.equal(cache.get('t1', req('sales'), 30)?.answer, 'answer-1');
    now = T0 + STATISTICS_CACHE_TTL_MS - 1;
    assert.equal(cache.get('t1', req('sales'), undefined)?.answer, 'answer-1', 'no header: whatever is kept');
    assert.equal(cache.get('t1', req('sales'), 3600)?.answer, 'answer-1');
    now = T0 + STATISTICS_CACHE_TTL_MS;
    assert.equal(cache.get('t1', req('sales'), undefined), undefined, 'kept 5 minutes, not longer');
    assert.equal(cache.size, 0);
  });

  test('a fresh answer replaces the kept one; the cache stays within its bound', () => {
    let now = T0;
    const cache = new StatisticsCache<number>({ now: () => now, maxEntries: 3 });
    cache.set('t', req('a'), 1);
    now += 20_000;
    cache.set('t', req('a'), 2);
    assert.deepEqual(cache.get('t', req('a'), 15), { answer: 2, storedAt: T0 + 20_000, ageSec: 0 });
    for (const id of ['b', 'c', 'd']) cache.set('t', req(id), 3);
    assert.equal(cache.size, 3);
    assert.equal(cache.get('t', req('a'), undefined), undefined, 'the oldest stored went first');
    assert.throws(() => new StatisticsCache({ now: () => 0, maxEntries: 0 }), RangeError);
  });
});
