import * as sip from 'sip';
import type { Logger } from 'pino';
import type { SipRegistrationBook } from '../sip-agent-directory.ts';
import { DigestServer, unquote, type AuthHeader, type DigestAlgorithm } from './digest.ts';

/**
 * GES's registrar (RFC 3261 10.3): agents' softphones REGISTER as login@tenant, with digest
 * against the HA1 the agent store keeps (realm = the tenant name), and their contact is bound in
 * the shared SipRegistrationBook so every node can ring them. The tenant is the To host
 * (case-insensitive) or, when phones register to an address, SIP_DOMAIN stands for the default tenant.
 */
export interface RegistrarOptions {
  book: SipRegistrationBook;
  domain: string;
  defaultTenant: string;
  minExpiresSec: number;
  maxExpiresSec: number;
  logger: Logger;
  digest?: DigestServer;
  /** Challenges offered when no `digest` is given (see DigestServer: libre-based phones need ['MD5']). */
  algorithms?: readonly DigestAlgorithm[];
  onRefusedAuth?: () => void;
}

export type Reply = (status: number, reason: string, headers?: Record<string, unknown>) => void;

/** What a phone gets when it asks for no Expires at all (RFC 3261 10.2.1.1 leaves it to the registrar). */
const DEFAULT_EXPIRES_SEC = 3600;
/** Bound of the unbind-all loop of `Contact: *`: a book holds a handful of contacts per agent. */
const MAX_CONTACTS = 20;

export class Registrar {
  readonly #o: RegistrarOptions;
  readonly #digest: DigestServer;

  constructor(opts: RegistrarOptions) {
    this.#o = opts;
    this.#digest = opts.digest ?? new DigestServer(opts.algorithms ? { algorithms: opts.algorithms } : {});
  }

  async handle(rq: sip.SipMessage, reply: Reply): Promise<void> {
    const to = sip.parseUri(rq.headers.to.uri);
    const login = to?.user;
    const host = to?.host.toLowerCase();
    if (to === undefined || login === undefined || host === undefined) return reply(400, 'Bad Request');
    const tenant = await this.#tenantOf(host);
    if (tenant === undefined) return reply(404, 'Not Found');
    const realm = tenant;
    const header = (rq.headers.authorization ?? []).find((a: AuthHeader) => unquote(a.realm)?.toLowerCase() === realm.toLowerCase());
    if (header === undefined) return reply(401, 'Unauthorized', { 'www-authenticate': this.#digest.challenge(realm) });
    const verdict = await this.#digest.verify(header, 'REGISTER', realm, (user) => this.#o.book.credentials(tenant, user));
    if (!verdict.ok) {
      if (verdict.stale) return reply(401, 'Unauthorized', { 'www-authenticate': this.#digest.challenge(realm, true) });
      this.#o.onRefusedAuth?.();
      // Login only: the tenant's agents are not customers, but the URI is not logged whole anyway.
      this.#o.logger.info({ tenant, login }, 'sip: REGISTER refused (wrong credentials)');
      return reply(403, 'Forbidden');
    }
    // The credentials must be the ones of the address being registered: one agent cannot bind another.
    if (verdict.user !== login) return reply(403, 'Forbidden');

    const contacts = rq.headers.contact;
    const headerExpires = parseExpires(rq.headers.expires);
    // The package's parser never yields the bare '*' it tests for: `Contact: *` arrives as one address whose URI is '*'.
    const wildcard = contacts === '*' || (Array.isArray(contacts) && contacts.some((c) => c.uri === '*'));
    if (wildcard) {
      if (Array.isArray(contacts) && contacts.length > 1) return reply(400, 'Bad Request');
      if (headerExpires !== 0) return reply(400, 'Bad Request');
      for (let i = 0; i < MAX_CONTACTS; i++) {
        const c = await this.#o.book.contactOf(tenant, login);
        if (c === undefined) break;
        await this.#o.book.bind(tenant, login, c, 0);
      }
      return reply(200, 'OK');
    }
    const wanted = (Array.isArray(contacts) ? contacts : []).map((c) => ({
      uri: sip.stringifyUri(c.uri),
      expires: parseExpires(c.params.expires) ?? headerExpires ?? DEFAULT_EXPIRES_SEC,
    }));
    const brief = wanted.find((c) => c.expires > 0 && c.expires < this.#o.minExpiresSec);
    if (brief !== undefined) return reply(423, 'Interval Too Brief', { 'min-expires': String(this.#o.minExpiresSec) });
    const granted: { uri: string; expires: number }[] = [];
    for (const c of wanted) {
      const expires = Math.min(c.expires, this.#o.maxExpiresSec);
      await this.#o.book.bind(tenant, login, c.uri, expires);
      if (expires > 0) granted.push({ uri: c.uri, expires });
    }
    const current = granted.length > 0 || wanted.length > 0 ? granted : await this.#current(tenant, login);
    return reply(200, 'OK', {
      ...(current.length > 0 ? { contact: current.map((c) => ({ uri: c.uri, params: { expires: String(c.expires) } })) } : {}),
      date: new Date().toUTCString(),
    });
  }

  /** A query (REGISTER without Contact): the binding as the book has it; its remaining time is not known here, the maximum is an upper bound. */
  async #current(tenant: string, login: string): Promise<{ uri: string; expires: number }[]> {
    const c = await this.#o.book.contactOf(tenant, login);
    return c === undefined ? [] : [{ uri: c, expires: this.#o.maxExpiresSec }];
  }

  async #tenantOf(host: string): Promise<string | undefined> {
    if (this.#o.domain !== '' && host === this.#o.domain.toLowerCase()) return this.#o.defaultTenant !== '' ? this.#o.defaultTenant : undefined;
    if (await this.#o.book.isTenant(host)) return host;
    return undefined;
  }
}

function parseExpires(v: unknown): number | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const n = Number(String(v).trim());
  return Number.isInteger(n) && n >= 0 ? Math.min(n, 2 ** 31 - 1) : undefined;
}
