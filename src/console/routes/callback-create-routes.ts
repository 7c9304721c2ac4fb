import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GesError } from '../../domain/errors.ts';
import { ACTOR } from '../../domain/actor.ts';
import { maskPhone } from '../../domain/phone-number.ts';
import { field, needs, tenantOf, timeOf, type ConsoleContext } from '../console-context.ts';
import { friendly } from '../friendly-error.ts';
import { rerenderRefused } from '../rerender-refused.ts';

/** Creating a callback: the form, its slot picker, and the post. */
export function callbackCreateRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  async function createForm(request: FastifyRequest, reply: FastifyReply, values: Record<string, string>, error = '', status = 200) {
    const tenant = tenantOf(request);
    const t = timeOf(request);
    const services = (await ctx.config.services(tenant)).map((s) => s.name);
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: t.zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(ctx.now());
    return ctx.page(
      request,
      reply,
      'callback-new',
      {
        title: 'Create callback',
        section: 'callbacks',
        services,
        today,
        values: { type: 'immediate', service: services[0] ?? '', phone: '', date: today, slot: '', ...values },
        error,
      },
      status,
    );
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
        const availability = await ctx.availability.availability(tenantOf(request), service, {
          start: `${date}T00:00:00.000`,
          numberOfDays: 1,
          timezone: t.zone,
        });
        slots = availability.slots.map((s) => ({ value: s.utcTime, label: `${t.shortTime(Date.parse(s.utcTime))} (${s.capacity} of ${s.total} free)` }));
        if (slots.length === 0) message = 'No free slot that day: the service is closed, full, or the day is beyond its booking horizon.';
      } catch (err) {
        // The picker is a fragment inside the form: a refusal is its message, not an error page.
        if (!(err instanceof GesError)) throw err;
        message = friendly(err);
      }
    }
    return reply.view('slots-fragment', { slots, message, selected, zone: t.label });
  });

  app.post('/callbacks', needs('callbacks.create'), async (request, reply) => {
    const body = request.body;
    const values = {
      type: field(body, 'type', 20) === 'scheduled' ? 'scheduled' : 'immediate',
      service: field(body, 'service', 255),
      phone: field(body, 'phone', 64),
      date: field(body, 'date', 10),
      slot: field(body, 'slot', 64),
    };
    try {
      if (!values.service) throw new GesError('GES_VALIDATION', 'Choose a service.');
      if (!values.phone) throw new GesError('GES_VALIDATION', 'Enter the number to call back.');
      if (values.type === 'scheduled' && !values.slot) throw new GesError('GES_VALIDATION', 'Choose a day and a free time slot.');
      const tenant = tenantOf(request);
      // A signed-in user solves no CAPTCHA: ACTOR.CONSOLE is not checked.
      const outcome = await ctx.callbacks.create(
        tenant,
        {
          serviceName: values.service,
          phoneNumber: values.phone,
          channel: 'console',
          ...(values.type === 'scheduled' ? { desiredTime: values.slot } : {}),
        },
        undefined,
        ACTOR.CONSOLE,
      );
      request.log.info({ callbackId: outcome.id, phone: maskPhone(values.phone.replace(/[^+0-9]/g, '')) }, 'callback created in the console');
      return reply.redirect(`/ges/callbacks/${outcome.id}?created=1`, 303);
    } catch (err) {
      return rerenderRefused(reply, err, (refusal) => createForm(request, reply, values, friendly(refusal), refusal.http));
    }
  });
}
