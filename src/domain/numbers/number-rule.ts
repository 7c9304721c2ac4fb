import { isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { Type, type Static } from 'typebox';
import { GesError } from '../errors.ts';
import { firstSchemaProblem } from '../schema-errors.ts';

/**
 * Number validation rules (ges-api.md §3.5, "Permitted & Blocked Numbers"): a named rule of a
 * tenant lists the countries callbacks may go to and exceptions, numbers or prefixes that are
 * permitted or blocked whatever their country. A service names the rule it applies. Pure: the
 * country of a number comes from libphonenumber's metadata, nothing is read or written.
 */

/** A whole number in E.164, or a prefix of one ending in `*` (`+1900*`, `+92*`). */
const ENTRY = '^\\+[1-9][0-9]{0,14}\\*?$';
/** Long enough for every prefix plan an operator writes by hand, small enough to keep a rule one row. */
export const MAX_ENTRIES = 10_000;

export const NumberRuleDoc = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9]+$', description: 'Letters and digits only, as in GES (e.g. USOnly)' }),
    allowedCountries: Type.Optional(
      Type.Array(Type.String({ pattern: '^[A-Z]{2}$' }), {
        maxItems: 300,
        description: 'ISO 3166 alpha-2 countries a number may belong to; empty or absent: every country',
      }),
    ),
    permitted: Type.Optional(
      Type.Array(Type.String({ pattern: ENTRY }), {
        maxItems: MAX_ENTRIES,
        description: 'Numbers (E.164) or prefixes (ending in *) accepted whatever their country',
      }),
    ),
    blocked: Type.Optional(
      Type.Array(Type.String({ pattern: ENTRY }), {
        maxItems: MAX_ENTRIES,
        description: 'Numbers (E.164) or prefixes (ending in *) refused whatever their country',
      }),
    ),
  },
  { additionalProperties: false },
);
export type NumberRuleDoc = Static<typeof NumberRuleDoc>;

/** A validated rule: lists sorted and without repeats, so equal rules have equal written forms. */
export interface NumberRule {
  name: string;
  allowedCountries: string[];
  permitted: string[];
  blocked: string[];
}

/** What decided, most specific first: an exact number, then the longest prefix, then the country list. */
export type DecidedBy = 'permitted-number' | 'blocked-number' | 'permitted-prefix' | 'blocked-prefix' | 'country-allowed' | 'country-refused' | 'any-country';

export interface NumberDecision {
  allowed: boolean;
  rule: string;
  decidedBy: DecidedBy;
  /** The entry of the rule that decided (a number or a prefix), when one did. */
  entry?: string;
  /** ISO country of the number, when libphonenumber can tell (not for +800 and the like). */
  country?: string;
  /** Why, in words, for the console's tester. Names the entry; never meant for logs. */
  explanation: string;
}

const sorted = (list: string[] | undefined) => [...new Set(list ?? [])].sort();

/** Validates a rule as written; a refusal names the rule and the entry. */
export function parseNumberRule(input: unknown): NumberRule {
  const problem = firstSchemaProblem(NumberRuleDoc, input, 'numberRule');
  if (problem) throw new GesError('GES_VALIDATION', problem);
  const doc = input as NumberRuleDoc;
  const rule: NumberRule = { name: doc.name, allowedCountries: sorted(doc.allowedCountries), permitted: sorted(doc.permitted), blocked: sorted(doc.blocked) };
  const blocked = new Set(rule.blocked);
  const both = rule.permitted.find((e) => blocked.has(e));
  if (both) throw new GesError('GES_VALIDATION', `numberRule ${doc.name}: ${both} is both permitted and blocked`);
  for (const e of [...rule.permitted, ...rule.blocked]) {
    if (!e.endsWith('*') && e.length < 3)
      throw new GesError('GES_VALIDATION', `numberRule ${doc.name}: ${e} is too short for a whole number (end a prefix with *)`);
  }
  // Only countries with a numbering plan: a number can never be found to belong to any other.
  const unknown = rule.allowedCountries.find((c) => !isSupportedCountry(c));
  if (unknown)
    throw new GesError('GES_VALIDATION', `numberRule ${doc.name}: allowedCountries ${unknown} is not an ISO 3166 country with a telephone numbering plan`);
  return rule;
}

