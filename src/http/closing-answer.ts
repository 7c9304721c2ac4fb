import type { FastifyInstance } from 'fastify';
import { GesError } from '../domain/errors.ts';

/**
 * Requests that arrive while the app is closing (on a kept-alive connection, after the load
 * balancer was told by readiness) get 503 GES_UNAVAILABLE in the envelope with Connection: close,
 * instead of fastify's own plain 503 body (so build the app with return503OnClosing: false).
 * Requests already in flight finish normally. Returns `markClosing` for tests.
 */
export function answerUnavailableWhileClosing(app: FastifyInstance): { markClosing(): void } {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    reply.header('connection', 'close');
    throw new GesError('GES_UNAVAILABLE', 'this node is shutting down; retry, another node answers');
  });
  return {
    markClosing: () => {
      closing = true;
    },
  };
}
