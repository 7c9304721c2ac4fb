import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, type ErrorCode } from '../domain/errors.ts';

/**
 * Answers written before any GES handler runs, in the GES envelope all the same: Node's parser
 * refusing the request (malformed framing, oversized headers, a request that did not arrive in
 * time), and the router refusing its URL (bad percent-encoding, an over-long path parameter).
 */

/** What Node reports on a connection, mapped onto the error table; `reason` labels the metric. */
export function classifyClientError(err: NodeJS.ErrnoException): { code: ErrorCode; message: string; reason: string } {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { code: 'GES_REQUEST_TIMEOUT', message: 'the request did not arrive in time; the connection is closed', reason: 'timeout' };
    case 'HPE_HEADER_OVERFLOW':
      return { code: 'GES_HEADERS_TOO_LARGE', message: 'the request line and headers are too large', reason: 'header_overflow' };
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return { code: 'GES_BAD_REQUEST', message: 'Content-Length is malformed or contradicts Transfer-Encoding', reason: 'invalid_content_length' };
    default:
      return { code: 'GES_BAD_REQUEST', message: 'the request is not well-formed HTTP', reason: 'malformed' };
  }
}

export interface ClientErrorObserver {
  /** Called once per refused connection, with the metric reason of classifyClientError. */
  (reason: string): void;
}

/**
 * fastify's clientErrorHandler: writes the envelope as a raw HTTP/1.1 response (no request object
 * exists yet) and closes the connection. A connection reset by the client is only closed. When a
 * response is already on its way (a request timed out while its handler was answering) nothing is
 * written over it. Logged at info: these are the client's doing, never a page for the operator.
 */
export function clientErrorHandler(log: FastifyBaseLogger, observe?: ClientErrorObserver) {
  return function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    if (err.code === 'ECONNRESET' || socket.destroyed) {
      socket.destroy();
      return;
    }
    // The client closed the connection in the middle of a request: an abort, not a refusal.
    if (err.code === 'HPE_INVALID_EOF_STATE') {
      log.debug({ parserCode: err.code }, 'connection closed by the client mid-request');
      socket.destroy();
      return;
    }
    const { code, message, reason } = classifyClientError(err);
    observe?.(reason);
    const corrId = randomUUID();
    log.info({ corrId, reason, parserCode: err.code }, 'connection answered and closed by the edge (malformed, oversized or too slow)');
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      const http = ERRORS[code].http;
      const body = JSON.stringify({ status: { code: http, message, corrId, errorCode: code } });
      socket.write(
        `HTTP/1.1 ${http} ${STATUS_CODES[http]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nX-Correlation-Id: ${corrId}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}

/**
 * fastify's frameworkErrors: errors of the router before a route is chosen. A real request and
 * reply exist here, so the answer is an ordinary one (onSend and onResponse hooks run).
 */
export function frameworkErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  let code: ErrorCode;
  let message: string;
  switch (err.code) {
    case 'FST_ERR_BAD_URL':
      code = 'GES_BAD_URL';
      message = 'the URL path is not valid percent-encoding';
      break;
    case 'FST_ERR_MAX_PARAM_LENGTH':
      code = 'GES_URI_TOO_LONG';
      message = 'a path parameter is longer than 100 characters';
      break;
    default:
      code = 'GES_INTERNAL';
      message = 'internal error; quote the corrId to the operator';
      request.log.error({ err }, 'router error');
  }
  const http = ERRORS[code].http;
  // onSend hooks do not run for these early answers: the correlation header is set here.
  void reply
    .code(http)
    .type('application/json')
    .header('x-correlation-id', String(request.id))
    .send({ status: { code: http, message, corrId: String(request.id), errorCode: code } });
}
