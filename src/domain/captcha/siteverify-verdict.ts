import type { CaptchaSettings } from './captcha-settings.ts';

/** What a siteverify endpoint answered, reduced to the fields GES reads. */
export interface SiteverifyAnswer {
  success: boolean;
  errorCodes: string[];
  score?: number;
  hostname?: string;
  action?: string;
}

/**
 * Reads a provider's JSON answer; undefined when it is not a siteverify answer at all (then the
 * provider counts as unreachable, not the token as bad).
 */
export function readSiteverifyAnswer(json: unknown): SiteverifyAnswer | undefined {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return undefined;
  const o = json as Record<string, unknown>;
  if (typeof o.success !== 'boolean') return undefined;
  const codes = Array.isArray(o['error-codes']) ? o['error-codes'].filter((c): c is string => typeof c === 'string').slice(0, 10) : [];
  return {
    success: o.success,
    errorCodes: codes.map((c) => c.slice(0, 64)),
    ...(typeof o.score === 'number' && Number.isFinite(o.score) ? { score: o.score } : {}),
    ...(typeof o.hostname === 'string' ? { hostname: o.hostname.slice(0, 255) } : {}),
    ...(typeof o.action === 'string' ? { action: o.action.slice(0, 100) } : {}),
  };
}

/**
 * Error codes by which a provider says GES's own side is wrong (secret missing, wrong or not of
 * this site key), as reCAPTCHA, hCaptcha and Turnstile name them. The client's token is not at
 * fault, and accepting it would open the gate on a broken setup, so these are never "accepted".
 */
const SETUP_ERRORS = new Set(['missing-input-secret', 'invalid-input-secret', 'sitekey-secret-mismatch', 'invalid-or-already-seen-sitekey', 'invalid-sitekey']);

export type SiteverifyVerdict = { kind: 'accepted' } | { kind: 'rejected'; why: string } | { kind: 'misconfigured'; why: string };

/** The provider's answer judged by the tenant's settings. */
export function judgeSiteverify(answer: SiteverifyAnswer, settings: Pick<CaptchaSettings, 'minScore'>): SiteverifyVerdict {
  const setup = answer.errorCodes.find((c) => SETUP_ERRORS.has(c));
  if (setup) return { kind: 'misconfigured', why: setup };
  if (!answer.success) return { kind: 'rejected', why: answer.errorCodes.join(', ') || 'the provider refused the token' };
  if (settings.minScore !== undefined) {
    if (answer.score === undefined) return { kind: 'rejected', why: 'the answer has no score and the tenant asks a minimum score' };
    if (answer.score < settings.minScore) return { kind: 'rejected', why: `score ${answer.score} is below ${settings.minScore}` };
  }
  return { kind: 'accepted' };
}
