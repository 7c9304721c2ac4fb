import { randomInt } from 'node:crypto';

/**
 * Access codes of call-in requests: `length` decimal digits, the first never 0. GES returns the
 * code as a number, so a leading zero would be lost on the way to the customer (0427 → 427) and
 * they would key in a code shorter than the group's length.
 */

/** A uniform integer in [0, maxExclusive). Injected so tests can fix the codes drawn. */
export type RandomInt = (maxExclusive: number) => number;

/** Cryptographic randomness: a code must not be predictable from the codes handed out before it. */
export const cryptoRandomInt: RandomInt = (maxExclusive) => randomInt(maxExclusive);

export function generateAccessCode(length: number, random: RandomInt = cryptoRandomInt): number {
  if (!Number.isInteger(length) || length < 1 || length > 15) throw new RangeError(`access code length must be 1-15 digits (got ${length})`);
  let code = 1 + random(9);
  for (let i = 1; i < length; i++) code = code * 10 + random(10);
  return code;
}

/**
 * Several distinct codes to try in order: the store takes the first one no waiting request on the
 * chosen number holds, in the same statement that creates the request, so a clash costs no round
 * trip. `count` is capped by how many codes of that length exist.
 */
export function accessCodeCandidates(length: number, count: number, random: RandomInt = cryptoRandomInt): number[] {
  const possible = 9 * 10 ** (length - 1);
  const wanted = Math.min(count, possible);
  const codes = new Set<number>();
  // Bounded: with wanted <= possible the loop ends with probability 1, and callers ask for a handful.
  for (let tries = 0; codes.size < wanted && tries < wanted * 50; tries++) codes.add(generateAccessCode(length, random));
  return [...codes];
}

/**
 * The code a caller keyed in, as a number, or undefined when the digits cannot be a code of at
 * most `maxLength` digits: nothing keyed, a leading 0, or too many digits. A trailing `#` (the
 * usual end-of-input key) and any separator the platform leaves in are ignored.
 */
export function accessCodeFromDigits(digits: string | undefined, maxLength: number): number | undefined {
  if (digits === undefined) return undefined;
  const only = digits.replace(/[^0-9]/g, '');
  if (only.length === 0 || only.length > maxLength || only.startsWith('0')) return undefined;
  return Number(only);
}
