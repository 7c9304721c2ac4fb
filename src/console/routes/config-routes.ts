import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { GesError } from '../../domain/errors.ts';
import { WEEKDAYS } from '../../domain/calendar/calendar-config.ts';
import { SLOT_MINUTES } from '../../domain/calendar/capacity-rule.ts';
import { parseServiceOptions } from '../../domain/service-options.ts';
import { field, needs, tenantOf, userOf, type ConsoleContext } from '../console-context.ts';
import { rerenderRefused } from '../rerender-refused.ts';
import {
  DAY_LABELS,
  businessHoursDocOf,
  businessHoursFormOf,
  businessHoursToForm,
  capacityDocOf,
  capacityGridOf,
  capacityToGrid,
  type BusinessHoursForm,
  type CapacityGrid,
} from '../calendar-forms.ts';
import { optionFields, optionsFromForm } from '../option-fields.ts';
import { can } from '../permissions.ts';

const ZONES = ['UTC', ...Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')];

/** The Configuration tab: business hours, capacity rules (grid and heatmap), services, call-in groups. */
export function configRoutes(ctx: ConsoleContext): FastifyPluginAsync {
  return async (app) => {
    app.get('/config', needs('config.view'), async (_request, reply) => reply.redirect('/ges/config/business-hours', 303));

    // ---- business hours
    app.get('/config/business-hours', needs('config.view'), async (request, reply) => {
      const tenant = tenantOf(request);
      const [hours, services] = await Promise.all([ctx.config.businessHours(tenant), ctx.config.services(tenant)]);
      const q = request.query as Record<string, string | undefined>;
      return ctx.page(request, reply, 'business-hours', {
        title: 'Business hours',
        section: 'config',
        sub: 'hours',
        weekdays: WEEKDAYS,
        dayLabels: DAY_LABELS,
        hours: hours.map((h) => ({ ...h.definition, usedBy: services.filter((s) => s.businessHours === h.name).map((s) => s.name) })),
        notice: q.saved ? `Business hours ${q.saved} saved.` : '',
      });
    });

    async function hoursForm(request: FastifyRequest, reply: FastifyReply, form: BusinessHoursForm, existing: boolean, error = '', status = 200) {
      return ctx.page(
        request,
        reply,
        'business-hours-edit',
        {
          title: existing ? `Edit business hours ${form.name}` : 'New business hours',
          section: 'config',
          sub: 'hours',
          form,
          existing,
          error,
          weekdays: WEEKDAYS,
          dayLabels: DAY_LABELS,
          zones: ZONES,
        },
        status,
      );
    }

    app.get('/config/business-hours/edit', needs('config.edit'), async (request, reply) => {
      const name = field(request.query, 'name', 100);
      if (!name) return hoursForm(request, reply, businessHoursToForm(undefined), false);
      const found = (await ctx.config.businessHours(tenantOf(request))).find((h) => h.name === name);
      if (!found) throw new GesError('GES_CONSOLE_NOT_FOUND', `no business hours ${JSON.stringify(name)} in this tenant`);
      return hoursForm(request, reply, businessHoursToForm(found.definition), true);
    });

    app.post('/config/business-hours', needs('config.edit'), async (request, reply) => {
      const body = request.body as Record<string, unknown>;
      const existing = field(body, 'existing') === '1';
      const form = businessHoursFormOf(body);
      try {
        await ctx.config.saveBusinessHours(tenantOf(request), businessHoursDocOf(form));
      } catch (err) {
        return rerenderRefused(reply, err, (refusal) => hoursForm(request, reply, form, existing, refusal.message, refusal.http));
      }
      request.log.info({ tenant: userOf(request).tenantName, businessHours: form.name }, 'business hours saved in the console');
      return reply.redirect(`/ges/config/business-hours?saved=${encodeURIComponent(form.name)}`, 303);
    });

    // ---- capacity rules
    app.get('/config/capacity', needs('config.view'), async (request, reply) => {
      const tenant = tenantOf(request);
      const q = request.query as Record<string, string | undefined>;
      const [rules, services] = await Promise.all([ctx.config.capacityRules(tenant), ctx.config.services(tenant)]);
      const serviceName = field(q, 'service', 255) || services.find((s) => s.capacityRule)?.name || services[0]?.name || '';
      const heat = serviceName && services.some((s) => s.name === serviceName) ? await ctx.config.heatmap(tenant, serviceName, ctx.now()) : undefined;
      return ctx.page(request, reply, 'capacity', {
        title: 'Capacity',
        section: 'config',
        sub: 'capacity',
        rules: rules.map((r) => ({ ...r.definition, usedBy: services.filter((s) => s.capacityRule === r.name).map((s) => s.name) })),
        services: services.map((s) => s.name),
        serviceName,
        heat,
        notice: q.saved ? `Capacity rule ${q.saved} saved.` : '',
      });
    });

    async function ruleForm(request: FastifyRequest, reply: FastifyReply, grid: CapacityGrid, existing: boolean, error = '', status = 200) {
      const editable = can(userOf(request).role, 'config.edit');
      return ctx.page(
        request,
        reply,
        'capacity-rule',
        {
          title: existing ? `Capacity rule ${grid.name}` : 'New capacity rule',
          section: 'config',
          sub: 'capacity',
          grid,
          existing,
          editable,
          error,
          weekdays: WEEKDAYS,
          dayLabels: DAY_LABELS,
          slotChoices: SLOT_MINUTES,
        },
        status,
      );
    }

    app.get('/config/capacity/rule', needs('config.view'), async (request, reply) => {
      const name = field(request.query, 'name', 100);
      if (!name) {
        if (!can(userOf(request).role, 'config.edit')) throw new GesError('GES_CONSOLE_FORBIDDEN', 'only an administrator creates capacity rules');
        return ruleForm(request, reply, capacityToGrid(undefined), false);
      }
      return ruleForm(request, reply, capacityToGrid(await ctx.config.capacityRule(tenantOf(request), name)), true);
    });

    app.post('/config/capacity/rule', needs('config.edit'), async (request, reply) => {
      const body = request.body as Record<string, unknown>;
      const existing = field(body, 'existing') === '1';
      const grid = capacityGridOf(body);
      try {
        await ctx.config.saveCapacityRule(tenantOf(request), capacityDocOf(grid));
      } catch (err) {
        return rerenderRefused(reply, err, (refusal) => ruleForm(request, reply, grid, existing, refusal.message, refusal.http));
      }
      request.log.info({ tenant: userOf(request).tenantName, capacityRule: grid.name }, 'capacity rule saved in the console');
      return reply.redirect(`/ges/config/capacity?saved=${encodeURIComponent(grid.name)}`, 303);
    });

    // ---- services
    app.get('/config/services', needs('config.view'), async (request, reply) => {
      const q = request.query as Record<string, string | undefined>;
      const services = await ctx.config.services(tenantOf(request));
      return ctx.page(request, reply, 'services', {
        title: 'Services',
        section: 'config',
        sub: 'services',
        services: services.map((s) => ({ ...s, fields: optionFields(s.options) })),
        notice: q.saved ? `Service ${q.saved} saved.` : '',
      });
    });

    async function serviceForm(
      request: FastifyRequest,
      reply: FastifyReply,
      values: { name: string; businessHours: string; capacityRule: string; numberRule: string; options: unknown },
      existing: boolean,
      error = '',
      status = 200,
    ) {
      const tenant = tenantOf(request);
      const [hours, rules, numberRules] = await Promise.all([
        ctx.config.businessHours(tenant),
        ctx.config.capacityRules(tenant),
        ctx.config.numberRuleNames(tenant),
      ]);
      let options;
      try {
        options = parseServiceOptions(values.options);
      } catch {
        options = parseServiceOptions({});
      }
      return ctx.page(
        request,
        reply,
        'service-edit',
        {
          title: existing ? `Service ${values.name}` : 'New service',
          section: 'config',
          sub: 'services',
          values,
          existing,
          error,
          fields: optionFields(options),
          hours: hours.map((h) => h.name),
          rules: rules.map((r) => r.name),
          numberRules,
        },
        status,
      );
    }

    app.get('/config/services/edit', needs('config.edit'), async (request, reply) => {
      const name = field(request.query, 'name', 255);
      if (!name) return serviceForm(request, reply, { name: '', businessHours: '', capacityRule: '', numberRule: '', options: {} }, false);
      const s = await ctx.config.service(tenantOf(request), name);
      return serviceForm(
        request,
        reply,
        { name: s.name, businessHours: s.businessHours ?? '', capacityRule: s.capacityRule ?? '', numberRule: s.numberRule ?? '', options: s.options },
        true,
      );
    });

    app.post('/config/services', needs('config.edit'), async (request, reply) => {
      const body = request.body as Record<string, unknown>;
      const values = {
        name: field(body, 'name', 255),
        businessHours: field(body, 'businessHours', 100),
        capacityRule: field(body, 'capacityRule', 100),
        numberRule: field(body, 'numberRule', 40),
        options: optionsFromForm(body),
      };
      const existing = field(body, 'existing') === '1';
      try {
        if (!values.name) throw new GesError('GES_VALIDATION', 'a service needs a name');
        await ctx.config.saveService(tenantOf(request), {
          name: values.name,
          businessHours: values.businessHours || null,
          capacityRule: values.capacityRule || null,
          numberRule: values.numberRule || null,
          options: values.options,
        });
      } catch (err) {
        return rerenderRefused(reply, err, (refusal) => serviceForm(request, reply, values, existing, refusal.message, refusal.http));
      }
      request.log.info({ tenant: userOf(request).tenantName, service: values.name }, 'service saved in the console');
      return reply.redirect(`/ges/config/services?saved=${encodeURIComponent(values.name)}`, 303);
    });

    // ---- Click-To-Call-In groups
    async function callInPage(
      request: FastifyRequest,
      reply: FastifyReply,
      o: { error?: string; notice?: string; status?: number; values?: Record<string, string> } = {},
    ) {
      const tenant = tenantOf(request);
      const [groups, services] = await Promise.all([ctx.config.callInGroups(tenant), ctx.config.services(tenant)]);
      return ctx.page(
        request,
        reply,
        'call-in',
        {
          title: 'Call-In groups',
          section: 'config',
          sub: 'callin',
          groups,
          services: services.map((s) => s.name),
          error: o.error ?? '',
          notice: o.notice ?? '',
          values: { name: '', dnis: '', accessCode: 'true', accessCodeLength: '4', expirySeconds: '600', targetService: '', defaultCountry: 'US', ...o.values },
        },
        o.status,
      );
    }

    app.get('/config/call-in', needs('config.view'), async (request, reply) => {
      const q = request.query as Record<string, string | undefined>;
      const edit = field(q, 'name', 100);
      const group = edit ? (await ctx.config.callInGroups(tenantOf(request))).find((g) => g.name === edit) : undefined;
      return callInPage(request, reply, {
        notice: q.saved ? `Group ${q.saved} saved.` : '',
        ...(group
          ? {
              values: {
                name: group.name,
                dnis: group.dnis.join('\n'),
                accessCode: String(group.accessCode),
                accessCodeLength: String(group.accessCodeLength),
                expirySeconds: String(group.expirySeconds),
                targetService: group.targetService ?? '',
                defaultCountry: group.defaultCountry,
              },
            }
          : {}),
      });
    });

    app.post('/config/call-in', needs('config.edit'), async (request, reply) => {
      const body = request.body as Record<string, unknown>;
      const values = {
        name: field(body, 'name', 100),
        dnis: field(body, 'dnis', 5000),
        accessCode: field(body, 'accessCode', 5),
        accessCodeLength: field(body, 'accessCodeLength', 3),
        expirySeconds: field(body, 'expirySeconds', 6),
        targetService: field(body, 'targetService', 255),
        defaultCountry: field(body, 'defaultCountry', 2).toUpperCase(),
      };
      const whole = (v: string) => (/^\d{1,6}$/.test(v) ? Number(v) : v);
      try {
        await ctx.config.saveCallInGroup(tenantOf(request), {
          name: values.name,
          dnis: values.dnis.split(/[\s,;]+/).filter(Boolean),
          accessCode: values.accessCode === 'true',
          accessCodeLength: whole(values.accessCodeLength) as number,
          expirySeconds: whole(values.expirySeconds) as number,
          targetService: values.targetService || null,
          defaultCountry: values.defaultCountry || 'US',
        });
      } catch (err) {
        return rerenderRefused(reply, err, (refusal) => callInPage(request, reply, { error: refusal.message, status: refusal.http, values }));
      }
      request.log.info({ tenant: userOf(request).tenantName, callInGroup: values.name }, 'call-in group saved in the console');
      return reply.redirect(`/ges/config/call-in?saved=${encodeURIComponent(values.name)}`, 303);
    });
  };
}
