/** Half of a surrogate pair with no other half: not Unicode, and refused by PostgreSQL text and jsonb. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `s` holds a lone UTF-16 surrogate (e.g. an emoji cut in half by a client's truncation). */
export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}
