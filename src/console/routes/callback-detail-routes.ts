import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GesError } from '../../domain/errors.ts';
import { ACTIVE_STATES, CANCELLABLE_STATES, RESCHEDULABLE_STATES, type CallbackState } from '../../domain/callback-state.ts';
import { ACTOR } from '../../domain/actor.ts';
import { field, needs, tenantOf, timeOf, type ConsoleContext } from '../console-context.ts';
import { friendly } from '../friendly-error.ts';
import { rerenderRefused } from '../rerender-refused.ts';

/** GES reports a place in queue and a wait only for these (ges-api.md §1.3). */
const IN_QUEUE: readonly CallbackState[] = ['QUEUED', 'ROUTING', 'PROCESSING'];

interface DetailExtras {
  notice?: string;
  error?: string;
  status?: number;
  slot?: string;
  date?: string;
}

/** One callback: its page with history and live figures, the live part alone, and rescheduling. */
export function callbackDetailRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  async function detail(request: FastifyRequest, reply: FastifyReply, id: string, o: DetailExtras = {}) {
    const tenant = tenantOf(request);
    const t = timeOf(request);
    const record = await ctx.callbacks.retrieve(tenant, id);
    const [history, live] = await Promise.all([
      ctx.callbacks.history(tenant, id),
      IN_QUEUE.includes(record.state) ? ctx.monitor.callbackLive(tenant, record) : Promise.resolve(undefined),
    ]);
    const day = new Intl.DateTimeFormat('en-CA', { timeZone: t.zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(record.desiredTime);
    return ctx.page(
      request,
      reply,
      'callback',
      {
        title: `Callback ${id}`,
        section: 'callbacks',
        record,
        history,
        live,
        active: ACTIVE_STATES.includes(record.state),
        inQueue: IN_QUEUE.includes(record.state),
        cancellable: CANCELLABLE_STATES.includes(record.state),
        reschedulable: RESCHEDULABLE_STATES.includes(record.state),
        date: o.date ?? day,
        slot: o.slot ?? '',
        notice: o.notice ?? '',
        error: o.error ?? '',
      },
      o.status,
    );
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
      // No callback, no page to show again: the not-found page instead.
      if (err instanceof GesError && err.code === 'GES_CALLBACK_NOT_FOUND') throw err;
      return rerenderRefused(reply, err, (refusal) => detail(request, reply, id, { error: friendly(refusal), status: refusal.http, slot, date }));
    }
    return reply.redirect(`/ges/callbacks/${id}?rescheduled=1`, 303);
  });
}
