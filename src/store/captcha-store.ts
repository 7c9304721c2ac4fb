import type { Queryable } from './db.ts';
import type { CaptchaProvider, CaptchaSettings } from '../domain/captcha/captcha-settings.ts';

/**
 * All SQL of CAPTCHA: a tenant's provider settings (tenant_captcha) and the digests of the tokens
 * GES has accepted (captcha_token). A token is never stored, only its SHA-256.
 */

/** How long an accepted token's digest is kept: far longer than any provider honours a token (minutes). */
const USED_KEPT = "interval '1 day'";
/** How long a token verified by POST /captcha/verify may still be spent by a create (Turnstile's tokens live 300 s). */
const VERIFIED_USABLE = "interval '5 minutes'";

export async function getTenantCaptcha(db: Queryable, tenantId: number): Promise<CaptchaSettings | undefined> {
  const { rows } = await db.query<{
    provider: CaptchaProvider;
    verify_url: string;
    site_key: string | null;
    min_score: number | null;
    on_verifier_down: 'refuse' | 'accept';
  }>('SELECT provider, verify_url, site_key, min_score, on_verifier_down FROM tenant_captcha WHERE tenant_id = $1', [tenantId]);
  const r = rows[0];
  if (!r) return undefined;
  return {
    provider: r.provider,
    verifyUrl: r.verify_url,
    ...(r.site_key !== null ? { siteKey: r.site_key } : {}),
    // real holds 0.7 as 0.699999988; the document gave a decimal with few digits.
    ...(r.min_score !== null ? { minScore: Math.round(r.min_score * 1e6) / 1e6 } : {}),
    onVerifierDown: r.on_verifier_down,
  };
}

/** Sets the tenant's CAPTCHA (the whole item); null removes it. */
export async function setTenantCaptcha(db: Queryable, tenantId: number, s: CaptchaSettings | null): Promise<void> {
  if (s === null) {
    await db.query('DELETE FROM tenant_captcha WHERE tenant_id = $1', [tenantId]);
    return;
  }
  await db.query(
    `INSERT INTO tenant_captcha (tenant_id, provider, verify_url, site_key, min_score, on_verifier_down) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (tenant_id) DO UPDATE SET provider = EXCLUDED.provider, verify_url = EXCLUDED.verify_url, site_key = EXCLUDED.site_key,
       min_score = EXCLUDED.min_score, on_verifier_down = EXCLUDED.on_verifier_down, updated_at = now()`,
    [tenantId, s.provider, s.verifyUrl, s.siteKey ?? null, s.minScore ?? null, s.onVerifierDown],
  );
}

/** What GES already knows of a token: nothing, verified by POST /captcha/verify and still spendable, or spent (or past its use). */
export type TokenState = 'unknown' | 'verified' | 'spent';

export async function tokenState(db: Queryable, tenantId: number, digest: Buffer): Promise<TokenState> {
  const { rows } = await db.query<{ usable: boolean }>(
    `SELECT state = 'verified' AND usable_until > now() AS usable FROM captcha_token WHERE tenant_id = $1 AND digest = $2`,
    [tenantId, digest],
  );
  const r = rows[0];
  return r === undefined ? 'unknown' : r.usable ? 'verified' : 'spent';
}

/**
 * Spends a token for one create, inside the create's transaction: the one statement that decides.
 * A token GES never saw is recorded as used; one verified by POST /captcha/verify and still
 * usable turns used; anything else (used before, verified too long ago) is refused (false). A
 * concurrent create with the same token waits on the row and then finds it used.
 */
export async function spendCaptchaToken(db: Queryable, tenantId: number, digest: Buffer): Promise<boolean> {
  const res = await db.query(
    `INSERT INTO captcha_token (tenant_id, digest, state, usable_until, expires_at) VALUES ($1, $2, 'used', NULL, now() + ${USED_KEPT})
     ON CONFLICT (tenant_id, digest) DO UPDATE SET state = 'used', usable_until = NULL, expires_at = EXCLUDED.expires_at
      WHERE captcha_token.state = 'verified' AND captcha_token.usable_until > now()
     RETURNING 1`,
    [tenantId, digest],
  );
  return res.rowCount === 1;
}

/** Records a token POST /captcha/verify accepted, spendable by one create for a few minutes; false when GES knew it already. */
export async function recordVerifiedToken(db: Queryable, tenantId: number, digest: Buffer): Promise<boolean> {
  const res = await db.query(
    `INSERT INTO captcha_token (tenant_id, digest, state, usable_until, expires_at)
     VALUES ($1, $2, 'verified', now() + ${VERIFIED_USABLE}, now() + ${USED_KEPT})
     ON CONFLICT (tenant_id, digest) DO NOTHING RETURNING 1`,
    [tenantId, digest],
  );
  return res.rowCount === 1;
}

/** Retention: digests past their keeping time. */
export async function purgeCaptchaTokens(db: Queryable): Promise<number> {
  const res = await db.query('DELETE FROM captcha_token WHERE expires_at <= now()');
  return res.rowCount ?? 0;
}
