import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import { GesError } from '../domain/errors.ts';
import type { Tenant } from '../domain/tenant.ts';
import { CAPTCHA_SECRET_NAME, captchaApplies, type CaptchaMode, type CaptchaSettings } from '../domain/captcha/captcha-settings.ts';
import { judgeSiteverify } from '../domain/captcha/siteverify-verdict.ts';
import type { Queryable } from '../store/db.ts';
import { getTenantCaptcha, recordVerifiedToken, spendCaptchaToken, tokenState } from '../store/captcha-store.ts';
import type { TenantSecrets } from './tenant-secrets.ts';
import { FetchSiteverifyClient, type SiteverifyClient } from './siteverify-client.ts';

/** Results of CAPTCHA checks, as `ges_captcha_checks_total{result}` counts them (docs/METRICS.md). */
export type CaptchaResult = 'accepted' | 'accepted_unverified' | 'rejected' | 'reused' | 'missing' | 'unavailable' | 'misconfigured';

export interface CaptchaObserver {
  captchaChecked(event: { result: CaptchaResult }): void;
}

/** A token that passed the check, to be spent by the create's transaction (CaptchaGate.spend). */
export interface CaptchaTicket {
  readonly digest: Buffer;
}

export interface CaptchaGateOptions {
  pool: pg.Pool;
  /** The tenants' sealed secrets; absent: no secret can be opened, so a tenant with a provider fails closed (503). */
  secrets?: TenantSecrets;
  client?: SiteverifyClient;
  logger?: Logger;
  observer?: CaptchaObserver;
  /** How long a node reuses a tenant's CAPTCHA settings (default 30 s, like its secrets); 0: read every time. */
  settingsCacheMs?: number;
  now?: () => number;
}

/**
 * CAPTCHA on create and POST /captcha/verify. A token is checked with the tenant's provider (the
 * siteverify protocol) and is good for one create: its SHA-256 is recorded in the create's own
 * transaction, so a replay is refused whatever the provider would say. The token and the secret
 * are never logged.
 */
export class CaptchaGate {
  readonly #pool: pg.Pool;
  readonly #secrets: TenantSecrets | undefined;
  readonly #client: SiteverifyClient;
  readonly #logger: Logger | undefined;
  readonly #observer: CaptchaObserver | undefined;
  readonly #cacheMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<number, { settings: CaptchaSettings | undefined; until: number }>();

