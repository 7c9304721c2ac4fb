import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, GesError, type ErrorCode } from '../domain/errors.ts';
import { isClientAbort } from './client-abort.ts';

function send(reply: FastifyReply, code: ErrorCode, message: string, data?: unknown) {
  const http = ERRORS[code].http;
  const body: Record<string, unknown> = { status: { code: http, message, corrId: String(reply.request.id), errorCode: code } };
  if (data !== undefined) body.data = data;
  return reply.code(http).type('application/json').send(body);
}

/** Maps framework errors (schema, JSON, size, media type) onto the GES table. */
function classify(err: FastifyError): { code: ErrorCode; message: string } {
  if (err.validation) {
    const where = err.validationContext ?? 'request';
    return { code: 'GES_VALIDATION', message: `${where}${err.message.startsWith(where) ? err.message.slice(where.length) : ' ' + err.message}` };
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'GES_BODY_TOO_LARGE', message: 'request body is larger than the limit' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'GES_UNSUPPORTED_MEDIA_TYPE', message: 'Content-Type must be application/json' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'GES_BAD_JSON', message: 'body is empty; send a JSON object' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: 'GES_VALIDATION', message: 'Content-Length does not match the body' };
    // @fastify/static refusing a path that leaves its folder (traversal): as if it did not exist.
    case 'FST_STATIC_FORBIDDEN_PATH':
      return { code: 'GES_ROUTE_NOT_FOUND', message: 'no such file' };
  }
  if (err.statusCode === 404) return { code: 'GES_ROUTE_NOT_FOUND', message: 'no such file' };
  if (err.statusCode === 400 && (err.name === 'SyntaxError' || /JSON/.test(err.message))) {
    return { code: 'GES_BAD_JSON', message: `body is not valid JSON: ${err.message}` };
  }
  if (err.statusCode === 413) return { code: 'GES_BODY_TOO_LARGE', message: 'request body is larger than the limit' };
  if (err.statusCode === 415) return { code: 'GES_UNSUPPORTED_MEDIA_TYPE', message: 'Content-Type must be application/json' };
  // The database or Redis going away is an outage, not a bug: clients should retry, so 503 rather than 500.
  const outage = outageOf(err);
  if (outage) return { code: 'GES_UNAVAILABLE', message: `${outage} unavailable; retry later` };
  if (err.statusCode === 503) return { code: 'GES_UNAVAILABLE', message: 'service unavailable' };
  return { code: 'GES_INTERNAL', message: 'internal error; quote the corrId to the operator' };
}

/**
 * PostgreSQL error classes and socket errors that mean "the server is not there right now":
 * 08 connection exceptions, 57P01-57P03 (terminated by an administrator or a shutdown, cannot
 * connect now), 53300 (too many connections), and Node's socket errors.
 */
const DATABASE_DOWN_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', '57P01', '57P02', '57P03', '53300']);
/** What pg says when a client lost its server (its own messages carry no code). */
const DATABASE_DOWN_MESSAGES = /Connection terminated|is not queryable|timeout exceeded when trying to connect|terminating connection/;
/** What ioredis says when Redis does not answer in time (commandTimeout), or is not connected. */
const REDIS_DOWN_MESSAGES = /^Command timed out$|Stream isn't writeable|^Connection is closed|max retries per request limit/;

function outageOf(err: Error): 'database' | 'Redis' | undefined {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (DATABASE_DOWN_CODES.has(code) || code.startsWith('08'))) return 'database';
  if (DATABASE_DOWN_MESSAGES.test(err.message)) return 'database';
  if (REDIS_DOWN_MESSAGES.test(err.message) || err.name === 'MaxRetriesPerRequestError') return 'Redis';
  return undefined;
}

/** Every error leaves in the GES envelope; only unexpected ones are logged as errors. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof GesError) return send(reply, err.code, err.message, err.data);
    // A client that hung up is nobody's outage: logged as what it is, below warn (nothing to answer).
    if (isClientAbort(err, request)) {
      request.log.info({ reason: err.code ?? err.message }, 'request aborted by the client');
      return send(reply, 'GES_BAD_REQUEST', 'the client closed the connection before the request was complete');
    }
    const { code, message } = classify(err);
    if (code === 'GES_INTERNAL') request.log.error({ err }, 'unhandled error');
    else if (code === 'GES_UNAVAILABLE') request.log.warn({ err: err.message }, 'unavailable');
    return send(reply, code, message);
  });
  app.setNotFoundHandler(routeNotFound);
}

/** 404 in the envelope; also the not-found handler of prefixes that would otherwise fall to the console's. */
export function routeNotFound(request: FastifyRequest, reply: FastifyReply) {
  return send(reply, 'GES_ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`);
}
