import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';

/** Human wording for the patterns our written configuration uses. */
const PATTERN_HINTS: Record<string, string> = {
  '^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$': 'must be a time range HH:MM-HH:MM, e.g. 09:00-17:30',
  '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$': 'must be a time HH:MM, e.g. 09:00 (24:00 for the end of the day)',
  '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$': 'must be a date YYYY-MM-DD',
  '^\\+[1-9][0-9]{1,14}$': 'must be a number in E.164 form, e.g. +442079460100 (quoted in YAML)',
};

/**
 * The first problem of `value` against `schema` as one readable line naming its place, or
 * undefined when it is valid. `what` prefixes the path (e.g. "config", "service option").
 */
export function firstSchemaProblem(schema: TSchema, value: unknown, what: string): string | undefined {
  if (Value.Check(schema, value)) return undefined;
  const errors = [...Value.Errors(schema, value)];
  const e = errors.find((x) => x.keyword !== 'boolean' && x.keyword !== 'additionalProperties') ?? errors[0];
  if (!e) return `${what}: invalid`;
  const place = `${what}${e.instancePath}`;
  if (e.keyword === 'boolean' || e.keyword === 'additionalProperties') {
    const extra =
      e.keyword === 'boolean' ? e.instancePath.split('/').pop() : String((e.params as { additionalProperties?: string[] }).additionalProperties?.[0] ?? '');
    return `${what}${e.keyword === 'boolean' ? e.instancePath.replace(/\/[^/]*$/, '') : e.instancePath}: ${extra} is not a known field`;
  }
  const pattern = (e.params as { pattern?: string }).pattern;
  if (e.keyword === 'pattern' && pattern && PATTERN_HINTS[pattern]) return `${place} ${PATTERN_HINTS[pattern]}`;
  return `${place}: ${e.message}`;
}
