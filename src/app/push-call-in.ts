import type pg from 'pg';
import { GesError } from '../domain/errors.ts';
import type { CallInIssuer } from '../engine/callback-engine.ts';
import { findTenantById } from '../store/tenant-store.ts';
import type { CallInService } from './call-in-service.ts';

/**
 * How a confirmed push callback gets its number to call: a Click-To-Call-In request of the
 * service's pushCallInGroup, from the callback's own number and linked to it (callbackServiceId),
 * so the inbound call is matched as any call-in request's is.
 */
export function pushCallInIssuer(pool: pg.Pool, callIn: CallInService): CallInIssuer {
  return async ({ tenantId, groupName, callbackId, phone }) => {
    const tenant = await findTenantById(pool, tenantId);
    if (!tenant) throw new GesError('GES_INTERNAL', 'tenant of the callback not found');
    const r = await callIn.create(tenant, { groupName, fromPhoneNumber: phone, callbackServiceId: callbackId });
    return { id: r.id, toPhoneNumber: r.toPhoneNumber, accessCode: r.accessCode, expirationTime: r.expirationTime };
  };
}
