import { WEEKDAYS, type BusinessHoursDoc, type CapacityRuleDoc, type WeekdayName } from '../domain/calendar/calendar-config.ts';
import { GesError } from '../domain/errors.ts';

/**
 * Business hours and capacity rules as console forms, and back. Capacity rules are edited as a
 * weekly grid (one row per `step` minutes, one column per weekday); business hours and the date
 * exceptions of both as short lines of text. The documents produced are validated by the same code
 * as configuration files (applyTenantConfig), which names any mistake.
 */

export const DAY_LABELS: Readonly<Record<WeekdayName, string>> = Object.freeze({
  mon: 'Monday',
  tue: 'Tuesday',
  wed: 'Wednesday',
  thu: 'Thursday',
  fri: 'Friday',
  sat: 'Saturday',
  sun: 'Sunday',
});

type Body = Record<string, unknown>;
const text = (body: Body, name: string, max = 20_000): string => {
  const v = body[name];
  const s: unknown = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' ? s.slice(0, max) : '';
};

const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
const minutes = (t: string) => {
  const [h, m] = t.split(':').map(Number);
  return h! * 60 + m!;
};
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

// ---- business hours --------------------------------------------------------------------------

export interface BusinessHoursForm {
  name: string;
  timeZone: string;
  weekly: Record<WeekdayName, string>; // "08:00-12:30, 13:30-18:00"
  specialDays: string; // one per line: "2026-12-25 closed # Christmas" or "2026-12-24 09:00-13:00"
}

