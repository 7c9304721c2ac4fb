import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Temporal } from 'temporal-polyfill';
import { openForSeconds, openIntervals, type BusinessHours, type Interval } from '../src/domain/calendar/business-hours.ts';
import { capacityAt, SLOT_MINUTES, type CapacityRule } from '../src/domain/calendar/capacity-rule.ts';
import { nextSlotFrom, slotAt, slotsBetween, type ServiceCalendar, type Slot, cachedSlotsBetween } from '../src/domain/calendar/slot-calendar.ts';
import { parseBusinessHours, parseCapacityRule, WEEKDAYS } from '../src/domain/calendar/calendar-config.ts';

/*
 * Property-based tests of the scheduling calendar: slot tiling, open intervals, open-for and
 * capacity over many zones, random business hours and capacity rules, and windows biased towards
 * the zones' clock changes. Reference values come from Temporal directly (day lengths, local
 * times, offsets) and from an independent reading of the documented clock-change rule
 * (`wallToInstant`): an opening is the first instant whose wall time is at or after the opening
 * time, a closing the last instant (supremum) whose wall time is at or before the closing time.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const RUNS = 250;

const ZONES = [
  'America/New_York',
  'Europe/London',
  'Australia/Lord_Howe', // 30-minute DST shift
  'Asia/Kolkata',
  'Asia/Kathmandu', // +05:45
  'Pacific/Chatham', // +12:45 / +13:45, changes at 02:45 / 03:45
  'America/Sao_Paulo', // no DST since 2019
  'Europe/Berlin',
  'America/Santiago', // changes at midnight
  'Asia/Tokyo',
  'UTC',
  'America/Havana', // changes at midnight (00:00 -> 01:00, 01:00 -> 00:00)
  'America/St_Johns', // -03:30 / -02:30
] as const;
type Zone = (typeof ZONES)[number];

// ---------------------------------------------------------------------------------------------
// Dates and zones, computed with Temporal only.

function dayOfPlainDate(d: Temporal.PlainDate): number {
  return Date.UTC(d.year, d.month - 1, d.day) / DAY;
}
function isoOfDay(day: number): string {
  return new Date(day * DAY).toISOString().slice(0, 10);
}
function dayOfIso(iso: string): number {
  return Date.parse(`${iso}T00:00:00Z`) / DAY;
}
function zoned(zone: string, t: number): Temporal.ZonedDateTime {
  return Temporal.Instant.fromEpochMilliseconds(t).toZonedDateTimeISO(zone);
}
/** The first instant of a local date (after the jump when midnight is in a gap). */
function startOfDay(zone: string, day: number): number {
  return Temporal.PlainDate.from(isoOfDay(day)).toZonedDateTime(zone).epochMilliseconds;
}
function localDayOf(zone: string, t: number): number {
  return dayOfPlainDate(zoned(zone, t).toPlainDate());
}

const FIRST_DAY = dayOfIso('2024-01-01');
const LAST_DAY = dayOfIso('2030-12-31');

/** Offset transitions of each zone between 2023-12 and 2031-01 (instants). */
const TRANSITIONS = new Map<string, number[]>(
  ZONES.map((zone) => {
    const out: number[] = [];
    let z = zoned(zone, Date.UTC(2023, 11, 1));
    for (;;) {
      const next = z.getTimeZoneTransition('next');
      if (!next || next.epochMilliseconds > Date.UTC(2031, 1, 1)) break;
      out.push(next.epochMilliseconds);
      z = next;
    }
    return [zone, out];
  }),
);
/** Local dates on which each zone's offset changes. */
const TRANSITION_DAYS = new Map<string, number[]>(
  ZONES.map((zone) => [
    zone,
    TRANSITIONS.get(zone)!
      .map((t) => localDayOf(zone, t))
      .filter((d) => d >= FIRST_DAY && d <= LAST_DAY),
  ]),
);

interface Segment {
  start: number;
  end: number;
  offset: number;
}
/** Constant-offset stretches of `zone` covering [from, to); the outer ones are unbounded. */
function referenceSegments(zone: string, from: number, to: number): Segment[] {
  const out: Segment[] = [];
  let z = zoned(zone, from);
  let start = -Infinity;
  for (;;) {
    const next = z.getTimeZoneTransition('next');
    const offset = z.offsetNanoseconds / 1e6;
    if (!next || next.epochMilliseconds >= to) {
      out.push({ start, end: Infinity, offset });
      return out;
    }
    out.push({ start, end: next.epochMilliseconds, offset });
    start = next.epochMilliseconds;
    z = next;
  }
}
/** inf { t : wall(t) >= wall }: the instant of an opening at wall-clock time `wall` (epoch ms of the wall time read as UTC). */
function firstAtOrAfter(segs: readonly Segment[], wall: number): number {
  let best = Infinity;
  for (const s of segs) {
    const t = Math.max(s.start, wall - s.offset);
    if (t < s.end) best = Math.min(best, t);
  }
  return best;
}
/**
 * sup { t : wall(t) <= wall }: the instant of a closing at wall-clock time `wall`: its last
 * occurrence, or the jump when it falls in a gap.
 */
