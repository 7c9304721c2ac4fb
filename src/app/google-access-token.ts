import { createSign } from 'node:crypto';
import { GesError } from '../domain/errors.ts';

/** The one scope FCM HTTP v1 needs. */
export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Google accepts assertions of at most one hour. */
const ASSERTION_SEC = 3600;
/** A token is renewed this long before Google says it ends, so a send never carries one about to lapse. */
const RENEW_BEFORE_MS = 5 * 60_000;
const TOKEN_TIMEOUT_MS = 10_000;

/** The fields of a Google service-account JSON that GES uses. */
export interface ServiceAccount {
  projectId: string;
  clientEmail: string;
  privateKey: string;
  tokenUri: string;
}

/** Reads a service-account JSON as the Firebase console downloads it; a bad one is a 400 that names the field, never its value. */
export function parseServiceAccount(json: string): ServiceAccount {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    throw new GesError('GES_VALIDATION', 'pushServiceAccount: not JSON (paste the service-account file the Firebase console downloads)');
  }
  const d = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
  const field = (name: string): string => {
    const v = d[name];
    if (typeof v !== 'string' || v.length === 0 || v.length > 8192) throw new GesError('GES_VALIDATION', `pushServiceAccount: ${name} missing or invalid`);
    return v;
  };
  const account = {
    projectId: field('project_id'),
    clientEmail: field('client_email'),
    privateKey: field('private_key'),
    tokenUri: typeof d.token_uri === 'string' && d.token_uri !== '' ? d.token_uri : 'https://oauth2.googleapis.com/token',
  };
  if (!/^[a-z0-9-]{1,64}$/i.test(account.projectId)) throw new GesError('GES_VALIDATION', 'pushServiceAccount: project_id is not a project id');
  if (!account.privateKey.includes('PRIVATE KEY')) throw new GesError('GES_VALIDATION', 'pushServiceAccount: private_key is not a PEM key');
  return account;
}

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

/** The signed assertion of the OAuth 2.0 JWT-bearer grant (RS256), as Google documents it for service accounts. */
export function signedAssertion(account: ServiceAccount, audience: string, nowSec: number): string {
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const claims = base64url(JSON.stringify({ iss: account.clientEmail, scope: FCM_SCOPE, aud: audience, iat: nowSec, exp: nowSec + ASSERTION_SEC }));
  const signer = createSign('RSA-SHA256');
  signer.update(`${header}.${claims}`);
  return `${header}.${claims}.${base64url(signer.sign(account.privateKey))}`;
}

/** Why no token could be had: the credentials (refused: not retried) or the endpoint (unavailable: retried). */
export class TokenError extends Error {
  constructor(
    readonly kind: 'refused' | 'unavailable',
    message: string,
  ) {
    super(message);
  }
}

/**
 * OAuth access tokens of service accounts, one per tenant, cached until shortly before they end.
 * `tokenUrl` overrides the account's token_uri (FCM_TOKEN_URL: tests, proxies).
 */
export class GoogleAccessTokens {
  readonly #cache = new Map<string, { token: string; untilMs: number }>();

  constructor(
    private readonly tokenUrl: string | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  async token(cacheKey: string, account: ServiceAccount): Promise<string> {
    const hit = this.#cache.get(cacheKey);
    if (hit && hit.untilMs > this.now()) return hit.token;
    const url = this.tokenUrl || account.tokenUri;
    const assertion = signedAssertion(account, url, Math.floor(this.now() / 1000));
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: JWT_BEARER, assertion }).toString(),
        signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
      });
    } catch (err) {
      throw new TokenError('unavailable', `token endpoint unreachable: ${(err as Error).name}`);
    }
    const body = (await res.json().catch(() => ({}))) as { access_token?: unknown; expires_in?: unknown };
    if (res.status >= 500 || res.status === 429) throw new TokenError('unavailable', `token endpoint answered ${res.status}`);
    if (!res.ok || typeof body.access_token !== 'string') throw new TokenError('refused', `token endpoint refused the credentials (${res.status})`);
    const lifeMs = (typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 3600) * 1000;
    this.#cache.set(cacheKey, { token: body.access_token, untilMs: this.now() + Math.max(0, lifeMs - RENEW_BEFORE_MS) });
    return body.access_token;
  }

  /** FCM said 401: the token is dropped and the next send asks for a new one. */
  forget(cacheKey: string): void {
    this.#cache.delete(cacheKey);
  }
}
