import { createHmac } from 'node:crypto';
import type pg from 'pg';
import { GesError } from '../domain/errors.ts';
import { normalizePhone } from '../domain/phone-number.ts';
import { eraseNumber, findCallbacks, listEvents, type CallbackEvent, type CallbackRecord } from '../store/callback-store.ts';
import { findTenantByName, type Tenant } from '../store/tenant-store.ts';

/**
 * Data-protection requests about one phone number of one tenant: export everything GES holds about
 * it, or erase it. Callbacks are also dropped by the 14-day retention; these act at once.
 */

export interface NumberExport {
  tenant: string;
  phoneNumber: string;
  exportedAt: string;
  callbacks: (CallbackRecord & { history: CallbackEvent[] })[];
}

async function tenantNamed(pool: pg.Pool, name: string): Promise<Tenant> {
  const tenant = await findTenantByName(pool, name);
  if (!tenant) throw new GesError('GES_VALIDATION', `no tenant named ${name}`);
  return tenant;
}

function e164(phone: string, defaultCountry: string): string {
  return normalizePhone(phone, { defaultCountry, disallowImpossibleNumbers: false, disallowPremiumNumbers: false });
}

/** Every callback of the number (any state, any service) with its full history and userData. */
export async function exportNumber(pool: pg.Pool, tenantName: string, phone: string, defaultCountry = 'US'): Promise<NumberExport> {
  const tenant = await tenantNamed(pool, tenantName);
  const number = e164(phone, defaultCountry);
  const callbacks: NumberExport['callbacks'] = [];
  let after: { desiredTime: Date; id: string } | undefined;
  for (;;) {
    const page = await findCallbacks(pool, tenant.id, { phone: number, after, limit: 250 });
    for (const c of page) callbacks.push({ ...c, history: await listEvents(pool, tenant.id, c.id) });
    const last = page.at(-1);
    if (page.length < 250 || !last) break;
    after = { desiredTime: last.desiredTime, id: last.id };
  }
  return { tenant: tenant.name, phoneNumber: number, exportedAt: new Date().toISOString(), callbacks };
}

/**
 * The audit trail's name for a number: an HMAC keyed by the tenant, so the same number gives the
 * same tag within a tenant (erasures can be matched to a later request) but the tag reveals nothing.
 */
export function subjectHash(tenant: Tenant, e164Number: string): string {
  return createHmac('sha256', `ges-audit:${tenant.id}:${tenant.name}`).update(e164Number).digest('base64url');
}

/** Erases the number's callbacks, history and userData; the audit event keeps only its hash. */
export async function forgetNumber(pool: pg.Pool, tenantName: string, phone: string, actor: string, defaultCountry = 'US'): Promise<{ erased: number; subject: string }> {
  const tenant = await tenantNamed(pool, tenantName);
  const number = e164(phone, defaultCountry);
  const subject = subjectHash(tenant, number);
  const erased = await eraseNumber(pool, tenant.id, number, subject, actor);
  return { erased, subject };
}
