import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { GesError } from '../../domain/errors.ts';
import { ACTIVE_STATES, CANCELLABLE_STATES, RESCHEDULABLE_STATES, STATES, type CallbackState } from '../../domain/callback-state.ts';
import { maskPhone } from '../../domain/phone-number.ts';
import { ACTOR, isCallbackId } from '../../store/callback-store.ts';
import type { CallbackListRow } from '../../app/callback-list.ts';
import { field, fields, needs, tenantOf, timeOf, type ConsoleContext } from '../console-context.ts';
import { PAGE_SIZE, RANGES, listUrl, parseListView, toListQuery, type ListView } from '../list-query.ts';
import { safeNext } from './session-routes.ts';

/** GES reports a place in queue and a wait only for these (ges-api.md §1.3). */
const IN_QUEUE: readonly CallbackState[] = ['QUEUED', 'ROUTING', 'PROCESSING'];

const SORTABLE: { key: ListView['sort']; label: string }[] = [
  { key: 'id', label: 'Callback ID' },
  { key: 'state', label: 'State' },
  { key: 'desired', label: 'Desired callback time' },
  { key: 'phone', label: 'Phone number' },
  { key: 'service', label: 'Service name' },
  { key: 'updated', label: 'Time updated' },
];

/** A spreadsheet must not read a cell as a formula (CSV injection); a plain +digits number is safe. */
function csvCell(value: string): string {
  const v = /^[=+\-@\t\r]/.test(value) && !/^\+\d+$/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function csvLine(r: CallbackListRow): string {
  return [r.id, r.state, r.reason ?? '', r.desiredTime.toISOString(), r.phoneNumber, r.serviceName, r.createdAt.toISOString(), r.updatedAt.toISOString()]
    .map(csvCell).join(',') + '\r\n';
}

const CSV_HEADER = 'Callback ID,State,Completed Reason,Desired Callback Time (UTC),Phone Number,Service Name,Time Created (UTC),Time Updated (UTC)\r\n';

/** Messages for the console user; the API's wording speaks of request fields. */
function friendly(err: GesError): string {
  switch (err.code) {
    case 'GES_SLOT_FULL': return 'That slot has just been fully booked. Pick another one.';
    case 'GES_SERVICE_UNKNOWN': return 'Choose one of the services.';
    default: return err.message.replace(/^phoneNumber/, 'The phone number').replace(/^desiredTime/, 'The time');
  }
}

/** The Callbacks tab: list, detail, create, cancel, reschedule, export. */
export function callbackRoutes(ctx: ConsoleContext): FastifyPluginAsync {
  return async (app) => {
    app.get('/callbacks', needs('callbacks.view'), async (request, reply) => {
      const t = timeOf(request);
      const tenant = tenantOf(request);
      const q = request.query as Record<string, string | string[] | undefined>;
      const now = ctx.now();
      const view = parseListView(q, t.zone, now);
      const query = toListQuery(view, t.zone, now, q);
      const [page, services] = await Promise.all([ctx.list.page(tenant, query), ctx.config.services(tenant)]);
      const pageCount = page.totalCapped ? undefined : Math.max(1, Math.ceil(page.total / PAGE_SIZE));
      const current = query.last && !query.cursor ? pageCount ?? view.page : Math.min(view.page, pageCount ?? view.page);
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

    async function createForm(request: FastifyRequest, reply: FastifyReply, values: Record<string, string>, error = '', status = 200) {
      const tenant = tenantOf(request);
      const t = timeOf(request);
      const services = (await ctx.config.services(tenant)).map((s) => s.name);
      const today = new Intl.DateTimeFormat('en-CA', { timeZone: t.zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(ctx.now());
      return ctx.page(request, reply, 'callback-new', {
        title: 'Create callback', section: 'callbacks', services, today,
        values: { type: 'immediate', service: services[0] ?? '', phone: '', date: today, slot: '', ...values }, error,
      }, status);
    }

    app.get('/callbacks/new', needs('callbacks.create'), async (request, reply) => createForm(request, reply, {}));

    // The slot picker: free slots of one service on one day (in the zone the user reads times in).
    app.get('/callbacks/slots', needs('callbacks.view'), async (request, reply) => {
      const q = request.query as Record<string, string | undefined>;
      const service = field(q, 'service', 255);
      const date = field(q, 'date', 10);
      const selected = field(q, 'slot', 64);
      const t = timeOf(request);
      let slots: { value: string; label: string }[] = [];
      let message = '';
      if (!service || !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
        message = 'Choose a service and a day.';
      } else {
        try {
          const availability = await ctx.availability.availability(tenantOf(request), service, { start: `${date}T00:00:00.000`, numberOfDays: 1, timezone: t.zone });
          slots = availability.slots.map((s) => ({ value: s.utcTime, label: `${t.shortTime(Date.parse(s.utcTime))} (${s.capacity} of ${s.total} free)` }));
          if (slots.length === 0) message = 'No free slot that day: the service is closed, full, or the day is beyond its booking horizon.';
        } catch (err) {
          if (!(err instanceof GesError)) throw err;
          message = friendly(err);
        }
      }
      return reply.view('slots-fragment', { slots, message, selected, zone: t.label });
    });

    app.post('/callbacks', needs('callbacks.create'), async (request, reply) => {
      const body = request.body;
      const values = { type: field(body, 'type', 20) === 'scheduled' ? 'scheduled' : 'immediate', service: field(body, 'service', 255), phone: field(body, 'phone', 64), date: field(body, 'date', 10), slot: field(body, 'slot', 64) };
      try {
        if (!values.service) throw new GesError('GES_VALIDATION', 'Choose a service.');
        if (!values.phone) throw new GesError('GES_VALIDATION', 'Enter the number to call back.');
        if (values.type === 'scheduled' && !values.slot) throw new GesError('GES_VALIDATION', 'Choose a day and a free time slot.');
        const tenant = tenantOf(request);
        const outcome = await ctx.callbacks.create(tenant, {
          serviceName: values.service, phoneNumber: values.phone, channel: 'console',
          ...(values.type === 'scheduled' ? { desiredTime: values.slot } : {}),
        });
        request.log.info({ callbackId: outcome.id, phone: maskPhone(values.phone.replace(/[^+0-9]/g, '')) }, 'callback created in the console');
        return reply.redirect(`/ges/callbacks/${outcome.id}?created=1`, 303);
      } catch (err) {
        if (!(err instanceof GesError)) throw err;
        reply.header('x-ges-error-code', err.code);
        return createForm(request, reply, values, friendly(err), err.http);
      }
    });

    // Cancel one or several: the first post shows what will be cancelled, the confirmed one cancels.
    app.post('/callbacks/cancel', needs('callbacks.cancel'), async (request, reply) => {
      const body = request.body;
      const ids = [...new Set(fields(body, 'id', 64))].filter(isCallbackId).slice(0, PAGE_SIZE);
      const back = safeNext(field(body, 'back', 2000));
      if (ids.length === 0) {
        return ctx.page(request, reply, 'cancel-result', { title: 'Cancel callbacks', section: 'callbacks', results: [], back, error: 'Select at least one callback to cancel.' }, 400);
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
          if (!(err instanceof GesError)) throw err;
          results.push({ id, ok: false, message: err.message });
        }
      }
      request.log.info({ tenant: tenant.name, cancelled: results.filter((r) => r.ok).length, refused: results.filter((r) => !r.ok).length }, 'callbacks cancelled in the console');
      return ctx.page(request, reply, 'cancel-result', { title: 'Cancel callbacks', section: 'callbacks', results, back, error: '' });
    });

    async function detail(request: FastifyRequest, reply: FastifyReply, id: string, o: { notice?: string; error?: string; status?: number; slot?: string; date?: string } = {}) {
      const tenant = tenantOf(request);
      const t = timeOf(request);
      const record = await ctx.callbacks.retrieve(tenant, id);
      const [history, live] = await Promise.all([
        ctx.callbacks.history(tenant, id),
        IN_QUEUE.includes(record.state) ? ctx.monitor.callbackLive(tenant, record) : Promise.resolve(undefined),
      ]);
      const day = new Intl.DateTimeFormat('en-CA', { timeZone: t.zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(record.desiredTime);
      return ctx.page(request, reply, 'callback', {
        title: `Callback ${id}`, section: 'callbacks', record, history, live,
        active: ACTIVE_STATES.includes(record.state),
        inQueue: IN_QUEUE.includes(record.state),
        cancellable: CANCELLABLE_STATES.includes(record.state),
        reschedulable: RESCHEDULABLE_STATES.includes(record.state),
        date: o.date ?? day, slot: o.slot ?? '', notice: o.notice ?? '', error: o.error ?? '',
      }, o.status);
    }

    app.get<{ Params: { id: string } }>('/callbacks/:id', needs('callbacks.view'), async (request, reply) => {
      const q = request.query as Record<string, string | undefined>;
      return detail(request, reply, request.params.id, { notice: q.created ? 'Callback created.' : q.rescheduled ? 'Callback rescheduled.' : '' });
    });

    // The live part of the detail page, refreshed by htmx while the callback is unfinished.
    app.get<{ Params: { id: string } }>('/callbacks/:id/live', needs('callbacks.view'), async (request, reply) => {
      const tenant = tenantOf(request);
      const record = await ctx.callbacks.retrieve(tenant, request.params.id);
      const inQueue = IN_QUEUE.includes(record.state);
      const live = inQueue ? await ctx.monitor.callbackLive(tenant, record) : undefined;
      return ctx.page(request, reply, 'callback-live', { record, live, active: ACTIVE_STATES.includes(record.state), inQueue });
    });

    app.post<{ Params: { id: string } }>('/callbacks/:id/reschedule', needs('callbacks.reschedule'), async (request, reply) => {
      const id = request.params.id;
      const slot = field(request.body, 'slot', 64);
      const date = field(request.body, 'date', 10);
      try {
        if (!slot) throw new GesError('GES_VALIDATION', 'Choose a day and a free time slot.');
        await ctx.callbacks.reschedule(tenantOf(request), id, slot, ACTOR.CONSOLE);
      } catch (err) {
        if (!(err instanceof GesError) || err.code === 'GES_CALLBACK_NOT_FOUND') throw err;
        reply.header('x-ges-error-code', err.code);
        return detail(request, reply, id, { error: friendly(err), status: err.http, slot, date });
      }
      return reply.redirect(`/ges/callbacks/${id}?rescheduled=1`, 303);
    });
  };
}
