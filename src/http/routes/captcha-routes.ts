import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Tenant } from '../../domain/tenant.ts';
import { ErrorEnvelope, success } from '../envelope.ts';
import { VerifyCaptchaBody, VerifyCaptchaResponse } from '../schemas/captcha-schemas.ts';

/** What the route needs of the CAPTCHA use case (src/app/captcha-gate.ts). */
export interface CaptchaVerification {
  verify(tenant: Tenant, siteKey: string, token: string): Promise<boolean>;
}

/** POST /engagement/v3/captcha/verify (ges-api.md §1.10; Genesys' CaptchaApi.verifyCaptchaExternal). */
export function captchaRoutes(captcha: CaptchaVerification): FastifyPluginAsync {
  return async (parent) => {
    const app = parent.withTypeProvider<TypeBoxTypeProvider>();
    app.post(
      '/captcha/verify',
      {
        schema: {
          summary: "Check a CAPTCHA token with the tenant's provider",
          description:
            'success true: the token is good and GES keeps it for a create sent within 5 minutes, which then needs no second check. ' +
            'A token is good once: verifying it again, or creating with it twice, is refused.',
          tags: ['captcha'],
          body: VerifyCaptchaBody,
          response: { 200: VerifyCaptchaResponse, 400: ErrorEnvelope, 401: ErrorEnvelope, 500: ErrorEnvelope, 503: ErrorEnvelope },
        },
      },
      async (request) => {
        const ok = await captcha.verify(request.tenant, request.body.siteKey, request.body.captchaToken);
        // Never the token: the outcome is all the log needs.
        request.log.info({ success: ok }, 'captcha verified');
        return success(String(request.id), { success: ok });
      },
    );
  };
}
