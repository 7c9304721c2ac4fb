import { Temporal } from 'temporal-polyfill';
import { STATES, type CallbackState } from '../domain/callback-state.ts';
import { SORT_KEYS, type CallbackListQuery, type SearchBy, type SortKey } from '../app/callback-list.ts';

/** The callback list's filters as the URL carries them, so a filtered page can be bookmarked and shared. */

export const PAGE_SIZE = 250;

export const RANGES = Object.freeze({
  today: 'Today',
  tomorrow: 'Tomorrow',
  yesterday: 'Yesterday',
  next7: 'Next 7 days',
  last7: 'Last 7 days',
  all: 'All (14 days kept)',
  custom: 'Custom range',
} as const);
export type RangeName = keyof typeof RANGES;

export interface ListView {
  range: RangeName;
  from: string; // YYYY-MM-DD, custom range (inclusive)
  to: string;
  states: CallbackState[];
  service: string;
  q: string;
  by: SearchBy;
  sort: SortKey;
  order: 'asc' | 'desc';
  page: number;
}

type Query = Record<string, string | string[] | undefined>;

const first = (v: string | string[] | undefined): string => (Array.isArray(v) ? (v[0] ?? '') : (v ?? '')).trim();
const all = (v: string | string[] | undefined): string[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function validDate(text: string): boolean {
  if (!DATE.test(text)) return false;
  try {
    Temporal.PlainDate.from(text, { overflow: 'reject' });
    return true;
  } catch {
    return false;
  }
}

export function parseListView(q: Query, zone: string, nowMs: number): ListView {
  const rangeText = first(q.range);
  const range: RangeName = Object.hasOwn(RANGES, rangeText) ? (rangeText as RangeName) : 'today';
  const today = Temporal.Instant.fromEpochMilliseconds(nowMs).toZonedDateTimeISO(zone).toPlainDate().toString();
  const from = validDate(first(q.from)) ? first(q.from) : today;
  const toText = validDate(first(q.to)) ? first(q.to) : from;
  const states = all(q.state).filter((s): s is CallbackState => Object.hasOwn(STATES, s));
  const sortText = first(q.sort);
  const by = first(q.by);
  const page = Number(first(q.page));
  return {
    range,
    from,
    to: toText < from ? from : toText,
    states,
    service: first(q.service).slice(0, 255),
    q: first(q.q).slice(0, 100),
    by: by === 'id' || by === 'phone' ? by : 'auto',
    sort: (SORT_KEYS as readonly string[]).includes(sortText) ? (sortText as SortKey) : 'desired',
    order: first(q.order) === 'desc' ? 'desc' : 'asc',
    page: Number.isSafeInteger(page) && page > 0 ? page : 1,
  };
}

/** Start of a local date in `zone`, as an instant. */
function startOf(date: Temporal.PlainDate, zone: string): Date {
  return new Date(date.toZonedDateTime({ timeZone: zone }).epochMilliseconds);
}

/** The desired-time bounds of a range, in the zone the user reads times in. */
export function rangeBounds(view: ListView, zone: string, nowMs: number): { from?: Date; to?: Date } {
  const today = Temporal.Instant.fromEpochMilliseconds(nowMs).toZonedDateTimeISO(zone).toPlainDate();
  const span = (a: Temporal.PlainDate, days: number) => ({ from: startOf(a, zone), to: startOf(a.add({ days }), zone) });
  switch (view.range) {
    case 'today':
      return span(today, 1);
    case 'tomorrow':
      return span(today.add({ days: 1 }), 1);
    case 'yesterday':
      return span(today.subtract({ days: 1 }), 1);
    case 'next7':
      return span(today, 7);
    case 'last7':
      return span(today.subtract({ days: 6 }), 7);
    case 'all':
      return {};
    case 'custom': {
      const a = Temporal.PlainDate.from(view.from);
      const b = Temporal.PlainDate.from(view.to);
      return { from: startOf(a, zone), to: startOf(b.add({ days: 1 }), zone) };
    }
  }
}

export function toListQuery(view: ListView, zone: string, nowMs: number, q: Query): CallbackListQuery {
  const bounds = rangeBounds(view, zone, nowMs);
  const after = first(q.after);
  const before = first(q.before);
  return {
    ...(view.service ? { serviceName: view.service } : {}),
    ...(view.states.length > 0 ? { states: view.states } : {}),
    ...bounds,
    ...(view.q ? { search: { text: view.q, by: view.by } } : {}),
    sort: view.sort,
    descending: view.order === 'desc',
    ...(after ? { cursor: { token: after, direction: 'next' as const } } : before ? { cursor: { token: before, direction: 'prev' as const } } : {}),
    last: first(q.last) === '1',
    pageSize: PAGE_SIZE,
  };
}

/** The list URL for these filters, with some parameters changed (undefined removes one). */
export function listUrl(view: ListView, changes: Record<string, string | undefined> = {}, path = '/ges/callbacks'): string {
  const p = new URLSearchParams();
  p.set('range', view.range);
  if (view.range === 'custom') {
    p.set('from', view.from);
    p.set('to', view.to);
  }
  for (const s of view.states) p.append('state', s);
  if (view.service) p.set('service', view.service);
  if (view.q) {
    p.set('q', view.q);
    if (view.by !== 'auto') p.set('by', view.by);
  }
  if (view.sort !== 'desired') p.set('sort', view.sort);
  if (view.order !== 'asc') p.set('order', view.order);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) p.delete(k);
    else p.set(k, v);
  }
  return `${path}?${p.toString()}`;
}