function lastAtOrBefore(segs: readonly Segment[], wall: number): number {
  let best = -Infinity;
  for (const s of segs) if (s.start <= wall - s.offset) best = Math.max(best, Math.min(s.end, wall - s.offset));
  return best;
}
/** Whether the office is open at `t`, straight from the definition of business hours and the clock-change rule. */
function referenceOpen(hours: BusinessHours, segs: readonly Segment[], t: number): boolean {
  const today = localDayOf(hours.timeZone, t);
  for (let day = today - 2; day <= today; day++) {
    const ranges = hours.specialDays.get(day) ?? hours.weekly[(((day + 3) % 7) + 7) % 7] ?? [];
    for (const r of ranges) {
      const open = firstAtOrAfter(segs, day * DAY + r.from * MINUTE);
      const close = lastAtOrBefore(segs, day * DAY + (r.to > r.from ? r.to : r.to + 1440) * MINUTE);
      if (open <= t && t < close) return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Generators. Scenarios are generated in their written form (HH:MM strings, ISO dates) so that a
// counterexample prints readably, and go through the real parsers.

const pad = (n: number) => String(n).padStart(2, '0');
const hhmm = (m: number) => `${pad(Math.floor(m / 60))}:${pad(m % 60)}`;

/** A minute of the day: 5-minute multiples, arbitrary minutes, and the times at which clocks change. */
const minuteArb = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 287 }).map((i) => i * 5) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 1439 }) },
  { weight: 2, arbitrary: fc.constantFrom(0, 30, 60, 90, 100, 120, 135, 150, 165, 180, 210, 225, 1380, 1410, 1425, 1439) },
);
/** "HH:MM-HH:MM": ordinary, overnight (end <= start), up to 24:00, whole day, nearly a whole day. */
const rangeArb = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(minuteArb, minuteArb).map(([a, b]) => `${hhmm(a)}-${hhmm(b)}`) },
  { weight: 1, arbitrary: fc.constant('00:00-24:00') },
  { weight: 1, arbitrary: minuteArb.map((a) => `${hhmm(a)}-24:00`) },
  { weight: 1, arbitrary: fc.tuple(minuteArb, fc.integer({ min: 0, max: 180 })).map(([a, k]) => `${hhmm(a)}-${hhmm((a - k + 1440) % 1440)}`) },
);
const dayRangesArb = fc.array(rangeArb, { maxLength: 3 });
const weeklyArb = fc.tuple(dayRangesArb, dayRangesArb, dayRangesArb, dayRangesArb, dayRangesArb, dayRangesArb, dayRangesArb);
/** Special days, as day offsets from the window's first date: closed, or other hours. */
const specialArb = fc.array(fc.record({ offset: fc.integer({ min: -2, max: 15 }), hours: fc.oneof(fc.constant('closed' as const), dayRangesArb) }), {
  maxLength: 4,
});

const capMinuteArb = fc.oneof(
  fc.integer({ min: 0, max: 288 }).map((i) => i * 5),
  fc.integer({ min: 0, max: 1440 }),
);
const capRangeArb = fc
  .tuple(capMinuteArb, capMinuteArb, fc.integer({ min: 0, max: 40 }))
  .filter(([a, b]) => a !== b)
  .map(([a, b, capacity]) => ({ from: hhmm(Math.min(a, b)), to: hhmm(Math.max(a, b)), capacity }));
const capRangesArb = fc.array(capRangeArb, { maxLength: 3 });
const ruleArb = fc.record({
  slotMinutes: fc.constantFrom(...SLOT_MINUTES),
  defaultCapacity: fc.integer({ min: 0, max: 40 }),
  weekly: fc.tuple(capRangesArb, capRangesArb, capRangesArb, capRangesArb, capRangesArb, capRangesArb, capRangesArb),
  exceptions: fc.array(fc.record({ offset: fc.integer({ min: -2, max: 15 }), capacity: capRangesArb }), { maxLength: 3 }),
});

const clampDay = (d: number) => Math.min(LAST_DAY, Math.max(FIRST_DAY, d));
/** A first date, two times in three on or just before one of the zone's clock changes. */
function startDayArb(zone: Zone): fc.Arbitrary<number> {
  const uniform = fc.integer({ min: FIRST_DAY, max: LAST_DAY });
  const days = TRANSITION_DAYS.get(zone)!;
  if (days.length === 0) return uniform;
  const nearChange = fc.tuple(fc.constantFrom(...days), fc.integer({ min: 0, max: 2 })).map(([d, k]) => clampDay(d - k));
  return fc.oneof({ weight: 1, arbitrary: uniform }, { weight: 2, arbitrary: nearChange });
}

const scenarioArb = fc.constantFrom(...ZONES).chain((zone) =>
  fc.record({
    zone: fc.constant(zone),
    startDate: startDayArb(zone).map(isoOfDay),
    startMinute: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1439 })),
    lengthDays: fc.integer({ min: 1, max: 15 }),
    weekly: weeklyArb,
    special: specialArb,
    rule: ruleArb,
  }),
);
type ScenarioSpec = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

