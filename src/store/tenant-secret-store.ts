import type { Queryable } from './db.ts';

/** All SQL of tenants' sealed secrets (table tenant_secret). Values arrive and leave sealed: this module never sees a clear secret. */

export async function getSealedSecret(db: Queryable, tenantId: number, name: string): Promise<Buffer | undefined> {
  const { rows } = await db.query<{ sealed: Buffer }>('SELECT sealed FROM tenant_secret WHERE tenant_id = $1 AND name = $2', [tenantId, name]);
  return rows[0]?.sealed;
}

export async function putSealedSecret(db: Queryable, tenantId: number, name: string, sealed: Buffer): Promise<void> {
  await db.query(
    `INSERT INTO tenant_secret (tenant_id, name, sealed) VALUES ($1, $2, $3)
     ON CONFLICT (tenant_id, name) DO UPDATE SET sealed = EXCLUDED.sealed, updated_at = now()`,
    [tenantId, name, sealed],
  );
}

/** True when a secret was there to delete. */
export async function deleteSecret(db: Queryable, tenantId: number, name: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM tenant_secret WHERE tenant_id = $1 AND name = $2', [tenantId, name]);
  return (rowCount ?? 0) > 0;
}

/** Names and last change of a tenant's secrets, never their values (the console shows "set on ..."). */
export async function listSecretNames(db: Queryable, tenantId: number): Promise<{ name: string; updatedAt: Date }[]> {
  const { rows } = await db.query<{ name: string; updated_at: Date }>('SELECT name, updated_at FROM tenant_secret WHERE tenant_id = $1 ORDER BY name', [
    tenantId,
  ]);
  return rows.map((r) => ({ name: r.name, updatedAt: r.updated_at }));
}
