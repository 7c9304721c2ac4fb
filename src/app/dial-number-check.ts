import type pg from 'pg';
import { evaluateNumber, parseNumberRule } from '../domain/numbers/number-rule.ts';
import { findServiceByNames } from '../store/service-store.ts';

/**
 * The number rules as they stand when a call is placed: a number accepted at create may have been
 * blocked since (a rule edited in the console, a number added to the blocked list). A voice adapter
 * that places calls itself (SIP) asks this just before dialing, so no call is ever placed to a
 * number the rules refuse. An unknown service refuses: there is nothing to call on its behalf.
 */
export function dialNumberCheck(pool: pg.Pool): (tenant: string, queue: string, phone: string) => Promise<boolean> {
  return async (tenant, queue, phone) => {
    const service = await findServiceByNames(pool, tenant, queue);
    if (service === undefined) return false;
    if (!service.numberRule) return true;
    return evaluateNumber(parseNumberRule(service.numberRule.definition), phone).allowed;
  };
}
