import type { Queryable } from './db.ts';
import type { ServiceOptions } from '../domain/service-options.ts';

/** All SQL of the callback-service aggregate (one row per virtual queue of a tenant). */

export interface ServiceRow {
  id: number;
  tenantId: number;
  name: string;
  options: unknown; // validated by parseServiceOptions where it is used
}

const COLUMNS = 'id, tenant_id AS "tenantId", name, options';

/** Creates the service, or replaces its options when it exists (idempotent for config files). */
export async function upsertService(db: Queryable, tenantId: number, name: string, options: ServiceOptions): Promise<ServiceRow> {
  const { rows } = await db.query<ServiceRow>(
    `INSERT INTO callback_service (tenant_id, name, options) VALUES ($1, $2, $3)
     ON CONFLICT (tenant_id, name) DO UPDATE SET options = EXCLUDED.options, updated_at = now()
     RETURNING ${COLUMNS}`,
    [tenantId, name, JSON.stringify(options)],
  );
  return rows[0]!;
}

export async function findService(db: Queryable, tenantId: number, name: string): Promise<ServiceRow | undefined> {
  const { rows } = await db.query<ServiceRow>(`SELECT ${COLUMNS} FROM callback_service WHERE tenant_id = $1 AND name = $2`, [tenantId, name]);
  return rows[0];
}

export async function listServices(db: Queryable, tenantId: number): Promise<ServiceRow[]> {
  const { rows } = await db.query<ServiceRow>(`SELECT ${COLUMNS} FROM callback_service WHERE tenant_id = $1 ORDER BY name`, [tenantId]);
  return rows;
}
