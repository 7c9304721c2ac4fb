import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FailedRequestLog } from '../app/failed-request-log.ts';
import type { Tenant } from '../domain/tenant.ts';

/**
 * Hooks of the Engagement API that record every answer with status >= 400 to an authenticated
 * tenant (a request whose API key was refused has no tenant to record it for). The error code and
 * message are read back from the GES envelope as it is sent; the record is written after the
 * response has left, so recording never delays or fails a request.
 */
export function recordFailedRequests(app: FastifyInstance, log: FailedRequestLog): void {
  const outcome = new WeakMap<FastifyRequest, { errorCode?: string; message?: string }>();

  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode >= 400 && typeof payload === 'string' && tenantOf(request)) {
      try {
        const status = (JSON.parse(payload) as { status?: { errorCode?: unknown; message?: unknown } }).status;
        outcome.set(request, {
          ...(typeof status?.errorCode === 'string' ? { errorCode: status.errorCode } : {}),
          ...(typeof status?.message === 'string' ? { message: status.message } : {}),
        });
      } catch {
        // Not an envelope: the status code alone is recorded.
      }
    }
    return payload;
  });

  app.addHook('onResponse', async (request, reply) => {
    const tenant = tenantOf(request);
    if (reply.statusCode < 400 || !tenant) return;
    await log.record({
      tenantId: tenant.id,
      corrId: String(request.id),
      method: request.method,
      url: request.url,
      statusCode: reply.statusCode,
      ...outcome.get(request),
    });
  });
}

function tenantOf(request: FastifyRequest): Tenant | undefined {
  return (request as { tenant?: Tenant }).tenant;
}