  constructor(options: CaptchaGateOptions) {
    this.#pool = options.pool;
    this.#secrets = options.secrets;
    this.#client = options.client ?? new FetchSiteverifyClient();
    this.#logger = options.logger;
    this.#observer = options.observer;
    this.#cacheMs = options.settingsCacheMs ?? 30_000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * For a create that will really be made: undefined when no CAPTCHA applies to the service;
   * otherwise the ticket its transaction spends. Throws the documented refusals.
   */
  async checkCreate(tenant: Tenant, mode: CaptchaMode, token: string | undefined): Promise<CaptchaTicket | undefined> {
    if (mode === 'off') return undefined;
    const settings = await this.#settings(tenant.id);
    if (!captchaApplies(mode, settings !== undefined)) return undefined;
    if (token === undefined || token.trim() === '') {
      this.#count('missing');
      throw new GesError('GES_CAPTCHA_REQUIRED', 'this service requires a CAPTCHA: send the captchaToken of a solved challenge');
    }
    if (!settings) {
      this.#count('misconfigured');
      throw new GesError('GES_CAPTCHA_UNAVAILABLE', 'this service requires a CAPTCHA, but the tenant has no CAPTCHA provider configured');
    }
    const digest = tokenDigest(token);
    const known = await tokenState(this.#pool, tenant.id, digest);
    if (known === 'spent') throw this.#reused();
    if (known === 'verified') {
      // Checked with the provider by POST /captcha/verify moments ago (which spent it there).
      this.#count('accepted');
      return { digest };
    }
    await this.#ask(tenant, settings, token);
    return { digest };
  }

  /** Spends the ticket inside the create's transaction; a token spent meanwhile is refused (GES_CAPTCHA_REUSED). */
  async spend(tx: Queryable, tenantId: number, ticket: CaptchaTicket): Promise<void> {
    if (!(await spendCaptchaToken(tx, tenantId, ticket.digest))) throw this.#reused();
  }

  /**
   * POST /captcha/verify (Genesys' CaptchaApi.verifyCaptchaExternal): whether the token is good.
   * A good token is recorded as verified, so the create that follows may carry it once without a
   * second question to the provider (which would answer "already seen").
   */
  async verify(tenant: Tenant, siteKey: string, token: string): Promise<boolean> {
    const settings = await this.#settings(tenant.id);
    if (!settings) throw new GesError('GES_CAPTCHA_NOT_CONFIGURED', 'this tenant has no CAPTCHA provider configured');
    if (settings.siteKey !== undefined && settings.siteKey !== siteKey)
      throw new GesError('GES_VALIDATION', "siteKey is not the site key of this tenant's CAPTCHA");
    const digest = tokenDigest(token);
    if ((await tokenState(this.#pool, tenant.id, digest)) !== 'unknown') {
      this.#count('reused');
      return false;
    }
    try {
      await this.#ask(tenant, settings, token);
    } catch (err) {
      if (err instanceof GesError && err.code === 'GES_CAPTCHA_INVALID') return false;
      throw err;
    }
    return recordVerifiedToken(this.#pool, tenant.id, digest);
  }

  /** Asks the provider; returns when the token may pass (accepted, or unverified under onVerifierDown accept). */
  async #ask(tenant: Tenant, settings: CaptchaSettings, token: string): Promise<void> {
    const secret = await this.#secret(tenant);
    const outcome = await this.#client.verify({ verifyUrl: settings.verifyUrl, secret, token });
    if (outcome.kind === 'unreachable') {
      if (settings.onVerifierDown === 'accept') {
        this.#count('accepted_unverified');
        this.#logger?.warn({ tenant: tenant.name, why: outcome.why }, 'CAPTCHA provider unreachable; token accepted unverified (onVerifierDown accept)');
        return;
      }
      this.#count('unavailable');
      this.#logger?.warn({ tenant: tenant.name, why: outcome.why }, 'CAPTCHA provider unreachable; create refused (onVerifierDown refuse)');
      throw new GesError('GES_CAPTCHA_UNAVAILABLE', 'the CAPTCHA provider could not be reached; retry later');
    }
    const verdict = judgeSiteverify(outcome.answer, settings);
    if (verdict.kind === 'misconfigured') {
      this.#count('misconfigured');
      this.#logger?.error(
        { tenant: tenant.name, why: verdict.why },
        "the CAPTCHA provider refuses the tenant's secret or site key; fix the tenant's captcha settings",
      );
      throw new GesError('GES_CAPTCHA_UNAVAILABLE', "the CAPTCHA check could not be made: the provider refuses this tenant's CAPTCHA setup");
    }
    if (verdict.kind === 'rejected') {
      this.#count('rejected');
      throw new GesError('GES_CAPTCHA_INVALID', `captchaToken was refused: ${verdict.why}`);
    }
    this.#count('accepted');
  }

  async #secret(tenant: Tenant): Promise<string> {
    let secret: string | undefined;
    try {
      secret = await this.#secrets?.get(tenant.id, CAPTCHA_SECRET_NAME);
    } catch (err) {
      // Stored under another key, altered, or no key on this node: the check cannot be made here.
      this.#logger?.error({ tenant: tenant.name, err: (err as Error).name }, "the tenant's CAPTCHA secret does not open on this node");
    }
    if (secret === undefined) {
      this.#count('misconfigured');
      throw new GesError('GES_CAPTCHA_UNAVAILABLE', 'the CAPTCHA check could not be made: the tenant has no usable CAPTCHA secret');
    }
    return secret;
  }

  async #settings(tenantId: number): Promise<CaptchaSettings | undefined> {
    const now = this.#now();
    const hit = this.#cache.get(tenantId);
    if (hit && hit.until > now) return hit.settings;
    const settings = await getTenantCaptcha(this.#pool, tenantId);
    if (this.#cacheMs > 0) this.#cache.set(tenantId, { settings, until: now + this.#cacheMs });
    return settings;
  }

  #reused(): GesError {
    this.#count('reused');
    return new GesError('GES_CAPTCHA_REUSED', 'captchaToken was already used once; solve a new challenge');
  }

  #count(result: CaptchaResult): void {
    try {
      this.#observer?.captchaChecked({ result });
    } catch {
      /* counting never fails a request */
    }
  }
}

/** Tokens are known by digest only: the table can prove a replay without holding anything replayable. */
function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
