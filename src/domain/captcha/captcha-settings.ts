import { Type, type Static } from 'typebox';
import { GesError } from '../errors.ts';

/**
 * A tenant's CAPTCHA provider. reCAPTCHA, hCaptcha and Turnstile all answer the same `siteverify`
 * protocol (a form POST of secret and token, a JSON verdict), so one client serves them all; the
 * provider only names the default endpoint, and `siteverify` is any other endpoint that speaks it.
 */
export const CAPTCHA_PROVIDERS = Object.freeze(['recaptcha', 'hcaptcha', 'turnstile', 'siteverify'] as const);
export type CaptchaProvider = (typeof CAPTCHA_PROVIDERS)[number];

/** Where each provider verifies tokens, as the providers document it. */
export const DEFAULT_VERIFY_URLS: Readonly<Record<Exclude<CaptchaProvider, 'siteverify'>, string>> = Object.freeze({
  recaptcha: 'https://www.google.com/recaptcha/api/siteverify',
  hcaptcha: 'https://api.hcaptcha.com/siteverify',
  turnstile: 'https://challenges.cloudflare.com/turnstile/v0/siteverify',
});

/** The name under which the provider's secret is sealed in the tenant's secrets (src/app/tenant-secrets.ts). */
export const CAPTCHA_SECRET_NAME = 'captcha';

/** The `captcha` item of a tenant configuration document. `secret` is write-only: it is sealed, never exported or shown. */
export const CaptchaDoc = Type.Object(
  {
    provider: Type.Enum([...CAPTCHA_PROVIDERS], { description: 'recaptcha, hcaptcha, turnstile, or siteverify (any endpoint of the same protocol)' }),
    verifyUrl: Type.Optional(
      Type.String({ minLength: 1, maxLength: 2048, description: "The siteverify endpoint; default: the provider's. https, or http to a loopback address" }),
    ),
    siteKey: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'The public site key of the widget; POST /captcha/verify checks it' })),
    secret: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description: "The provider's secret key; write-only (sealed in the tenant's secrets, never exported). Required the first time",
      }),
    ),
    minScore: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1, description: 'Lowest score accepted (reCAPTCHA v3); set: an answer without a score is refused' }),
    ),
    onVerifierDown: Type.Optional(
      Type.Enum(['refuse', 'accept'], {
        description: 'While the provider cannot be reached: refuse (default, 503 GES_CAPTCHA_UNAVAILABLE) or accept the create unverified',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'CAPTCHA on create (docs/API.md "CAPTCHA"); null removes it and its secret; absent: left as is',
  },
);
export type CaptchaDoc = Static<typeof CaptchaDoc>;

/** A tenant's CAPTCHA settings as GES uses them (without the secret). */
export interface CaptchaSettings {
  provider: CaptchaProvider;
  verifyUrl: string;
  siteKey?: string;
  minScore?: number;
  onVerifierDown: 'refuse' | 'accept';
}

/** Checks the document item and fills the defaults. */
export function parseCaptchaSettings(doc: CaptchaDoc): CaptchaSettings {
  const verifyUrl = doc.verifyUrl ?? (doc.provider === 'siteverify' ? undefined : DEFAULT_VERIFY_URLS[doc.provider]);
  if (verifyUrl === undefined) throw new GesError('GES_VALIDATION', 'captcha: provider siteverify needs a verifyUrl');
  return {
    provider: doc.provider,
    verifyUrl: checkVerifyUrl(verifyUrl),
    ...(doc.siteKey !== undefined ? { siteKey: doc.siteKey } : {}),
    ...(doc.minScore !== undefined ? { minScore: doc.minScore } : {}),
    onVerifierDown: doc.onVerifierDown ?? 'refuse',
  };
}

/** The settings in the document's form (the secret left out: it is never read back). */
export function captchaDoc(s: CaptchaSettings): CaptchaDoc {
  return {
    provider: s.provider,
    verifyUrl: s.verifyUrl,
    ...(s.siteKey !== undefined ? { siteKey: s.siteKey } : {}),
    ...(s.minScore !== undefined ? { minScore: s.minScore } : {}),
    onVerifierDown: s.onVerifierDown,
  };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The secret travels in the request body, so the endpoint must be https; plain http is allowed
 * only to this machine (a local fake verifier, a sidecar). No credentials or fragment in the URL.
 */
function checkVerifyUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new GesError('GES_VALIDATION', 'captcha: verifyUrl is not a URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname)))
    throw new GesError('GES_VALIDATION', 'captcha: verifyUrl must be https (http only to a loopback address)');
  if (url.username || url.password || url.hash) throw new GesError('GES_VALIDATION', 'captcha: verifyUrl must not hold credentials or a fragment');
  return url.href;
}

/** Service option `captcha`: whether a create of the service must carry a valid token. */
export type CaptchaMode = 'tenant' | 'required' | 'off';

/**
 * `off` never checks (a token sent is ignored); `required` always does (and fails closed when the
 * tenant has no provider); `tenant`, the default, checks exactly when the tenant has a provider.
 */
export function captchaApplies(mode: CaptchaMode, tenantHasProvider: boolean): boolean {
  return mode === 'required' || (mode === 'tenant' && tenantHasProvider);
}
