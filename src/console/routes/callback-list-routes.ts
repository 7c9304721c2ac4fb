import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { GesError } from '../../domain/errors.ts';
import { CANCELLABLE_STATES, STATES } from '../../domain/callback-state.ts';
import { ACTOR } from '../../domain/actor.ts';
import { isCallbackId } from '../../domain/callback-id.ts';
import { CSV_HEADER, csvLine } from '../callback-csv.ts';
import { field, fields, needs, tenantOf, timeOf, type ConsoleContext } from '../console-context.ts';
import { PAGE_SIZE, RANGES, listUrl, parseListView, toListQuery, type ListView } from '../list-query.ts';
import { safeNext } from './session-routes.ts';

const SORTABLE: { key: ListView['sort']; label: string }[] = [
  { key: 'id', label: 'Callback ID' },
  { key: 'state', label: 'State' },
  { key: 'desired', label: 'Desired callback time' },
  { key: 'phone', label: 'Phone number' },
  { key: 'service', label: 'Service name' },
  { key: 'updated', label: 'Time updated' },
];

/** The callback list: filtered and paged, its CSV export, and cancelling what is selected in it. */
export function callbackListRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/callbacks', needs('callbacks.view'), async (request, reply) => {
    const t = timeOf(request);
    const tenant = tenantOf(request);
    const q = request.query as Record<string, string | string[] | undefined>;
    const now = ctx.now();
    const view = parseListView(q, t.zone, now);
    const query = toListQuery(view, t.zone, now, q);
    const [page, services] = await Promise.all([ctx.list.page(tenant, query), ctx.config.services(tenant)]);
    const pageCount = page.totalCapped ? undefined : Math.max(1, Math.ceil(page.total / PAGE_SIZE));
    const current = query.last && !query.cursor ? (pageCount ?? view.page) : Math.min(view.page, pageCount ?? view.page);
    const full = page.rows.length === PAGE_SIZE;
    const hasNext = full && (pageCount === undefined || current < pageCount) && page.lastCursor !== undefined;
    const hasPrev = current > 1 && page.firstCursor !== undefined;
    const from = (current - 1) * PAGE_SIZE + (page.rows.length > 0 ? 1 : 0);
    return ctx.page(request, reply, 'callbacks', {
      title: 'Callbacks',
      section: 'callbacks',
      view,
      rows: page.rows,
      total: page.total,
      totalCapped: page.totalCapped,
      searchProblem: page.searchProblem ?? '',
      from,
      to: (current - 1) * PAGE_SIZE + page.rows.length,
      current,
      pageCount,
      links: {
        first: current > 1 ? listUrl(view, { page: '1' }) : '',
        prev: hasPrev ? listUrl(view, { before: page.firstCursor, page: String(current - 1) }) : '',
        next: hasNext ? listUrl(view, { after: page.lastCursor, page: String(current + 1) }) : '',
        last: pageCount !== undefined && current < pageCount ? listUrl(view, { last: '1', page: String(pageCount) }) : '',
        export: listUrl(view, {}, '/ges/callbacks/export.csv'),
        self: request.url,
      },
      sortable: SORTABLE.map((s) => ({
        ...s,
        active: view.sort === s.key,
        url: listUrl(view, { sort: s.key, order: view.sort === s.key && view.order === 'asc' ? 'desc' : 'asc' }),
      })),
      ranges: RANGES,
      states: Object.keys(STATES),
      services: services.map((s) => s.name),
      cancellable: CANCELLABLE_STATES,
    });
  });

  app.get('/callbacks/export.csv', needs('callbacks.export'), async (request, reply) => {
    const t = timeOf(request);
    const tenant = tenantOf(request);
    const q = request.query as Record<string, string | string[] | undefined>;
    const now = ctx.now();
    const view = parseListView(q, t.zone, now);
    const query = { ...toListQuery(view, t.zone, now, {}), last: false };
    const batches = ctx.list.all(tenant, query);
    async function* lines() {
      yield CSV_HEADER;
      for await (const batch of batches) yield batch.map(csvLine).join('');
    }
    request.log.info({ tenant: tenant.name }, 'callbacks exported');
    const stamp = new Date(now).toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="callbacks-${tenant.name}-${stamp}.csv"`)
      .send(Readable.from(lines()));
  });

  // Cancel one or several: the first post shows what will be cancelled, the confirmed one cancels.
  app.post('/callbacks/cancel', needs('callbacks.cancel'), async (request, reply) => {
    const body = request.body;
    const ids = [...new Set(fields(body, 'id', 64))].filter(isCallbackId).slice(0, PAGE_SIZE);
    const back = safeNext(field(body, 'back', 2000));
    if (ids.length === 0) {
      return ctx.page(
        request,
        reply,
        'cancel-result',
        { title: 'Cancel callbacks', section: 'callbacks', results: [], back, error: 'Select at least one callback to cancel.' },
        400,
      );
    }
    if (field(body, 'confirm') !== 'yes') {
      return ctx.page(request, reply, 'cancel-confirm', { title: 'Cancel callbacks?', section: 'callbacks', ids, back });
    }
    const tenant = tenantOf(request);
    const results: { id: string; ok: boolean; message: string }[] = [];
    for (const id of ids) {
      try {
        await ctx.callbacks.cancel(tenant, id, 'CANCELLED_BY_ADMIN', ACTOR.CONSOLE);
        results.push({ id, ok: true, message: 'cancelled (COMPLETED, CANCELLED_BY_ADMIN)' });
      } catch (err) {
        // One refusal (already finished, not found) must not stop the others: it is listed.
        if (!(err instanceof GesError)) throw err;
        results.push({ id, ok: false, message: err.message });
      }
    }
    request.log.info(
      { tenant: tenant.name, cancelled: results.filter((r) => r.ok).length, refused: results.filter((r) => !r.ok).length },
      'callbacks cancelled in the console',
    );
    return ctx.page(request, reply, 'cancel-result', { title: 'Cancel callbacks', section: 'callbacks', results, back, error: '' });
  });
}
