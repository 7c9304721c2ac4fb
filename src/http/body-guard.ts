import type { FastifyRequest } from 'fastify';
import { GesError } from '../domain/errors.ts';
import { hasLoneSurrogate } from '../domain/unicode-text.ts';

/** Deeper JSON than any sane userData; also keeps every later recursive walk far from the stack limit. */
export const MAX_JSON_DEPTH = 32;

/**
 * Finds what PostgreSQL or the service could not take in a parsed JSON value, without recursion
 * (a hostile body may nest a hundred thousand levels): a string or key holding U+0000 or a lone
 * UTF-16 surrogate (`"\ud83d"`, half an emoji), neither of which text or jsonb can store, or
 * nesting deeper than MAX_JSON_DEPTH. Returns the problem, or undefined.
 */
export function inspectJson(root: unknown, rootPath: string): string | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: root, path: rootPath, depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return `${path} must not contain the NUL character (\\u0000)`;
      if (hasLoneSurrogate(value)) return `${path} holds a lone UTF-16 surrogate (a truncated emoji?); send well-formed Unicode`;
      continue;
    }
    if (!value || typeof value !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) return `${path} nests deeper than ${MAX_JSON_DEPTH} levels`;
    for (const [k, v] of Object.entries(value)) {
      if (k.includes('\u0000')) return `${path} has a key with the NUL character (\\u0000)`;
      if (hasLoneSurrogate(k)) return `${path} has a key holding a lone UTF-16 surrogate; send well-formed Unicode`;
      stack.push({ value: v, path: `${path}/${k}`, depth: depth + 1 });
    }
  }
  return undefined;
}

/** preValidation hook of the Engagement API: a refusal here is a 400 that names the field. */
export async function guardRequestBody(request: FastifyRequest): Promise<void> {
  const problem = inspectJson(request.body, 'body') ?? inspectJson(request.query, 'querystring') ?? inspectJson(request.params, 'params');
  if (problem) throw new GesError('GES_VALIDATION', problem);
}