export function businessHoursToForm(doc: BusinessHoursDoc | undefined): BusinessHoursForm {
  const weekly = Object.fromEntries(WEEKDAYS.map((d) => [d, (doc?.weekly[d] ?? []).join(', ')])) as Record<WeekdayName, string>;
  const specialDays = (doc?.specialDays ?? [])
    .map((s) => `${s.date} ${s.closed ? 'closed' : (s.hours ?? []).join(', ')}${s.note ? ` # ${s.note}` : ''}`)
    .join('\n');
  return { name: doc?.name ?? '', timeZone: doc?.timeZone ?? 'UTC', weekly, specialDays };
}

/** The form as posted, kept to show it again when the document is refused. */
export function businessHoursFormOf(body: Body): BusinessHoursForm {
  return {
    name: text(body, 'name', 100).trim(),
    timeZone: text(body, 'timeZone', 64).trim(),
    weekly: Object.fromEntries(WEEKDAYS.map((d) => [d, text(body, `day_${d}`, 500).trim()])) as Record<WeekdayName, string>,
    specialDays: text(body, 'specialDays'),
  };
}

export function businessHoursDocOf(form: BusinessHoursForm): BusinessHoursDoc {
  const ranges = (s: string) => s.split(/[,;\s]+/).filter(Boolean);
  const weekly: BusinessHoursDoc['weekly'] = {};
  for (const d of WEEKDAYS) if (form.weekly[d]) weekly[d] = ranges(form.weekly[d]);
  const specialDays: NonNullable<BusinessHoursDoc['specialDays']> = [];
  form.specialDays
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .forEach((line, i) => {
      const m = /^(\d{4}-\d{2}-\d{2})\s+([^#]*?)\s*(?:#\s*(.*))?$/.exec(line);
      if (!m)
        throw new GesError(
          'GES_VALIDATION',
          `special days, line ${i + 1}: write "YYYY-MM-DD closed" or "YYYY-MM-DD HH:MM-HH:MM", optionally followed by "# note"`,
        );
      const [, date, what, note] = m;
      specialDays.push({
        date: date!,
        ...(what!.toLowerCase() === 'closed' ? { closed: true } : { hours: ranges(what!) }),
        ...(note ? { note: note.slice(0, 200) } : {}),
      });
    });
  return { name: form.name, timeZone: form.timeZone, weekly, ...(specialDays.length > 0 ? { specialDays } : {}) };
}

// ---- capacity rules ----------------------------------------------------------------------------

export interface CapacityGrid {
  name: string;
  slotMinutes: number;
  defaultCapacity: string;
  step: number;
  rows: { minute: number; label: string; cells: string[] }[]; // cells by weekday, '' = default
  exceptions: string; // "2026-12-24 09:00-13:00=2, 13:00-17:00=1"
  /** Set when the rule has ranges finer than the grid, which saving would round. */
  warning: string;
}

/**
 * Rows of at least half an hour (the original's grid) or of the slot length when longer; finer
 * only if the rule's own ranges start or end between rows, so showing a rule never loses detail.
 */
export function gridStep(doc: Pick<CapacityRuleDoc, 'slotMinutes' | 'weekly'> | undefined): { step: number; rounded: boolean } {
  let step = Math.max(doc?.slotMinutes ?? 30, 30);
  for (const d of WEEKDAYS) for (const r of doc?.weekly[d] ?? []) step = gcd(gcd(step, minutes(r.from)), minutes(r.to));
  return step >= 5 ? { step, rounded: false } : { step: 5, rounded: true };
}

export function capacityToGrid(doc: CapacityRuleDoc | undefined): CapacityGrid {
  const { step, rounded } = gridStep(doc);
  const rows: CapacityGrid['rows'] = [];
  for (let minute = 0; minute < 1440; minute += step) {
    rows.push({
      minute,
      label: `${hhmm(minute)}–${hhmm(minute + step)}`,
      cells: WEEKDAYS.map((d) => {
        const r = (doc?.weekly[d] ?? []).find((x) => minutes(x.from) <= minute && minute < minutes(x.to));
        return r ? String(r.capacity) : '';
      }),
    });
  }
  const exceptions = (doc?.exceptions ?? []).map((e) => `${e.date} ${e.capacity.map((c) => `${c.from}-${c.to}=${c.capacity}`).join(', ')}`).join('\n');
  return {
    name: doc?.name ?? '',
    slotMinutes: doc?.slotMinutes ?? 30,
    defaultCapacity: String(doc?.defaultCapacity ?? 0),
    step,
    rows,
    exceptions,
    warning: rounded ? 'Some ranges of this rule start or end between five-minute marks; saving from this grid rounds them to the grid.' : '',
  };
}

function capacityNumber(s: string, where: string): number {
  if (!/^\d{1,6}$/.test(s)) throw new GesError('GES_VALIDATION', `${where}: capacity must be a whole number from 0 to 100000`);
  return Number(s);
}

/** The grid as posted, kept to show it again when the rule is refused. */
export function capacityGridOf(body: Body): CapacityGrid {
  const stepRaw = Number(text(body, 'step', 4));
  const step = [5, 10, 15, 20, 30, 60, 120].includes(stepRaw) ? stepRaw : 30;
  const rows: CapacityGrid['rows'] = [];
  for (let minute = 0; minute < 1440; minute += step) {
    rows.push({ minute, label: `${hhmm(minute)}–${hhmm(minute + step)}`, cells: WEEKDAYS.map((d) => text(body, `c_${d}_${minute}`, 10).trim()) });
  }
  return {
    name: text(body, 'name', 100).trim(),
    slotMinutes: Number(text(body, 'slotMinutes', 4)),
    defaultCapacity: text(body, 'defaultCapacity', 10).trim() || '0',
    step,
    rows,
    exceptions: text(body, 'exceptions'),
    warning: '',
  };
}

/** The rule document of a grid: equal neighbouring cells of a day become one range. */
export function capacityDocOf(grid: CapacityGrid): CapacityRuleDoc {
  const weekly: CapacityRuleDoc['weekly'] = {};
  WEEKDAYS.forEach((d, di) => {
    const ranges: { from: string; to: string; capacity: number }[] = [];
    for (const row of grid.rows) {
      const cell = row.cells[di]!;
      if (cell === '') continue;
      const capacity = capacityNumber(cell, `${DAY_LABELS[d]} ${row.label}`);
      const last = ranges.at(-1);
      if (last && last.to === hhmm(row.minute) && last.capacity === capacity) last.to = hhmm(row.minute + grid.step);
      else ranges.push({ from: hhmm(row.minute), to: hhmm(row.minute + grid.step), capacity });
    }
    if (ranges.length > 0) weekly[d] = ranges;
  });
  const exceptions: NonNullable<CapacityRuleDoc['exceptions']> = [];
  grid.exceptions
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .forEach((line, i) => {
      const m = /^(\d{4}-\d{2}-\d{2})\s*(.*)$/.exec(line);
      if (!m)
        throw new GesError(
          'GES_VALIDATION',
          `exceptions, line ${i + 1}: write "YYYY-MM-DD HH:MM-HH:MM=capacity, ..." (nothing after the date: no capacity that day)`,
        );
      const capacity = m[2]!
        .split(/[,;]+/)
        .map((s) => s.trim())
        .filter(Boolean)
        .map((part) => {
          const p = /^(\d{2}:\d{2})-(\d{2}:\d{2})\s*=\s*(\d{1,6})$/.exec(part);
          if (!p) throw new GesError('GES_VALIDATION', `exceptions, line ${i + 1}: "${part.slice(0, 40)}" is not HH:MM-HH:MM=capacity`);
          return { from: p[1]!, to: p[2]!, capacity: Number(p[3]) };
        });
      exceptions.push({ date: m[1]!, capacity });
    });
  return {
    name: grid.name,
    slotMinutes: grid.slotMinutes as CapacityRuleDoc['slotMinutes'],
    defaultCapacity: capacityNumber(grid.defaultCapacity, 'default capacity'),
    weekly,
    ...(exceptions.length > 0 ? { exceptions } : {}),
  };
}
