import type { FastifyRequest } from 'fastify';
import { GesError } from '../domain/errors.ts';

/**
 * The leniency rules of the Engagement API (README "Leniency rules", docs/API.md): what GES's real
 * clients send that a strict schema would refuse, turned into what they mean before the schema
 * checks the request. Driven by each route's own JSON schema, so a new field gets the same rules.
 *
 * - `null` for an optional field means the field is absent (the generated client serialises unset
 *   model fields as null in some versions; `"desiredTime": null` is an immediate callback).
 * - Query parameter names match without regard to case, `-` or `_` (`maxtimeslots`, `max-time-slots`
 *   as GMS spelled it); an unknown parameter is refused, never ignored. `_` (the generated client's
 *   cache buster) is the one name always allowed.
 * - Enum values match without regard to case (`fcm`, `MODE2`) and become the canonical spelling.
 * - Booleans: `true`/`false` in any case, and `1`/`0`.
 * - Numbers: a numeral string is read as its number; anything else ("Infinity", "1e309", "0x10",
 *   "") and any non-finite number is refused with 400 naming the field.
 * - Integers the client types as Number (ROUNDED_INTEGERS) are rounded to the nearest integer.
 */

/** Integer fields whose client model types them as Number, so a fraction is a rounding matter. */
export const ROUNDED_INTEGERS: ReadonlySet<string> = new Set(['priority']);

/** Query parameters every route takes and ignores: the generated client's cache-busting timestamp. */
const ALWAYS_ALLOWED_QUERY = new Set(['_']);

interface SchemaNode {
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  enum?: unknown[];
}

const NUMERAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

const show = (v: unknown): string => JSON.stringify(typeof v === 'string' ? v.slice(0, 40) : v) ?? String(v);

function types(schema: SchemaNode): string[] {
  return schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
}

function refuse(message: string): never {
  throw new GesError('GES_VALIDATION', message);
}

/** One value against its schema; returns the value the rules make of it. */
function normalizeValue(value: unknown, schema: SchemaNode, path: string, field: string): unknown {
  const t = types(schema);
  if (t.includes('integer') || t.includes('number')) {
    let n = value;
    if (typeof value === 'string') {
      const s = value.trim();
      n = NUMERAL.test(s) ? Number(s) : refuse(`${path} must be a finite number (got ${show(value)})`);
    }
    if (typeof n === 'number') {
      if (!Number.isFinite(n)) refuse(`${path} must be a finite number`);
      if (t.includes('integer') && !t.includes('number') && !Number.isInteger(n) && ROUNDED_INTEGERS.has(field)) n = Math.round(n);
    }
    return n;
  }
  if (t.includes('boolean')) {
    if (typeof value === 'string') {
      const s = value.trim().toLowerCase();
      if (s === 'true' || s === '1') return true;
      if (s === 'false' || s === '0') return false;
      return refuse(`${path} must be true or false (got ${show(value)})`);
    }
    if (value === 1 || value === 0) return value === 1;
    return value;
  }
  if (schema.enum && typeof value === 'string') {
    const match = schema.enum.find((e) => typeof e === 'string' && e.toLowerCase() === value.toLowerCase());
    return match ?? value;
  }
  if (schema.properties && value && typeof value === 'object' && !Array.isArray(value)) {
    return normalizeObject(value as Record<string, unknown>, schema, path);
  }
  if (schema.items && Array.isArray(value)) {
    return value.map((item, i) => normalizeValue(item, schema.items!, `${path}/${i}`, field));
  }
  return value;
}

function normalizeObject(obj: Record<string, unknown>, schema: SchemaNode, path: string): Record<string, unknown> {
  const required = new Set(schema.required ?? []);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    const prop = schema.properties?.[key];
    if (value === null && prop && !required.has(key)) continue; // null means absent
    out[key] = prop ? normalizeValue(value, prop, `${path}/${key}`, key) : value;
  }
  return out;
}

const looseName = (name: string): string => name.toLowerCase().replace(/[-_]/g, '');

/** The query with each parameter under its schema name; refuses unknown and doubly given ones. */
function normalizeQuery(query: Record<string, unknown>, schema: SchemaNode): Record<string, unknown> {
  const names = Object.keys(schema.properties ?? {});
  const byLoose = new Map(names.map((n) => [looseName(n), n]));
  const out: Record<string, unknown> = {};
  for (const [given, value] of Object.entries(query)) {
    if (ALWAYS_ALLOWED_QUERY.has(given)) continue;
    const name = byLoose.get(looseName(given));
    if (name === undefined) {
      refuse(`querystring: unknown parameter ${show(given)}; this operation takes ${names.length > 0 ? names.join(', ') : 'no parameters'}`);
    }
    if (Object.hasOwn(out, name)) refuse(`querystring: ${name} is given twice (as ${show(given)} too)`);
    out[name] = value;
  }
  return normalizeObject(out, schema, 'querystring');
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The operation has no body parameter in GES's client: an empty body is read as `{}`. */
    emptyBody?: boolean;
  }
}

/** preValidation hook of the Engagement API: applies the rules above to body and query. */
export async function applyLeniency(request: FastifyRequest): Promise<void> {
  const schema = request.routeOptions.schema as { body?: SchemaNode; querystring?: SchemaNode } | undefined;
  if (request.body === undefined && request.routeOptions.config?.emptyBody) request.body = {};
  if (schema?.body && request.body && typeof request.body === 'object' && !Array.isArray(request.body)) {
    request.body = normalizeValue(request.body, schema.body, 'body', '');
  }
  if (schema?.querystring && request.query && typeof request.query === 'object') {
    request.query = normalizeQuery(request.query as Record<string, unknown>, schema.querystring);
  }
}
