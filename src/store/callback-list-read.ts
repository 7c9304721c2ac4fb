import type { Queryable } from './db.ts';
import { STATES, stateName, type CallbackState } from '../domain/callback-state.ts';
import { phoneToStored } from '../domain/phone-number.ts';
import type { CallbackSummary } from '../domain/callback-record.ts';
import { SUMMARY_COLUMNS, toSummary, type CallbackSummaryRow } from './callback-row.ts';

/**
 * The console's read of the callback list: filtered, sorted on any column and paged with a keyset
 * (sort value, id) cursor in both directions, so every page costs the same however deep it is, and
 * a count for the banner. Like availability-read, it only reads; callbacks change in callback-store
 * and engine-transition-store. Rows are summaries (callback-row.ts): the list never shows userData
 * or request extras.
 *
 * The WHERE clause is assembled from fixed fragments with placeholders, never from input, so each
 * filter combination gets a plan that uses the (tenant_id, desired_at) index and prunes partitions.
 */

export type CallbackListRow = CallbackSummary;

export interface CallbackListFilter {
  serviceId?: number;
  states?: readonly CallbackState[];
  from?: Date; // desired time >= from
  to?: Date; // desired time < to
  phone?: string; // E.164
  /** Ids within [low, high]: an id prefix typed in the search box becomes this range. */
  idRange?: { low: string; high: string };
}

export const SORT_KEYS = Object.freeze(['desired', 'updated', 'created', 'state', 'phone', 'service', 'id'] as const);
export type SortKey = (typeof SORT_KEYS)[number];

/** Column and the type its cursor value is cast to; the one place sort keys become SQL. */
const SORT_SQL: Record<SortKey, { expr: string; type: string } | undefined> = {
  desired: { expr: 'c.desired_at', type: 'timestamptz' },
  updated: { expr: 'c.updated_at', type: 'timestamptz' },
  created: { expr: 'c.created_at', type: 'timestamptz' },
  state: { expr: 'c.state', type: 'smallint' },
  phone: { expr: 'c.phone', type: 'bigint' },
  service: { expr: 's.name', type: 'text' },
  id: undefined, // the id alone
};

export interface ListPageRequest {
  sort: SortKey;
  descending: boolean;
  /** Rows after this cursor in sort order ('next'), or before it ('prev'). */
  cursor?: { value: string; id: string; direction: 'next' | 'prev' };
  /** Without a cursor: the first page, or with `fromEnd` the last `limit` rows. */
  fromEnd?: boolean;
  limit: number;
}

function where(tenantId: number, f: CallbackListFilter, params: unknown[]): string[] {
  params.push(tenantId);
  const conditions = [`c.tenant_id = $${params.length}`];
  const add = (sql: (p: string) => string, value: unknown) => {
    params.push(value);
    conditions.push(sql(`$${params.length}`));
  };
  if (f.serviceId !== undefined) add((p) => `c.service_id = ${p}`, f.serviceId);
  if (f.states && f.states.length > 0 && f.states.length < Object.keys(STATES).length)
    add(
      (p) => `c.state = ANY(${p}::smallint[])`,
      f.states.map((s) => STATES[s]),
    );
  if (f.from) add((p) => `c.desired_at >= ${p}`, f.from);
  if (f.to) add((p) => `c.desired_at < ${p}`, f.to);
  if (f.phone) add((p) => `c.phone = ${p}::bigint`, phoneToStored(f.phone));
  if (f.idRange) {
    add((p) => `c.id >= ${p}::uuid`, f.idRange.low);
    add((p) => `c.id <= ${p}::uuid`, f.idRange.high);
  }
  return conditions;
}

/** The cursor value of a row for a sort key, as text the SQL casts back. */
export function sortValueOf(row: CallbackListRow, sort: SortKey): string {
  switch (sort) {
    case 'desired':
      return row.desiredTime.toISOString();
    case 'updated':
      return row.updatedAt.toISOString();
    case 'created':
      return row.createdAt.toISOString();
    case 'state':
      return String(STATES[row.state]);
    case 'phone':
      return phoneToStored(row.phoneNumber);
    case 'service':
      return row.serviceName;
    case 'id':
      return '';
  }
}

/** One page of the list; rows always come back in the requested sort order. */
export async function listCallbackPage(db: Queryable, tenantId: number, filter: CallbackListFilter, page: ListPageRequest): Promise<CallbackListRow[]> {
  const params: unknown[] = [];
  const conditions = where(tenantId, filter, params);
  const sort = SORT_SQL[page.sort];
  // Walking backwards (previous page, last page) reads in the opposite order, then flips the rows.
  const backwards = page.cursor?.direction === 'prev' || (page.cursor === undefined && page.fromEnd === true);
  const descending = page.descending !== backwards;
  const dir = descending ? 'DESC' : 'ASC';
  if (page.cursor) {
    const op = descending ? '<' : '>';
    params.push(page.cursor.id);
    const idParam = `$${params.length}::uuid`;
    if (sort) {
      params.push(page.cursor.value);
      conditions.push(`(${sort.expr}, c.id) ${op} ($${params.length}::${sort.type}, ${idParam})`);
    } else {
      conditions.push(`c.id ${op} ${idParam}`);
    }
  }
  params.push(page.limit);
  const { rows } = await db.query<CallbackSummaryRow>(
    `SELECT ${SUMMARY_COLUMNS}
       FROM callback c JOIN callback_service s ON s.id = c.service_id
      WHERE ${conditions.join('\n        AND ')}
      ORDER BY ${sort ? `${sort.expr} ${dir}, ` : ''}c.id ${dir}
      LIMIT $${params.length}`,
    params,
  );
  const out = rows.map(toSummary);
  return backwards ? out.reverse() : out;
}

/** How many callbacks match, counting at most `cap` (the banner then says "more than"). */
export async function countCallbacks(db: Queryable, tenantId: number, filter: CallbackListFilter, cap: number): Promise<number> {
  const params: unknown[] = [];
  const conditions = where(tenantId, filter, params);
  params.push(cap);
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT 1 FROM callback c WHERE ${conditions.join(' AND ')} LIMIT $${params.length}) x`,
    params,
  );
  return rows[0]!.n;
}

/** Unfinished callbacks of a tenant by service and state: the default queue monitor's counts. */
export async function countActiveByServiceAndState(db: Queryable, tenantId: number): Promise<{ serviceId: number; state: CallbackState; count: number }[]> {
  const { rows } = await db.query<{ service_id: number; state: number; n: number }>(
    `SELECT service_id, state, count(*)::int AS n FROM callback WHERE tenant_id = $1 AND state < ${STATES.COMPLETED} GROUP BY 1, 2`,
    [tenantId],
  );
  return rows.map((r) => ({ serviceId: r.service_id, state: stateName(r.state), count: r.n }));
}
