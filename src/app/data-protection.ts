import { createHmac } from 'node:crypto';
import type pg from 'pg';
import { GesError } from '../domain/errors.ts';
import { normalizePhone } from '../domain/phone-number.ts';
import { findCallbacks } from '../store/callback-store.ts';
import { eraseNumber } from '../store/number-erasure-store.ts';
import { listEvents, type CallbackEvent } from '../store/callback-history.ts';
import type { CallbackRecord } from '../domain/callback-record.ts';
import { callInRequestsOfNumber, eraseCallInRequestsOfNumber, type CallInRequestRecord } from '../store/call-in-store.ts';
import { withTransaction } from '../store/db.ts';
import { findTenantByName, type Tenant } from '../store/tenant-store.ts';
import type { HotState } from '../hot/hot-state.ts';

/**
 * Data-protection requests about one phone number of one tenant: export everything GES holds about
 * it, or erase it. Callbacks are also dropped by the 14-day retention; these act at once.
 */

export interface NumberExport {
  tenant: string;
  phoneNumber: string;
  exportedAt: string;
  callbacks: (CallbackRecord & { history: CallbackEvent[] })[];
  /** Click-To-Call-In requests made from the number. */
  callInRequests: CallInRequestRecord[];
}

async function tenantNamed(pool: pg.Pool, name: string): Promise<Tenant> {
  const tenant = await findTenantByName(pool, name);
  if (!tenant) throw new GesError('GES_VALIDATION', `no tenant named ${name}`);
  return tenant;
}

function e164(phone: string, defaultCountry: string): string {
  return normalizePhone(phone, { defaultCountry, disallowImpossibleNumbers: false, disallowPremiumNumbers: false });
}

/** Every callback of the number (any state, any service) with its full history and userData, and its call-in requests. */
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
  const callInRequests = await callInRequestsOfNumber(pool, tenant.id, number);
  return { tenant: tenant.name, phoneNumber: number, exportedAt: new Date().toISOString(), callbacks, callInRequests };
}

/**
 * The audit trail's name for a number: an HMAC keyed by the tenant, so the same number gives the
 * same tag within a tenant (erasures can be matched to a later request) but the tag reveals nothing.
 */
export function subjectHash(tenant: Tenant, e164Number: string): string {
  return createHmac('sha256', `ges-audit:${tenant.id}:${tenant.name}`).update(e164Number).digest('base64url');
}

export interface ForgetResult {
  /** Callbacks erased (with their history, userData and idempotency keys). */
  erased: number;
  /** Click-To-Call-In requests made from the number, erased. */
  callInRequests: number;
  /** Unfinished callbacks taken out of the hot state's due index and queues (0 without a hot state). */
  hotStateEntries: number;
  /** The audit trail's name for the number. */
  subject: string;
}

/**
 * Erases the number's callbacks, history and userData, and its call-in requests, in one
 * transaction with one audit event that keeps only the number's hash. Then, when given the hot
 * state (Redis), takes the erased callbacks that were still unfinished out of the due index and
 * the queues: Redis never holds the number itself, but it must not keep ids of erased callbacks
 * either. (Without it, an engine that meets such an id finds no row and drops it.)
 */
export async function forgetNumber(
  pool: pg.Pool,
  tenantName: string,
  phone: string,
  actor: string,
  defaultCountry = 'US',
  hot?: HotState,
): Promise<ForgetResult> {
  const tenant = await tenantNamed(pool, tenantName);
  const number = e164(phone, defaultCountry);
  const subject = subjectHash(tenant, number);
  const { erased, unfinished, callInRequests } = await withTransaction(pool, async (tx) => {
    const callIn = await eraseCallInRequestsOfNumber(tx, tenant.id, number);
    return { ...(await eraseNumber(tx, tenant.id, number, subject, actor, callIn)), callInRequests: callIn };
  });
  if (hot) for (const c of unfinished) await hot.finish(tenant.id, c.serviceId, c.id);
  return { erased, callInRequests, hotStateEntries: hot ? unfinished.length : 0, subject };
}