/** The written form of a rule (what export writes). */
export function numberRuleDoc(rule: NumberRule): NumberRuleDoc {
  return { name: rule.name, allowedCountries: rule.allowedCountries, permitted: rule.permitted, blocked: rule.blocked };
}

const REGIONS = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' });

function countryName(code: string): string {
  try {
    return REGIONS.of(code) ?? code;
  } catch {
    return code;
  }
}

function described(country: string): string {
  return `${countryName(country)} (${country})`;
}

/** The longest prefix entry (`+1900*`) of `list` that `e164` starts with. */
function longestPrefix(list: string[], e164: string): string | undefined {
  let best: string | undefined;
  for (const e of list) {
    if (e.endsWith('*') && e164.startsWith(e.slice(0, -1)) && (!best || e.length > best.length)) best = e;
  }
  return best;
}

/**
 * Decides whether `e164` (a normalised number) may be called back under `rule`. The most specific
 * entry decides: the number itself on either list; else the longest matching prefix (on equal
 * length, which parseNumberRule rules out, blocked would win); else the country list.
 */
export function evaluateNumber(rule: NumberRule, e164: string): NumberDecision {
  const parsed = parsePhoneNumberFromString(e164);
  const country = parsed?.country;
  const base = { rule: rule.name, ...(country ? { country } : {}) };
  if (rule.permitted.includes(e164))
    return { ...base, allowed: true, decidedBy: 'permitted-number', entry: e164, explanation: `The number is on the permitted list of rule ${rule.name}.` };
  if (rule.blocked.includes(e164))
    return { ...base, allowed: false, decidedBy: 'blocked-number', entry: e164, explanation: `The number is on the blocked list of rule ${rule.name}.` };
  const permitted = longestPrefix(rule.permitted, e164);
  const blocked = longestPrefix(rule.blocked, e164);
  if (blocked && (!permitted || blocked.length >= permitted.length)) {
    return {
      ...base,
      allowed: false,
      decidedBy: 'blocked-prefix',
      entry: blocked,
      explanation: `The number starts with ${blocked.slice(0, -1)}, a blocked prefix of rule ${rule.name}.`,
    };
  }
  if (permitted)
    return {
      ...base,
      allowed: true,
      decidedBy: 'permitted-prefix',
      entry: permitted,
      explanation: `The number starts with ${permitted.slice(0, -1)}, a permitted prefix of rule ${rule.name}.`,
    };
  if (rule.allowedCountries.length === 0) {
    return {
      ...base,
      allowed: true,
      decidedBy: 'any-country',
      explanation: `Rule ${rule.name} allows every country and no exception matches${country ? `; the number is from ${described(country)}` : ''}.`,
    };
  }
  if (country && rule.allowedCountries.includes(country)) {
    return {
      ...base,
      allowed: true,
      decidedBy: 'country-allowed',
      explanation: `The number passes country validation: it is from ${described(country)}, which rule ${rule.name} allows; no exception matches.`,
    };
  }
  return {
    ...base,
    allowed: false,
    decidedBy: 'country-refused',
    explanation: country
      ? `The country of the number is not in the allowed list of rule ${rule.name}: ${described(country)}.`
      : `The number belongs to no single country (calling code +${parsed?.countryCallingCode ?? '?'}), and rule ${rule.name} allows only ${rule.allowedCountries.join(', ')}.`,
  };
}

/**
 * Refuses a number the service's rule does not allow (no rule: every number). The message names
 * the rule and the reason but never the number itself: it is stored with failed requests.
 */
export function enforceNumberRule(rule: NumberRule | undefined, e164: string, field = 'phoneNumber'): void {
  if (!rule) return;
  const d = evaluateNumber(rule, e164);
  if (d.allowed) return;
  const why =
    d.decidedBy === 'blocked-number'
      ? 'the number is blocked'
      : d.decidedBy === 'blocked-prefix'
        ? `numbers starting ${d.entry!.slice(0, -1)} are blocked`
        : d.country
          ? `${described(d.country)} is not an allowed country (allowed: ${rule.allowedCountries.join(', ')})`
          : `the number belongs to no single country (allowed: ${rule.allowedCountries.join(', ')})`;
  throw new GesError('GES_PHONE_NOT_PERMITTED', `${field} is not permitted by number rule ${rule.name}: ${why}`);
}
