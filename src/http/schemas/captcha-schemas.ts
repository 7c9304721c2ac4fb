import { Type } from 'typebox';
import { Envelope } from '../envelope.ts';

/** POST /captcha/verify, as Genesys' client 9.0.18-19 sends it (CaptchaApi, VerifyCaptchaParms) and reads it (VerifyCaptchaRequest). */
export const VerifyCaptchaBody = Type.Object({
  siteKey: Type.String({ minLength: 1, maxLength: 255, description: 'The public site key of the CAPTCHA widget' }),
  captchaToken: Type.String({ minLength: 1, maxLength: 4096, description: "The response token of the user's solved challenge" }),
});

export const VerifyCaptchaResponse = Envelope(
  Type.Object({ success: Type.Boolean({ description: 'Whether the token is good; a good one may then be sent once with create' }) }),
);