interface Scenario {
  zone: string;
  hours: BusinessHours;
  rule: CapacityRule;
  cal: ServiceCalendar;
  startDay: number;
  lengthDays: number;
  /** The window [from, to). */
  from: number;
  to: number;
  /** A window two days wider on each side, whose slots near [from, to) are unaffected by its edges. */
  wideFrom: number;
  wideTo: number;
  slotMs: number;
  segs: Segment[];
}

function build(spec: ScenarioSpec): Scenario {
  const startDay = dayOfIso(spec.startDate);
  const date = (offset: number) => isoOfDay(startDay + offset);
  const hours = parseBusinessHours({
    name: 'prop',
    timeZone: spec.zone,
    weekly: Object.fromEntries(WEEKDAYS.map((d, i) => [d, spec.weekly[i]!])),
    specialDays: spec.special.map((s) => (s.hours === 'closed' ? { date: date(s.offset), closed: true } : { date: date(s.offset), hours: s.hours })),
  });
  const rule = parseCapacityRule({
    name: 'prop',
    slotMinutes: spec.rule.slotMinutes,
    defaultCapacity: spec.rule.defaultCapacity,
    weekly: Object.fromEntries(WEEKDAYS.map((d, i) => [d, spec.rule.weekly[i]!])),
    exceptions: spec.rule.exceptions.map((e) => ({ date: date(e.offset), capacity: e.capacity })),
  });
  const from = startOfDay(spec.zone, startDay) + spec.startMinute * MINUTE;
  const to = from + spec.lengthDays * DAY;
  return {
    zone: spec.zone,
    hours,
    rule,
    cal: { hours, rule },
    startDay,
    lengthDays: spec.lengthDays,
    from,
    to,
    wideFrom: from - 2 * DAY,
    wideTo: to + 2 * DAY,
    slotMs: rule.slotMinutes * MINUTE,
    segs: referenceSegments(spec.zone, from - 6 * DAY, to + 6 * DAY),
  };
}

/**
 * How to pick an instant of the window: uniformly, or near an opening/closing, a clock change, or
 * the end of a local day (where an overnight range of the day before may still run).
 */
const pickArb = fc.record({
  kind: fc.constantFrom('uniform', 'edge', 'change', 'day-end'),
  n: fc.nat(),
  jitter: fc.oneof(
    fc.constantFrom(-1000, -1, 0, 1),
    fc.integer({ min: -180, max: 180 }).map((m) => m * MINUTE),
  ),
});
type Pick = typeof pickArb extends fc.Arbitrary<infer T> ? T : never;
const picksArb = fc.array(pickArb, { minLength: 4, maxLength: 4 });

function pickInstant(s: Scenario, open: readonly Interval[], p: Pick): number {
  const uniform = s.from + (p.n % (s.to - s.from));
  let candidates: number[] = [];
  if (p.kind === 'edge') candidates = open.flatMap((i) => [i.start, i.end]);
  else if (p.kind === 'change') candidates = TRANSITIONS.get(s.zone)!.filter((t) => t >= s.from - HOUR && t < s.to + HOUR);
  else if (p.kind === 'day-end') candidates = Array.from({ length: s.lengthDays + 1 }, (_, k) => startOfDay(s.zone, s.startDay + k + 1));
  if (candidates.length === 0) return uniform;
  const t = candidates[p.n % candidates.length]! + p.jitter;
  return t >= s.from && t < s.to ? t : uniform;
}

// ---------------------------------------------------------------------------------------------
// Helpers.

function clippedSum(xs: readonly { start: number; end: number }[], a: number, b: number): number {
  let sum = 0;
  for (const x of xs) sum += Math.max(0, Math.min(x.end, b) - Math.max(x.start, a));
  return sum;
}
const iso = (t: number) => new Date(t).toISOString();
const describeSlot = (s: Slot | undefined) => (s ? `${iso(s.start)}..${iso(s.end)} total ${s.total} offset ${s.offsetMs / MINUTE}` : 'none');

function check<T>(arb: fc.Arbitrary<T>, predicate: (value: T) => void, numRuns = RUNS): void {
  fc.assert(
    fc.property(arb, (value) => {
      predicate(value);
    }),
    { numRuns },
  );
}

// ---------------------------------------------------------------------------------------------

