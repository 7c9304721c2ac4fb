/**
 * How much secret a custom API key carries. A key is stored as SHA-256 of the whole key, with its
 * first `clearPrefixLength` characters in clear (to list and revoke keys by prefix): those
 * characters are not secret, so only the rest counts. A plain SHA-256 is the right store for a
 * secret of at least 128 random bits: nobody can enumerate 2^128 candidates, salted or not, and an
 * unsalted digest lets a request find its key by one indexed lookup. What a fast hash cannot
 * protect is a short or guessable key, hence this check: a custom key must carry at least
 * MIN_SECRET_BITS past its clear prefix.
 *
 * The estimate is generous to the key and strict about shape: characters of the classes the secret
 * uses (digits, lower, upper, other) times log2 of their combined alphabet, except that a secret of
 * hexadecimal digits (and dashes, as in a UUID) counts 4 bits a digit; and a secret with fewer than
 * MIN_DISTINCT different characters is refused whatever its length ("aaaa…", "abab…").
 */
export const MIN_SECRET_BITS = 128;
const MIN_DISTINCT = 10;
const MAX_KEY_LENGTH = 512;

export function estimatedSecretBits(secret: string): number {
  if (secret.length === 0) return 0;
  if (/^[0-9a-fA-F-]+$/.test(secret)) return secret.replaceAll('-', '').length * 4;
  let alphabet = 0;
  if (/[0-9]/.test(secret)) alphabet += 10;
  if (/[a-z]/.test(secret)) alphabet += 26;
  if (/[A-Z]/.test(secret)) alphabet += 26;
  if (/[^0-9A-Za-z]/.test(secret)) alphabet += 32;
  return Math.floor(secret.length * Math.log2(alphabet));
}

/** Why a custom key is refused, or undefined when it is strong enough. */
export function customApiKeyProblem(key: string, clearPrefixLength: number): string | undefined {
  if (key.length > MAX_KEY_LENGTH) return `the key must be at most ${MAX_KEY_LENGTH} characters`;
  if (!/^[!-~]+$/.test(key)) return 'the key must be visible ASCII characters only (no spaces)';
  const secret = key.slice(clearPrefixLength);
  const bits = estimatedSecretBits(secret);
  const distinct = new Set(secret).size;
  if (bits < MIN_SECRET_BITS || distinct < MIN_DISTINCT) {
    return (
      `the key carries about ${bits} bits of secret past its first ${clearPrefixLength} characters (which are stored in clear), ` +
      `with ${distinct} different characters; at least ${MIN_SECRET_BITS} bits of random secret and ${MIN_DISTINCT} different characters are required ` +
      `(e.g. 32 random hex digits or 22 random base64url characters after the first ${clearPrefixLength}; a UUID is not enough). ` +
      'Leave out --key to get a generated 256-bit key.'
    );
  }
  return undefined;
}
