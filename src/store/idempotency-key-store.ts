import type { Queryable } from './db.ts';

/**
 * All SQL of the Idempotency-Keys of create requests: a key is claimed inside the create's
 * transaction, completed with the callback it made, replayed for 24 hours, then purged.
 */

export type IdempotencyClaim = { kind: 'fresh' } | { kind: 'replay'; callbackId: string } | { kind: 'conflict' };

/**
 * Claims an Idempotency-Key for this transaction. A concurrent request with the same key waits on
 * the row lock until this transaction ends, then sees the committed result; a key older than 24 h
 * is taken over as if new.
 */
export async function claimIdempotencyKey(db: Queryable, tenantId: number, key: string, requestHash: Buffer): Promise<IdempotencyClaim> {
  const fresh = await db.query(
    `INSERT INTO idempotency_key (tenant_id, key, request_hash) VALUES ($1, $2, $3)
     ON CONFLICT (tenant_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, callback_id = NULL, created_at = now()
      WHERE idempotency_key.created_at <= now() - interval '24 hours'
     RETURNING 1`,
    [tenantId, key, requestHash],
  );
  if (fresh.rowCount === 1) return { kind: 'fresh' };
  return lookupIdempotencyKey(db, tenantId, key, requestHash);
}

/** Read-only look at a live key: replay, conflict, or nothing stored ('fresh'). */
export async function lookupIdempotencyKey(db: Queryable, tenantId: number, key: string, requestHash: Buffer): Promise<IdempotencyClaim> {
  const { rows } = await db.query<{ request_hash: Buffer; callback_id: string | null }>(
    `SELECT request_hash, callback_id FROM idempotency_key
      WHERE tenant_id = $1 AND key = $2 AND created_at > now() - interval '24 hours'`,
    [tenantId, key],
  );
  const row = rows[0];
  if (!row || !row.callback_id) return { kind: 'fresh' };
  return row.request_hash.equals(requestHash) ? { kind: 'replay', callbackId: row.callback_id } : { kind: 'conflict' };
}

export async function completeIdempotencyKey(db: Queryable, tenantId: number, key: string, callbackId: string): Promise<void> {
  await db.query('UPDATE idempotency_key SET callback_id = $3 WHERE tenant_id = $1 AND key = $2', [tenantId, key, callbackId]);
}

export async function purgeIdempotencyKeys(db: Queryable): Promise<number> {
  const res = await db.query(`DELETE FROM idempotency_key WHERE created_at <= now() - interval '24 hours'`);
  return res.rowCount ?? 0;
}

/** The callback a live key made, whatever request made it (a recreate whose second delivery asked otherwise). */
export async function idempotentCallbackId(db: Queryable, tenantId: number, key: string): Promise<string | undefined> {
  const { rows } = await db.query<{ callback_id: string | null }>(
    `SELECT callback_id FROM idempotency_key WHERE tenant_id = $1 AND key = $2 AND created_at > now() - interval '24 hours'`,
    [tenantId, key],
  );
  return rows[0]?.callback_id ?? undefined;
}
