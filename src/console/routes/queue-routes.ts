import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { needs, tenantOf, timeOf, type ConsoleContext } from '../console-context.ts';
import { queueChartSvg } from '../svg-chart.ts';

/** The Queues tab: a live monitor per queue, refreshed by htmx, with a chart of the last hour. */
export function queueRoutes(ctx: ConsoleContext): FastifyPluginAsync {
  return async (app) => {
    async function panel(request: FastifyRequest) {
      const tenant = tenantOf(request);
      const t = timeOf(request);
      const now = ctx.now();
      const services = await ctx.config.services(tenant);
      const queues = await Promise.all(
        services.map(async (s, i) => {
          const [snapshot, history] = await Promise.all([ctx.monitor.queueSnapshot(tenant, s.name), ctx.monitor.history(tenant, s.name, now - 3_600_000)]);
          const chart = queueChartSvg(history, {
            fromMs: now - 3_600_000,
            toMs: now,
            fmt: t,
            id: `q${i}`,
            title: `${s.name}: queue length and EWT, last hour`,
          });
          return { name: s.name, snapshot, chart };
        }),
      );
      return { queues, updated: t.time(now) };
    }

    app.get('/queues', needs('queues.view'), async (request, reply) =>
      ctx.page(request, reply, 'queues', { title: 'Queues', section: 'queues', ...(await panel(request)) }),
    );

    app.get('/queues/panel', needs('queues.view'), async (request, reply) => ctx.page(request, reply, 'queues-panel', await panel(request)));
  };
}
