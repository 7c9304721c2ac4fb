import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * SIP digest authentication (RFC 3261 22, RFC 7616, RFC 8760: SHA-256 next to MD5, qop=auth),
 * both sides: the registrar challenges agents' softphones and checks their answer against the HA1
 * it keeps (never a password), and outbound calls answer a trunk's 401/407 once. The package's
 * digest helper is MD5 only and keeps nonce state; here nonces are stateless, so every GES node
 * accepts the nonce another node issued: `<time>.<random>.<HMAC(key, time.random.realm)>`, valid
 * NONCE_LIFETIME_MS, after which the answer gets a fresh challenge with stale=true (the phone
 * retries with the same password, silently, instead of prompting its user).
 */
export type DigestAlgorithm = 'MD5' | 'SHA-256';

export const NONCE_LIFETIME_MS = 5 * 60_000;

/** A parsed Authorization / WWW-Authenticate header as the sip package gives it (values still quoted). */
export type AuthHeader = { scheme: string } & Record<string, string>;

export function hashHex(algorithm: DigestAlgorithm, text: string): string {
  return createHash(algorithm === 'MD5' ? 'md5' : 'sha256')
    .update(text, 'utf8')
    .digest('hex');
}

/** HA1 = H(user ":" realm ":" password): what the agent store keeps instead of the password. */
export function ha1(algorithm: DigestAlgorithm, user: string, realm: string, password: string): string {
  return hashHex(algorithm, `${user}:${realm}:${password}`);
}

export function unquote(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.startsWith('"') && value.endsWith('"') && value.length >= 2 ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value;
}

function quote(value: string): string {
  return `"${value.replace(/(["\\])/g, '\\$1')}"`;
}

function algorithmOf(header: AuthHeader): DigestAlgorithm | undefined {
  const a = (unquote(header.algorithm) ?? 'MD5').toUpperCase();
  return a === 'MD5' ? 'MD5' : a === 'SHA-256' ? 'SHA-256' : undefined;
}

export type DigestVerdict = { ok: true; user: string } | { ok: false; stale: boolean };

export class DigestServer {
  readonly #key: Buffer;
  readonly #now: () => number;

  readonly #order: readonly DigestAlgorithm[];

  /**
   * `key`: the HMAC key nonces are signed with; every node of a cluster must share it for
   * cross-node nonces (random: this node only). `algorithms`: the challenges offered, most
   * preferred first (RFC 8760 2.4: SHA-256, then MD5 for older phones). Softphones built on libre
   * (baresip 1.0 and its kin) give up (ENOSYS) on a 401 holding any challenge that is not MD5,
   * even next to an MD5 one: a deployment with such phones offers ['MD5'] only.
   */
  constructor(opts: { key?: Buffer; now?: () => number; algorithms?: readonly DigestAlgorithm[] } = {}) {
    this.#key = opts.key ?? randomBytes(32);
    this.#now = opts.now ?? Date.now;
    this.#order = opts.algorithms && opts.algorithms.length > 0 ? opts.algorithms : ['SHA-256', 'MD5'];
  }

