import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { withTransaction } from '../store/db.ts';
import { addApiKey, createTenant, findTenantByName, generateApiKey } from '../store/tenant-store.ts';
import { upsertService } from '../store/service-store.ts';
import { parseServiceOptions } from '../domain/service-options.ts';

export const DEMO_TENANT = 'demo';
export const DEMO_SERVICE = 'demo-callbacks';

export interface DemoCredentials {
  tenant: string;
  service: string;
  apiKey: string | undefined; // undefined when it was created elsewhere and not kept here
}

/**
 * First start of a trial install: a demo tenant, one service and an API key. The key is stored
 * hashed like any other; for convenience its clear text is also kept in the data folder (mode
 * 0600) so every start can print it again. Only the embedded mode does this by default.
 */
export async function ensureDemoTenant(pool: pg.Pool, dataDir: string): Promise<DemoCredentials> {
  const file = join(dataDir, 'demo-credentials.json');
  const existing = await findTenantByName(pool, DEMO_TENANT);
  if (existing) {
    const saved = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as DemoCredentials) : undefined;
    return { tenant: DEMO_TENANT, service: DEMO_SERVICE, apiKey: saved?.apiKey };
  }
  const apiKey = generateApiKey();
  await withTransaction(pool, async (tx) => {
    const tenant = await createTenant(tx, DEMO_TENANT);
    await upsertService(tx, tenant.id, DEMO_SERVICE, parseServiceOptions({ defaultCountry: 'US' }));
    await addApiKey(tx, tenant.id, apiKey);
  });
  mkdirSync(dataDir, { recursive: true });
  const creds: DemoCredentials = { tenant: DEMO_TENANT, service: DEMO_SERVICE, apiKey };
  writeFileSync(file, JSON.stringify(creds, null, 2), { mode: 0o600 });
  return creds;
}
