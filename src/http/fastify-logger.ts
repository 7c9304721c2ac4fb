import type { FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';

/**
 * Our pino logger as fastify's logger type. Passed as is, fastify would type the instance by the
 * pino Logger, and the apps would no longer be plain FastifyInstances.
 */
export function fastifyLogger(logger: Logger): FastifyBaseLogger {
  return logger;
}
