import { Type, type Static } from 'typebox';
import { GesError } from '../errors.ts';

/**
 * Browser origins a tenant lets call its Engagement API (CORS). An origin is written as a browser
 * sends it in the Origin header: scheme, host and port only (`https://shop.example.com`,
 * `http://localhost:8080`). There are no wildcards: every site that may call with the tenant's
 * key is named, so a key leaked into one page cannot be used from any other page.
 */

export const MAX_ORIGINS = 100;

export const CorsDoc = Type.Object(
  {
    allowedOrigins: Type.Array(Type.String({ minLength: 1, maxLength: 300 }), {
      maxItems: MAX_ORIGINS,
      description: "Origins (scheme://host[:port]) whose pages may call the API with this tenant's keys; empty: none",
    }),
  },
  { additionalProperties: false, description: "Browser access (CORS). Given: replaces the tenant's list; absent: left as is" },
);
export type CorsDoc = Static<typeof CorsDoc>;

/**
 * The serialised form of an origin (lower-case scheme and host, default port dropped, no trailing
 * slash), the form browsers send, or a refusal naming what is wrong.
 */
export function normalizeOrigin(raw: string): string {
  const text = raw.trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new GesError(
      'GES_VALIDATION',
      `cors: ${JSON.stringify(text.slice(0, 100))} is not an origin (write scheme://host[:port], e.g. https://shop.example.com)`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new GesError('GES_VALIDATION', `cors: ${url.protocol} origins are not allowed (http or https only)`);
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
    throw new GesError('GES_VALIDATION', `cors: ${JSON.stringify(text.slice(0, 100))} is not an origin: leave out path, query and credentials`);
  }
  if (text.includes('*')) throw new GesError('GES_VALIDATION', 'cors: wildcards are not supported; list each origin');
  return url.origin;
}

/** The tenant's list, normalised, sorted and without repeats. */
export function parseCorsOrigins(doc: CorsDoc): string[] {
  return [...new Set(doc.allowedOrigins.map(normalizeOrigin))].sort();
}

/** Whether an Origin header names the same site as the request's Host (same-origin requests need no allowance). */
export function isSameOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
