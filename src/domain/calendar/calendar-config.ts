import { Type, type Static, type TSchema } from 'typebox';
import { firstSchemaProblem } from '../schema-errors.ts';
import { GesError } from '../errors.ts';
import type { BusinessHours, WallRange } from './business-hours.ts';
import { SLOT_MINUTES, type CapacityRange, type CapacityRule } from './capacity-rule.ts';
import { dayOfIsoDate, isValidTimeZone } from './time-zone.ts';

/**
 * The written form of business hours and capacity rules, as they appear in a tenant's YAML or JSON
 * configuration file and in the admin API (docs/CALENDAR.md has an example), and its translation
 * into the domain's minute-based model. Times are "HH:MM" wall-clock times of the hours' zone.
 */

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type WeekdayName = (typeof WEEKDAYS)[number];

const TIME_RANGE = '^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$';
const TIME = '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$';
const DATE = '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$';

const RangeList = Type.Array(Type.String({ pattern: TIME_RANGE, description: 'HH:MM-HH:MM; an end at or before the start runs past midnight' }), {
  maxItems: 24,
});
const Weekly = <T extends ReturnType<typeof Type.Array>>(item: T) =>
  Type.Object(Object.fromEntries(WEEKDAYS.map((d) => [d, Type.Optional(item)])), { additionalProperties: false });

export const BusinessHoursDoc = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9 _.-]*$' }),
    timeZone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA zone, e.g. Europe/Paris' }),
    weekly: Weekly(RangeList),
    specialDays: Type.Optional(
      Type.Array(
        Type.Object(
          {
            date: Type.String({ pattern: DATE }),
            closed: Type.Optional(Type.Boolean()),
            hours: Type.Optional(RangeList),
            note: Type.Optional(Type.String({ maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        { maxItems: 1000 },
      ),
    ),
  },
  { additionalProperties: false },
);
export type BusinessHoursDoc = Static<typeof BusinessHoursDoc>;

const CapacityList = Type.Array(
  Type.Object(
    {
      from: Type.String({ pattern: TIME }),
      to: Type.String({ pattern: TIME }),
      capacity: Type.Integer({ minimum: 0, maximum: 100_000 }),
    },
    { additionalProperties: false },
  ),
  { maxItems: 288 },
);

export const CapacityRuleDoc = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9 _.-]*$' }),
    slotMinutes: Type.Union(SLOT_MINUTES.map((m) => Type.Literal(m))),
    defaultCapacity: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, default: 0 })),
    weekly: Weekly(CapacityList),
    exceptions: Type.Optional(
      Type.Array(
        Type.Object(
          {
            date: Type.String({ pattern: DATE }),
            capacity: CapacityList,
          },
          { additionalProperties: false },
        ),
        { maxItems: 1000 },
      ),
    ),
  },
  { additionalProperties: false },
);
export type CapacityRuleDoc = Static<typeof CapacityRuleDoc>;

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

function wallRange(text: string): WallRange {
  const [a, b] = text.split('-');
  const from = minutes(a!);
  const to = minutes(b!);
  return { from, to: to === from ? from + 1440 : to };
}

function check<T>(schema: TSchema, doc: unknown, what: string): T {
  const problem = firstSchemaProblem(schema, doc, what);
  if (problem) throw new GesError('GES_VALIDATION', problem);
  return doc as T;
}

/** Validates the written form and builds the domain model; every problem names its place. */
export function parseBusinessHours(input: unknown): BusinessHours {
  const doc = check<BusinessHoursDoc>(BusinessHoursDoc, input, 'businessHours');
  if (!isValidTimeZone(doc.timeZone)) throw new GesError('GES_TIMEZONE_INVALID', `businessHours ${doc.name}: unknown time zone ${doc.timeZone}`);
  const weekly = WEEKDAYS.map((d) => (doc.weekly[d] ?? []).map(wallRange));
  const specialDays = new Map<number, WallRange[]>();
  for (const s of doc.specialDays ?? []) {
    if (Number.isNaN(Date.parse(`${s.date}T00:00:00Z`)) || new Date(`${s.date}T00:00:00Z`).toISOString().slice(0, 10) !== s.date) {
      throw new GesError('GES_VALIDATION', `businessHours ${doc.name}: ${s.date} is not a date`);
    }
    if (s.closed && s.hours?.length) throw new GesError('GES_VALIDATION', `businessHours ${doc.name}: special day ${s.date} is closed and has hours`);
    specialDays.set(dayOfIsoDate(s.date), s.closed ? [] : (s.hours ?? []).map(wallRange));
  }
  return { timeZone: doc.timeZone, weekly, specialDays };
}

function capacityRanges(list: CapacityRuleDoc['weekly']['mon'], where: string): CapacityRange[] {
  return (list ?? []).map((r) => {
    const from = minutes(r.from);
    const to = minutes(r.to);
    if (to <= from) throw new GesError('GES_VALIDATION', `${where}: ${r.from}-${r.to} must end after it starts (capacity ranges do not cross midnight)`);
    return { from, to, capacity: r.capacity };
  });
}

export function parseCapacityRule(input: unknown): CapacityRule {
  const doc = check<CapacityRuleDoc>(CapacityRuleDoc, input, 'capacityRule');
  return {
    slotMinutes: doc.slotMinutes,
    defaultCapacity: doc.defaultCapacity ?? 0,
    weekly: WEEKDAYS.map((d) => capacityRanges(doc.weekly[d], `capacityRule ${doc.name} ${d}`)),
    exceptions: new Map((doc.exceptions ?? []).map((e) => [dayOfIsoDate(e.date), capacityRanges(e.capacity, `capacityRule ${doc.name} ${e.date}`)])),
  };
}
