import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { GesError } from '../errors.ts';
import { firstSchemaProblem } from '../schema-errors.ts';

/**
 * A Click-To-Call-In group (ges-api.md §3.7): the numbers (DNIS) a customer may be told to dial,
 * whether they must also key in an access code and how long it is, how long a request stays valid,
 * and where a matched call is routed. This is its written form, as it appears in a tenant's
 * configuration file and in the admin API; omitted fields take the defaults below.
 */

/** Range of the access-code length, in digits. Four digits is the shortest a caller can't guess by chance in a few tries. */
export const ACCESS_CODE_LENGTH = Object.freeze({ min: 4, max: 10 } as const);
/** Range of a request's validity, in seconds: a minute to a day. */
export const EXPIRY_SECONDS = Object.freeze({ min: 60, max: 86_400 } as const);
/** How many numbers one group may hold. */
export const MAX_DNIS = 100;

const E164 = '^\\+[1-9][0-9]{1,14}$';

export const CallInGroupDoc = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9 _.-]*$' }),
    dnis: Type.Array(Type.String({ pattern: E164, description: 'A number to dial, E.164 (e.g. +442079460100)' }), {
      minItems: 1,
      maxItems: MAX_DNIS,
      description: 'The pool of numbers requests are spread over',
    }),
    accessCode: Type.Optional(Type.Boolean({ default: true, description: 'Give each request an access code the caller keys in' })),
    accessCodeLength: Type.Optional(
      Type.Integer({ default: 4, description: `Digits of the access code, ${ACCESS_CODE_LENGTH.min}-${ACCESS_CODE_LENGTH.max}` }),
    ),
    expirySeconds: Type.Optional(
      Type.Integer({ default: 600, description: `How long a request waits for its call, ${EXPIRY_SECONDS.min}-${EXPIRY_SECONDS.max} s` }),
    ),
    targetService: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 255 }), Type.Null()], {
        description:
          'Queue (virtual queue or callback service name) matched calls are routed to; null: the platform default treatment, with the userData attached',
      }),
    ),
    defaultCountry: Type.Optional(
      Type.String({ pattern: '^[A-Z]{2}$', default: 'US', description: 'ISO 3166 country for a fromPhoneNumber in national format' }),
    ),
  },
  { additionalProperties: false },
);
export type CallInGroupDoc = Static<typeof CallInGroupDoc>;

/** A validated group with every field set. */
export interface CallInGroup {
  name: string;
  dnis: string[]; // E.164
  accessCode: boolean;
  accessCodeLength: number;
  expirySeconds: number;
  targetService: string | null;
  defaultCountry: string;
}

function inRange(value: number, range: { min: number; max: number }, what: string, group: string): void {
  if (value < range.min || value > range.max) {
    throw new GesError('GES_VALIDATION', `callInGroup ${group}: ${what} ${value} is out of valid range (${range.min}-${range.max})`);
  }
}

/** Validates the written form, applies the defaults, and names the place of any problem. */
export function parseCallInGroup(input: unknown): CallInGroup {
  const problem = firstSchemaProblem(CallInGroupDoc, input, 'callInGroup');
  if (problem) throw new GesError('GES_VALIDATION', problem);
  const doc = Value.Default(CallInGroupDoc, structuredClone(input)) as Required<CallInGroupDoc>;
  inRange(doc.accessCodeLength, ACCESS_CODE_LENGTH, 'accessCodeLength', doc.name);
  inRange(doc.expirySeconds, EXPIRY_SECONDS, 'expirySeconds', doc.name);
  const seen = new Set<string>();
  for (const n of doc.dnis) {
    if (seen.has(n)) throw new GesError('GES_VALIDATION', `callInGroup ${doc.name}: dnis ${n} appears twice`);
    seen.add(n);
  }
  return {
    name: doc.name,
    dnis: [...doc.dnis],
    accessCode: doc.accessCode,
    accessCodeLength: doc.accessCodeLength,
    expirySeconds: doc.expirySeconds,
    targetService: doc.targetService ?? null,
    defaultCountry: doc.defaultCountry,
  };
}

/** The written form with every field spelled out, as an export shows it. */
export function callInGroupDoc(group: CallInGroup): CallInGroupDoc {
  return { ...group, dnis: [...group.dnis] };
}
