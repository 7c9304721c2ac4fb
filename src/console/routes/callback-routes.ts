import type { FastifyPluginAsync } from 'fastify';
import type { ConsoleContext } from '../console-context.ts';
import { callbackCreateRoutes } from './callback-create-routes.ts';
import { callbackDetailRoutes } from './callback-detail-routes.ts';
import { callbackListRoutes } from './callback-list-routes.ts';

/** The Callbacks tab: list, export and cancel; create; detail and reschedule. */
export function callbackRoutes(ctx: ConsoleContext): FastifyPluginAsync {
  return async (app) => {
    callbackListRoutes(app, ctx);
    callbackCreateRoutes(app, ctx);
    callbackDetailRoutes(app, ctx);
  };
}
