import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GesError } from '../domain/errors.ts';
import { isSameOrigin } from '../domain/cors/origin.ts';
import type { OriginPolicy } from '../app/cors-origins.ts';

/**
 * CORS for web pages that call the Engagement API from the customer's browser. Nothing is allowed
 * until a tenant lists origins (`cors.allowedOrigins`). The tenant is known only from the API key,
 * and a preflight carries none, so:
 *
 * - a preflight (OPTIONS) is answered for the ingress paths of the GES deployment guide when some
 *   tenant allows its Origin, with the methods and headers of that path only (a 403 otherwise);
 * - the actual request is checked against the tenant of its own key: an Origin that tenant does not
 *   allow is refused with 403 before the handler runs, so nothing changes even for a page that a
 *   preflight let through because another tenant allows it.
 *
 * No credentials (the API uses no cookies), no wildcard: the answer names the one origin asked for.
 * Same-origin requests (the API docs' "try it out" under /ges/docs) need no allowance.
 */

/** The ingress paths of the deployment guide, relative to the API prefix, with the methods they take. */
export const BROWSER_PATHS: readonly { path: string; method: 'GET' | 'POST'; headers?: readonly string[] }[] = Object.freeze([
  { path: '/callbacks/create', method: 'POST', headers: ['idempotency-key'] },
  { path: '/callbacks/cancel', method: 'POST' },
  { path: '/callbacks/retrieve', method: 'POST' },
  { path: '/callbacks/availability/*', method: 'GET' },
  { path: '/callbacks/queue-status/*', method: 'GET' },
  { path: '/callbacks/open-for/*', method: 'GET' },
  { path: '/estimated-wait-time', method: 'GET' },
  { path: '/call-in/requests/create', method: 'POST' },
  { path: '/statistics/operations/get-statistic-ex', method: 'POST', headers: ['cache-control'] },
  // A page checks its user's CAPTCHA token before it creates (docs/API.md "CAPTCHA").
  { path: '/captcha/verify', method: 'POST' },
]);

/** Where the Engagement API answers: its own prefix and the one the original's ingress uses. */
export const API_PREFIXES = Object.freeze(['/engagement/v3', '/ges/engagement/v3']);

/** Answer headers a page may read besides the CORS-safelisted ones. */
const EXPOSED = 'x-correlation-id, idempotent-replayed, retry-after, x-ges-error-code';
/** How long a browser may reuse a preflight: a removed origin is still refused on the actual request. */
export const PREFLIGHT_MAX_AGE_SEC = 600;
const MAX_ORIGIN_LENGTH = 300;

declare module 'fastify' {
  interface FastifyRequest {
    /** The Origin the answer allows (set once the request's tenant allows it). */
    corsOrigin?: string;
  }
}

function originOf(request: FastifyRequest): string | undefined {
  // Typed loosely by fastify; Node gives a string, an array only if a proxy repeats the header.
  const raw: unknown = request.headers.origin;
  const first: unknown = Array.isArray(raw) ? raw[0] : raw;
  const origin = typeof first === 'string' ? first : undefined;
  return origin && origin.length <= MAX_ORIGIN_LENGTH ? origin : origin ? '' : undefined;
}

function allowHeaders(reply: FastifyReply, origin: string): void {
  reply.header('access-control-allow-origin', origin);
  reply.header('access-control-expose-headers', EXPOSED);
}

/** Preflight routes for every browser path under every API prefix (root scope: no API key needed). */
export function registerPreflight(app: FastifyInstance, policy: OriginPolicy): void {
  for (const prefix of API_PREFIXES) {
    for (const p of BROWSER_PATHS) {
      const headers = ['x-api-key', ...(p.method === 'POST' ? ['content-type'] : []), ...(p.headers ?? [])].join(', ');
      app.options(`${prefix}${p.path}`, { schema: { hide: true } }, async (request, reply) => {
        reply.header('vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
        const origin = originOf(request);
        // Not a CORS preflight: say what the path takes, as OPTIONS is meant to.
        if (origin === undefined || !request.headers['access-control-request-method']) return reply.code(204).header('allow', `${p.method}, OPTIONS`).send();
        if (!origin || !(await policy.anyTenantAllows(origin))) {
          throw new GesError(
            'GES_CORS_ORIGIN_REFUSED',
            'this origin is not allowed to call the API from a browser (no tenant lists it in cors.allowedOrigins)',
          );
        }
        allowHeaders(reply, origin);
        return reply
          .code(204)
          .header('access-control-allow-methods', p.method)
          .header('access-control-allow-headers', headers)
          .header('access-control-max-age', String(PREFLIGHT_MAX_AGE_SEC))
          .send();
      });
    }
  }
}

/**
 * Hooks of the API scope: after authentication, an Origin the key's tenant does not allow is
 * refused; the answer then carries the CORS headers for an allowed origin. A refusal (bad key, or
 * this 403) carries them too when some tenant allows the origin, so the page can read why.
 */
export function checkActualRequests(api: FastifyInstance, policy: OriginPolicy): void {
  api.addHook('onRequest', async (request) => {
    const origin = originOf(request);
    if (origin === undefined || isSameOrigin(origin, request.headers.host)) return;
    if (origin && request.tenant && (await policy.tenantAllows(request.tenant.id, origin))) {
      request.corsOrigin = origin;
      return;
    }
    throw new GesError('GES_CORS_ORIGIN_REFUSED', "this origin is not allowed to call the API with this API key (add it to the tenant's cors.allowedOrigins)");
  });
  api.addHook('onSend', async (request, reply, payload) => {
    const origin = originOf(request);
    if (origin === undefined) return payload;
    reply.header('vary', 'Origin');
    if (request.corsOrigin) allowHeaders(reply, request.corsOrigin);
    else if (origin && reply.statusCode >= 400 && !isSameOrigin(origin, request.headers.host) && (await policy.anyTenantAllows(origin)))
      allowHeaders(reply, origin);
    return payload;
  });
}
