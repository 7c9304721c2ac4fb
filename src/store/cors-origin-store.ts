import type { Queryable } from './db.ts';

/** All SQL of the CORS aggregate: the browser origins each tenant allows. */

/** Makes `origins` (normalised) the tenant's whole list, in one statement. */
export async function replaceCorsOrigins(db: Queryable, tenantId: number, origins: string[]): Promise<void> {
  await db.query(
    `WITH gone AS (DELETE FROM cors_origin WHERE tenant_id = $1 AND NOT (origin = ANY ($2::text[])))
     INSERT INTO cors_origin (tenant_id, origin) SELECT $1, o FROM unnest($2::text[]) AS o ON CONFLICT DO NOTHING`,
    [tenantId, origins],
  );
}

export async function listCorsOrigins(db: Queryable, tenantId: number): Promise<string[]> {
  const { rows } = await db.query<{ origin: string }>('SELECT origin FROM cors_origin WHERE tenant_id = $1 ORDER BY origin', [tenantId]);
  return rows.map((r) => r.origin);
}

/** Whether any tenant allows `origin` (a preflight carries no API key). */
export async function anyTenantAllowsOrigin(db: Queryable, origin: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM cors_origin WHERE origin = $1 LIMIT 1', [origin]);
  return rows.length > 0;
}

export async function tenantAllowsOrigin(db: Queryable, tenantId: number, origin: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM cors_origin WHERE tenant_id = $1 AND origin = $2', [tenantId, origin]);
  return rows.length > 0;
}