  /** WWW-Authenticate (or Proxy-Authenticate) values, one per algorithm, same nonce. */
  challenge(realm: string, stale = false): AuthHeader[] {
    const nonce = this.#nonce(realm);
    return this.#order.map((algorithm) => {
      const h: AuthHeader = { scheme: 'Digest', realm: quote(realm), nonce: quote(nonce), qop: '"auth"', algorithm };
      if (stale) h.stale = 'true';
      return h;
    });
  }

  /**
   * Checks an Authorization header for `method` against the secrets `ha1Of` gives for its user
   * (undefined: no such user). The nonce must be ours, for this realm and unexpired.
   */
  async verify(
    header: AuthHeader,
    method: string,
    realm: string,
    ha1Of: (user: string) => Promise<{ ha1Md5: string; ha1Sha256: string } | undefined>,
  ): Promise<DigestVerdict> {
    if (header.scheme.toLowerCase() !== 'digest') return { ok: false, stale: false };
    const user = unquote(header.username);
    const nonce = unquote(header.nonce);
    const uri = unquote(header.uri);
    const response = unquote(header.response)?.toLowerCase();
    const algorithm = algorithmOf(header);
    if (user === undefined || nonce === undefined || uri === undefined || response === undefined || algorithm === undefined) return { ok: false, stale: false };
    if (unquote(header.realm) !== realm) return { ok: false, stale: false };
    const nonceState = this.#checkNonce(nonce, realm);
    if (nonceState === 'forged') return { ok: false, stale: false };
    const secrets = await ha1Of(user);
    if (secrets === undefined) return { ok: false, stale: false };
    const qop = unquote(header.qop);
    // qop=auth is what we offered; an answer without it (RFC 2069) gives no client nonce and is refused.
    if (qop !== 'auth') return { ok: false, stale: false };
    const nc = unquote(header.nc) ?? '';
    const cnonce = unquote(header.cnonce) ?? '';
    const h1 = algorithm === 'MD5' ? secrets.ha1Md5 : secrets.ha1Sha256;
    const expected = hashHex(algorithm, `${h1}:${nonce}:${nc}:${cnonce}:${qop}:${hashHex(algorithm, `${method}:${uri}`)}`);
    const good = expected.length === response.length && timingSafeEqual(Buffer.from(expected), Buffer.from(response));
    if (!good) return { ok: false, stale: false };
    // The right password on an expired nonce: a fresh challenge with stale=true, not a refusal.
    if (nonceState === 'expired') return { ok: false, stale: true };
    return { ok: true, user };
  }

  #nonce(realm: string): string {
    const body = `${this.#now().toString(36)}.${randomBytes(9).toString('base64url')}`;
    return `${body}.${this.#sign(body, realm)}`;
  }

  #sign(body: string, realm: string): string {
    return createHmac('sha256', this.#key).update(`${body}.${realm.toLowerCase()}`).digest('base64url').slice(0, 22);
  }

  #checkNonce(nonce: string, realm: string): 'fresh' | 'expired' | 'forged' {
    const parts = nonce.split('.');
    if (parts.length !== 3) return 'forged';
    const [time = '', random = '', mac = ''] = parts;
    const expected = this.#sign(`${time}.${random}`, realm);
    if (expected.length !== mac.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(mac))) return 'forged';
    const issued = parseInt(time, 36);
    const age = this.#now() - issued;
    return Number.isFinite(issued) && age >= 0 && age <= NONCE_LIFETIME_MS ? 'fresh' : 'expired';
  }
}

/**
 * The Authorization (or Proxy-Authorization) header answering a challenge: the first challenge
 * with an algorithm we speak, preferring SHA-256. Undefined when none is usable.
 */
export function answerChallenge(
  challenges: readonly AuthHeader[],
  credentials: { username: string; password: string },
  method: string,
  uri: string,
  cnonce: string = randomBytes(8).toString('hex'),
): AuthHeader | undefined {
  const usable = challenges.filter((c) => c.scheme.toLowerCase() === 'digest' && algorithmOf(c) !== undefined);
  const chosen = usable.find((c) => algorithmOf(c) === 'SHA-256') ?? usable[0];
  if (chosen === undefined) return undefined;
  const algorithm = algorithmOf(chosen) as DigestAlgorithm;
  const realm = unquote(chosen.realm) ?? '';
  const nonce = unquote(chosen.nonce) ?? '';
  const opaque = unquote(chosen.opaque);
  const qops = (unquote(chosen.qop) ?? '').split(',').map((s) => s.trim());
  const h1 = ha1(algorithm, credentials.username, realm, credentials.password);
  const h2 = hashHex(algorithm, `${method}:${uri}`);
  const answer: AuthHeader = { scheme: 'Digest', username: quote(credentials.username), realm: quote(realm), nonce: quote(nonce), uri: quote(uri), algorithm };
  if (qops.includes('auth')) {
    const nc = '00000001';
    answer.response = quote(hashHex(algorithm, `${h1}:${nonce}:${nc}:${cnonce}:auth:${h2}`));
    answer.qop = 'auth';
    answer.nc = nc;
    answer.cnonce = quote(cnonce);
  } else {
    answer.response = quote(hashHex(algorithm, `${h1}:${nonce}:${h2}`));
  }
  if (opaque !== undefined) answer.opaque = quote(opaque);
  return answer;
}
