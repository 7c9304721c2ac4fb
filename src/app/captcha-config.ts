import type pg from 'pg';
import type { Tenant } from '../domain/tenant.ts';
import { CAPTCHA_SECRET_NAME, type CaptchaSettings } from '../domain/captcha/captcha-settings.ts';
import { getTenantCaptcha } from '../store/captcha-store.ts';
import { listSecretNames } from '../store/tenant-secret-store.ts';

/** What the console shows of a tenant's CAPTCHA: the settings, and whether a secret is set (never the secret). */
export interface CaptchaView {
  settings: CaptchaSettings;
  secretSetAt: Date | undefined;
}

/**
 * The console's read of a tenant's CAPTCHA provider. Read-only: the secret is entered through the
 * configuration file or the admin API, which seal it, so it never passes through a browser form.
 */
export class CaptchaConfig {
  constructor(private readonly pool: pg.Pool) {}

  async view(tenant: Tenant): Promise<CaptchaView | undefined> {
    const [settings, names] = await Promise.all([getTenantCaptcha(this.pool, tenant.id), listSecretNames(this.pool, tenant.id)]);
    if (!settings) return undefined;
    return { settings, secretSetAt: names.find((n) => n.name === CAPTCHA_SECRET_NAME)?.updatedAt };
  }
}