describe('calendar properties (fast-check, many zones, DST-biased windows)', () => {
  test('1. slots are sorted, disjoint, non-empty and never longer than the slot length', () => {
    check(scenarioArb, (spec) => {
      const s = build(spec);
      const slots = slotsBetween(s.cal, s.from, s.to);
      for (let i = 0; i < slots.length; i++) {
        const x = slots[i]!;
        assert.ok(x.start < x.end, `empty slot ${describeSlot(x)}`);
        assert.ok(x.end - x.start <= s.slotMs, `slot longer than ${s.rule.slotMinutes} min: ${describeSlot(x)}`);
        assert.ok(x.end > s.from && x.start < s.to, `slot outside the window: ${describeSlot(x)}`);
        const next = slots[i + 1];
        if (next) assert.ok(x.end <= next.start, `slots overlap or are unsorted: ${describeSlot(x)} / ${describeSlot(next)}`);
      }
    });
  });

  test('2. every slot lies inside one open interval', () => {
    check(scenarioArb, (spec) => {
      const s = build(spec);
      const open = openIntervals(s.hours, s.wideFrom, s.wideTo);
      for (const x of slotsBetween(s.cal, s.from, s.to)) {
        assert.ok(
          open.some((i) => i.start <= x.start && x.end <= i.end),
          `slot ${describeSlot(x)} is not inside an open interval`,
        );
      }
    });
  });

  test('3. slots tile the open hours exactly: clipped to the window, their durations add up to the open time', () => {
    check(scenarioArb, (spec) => {
      const s = build(spec);
      const slots = slotsBetween(s.cal, s.from, s.to);
      const open = openIntervals(s.hours, s.from, s.to);
      assert.equal(clippedSum(slots, s.from, s.to), clippedSum(open, s.from, s.to));
      const wideOpen = openIntervals(s.hours, s.wideFrom, s.wideTo);
      assert.equal(clippedSum(slots, s.from, s.to), clippedSum(wideOpen, s.from, s.to), 'open time depends on the window asked');
    });
  });

  test('4. slot boundaries do not depend on the window asked', () => {
    check(fc.tuple(scenarioArb, pickArb, pickArb), ([spec, pa, pb]) => {
      const s = build(spec);
      const full = slotsBetween(s.cal, s.wideFrom, s.wideTo);
      const open = openIntervals(s.hours, s.wideFrom, s.wideTo);
      let a = pickInstant(s, open, pa);
      let b = pickInstant(s, open, pb);
      if (a > b) [a, b] = [b, a];
      if (a === b) b = a + 1;
      const expected = full.filter((x) => x.end > a && x.start < b);
      assert.deepEqual(slotsBetween(s.cal, a, b), expected, `window ${iso(a)}..${iso(b)}`);
    });
  });

  test('4b. slots assembled from cached per-day tiles are exactly the slots computed directly', () => {
    check(fc.tuple(scenarioArb, pickArb, pickArb), ([spec, pa, pb]) => {
      const s = build(spec);
      const open = openIntervals(s.hours, s.wideFrom, s.wideTo);
      let a = pickInstant(s, open, pa);
      let b = pickInstant(s, open, pb);
      if (a > b) [a, b] = [b, a];
      if (a === b) b = a + 1;
      assert.deepEqual(cachedSlotsBetween(s.cal, a, b), slotsBetween(s.cal, a, b), `window ${iso(a)}..${iso(b)}`);
      assert.deepEqual(cachedSlotsBetween(s.cal, a, b), slotsBetween(s.cal, a, b), 'the second, cached answer too');
    });
  });

  test('5. open-for agrees with the slots: open exactly when a slot contains the instant, until the interval ends', () => {
    check(fc.tuple(scenarioArb, picksArb), ([spec, picks]) => {
      const s = build(spec);
      const full = slotsBetween(s.cal, s.wideFrom, s.wideTo);
      const open = openIntervals(s.hours, s.wideFrom, s.wideTo);
      for (const p of picks) {
        const t = pickInstant(s, open, p);
        const slot = full.find((x) => x.start <= t && t < x.end);
        const openFor = openForSeconds(s.hours, t);
        if (!slot) {
          assert.equal(openFor, 0, `no slot contains ${iso(t)} but openFor is ${openFor}`);
          continue;
        }
        assert.ok(openFor > 0, `slot ${describeSlot(slot)} contains ${iso(t)} but openFor is 0`);
        assert.ok(t + openFor * 1000 >= slot.end - 1000, `openFor ${openFor} at ${iso(t)} ends before slot ${describeSlot(slot)}`);
        const interval = open.find((i) => i.start <= t && t < i.end)!;
        // Whole seconds, rounded down, but at least 1 while open (0 means closed).
        if (interval.end < s.wideTo) assert.equal(openFor, Math.max(1, Math.floor((interval.end - t) / 1000)), `openFor at ${iso(t)}`);
      }
    });
  });

  test('6. slotAt finds the slot containing an instant, nextSlotFrom the first slot starting at or after it', () => {
    check(fc.tuple(scenarioArb, picksArb, fc.nat()), ([spec, picks, n]) => {
      const s = build(spec);
      const full = slotsBetween(s.cal, s.wideFrom, s.wideTo);
      const open = openIntervals(s.hours, s.wideFrom, s.wideTo);
      for (const p of picks) {
        const t = pickInstant(s, open, p);
        const containing = full.find((x) => x.start <= t && t < x.end);
        assert.deepEqual(slotAt(s.cal, t), containing, `slotAt ${iso(t)}`);
        const limit = t + 1 + (n % (s.to + DAY - t));
        const next = full.find((x) => x.start >= t && x.start < limit);
        assert.deepEqual(nextSlotFrom(s.cal, t, limit), next, `nextSlotFrom ${iso(t)} limit ${iso(limit)}`);
      }
    });
  });

  test('7. capacity: full slots get the rule capacity of their local start, shorter ones a rounded-down share', () => {
    check(scenarioArb, (spec) => {
      const s = build(spec);
      for (const x of slotsBetween(s.cal, s.from, s.to)) {
        const local = zoned(s.zone, x.start);
        assert.equal(x.offsetMs, local.offsetNanoseconds / 1e6, `offset of ${describeSlot(x)}`);
        assert.equal(local.second, 0);
        const full = capacityAt(s.rule, dayOfPlainDate(local.toPlainDate()), local.hour * 60 + local.minute);
        const duration = x.end - x.start;
        if (duration === s.slotMs) assert.equal(x.total, full, `capacity of ${describeSlot(x)}`);
        else {
          assert.equal(x.total, Math.floor((full * duration) / s.slotMs), `capacity of short slot ${describeSlot(x)}`);
          assert.ok(x.total <= full);
        }
      }
    });
  });

  test('8. a day open 00:00-24:00 is open for exactly its real length (23 h, 25 h, 23.5 h...)', () => {
    const changing = ZONES.filter((z) => TRANSITION_DAYS.get(z)!.length > 0);
    const arb = fc.constantFrom(...changing).chain((zone) =>
      fc.record({
        zone: fc.constant(zone),
        day: fc
          .oneof(
            { weight: 3, arbitrary: fc.constantFrom(...TRANSITION_DAYS.get(zone)!) },
            { weight: 1, arbitrary: fc.integer({ min: FIRST_DAY, max: LAST_DAY }) },
          )
          .map(isoOfDay),
        weekly: weeklyArb,
        slotMinutes: fc.constantFrom(...SLOT_MINUTES),
      }),
    );
    check(arb, (spec) => {
      const day = dayOfIso(spec.day);
      const hours = parseBusinessHours({
        name: 'prop',
        timeZone: spec.zone,
        weekly: Object.fromEntries(WEEKDAYS.map((d, i) => [d, spec.weekly[i]!])),
        specialDays: [
          { date: isoOfDay(day - 1), closed: true },
          { date: spec.day, hours: ['00:00-24:00'] },
          { date: isoOfDay(day + 1), closed: true },
        ],
      });
      const cal = { hours, rule: parseCapacityRule({ name: 'prop', slotMinutes: spec.slotMinutes, defaultCapacity: 10, weekly: {} }) };
      const a = startOfDay(spec.zone, day);
      const b = startOfDay(spec.zone, day + 1);
      const length = b - a;
      const changes = TRANSITIONS.get(spec.zone)!.filter((t) => t >= a && t < b).length; // Havana and Santiago change at midnight: the day starts at the jump
      if (changes === 0) assert.equal(length, DAY);
      else if (TRANSITION_DAYS.get(spec.zone)!.includes(day)) assert.notEqual(length, DAY, 'a clock-change day is not 24 h long');
      const open = openIntervals(hours, a - 3 * DAY, b + 3 * DAY);
      assert.equal(clippedSum(open, a, b), length, 'open time of the day');
      // The day's own interval: from its first instant to the next midnight, or, where that midnight
      // happens twice (Havana falls back 01:00 -> 00:00), to its second occurrence (a closing in a
      // repeated hour is its later occurrence); the day after is closed, so nothing merges with it.
      const midnight = Temporal.PlainDate.from(isoOfDay(day + 1)).toPlainDateTime();
      const secondMidnight = midnight.toZonedDateTime(spec.zone, { disambiguation: 'later' });
      const close = secondMidnight.toPlainDateTime().equals(midnight) ? secondMidnight.epochMilliseconds : b;
      const own = open.find((i) => i.start <= a && a < i.end);
      assert.deepEqual(own && [iso(own.start), iso(own.end)], [iso(a), iso(close)], 'the interval of the day');
      if (close === b) assert.equal(own!.end - own!.start, length, 'open for the real length of the day');
      const slots = slotsBetween(cal, a, b);
      assert.equal(clippedSum(slots, a, b), length, 'slot time of the day');
      assert.equal(slots[slots.length - 1]!.end, b, 'the last slot of the day ends at the next midnight (a grid boundary)');
      assert.equal(clippedSum(slotsBetween(cal, a, close), a, close), close - a, 'slots cover the whole interval of the day');
    });
  });

  test('9. open intervals (over any window) and open-for follow the documented clock-change rule', () => {
    check(fc.tuple(scenarioArb, picksArb), ([spec, picks]) => {
      const s = build(spec);
      const open = openIntervals(s.hours, s.wideFrom, s.wideTo);
      for (const p of picks) {
        const t = pickInstant(s, open, p);
        const expected = referenceOpen(s.hours, s.segs, t);
        assert.equal(
          open.some((i) => i.start <= t && t < i.end),
          expected,
          `open at ${iso(t)} (wide window)`,
        );
        assert.equal(openIntervals(s.hours, t, t + 1).length > 0, expected, `open at ${iso(t)} (window starting there)`);
        assert.equal(openForSeconds(s.hours, t) > 0, expected, `openFor > 0 at ${iso(t)}`);
      }
    });
  });

  test('10. a window may start anywhere: late on a day just after a clock change, an overnight range of the day before is seen', () => {
    // Every weekday has a long overnight range ending late on the next day, and the window starts in
    // the last hours of a local day at most two days after a clock change.
    const lateOvernight = fc
      .tuple(fc.integer({ min: 1320, max: 1439 }), fc.integer({ min: 0, max: 119 }))
      .map(([to, k]) => `${hhmm(Math.min(1439, to + k))}-${hhmm(to)}`);
    const dayArb = fc.tuple(lateOvernight, fc.array(rangeArb, { maxLength: 1 })).map(([a, more]) => [a, ...more]);
    const changing = ZONES.filter((z) => TRANSITION_DAYS.get(z)!.length > 0);
    const arb = fc.constantFrom(...changing).chain((zone) =>
      fc.record({
        zone: fc.constant(zone),
        day: fc.tuple(fc.constantFrom(...TRANSITION_DAYS.get(zone)!), fc.integer({ min: 0, max: 2 })).map(([d, k]) => isoOfDay(d + k)),
        minutesBeforeMidnight: fc.integer({ min: 1, max: 120 }),
        ms: fc.constantFrom(0, 1, 59_999),
        weekly: fc.tuple(dayArb, dayArb, dayArb, dayArb, dayArb, dayArb, dayArb),
        slotMinutes: fc.constantFrom(...SLOT_MINUTES),
      }),
    );
    check(arb, (spec) => {
      const hours = parseBusinessHours({ name: 'prop', timeZone: spec.zone, weekly: Object.fromEntries(WEEKDAYS.map((d, i) => [d, spec.weekly[i]!])) });
      const cal = { hours, rule: parseCapacityRule({ name: 'prop', slotMinutes: spec.slotMinutes, defaultCapacity: 6, weekly: {} }) };
      const day = dayOfIso(spec.day);
      const t = startOfDay(spec.zone, day + 1) - spec.minutesBeforeMidnight * MINUTE + spec.ms;
      const expected = referenceOpen(hours, referenceSegments(spec.zone, t - 6 * DAY, t + 6 * DAY), t);
      assert.equal(
        openIntervals(hours, t - 3 * DAY, t + 3 * DAY).some((i) => i.start <= t && t < i.end),
        expected,
        `open at ${iso(t)} (wide window)`,
      );
      assert.equal(
        openIntervals(hours, t, t + 1).some((i) => i.start <= t && t < i.end),
        expected,
        `open at ${iso(t)} (window starting there)`,
      );
      assert.equal(openForSeconds(hours, t) > 0, expected, `openFor > 0 at ${iso(t)}`);
      const full = slotsBetween(cal, t - 3 * DAY, t + 3 * DAY);
      assert.deepEqual(
        slotAt(cal, t),
        full.find((x) => x.start <= t && t < x.end),
        `slotAt ${iso(t)}`,
      );
      assert.deepEqual(
        nextSlotFrom(cal, t, t + 2 * DAY),
        full.find((x) => x.start >= t && x.start < t + 2 * DAY),
        `nextSlotFrom ${iso(t)}`,
      );
    });
  });
});

