import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { GesError } from '../../domain/errors.ts';
import { field, needs, tenantOf, userOf, type ConsoleContext } from '../console-context.ts';

/**
 * Configuration > Browser access: the origins whose web pages may call the API with this tenant's
 * keys (CORS), and the tenant's CAPTCHA provider (read-only; its secret shows only as "set").
 */
export function browserAccessRoutes(ctx: ConsoleContext): FastifyPluginAsync {
  return async (app) => {
    const cors = ctx.cors;

    async function page(request: FastifyRequest, reply: FastifyReply, o: { text?: string; error?: string; status?: number } = {}) {
      const [origins, captcha] = await Promise.all([cors.origins(tenantOf(request)), ctx.captcha?.view(tenantOf(request))]);
      const q = request.query as Record<string, string | undefined>;
      return ctx.page(
        request,
        reply,
        'browser-access',
        {
          title: 'Browser access',
          section: 'config',
          sub: 'browser',
          origins,
          captcha,
          text: o.text ?? origins.join('\n'),
          error: o.error ?? '',
          notice: q.saved ? 'Browser origins saved.' : '',
        },
        o.status,
      );
    }

    app.get('/config/browser-access', needs('config.view'), async (request, reply) => page(request, reply));

    app.post('/config/browser-access', needs('config.edit'), async (request, reply) => {
      const text = field(request.body, 'origins', 40_000);
      try {
        await cors.save(tenantOf(request), text.split(/[\s,]+/).filter(Boolean));
      } catch (err) {
        if (!(err instanceof GesError)) throw err;
        reply.header('x-ges-error-code', err.code);
        return page(request, reply, { text, error: err.message, status: err.http });
      }
      request.log.info({ tenant: userOf(request).tenantName }, 'browser origins saved in the console');
      return reply.redirect('/ges/config/browser-access?saved=1', 303);
    });
  };
}
