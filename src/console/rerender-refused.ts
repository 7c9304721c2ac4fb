import type { FastifyReply } from 'fastify';
import { GesError } from '../domain/errors.ts';

/**
 * How a console form answers a change that was refused (bad input, a conflict, a rule): the same
 * page again with the reason, under the error's HTTP status, and the code in x-ges-error-code,
 * which the tests and scripts read. Called from a `catch`; anything that is not a GesError is a
 * fault and goes on to the error handler.
 */
export function rerenderRefused(reply: FastifyReply, err: unknown, page: (refusal: GesError) => Promise<FastifyReply>): Promise<FastifyReply> {
  if (!(err instanceof GesError)) throw err;
  reply.header('x-ges-error-code', err.code);
  return page(err);
}
