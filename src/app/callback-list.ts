import type pg from 'pg';
import { GesError } from '../domain/errors.ts';
import type { CallbackState } from '../domain/callback-state.ts';
import { normalizePhone } from '../domain/phone-number.ts';
import { parseServiceOptions } from '../domain/service-options.ts';
import { callbackIdFromHex, isCallbackId } from '../domain/callback-id.ts';
import { countCallbacks, listCallbackPage, sortValueOf, type CallbackListFilter, type CallbackListRow, type SortKey } from '../store/callback-list-read.ts';
import { findService } from '../store/service-store.ts';
import type { Tenant } from '../store/tenant-store.ts';

/** The rows and sort keys of the list, named from here by the console (which imports no store). */
export { SORT_KEYS, type CallbackListRow, type SortKey } from '../store/callback-list-read.ts';

export type SearchBy = 'auto' | 'id' | 'phone';

export interface CallbackListQuery {
  serviceName?: string;
  states?: CallbackState[];
  from?: Date;
  to?: Date;
  search?: { text: string; by: SearchBy };
  sort: SortKey;
  descending: boolean;
  /** An opaque cursor from a previous page, and which way to go from it. */
  cursor?: { token: string; direction: 'next' | 'prev' };
  /** Without a cursor: the last page (whose size follows from the total) instead of the first. */
  last?: boolean;
  pageSize: number;
}

export interface CallbackListPage {
  rows: CallbackListRow[];
  total: number;
  /** The count stopped at COUNT_CAP: there are at least `total` callbacks. */
  totalCapped: boolean;
  /** Cursors of the first and last row, for the previous and next pages. */
  firstCursor?: string;
  lastCursor?: string;
  /** Why the search text matched nothing, when it could not be read as an id or a number. */
  searchProblem?: string;
}

/** The banner counts up to this many callbacks; beyond, it says "more than". */
export const COUNT_CAP = 100_000;

function encodeCursor(value: string, id: string): string {
  return Buffer.from(JSON.stringify([value, id])).toString('base64url');
}

function decodeCursor(token: string, sort: SortKey): { value: string; id: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const [value, id] = Array.isArray(parsed) ? (parsed as unknown[]) : [];
  const valueOk =
    typeof value === 'string' &&
    value.length <= 255 &&
    (sort === 'service' ||
      sort === 'id' ||
      ((sort === 'state' || sort === 'phone') && /^\d{1,15}$/.test(value)) ||
      (!Number.isNaN(Date.parse(value)) && /^\d{4}-\d{2}-\d{2}T/.test(value)));
  if (typeof id !== 'string' || !isCallbackId(id) || !valueOk) throw new GesError('GES_CURSOR_INVALID', 'the paging cursor is not one the console produced');
  return { value, id };
}

/** A typed id prefix as the smallest and largest UUIDs that start with it. */
export function idPrefixRange(text: string): { low: string; high: string } | undefined {
  const hex = text.trim().toLowerCase().replace(/-/g, '');
  if (!/^[0-9a-f]{1,32}$/.test(hex)) return undefined;
  return { low: callbackIdFromHex(hex.padEnd(32, '0')), high: callbackIdFromHex(hex.padEnd(32, 'f')) };
}

/**
 * The callback list of the console: filters, any-column sorting and keyset paging over the read in
 * store/callback-list-read.ts, plus the CSV export of everything the filters match.
 */
export class CallbackList {
  constructor(private readonly pool: pg.Pool) {}

  async page(tenant: Tenant, q: CallbackListQuery): Promise<CallbackListPage> {
    const resolved = await this.#filter(tenant, q);
    if ('problem' in resolved) return { rows: [], total: 0, totalCapped: false, ...(resolved.problem ? { searchProblem: resolved.problem } : {}) };
    const filter = resolved.filter;
    const total = await countCallbacks(this.pool, tenant.id, filter, COUNT_CAP);
    let limit = q.pageSize;
    // The last page holds what remains after the full pages, so page numbers agree both ways.
    if (q.last && !q.cursor && total < COUNT_CAP) limit = total % q.pageSize || q.pageSize;
    const rows = await listCallbackPage(this.pool, tenant.id, filter, {
      sort: q.sort,
      descending: q.descending,
      limit,
      fromEnd: q.last === true && !q.cursor,
      ...(q.cursor ? { cursor: { ...decodeCursor(q.cursor.token, q.sort), direction: q.cursor.direction } } : {}),
    });
    const first = rows[0];
    const last = rows.at(-1);
    return {
      rows,
      total,
      totalCapped: total >= COUNT_CAP,
      ...(first ? { firstCursor: encodeCursor(sortValueOf(first, q.sort), first.id) } : {}),
      ...(last ? { lastCursor: encodeCursor(sortValueOf(last, q.sort), last.id) } : {}),
    };
  }

  /** Every matching callback in list order, a batch at a time (for CSV export). */
  async *all(tenant: Tenant, q: CallbackListQuery, batch = 1000): AsyncGenerator<CallbackListRow[]> {
    const resolved = await this.#filter(tenant, q);
    if ('problem' in resolved) return;
    let cursor: { value: string; id: string; direction: 'next' } | undefined;
    for (;;) {
      const rows = await listCallbackPage(this.pool, tenant.id, resolved.filter, {
        sort: q.sort,
        descending: q.descending,
        limit: batch,
        ...(cursor ? { cursor } : {}),
      });
      if (rows.length > 0) yield rows;
      const last = rows.at(-1);
      if (rows.length < batch || !last) return;
      cursor = { value: sortValueOf(last, q.sort), id: last.id, direction: 'next' };
    }
  }

  async #filter(tenant: Tenant, q: CallbackListQuery): Promise<{ filter: CallbackListFilter } | { problem: string | undefined }> {
    const filter: CallbackListFilter = { states: q.states, from: q.from, to: q.to };
    let country = 'US';
    if (q.serviceName) {
      const service = await findService(this.pool, tenant.id, q.serviceName);
      if (!service) return { problem: undefined };
      filter.serviceId = service.id;
      country = parseServiceOptions(service.options).defaultCountry;
    }
    const text = q.search?.text.trim() ?? '';
    if (text !== '') {
      const by = q.search!.by === 'auto' ? guessSearch(text) : q.search!.by;
      if (by === 'id') {
        const range = idPrefixRange(text);
        if (!range) return { problem: 'a callback id has only hexadecimal digits and dashes' };
        filter.idRange = range;
      } else {
        try {
          filter.phone = normalizePhone(text, { defaultCountry: country, disallowImpossibleNumbers: false, disallowPremiumNumbers: false });
        } catch (err) {
          return { problem: (err as Error).message.replace(/^phoneNumber/, 'the search text') };
        }
      }
    }
    return { filter };
  }
}

/** A full UUID or a hex prefix with a letter is an id; anything else is read as a phone number. */
function guessSearch(text: string): 'id' | 'phone' {
  if (isCallbackId(text)) return 'id';
  return /^[0-9a-f-]+$/i.test(text) && /[a-f]/i.test(text) ? 'id' : 'phone';
}
