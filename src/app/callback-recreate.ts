import type pg from 'pg';
import { GesError } from '../domain/errors.ts';
import { recreateIdempotencyKey } from '../domain/disposition.ts';
import { findTenantById } from '../store/tenant-store.ts';
import { getCallback } from '../store/callback-store.ts';
import { idempotentCallbackId } from '../store/idempotency-key-store.ts';
import type { Recreate, RecreateOutcome, RecreateRequest } from '../engine/callback-engine.ts';
import type { CallbackService } from './callback-service.ts';

/**
 * The recreate of a CALL_BACK_LATER disposition: a new scheduled callback with the original's
 * tenant, service, number and userData at the desired time asked, made by the ordinary create path
 * (calendar, slot capacity, per-number limits) under an Idempotency-Key derived from the original
 * callback. The key is claimed in Postgres, so the same disposition delivered twice, or handled by
 * two nodes at once, makes one callback: the second create replays the first's id.
 */
export function callbackRecreate(pool: pg.Pool, callbacks: CallbackService): Recreate {
  return async (request: RecreateRequest): Promise<RecreateOutcome> => {
    const tenant = await findTenantById(pool, request.tenantId);
    const original = tenant && (await getCallback(pool, tenant.id, request.callbackId));
    if (!tenant || !original) return { refused: 'GES_CALLBACK_NOT_FOUND' };
    const key = recreateIdempotencyKey(original.id);
    try {
      const outcome = await callbacks.create(
        tenant,
        {
          serviceName: original.serviceName,
          phoneNumber: original.phoneNumber,
          desiredTime: request.desiredTime,
          ...(original.userData === null ? {} : { userData: original.userData }),
        },
        key,
      );
      return { created: outcome.id };
    } catch (err) {
      if (!(err instanceof GesError)) throw err; // an outage: the disposition is handled again at its redelivery
      // Another delivery made it with another desired time (the default delay read a moment apart cannot differ, an agent's second choice can).
      if (err.code === 'GES_IDEMPOTENCY_KEY_REUSED') {
        const made = await idempotentCallbackId(pool, tenant.id, key);
        if (made !== undefined) return { created: made };
      }
      return { refused: err.code };
    }
  };
}
