import type { Queryable } from './db.ts';
import type { ApiLimitsDoc } from '../domain/api-limits.ts';

/** All SQL of a tenant's own API rate limits (table tenant_api_limits). */

export async function getTenantApiLimits(db: Queryable, tenantId: number): Promise<ApiLimitsDoc | undefined> {
  const { rows } = await db.query<{ limits: ApiLimitsDoc }>('SELECT limits FROM tenant_api_limits WHERE tenant_id = $1', [tenantId]);
  return rows[0]?.limits;
}

/** Sets the tenant's limits (the whole item, replacing the previous one); null: back to the node defaults. */
export async function setTenantApiLimits(db: Queryable, tenantId: number, limits: ApiLimitsDoc | null): Promise<void> {
  if (limits === null) {
    await db.query('DELETE FROM tenant_api_limits WHERE tenant_id = $1', [tenantId]);
    return;
  }
  await db.query(
    `INSERT INTO tenant_api_limits (tenant_id, limits) VALUES ($1, $2)
     ON CONFLICT (tenant_id) DO UPDATE SET limits = EXCLUDED.limits, updated_at = now()`,
    [tenantId, JSON.stringify(limits)],
  );
}
