import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, GesError, type ErrorCode } from '../domain/errors.ts';
import type { ConsoleContext } from './console-context.ts';
import { readCookie, serializeCookie } from './cookies.ts';
import { SESSION_COOKIE } from './routes/session-routes.ts';

/**
 * Every console error leaves as the console shows it: JSON in the GES envelope to a client that
 * asks only for JSON, a redirect to sign-in when the session is missing, an error fragment to
 * htmx, and the error page otherwise. The error code rides along in x-ges-error-code; an internal
 * error is logged and shown without its text.
 */
export function installConsoleErrorHandling(app: FastifyInstance, ctx: ConsoleContext): void {
  app.setErrorHandler(async (err: FastifyError, request, reply) => {
    const known = err instanceof GesError;
    let code: ErrorCode = known
      ? err.code
      : err.validation
        ? 'GES_VALIDATION'
        : err.statusCode === 413
          ? 'GES_BODY_TOO_LARGE'
          : err.statusCode === 415
            ? 'GES_UNSUPPORTED_MEDIA_TYPE'
            : 'GES_INTERNAL';
    if (code === 'GES_INTERNAL' && err.statusCode === 400) code = 'GES_VALIDATION';
    const message = code === 'GES_INTERNAL' ? 'internal error; quote the correlation id to the operator' : err.message;
    if (code === 'GES_INTERNAL') request.log.error({ err }, 'console error');
    return sendError(ctx, request, reply, code, message);
  });

  app.setNotFoundHandler(async (request, reply) =>
    sendError(ctx, request, reply, 'GES_ROUTE_NOT_FOUND', `no console page ${request.method} ${request.url.split('?')[0]}`),
  );
}

async function sendError(ctx: ConsoleContext, request: FastifyRequest, reply: FastifyReply, code: ErrorCode, message: string) {
  const http = ERRORS[code].http;
  reply.header('x-ges-error-code', code);
  const corrId = String(request.id);
  const accept = request.headers.accept ?? '';
  if (accept.includes('application/json') && !accept.includes('text/html')) {
    return reply
      .code(http)
      .type('application/json')
      .send({ status: { code: http, message, corrId, errorCode: code } });
  }
  if (code === 'GES_CONSOLE_SIGN_IN_REQUIRED') {
    const cookie = readCookie(request.headers.cookie, SESSION_COOKIE);
    if (cookie) reply.header('set-cookie', serializeCookie(SESSION_COOKIE, '', { path: '/ges', secure: ctx.secure(request), maxAge: 0 }));
    const target = `/ges/login?${new URLSearchParams({ ...(cookie ? { ended: '1' } : {}), ...(request.method === 'GET' && !request.headers['hx-request'] ? { next: request.url } : {}) }).toString()}`;
    if (request.headers['hx-request']) return reply.code(401).header('hx-redirect', target).send('');
    if (request.method === 'GET') return reply.code(303).header('location', target).send('');
  }
  if (request.headers['hx-request']) {
    return reply.code(http).view('error-fragment', { code, message, corrId });
  }
  return ctx.page(request, reply, 'error', { title: http === 403 ? 'Not allowed' : http === 404 ? 'Not found' : 'Error', code, http, message, corrId }, http);
}
