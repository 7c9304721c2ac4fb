import { Counter, type Registry } from 'prom-client';

/** The results a CAPTCHA check ends with (src/app/captcha-gate.ts CaptchaResult), pre-set so each series exists from the start. */
const RESULTS = ['accepted', 'accepted_unverified', 'rejected', 'reused', 'missing', 'unavailable', 'misconfigured'] as const;
export type CaptchaCheckResult = (typeof RESULTS)[number];

/** CAPTCHA checks of creates and of POST /captcha/verify, by result; no tenant label (a check failing is an abuse signal, not a tenant's figure). */
export function captchaMetrics(registry: Registry) {
  const checks = new Counter({
    name: 'ges_captcha_checks_total',
    help: 'CAPTCHA checks by result (accepted, accepted_unverified, rejected, reused, missing, unavailable, misconfigured)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  for (const result of RESULTS) checks.inc({ result }, 0);
  return {
    captchaChecked: ({ result }: { result: CaptchaCheckResult }): void => {
      checks.inc({ result });
    },
  };
}
