import type { FastifyRequest } from 'fastify';
import { GesError } from '../domain/errors.ts';

/** Path of the first string (or key) that holds U+0000, or undefined. */
export function findNul(value: unknown, path = 'body'): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findNul(value[i], `${path}/${i}`);
      if (hit) return hit;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes('\u0000')) return `${path}/${k.replace(/\u0000/g, '\\u0000')}`;
      const hit = findNul(v, `${path}/${k}`);
      if (hit) return hit;
    }
  }
  return undefined;
}

/**
 * PostgreSQL text and jsonb cannot hold U+0000; refusing it here gives the client a 400 that names
 * the field instead of a database error.
 */
export async function refuseNulCharacters(request: FastifyRequest): Promise<void> {
  const where = findNul(request.body) ?? findNul(request.query, 'querystring');
  if (where) throw new GesError('GES_VALIDATION', `${where} must not contain the NUL character (\\u0000)`);
}
