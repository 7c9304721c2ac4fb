import type { FastifyRequest } from 'fastify';

const STREAM_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * Whether an error only means the client went away (closed the connection while sending its body,
 * or was cut off by the request timeout). Both sides must agree: the error is a stream error, and
 * the request's connection is really gone, so a database connection reset during a live request is
 * still an outage (GES_UNAVAILABLE), never mistaken for an abort.
 */
export function isClientAbort(err: { code?: string; message?: string }, request: FastifyRequest): boolean {
  const raw = request.raw;
  // A request whose body arrived whole cannot have been aborted while sending it: its message is
  // destroyed once read (autoDestroy), so `destroyed` alone would take a database ECONNRESET in a
  // handler for an abort and answer 400 where the truth is 503 (seen in the fault suite).
  if (raw.complete) return false;
  const gone = raw.aborted || raw.destroyed || raw.socket?.destroyed === true;
  return gone && (STREAM_CODES.has(err.code ?? '') || err.message === 'aborted');
}
