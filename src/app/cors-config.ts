import type pg from 'pg';
import { applyTenantConfig } from './tenant-config.ts';
import { listCorsOrigins } from '../store/cors-origin-store.ts';
import type { Tenant } from '../store/tenant-store.ts';

/** The console's read and edit of a tenant's browser origins (CORS), through applyTenantConfig like a file. */
export class CorsConfig {
  constructor(private readonly pool: pg.Pool) {}

  origins(tenant: Tenant): Promise<string[]> {
    return listCorsOrigins(this.pool, tenant.id);
  }

  /** Replaces the whole list (normalised; an empty list allows no browser page). */
  async save(tenant: Tenant, origins: string[]): Promise<void> {
    await applyTenantConfig(this.pool, { tenant: tenant.name, cors: { allowedOrigins: origins } });
  }
}