// ---------------------------------------------------------------------------------------------

interface Shown {
  start: string;
  end: string;
  total: number;
  offset: number;
}
const show = (slots: readonly Slot[]): Shown[] => slots.map((x) => ({ start: iso(x.start), end: iso(x.end), total: x.total, offset: x.offsetMs / MINUTE }));
const showIntervals = (xs: readonly Interval[]) => xs.map((i) => [iso(i.start), iso(i.end)]);
const at = (text: string) => Date.parse(text);

function calendar(zone: string, weekly: Record<string, string[]>, slotMinutes: number, capacity: number, extra: Record<string, unknown> = {}): ServiceCalendar {
  const hours = parseBusinessHours({ name: 'ex', timeZone: zone, weekly, ...extra });
  return { hours, rule: parseCapacityRule({ name: 'ex', slotMinutes, defaultCapacity: capacity, weekly: {} }) };
}

describe('calendar examples', () => {
  test('New York spring forward 2026-03-08: hours running into the gap close at the jump', () => {
    const a = calendar('America/New_York', { sun: ['00:30-02:30'] }, 60, 10);
    assert.deepEqual(show(slotsBetween(a, at('2026-03-08T00:00:00Z'), at('2026-03-09T00:00:00Z'))), [
      { start: '2026-03-08T05:30:00.000Z', end: '2026-03-08T06:00:00.000Z', total: 5, offset: -300 }, // 00:30-01:00 EST
      { start: '2026-03-08T06:00:00.000Z', end: '2026-03-08T07:00:00.000Z', total: 10, offset: -300 }, // 01:00-02:00 EST, then 03:00 EDT
    ]);
    assert.equal(openForSeconds(a.hours, at('2026-03-08T05:30:00Z')), 5400);
    const b = calendar('America/New_York', { sun: ['01:00-02:00'] }, 30, 6);
    assert.deepEqual(showIntervals(openIntervals(b.hours, at('2026-03-08T00:00:00Z'), at('2026-03-09T00:00:00Z'))), [
      ['2026-03-08T06:00:00.000Z', '2026-03-08T07:00:00.000Z'],
    ]);
    assert.deepEqual(
      show(slotsBetween(b, at('2026-03-08T00:00:00Z'), at('2026-03-09T00:00:00Z'))).map((x) => x.start),
      ['2026-03-08T06:00:00.000Z', '2026-03-08T06:30:00.000Z'],
    );
  });

  test('New York fall back 2026-11-01: opens at the first 01:xx, closes at the second', () => {
    const a = calendar('America/New_York', { sun: ['00:30-02:30'] }, 60, 10);
    assert.deepEqual(show(slotsBetween(a, at('2026-11-01T00:00:00Z'), at('2026-11-02T00:00:00Z'))), [
      { start: '2026-11-01T04:30:00.000Z', end: '2026-11-01T05:00:00.000Z', total: 5, offset: -240 }, // 00:30-01:00 EDT
      { start: '2026-11-01T05:00:00.000Z', end: '2026-11-01T06:00:00.000Z', total: 10, offset: -240 }, // 01:00-02:00 EDT
      { start: '2026-11-01T06:00:00.000Z', end: '2026-11-01T07:00:00.000Z', total: 10, offset: -300 }, // 01:00-02:00 EST
      { start: '2026-11-01T07:00:00.000Z', end: '2026-11-01T07:30:00.000Z', total: 5, offset: -300 }, // 02:00-02:30 EST
    ]);
    assert.equal(openForSeconds(a.hours, at('2026-11-01T05:30:00Z')), 7200);
    const b = calendar('America/New_York', { sun: ['01:00-02:00'] }, 60, 10);
    assert.deepEqual(showIntervals(openIntervals(b.hours, at('2026-11-01T00:00:00Z'), at('2026-11-02T00:00:00Z'))), [
      ['2026-11-01T05:00:00.000Z', '2026-11-01T07:00:00.000Z'],
    ]);
    assert.deepEqual(show(slotsBetween(b, at('2026-11-01T00:00:00Z'), at('2026-11-02T00:00:00Z'))), [
      { start: '2026-11-01T05:00:00.000Z', end: '2026-11-01T06:00:00.000Z', total: 10, offset: -240 },
      { start: '2026-11-01T06:00:00.000Z', end: '2026-11-01T07:00:00.000Z', total: 10, offset: -300 },
    ]);
  });

  test('Lord Howe 2026-10-04: the 30-minute jump leaves a 30-minute slot 02:30-03:00 and a 23.5 h day', () => {
    const cal = calendar('Australia/Lord_Howe', { sun: ['00:00-24:00'] }, 60, 9);
    const slots = show(slotsBetween(cal, at('2026-10-03T14:30:00Z'), at('2026-10-03T17:00:00Z')));
    assert.deepEqual(slots, [
      { start: '2026-10-03T14:30:00.000Z', end: '2026-10-03T15:30:00.000Z', total: 9, offset: 630 }, // 01:00-02:00 +10:30
      { start: '2026-10-03T15:30:00.000Z', end: '2026-10-03T16:00:00.000Z', total: 4, offset: 660 }, // 02:30-03:00 +11
      { start: '2026-10-03T16:00:00.000Z', end: '2026-10-03T17:00:00.000Z', total: 9, offset: 660 }, // 03:00-04:00 +11
    ]);
    const day = slotsBetween(cal, at('2026-10-03T13:30:00Z'), at('2026-10-04T13:00:00Z'));
    assert.equal(day.length, 24, '23 full hours and one half hour');
    assert.equal(clippedSum(day, at('2026-10-03T13:30:00Z'), at('2026-10-04T13:00:00Z')), 23.5 * HOUR);
  });

  test('Kathmandu (+05:45), 09:10-17:00 with 60-minute slots: a 50-minute first slot with proportional capacity', () => {
    const cal = calendar('Asia/Kathmandu', { wed: ['09:10-17:00'] }, 60, 7);
    const slots = show(slotsBetween(cal, at('2026-06-03T00:00:00Z'), at('2026-06-04T00:00:00Z')));
    assert.equal(slots.length, 8);
    assert.deepEqual(slots[0], { start: '2026-06-03T03:25:00.000Z', end: '2026-06-03T04:15:00.000Z', total: 5, offset: 345 }); // 09:10-10:00, floor(7*50/60)
    assert.deepEqual(slots[1], { start: '2026-06-03T04:15:00.000Z', end: '2026-06-03T05:15:00.000Z', total: 7, offset: 345 }); // 10:00-11:00
    assert.equal(slots[7]!.end, '2026-06-03T11:15:00.000Z'); // 17:00
  });

  test('Chatham 2026-09-27: clocks jump 02:45 -> 03:45, slots 02:00-02:45 and 03:45-04:00 are short', () => {
    const hours = parseBusinessHours({ name: 'ex', timeZone: 'Pacific/Chatham', weekly: { sun: ['02:00-05:00'] } });
    const rule = parseCapacityRule({ name: 'ex', slotMinutes: 60, defaultCapacity: 12, weekly: { sun: [{ from: '03:00', to: '04:00', capacity: 20 }] } });
    assert.deepEqual(show(slotsBetween({ hours, rule }, at('2026-09-26T00:00:00Z'), at('2026-09-27T00:00:00Z'))), [
      { start: '2026-09-26T13:15:00.000Z', end: '2026-09-26T14:00:00.000Z', total: 9, offset: 765 }, // 02:00-02:45 +12:45: floor(12*45/60)
      { start: '2026-09-26T14:00:00.000Z', end: '2026-09-26T14:15:00.000Z', total: 5, offset: 825 }, // 03:45-04:00 +13:45: floor(20*15/60)
      { start: '2026-09-26T14:15:00.000Z', end: '2026-09-26T15:15:00.000Z', total: 12, offset: 825 }, // 04:00-05:00
    ]);
    assert.equal(openForSeconds(hours, at('2026-09-26T13:15:00Z')), 2 * 3600);
  });

  test('a special day closes a weekday', () => {
    const weekdays = { mon: ['09:00-17:00'], tue: ['09:00-17:00'], wed: ['09:00-17:00'], thu: ['09:00-17:00'], fri: ['09:00-17:00'] };
    const cal = calendar('Europe/Berlin', weekdays, 60, 3, { specialDays: [{ date: '2026-12-25', closed: true }] });
    assert.equal(slotsBetween(cal, at('2026-12-24T23:00:00Z'), at('2026-12-25T23:00:00Z')).length, 0);
    assert.equal(slotsBetween(cal, at('2026-12-23T23:00:00Z'), at('2026-12-24T23:00:00Z')).length, 8);
    assert.equal(openForSeconds(cal.hours, at('2026-12-25T10:00:00Z')), 0);
    assert.equal(slotAt(cal, at('2026-12-25T10:00:00Z')), undefined);
    assert.deepEqual(show([nextSlotFrom(cal, at('2026-12-25T07:00:00Z'), at('2027-01-10T00:00:00Z'))!]), [
      { start: '2026-12-28T08:00:00.000Z', end: '2026-12-28T09:00:00.000Z', total: 3, offset: 60 },
    ]);
  });

  test('an overnight range runs into a closed special day: it belongs to the day it starts on', () => {
    const nightly = Object.fromEntries(WEEKDAYS.map((d) => [d, ['22:00-06:00']]));
    const cal = calendar('Europe/London', nightly, 120, 4, { specialDays: [{ date: '2026-12-25', closed: true }] });
    assert.deepEqual(showIntervals(openIntervals(cal.hours, at('2026-12-24T00:00:00Z'), at('2026-12-27T00:00:00Z'))), [
      ['2026-12-23T22:00:00.000Z', '2026-12-24T06:00:00.000Z'],
      ['2026-12-24T22:00:00.000Z', '2026-12-25T06:00:00.000Z'], // Thursday's range, into the closed Friday
      ['2026-12-26T22:00:00.000Z', '2026-12-27T06:00:00.000Z'],
    ]);
    assert.equal(openForSeconds(cal.hours, at('2026-12-25T05:00:00Z')), 3600);
    assert.equal(openForSeconds(cal.hours, at('2026-12-25T05:59:59.999Z')), 1, 'still open in the last second: never 0, which means closed');
    assert.equal(openForSeconds(cal.hours, at('2026-12-25T06:00:00Z')), 0);
    assert.equal(openForSeconds(cal.hours, at('2026-12-25T22:30:00Z')), 0);
    assert.deepEqual(show([slotAt(cal, at('2026-12-25T05:00:00Z'))!]), [
      { start: '2026-12-25T04:00:00.000Z', end: '2026-12-25T06:00:00.000Z', total: 4, offset: 0 },
    ]);
  });

  test('regression: an overnight range of the day before is seen from a window starting late on the day after a fall-back', () => {
    // Sunday 2026-11-01 (fall back) 23:50 until Monday 23:45 EST; asked from Monday 23:30 EST.
    const cal = calendar('America/New_York', { sun: ['23:50-23:45'] }, 15, 2);
    const t = at('2026-11-03T04:30:00Z');
    assert.equal(openForSeconds(cal.hours, t), 900);
    assert.deepEqual(showIntervals(openIntervals(cal.hours, t, t + 1)), [['2026-11-02T04:50:00.000Z', '2026-11-03T04:45:00.000Z']]);
    assert.deepEqual(show([slotAt(cal, t)!]), [{ start: '2026-11-03T04:30:00.000Z', end: '2026-11-03T04:45:00.000Z', total: 2, offset: -300 }]);
  });

  test('regression: ranges touching at an off-grid time tile the same whatever the window', () => {
    const cal = calendar('UTC', { mon: ['09:00-17:03', '17:03-18:00'] }, 30, 4);
    const t = at('2026-03-02T17:01:00Z');
    const expected = { start: '2026-03-02T17:00:00.000Z', end: '2026-03-02T17:30:00.000Z', total: 4, offset: 0 };
    assert.deepEqual(show([slotAt(cal, t)!]), [expected]);
    assert.deepEqual(show(slotsBetween(cal, at('2026-03-02T16:00:00Z'), t)).at(-1), expected);
    assert.deepEqual(show([nextSlotFrom(cal, at('2026-03-02T16:59:00Z'), t)!]), [expected]);
  });
});
