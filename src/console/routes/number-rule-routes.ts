import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { GesError } from '../../domain/errors.ts';
import { type NumberTest, type NumberTestResult } from '../../app/number-rule-config.ts';
import type { NumberRule } from '../../domain/numbers/number-rule.ts';
import { field, needs, tenantOf, userOf, type ConsoleContext } from '../console-context.ts';

/** The rule form as typed: lists one entry per line (or separated by commas or spaces). */
interface RuleForm {
  name: string;
  allowedCountries: string;
  permitted: string;
  blocked: string;
}

const DECIDED_BY: Record<string, string> = {
  'permitted-number': 'a permitted number',
  'blocked-number': 'a blocked number',
  'permitted-prefix': 'a permitted prefix',
  'blocked-prefix': 'a blocked prefix',
  'country-allowed': 'the allowed countries',
  'country-refused': 'the allowed countries',
  'any-country': 'no restriction (every country allowed, no exception matched)',
};

const list = (text: string) =>
  text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);

function formOf(rule: NumberRule | undefined): RuleForm {
  return {
    name: rule?.name ?? '',
    allowedCountries: rule?.allowedCountries.join(', ') ?? '',
    permitted: rule?.permitted.join('\n') ?? '',
    blocked: rule?.blocked.join('\n') ?? '',
  };
}

/** Configuration > Number rules: the tenant's rules, their editor and the "test a number" tool. */
export function numberRuleRoutes(ctx: ConsoleContext): FastifyPluginAsync {
  return async (app) => {
    const rules = ctx.numberRules;

    async function listPage(
      request: FastifyRequest,
      reply: FastifyReply,
      o: { test?: { number: string; target: string; country: string }; result?: NumberTestResult; error?: string; status?: number } = {},
    ) {
      const tenant = tenantOf(request);
      const [all, services] = await Promise.all([rules.rules(tenant), ctx.config.services(tenant)]);
      const q = request.query as Record<string, string | undefined>;
      return ctx.page(
        request,
        reply,
        'number-rules',
        {
          title: 'Number rules',
          section: 'config',
          sub: 'numbers',
          rules: all,
          services,
          decidedBy: DECIDED_BY,
          test: o.test ?? { number: '', target: all[0] ? `rule:${all[0].name}` : services[0] ? `service:${services[0].name}` : '', country: 'US' },
          result: o.result,
          error: o.error ?? '',
          notice: q.saved ? `Number rule ${q.saved} saved.` : '',
        },
        o.status,
      );
    }

    app.get('/config/number-rules', needs('config.view'), async (request, reply) => listPage(request, reply));

    app.post('/config/number-rules/test', needs('numbers.test'), async (request, reply) => {
      const body = request.body as Record<string, unknown>;
      const test = { number: field(body, 'number', 60), target: field(body, 'target', 300), country: field(body, 'country', 2).toUpperCase() || 'US' };
      const colon = test.target.indexOf(':');
      const kind = test.target.slice(0, colon);
      const name = test.target.slice(colon + 1);
      try {
        if (!test.number) throw new GesError('GES_VALIDATION', 'enter a phone number to test');
        if (colon < 0 || !name || (kind !== 'rule' && kind !== 'service'))
          throw new GesError('GES_VALIDATION', 'choose a rule or a service to test the number against');
        const target: NumberTest['target'] = kind === 'rule' ? { kind, name, defaultCountry: test.country } : { kind: 'service', name };
        // Never logged: the number tested is a customer's number as often as not.
        return listPage(request, reply, { test, result: await rules.test(tenantOf(request), { number: test.number, target }) });
      } catch (err) {
        if (!(err instanceof GesError)) throw err;
        reply.header('x-ges-error-code', err.code);
        return listPage(request, reply, { test, error: err.message, status: err.http });
      }
    });

    async function editPage(request: FastifyRequest, reply: FastifyReply, form: RuleForm, existing: boolean, error = '', status = 200) {
      return ctx.page(
        request,
        reply,
        'number-rule-edit',
        {
          title: existing ? `Number rule ${form.name}` : 'New number rule',
          section: 'config',
          sub: 'numbers',
          form,
          existing,
          error,
        },
        status,
      );
    }

    app.get('/config/number-rules/edit', needs('config.edit'), async (request, reply) => {
      const name = field(request.query, 'name', 40);
      if (!name) return editPage(request, reply, formOf(undefined), false);
      return editPage(request, reply, formOf(await rules.rule(tenantOf(request), name)), true);
    });

    app.post('/config/number-rules', needs('config.edit'), async (request, reply) => {
      const body = request.body as Record<string, unknown>;
      const form: RuleForm = {
        name: field(body, 'name', 40),
        allowedCountries: field(body, 'allowedCountries', 2000),
        permitted: field(body, 'permitted', 200_000),
        blocked: field(body, 'blocked', 200_000),
      };
      const existing = field(body, 'existing') === '1';
      try {
        await rules.save(tenantOf(request), {
          name: form.name,
          allowedCountries: list(form.allowedCountries.toUpperCase()),
          permitted: list(form.permitted),
          blocked: list(form.blocked),
        });
      } catch (err) {
        if (!(err instanceof GesError)) throw err;
        reply.header('x-ges-error-code', err.code);
        return editPage(request, reply, form, existing, err.message, err.http);
      }
      request.log.info({ tenant: userOf(request).tenantName, numberRule: form.name }, 'number rule saved in the console');
      return reply.redirect(`/ges/config/number-rules?saved=${encodeURIComponent(form.name)}`, 303);
    });
  };
}
