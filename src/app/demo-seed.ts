import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { withTransaction } from '../store/db.ts';
import { addApiKey, createTenant, findTenantByName, generateApiKey } from '../store/tenant-store.ts';
import { upsertService } from '../store/service-store.ts';
import { parseServiceOptions } from '../domain/service-options.ts';
import { consoleUserByLogin } from '../store/console-user-store.ts';
import { ConsoleUserService } from './console-users.ts';

export const DEMO_TENANT = 'demo';
export const DEMO_SERVICE = 'demo-callbacks';
/** The demo tenant's console administrator. */
export const DEMO_CONSOLE_LOGIN = 'admin';

export interface DemoCredentials {
  tenant: string;
  service: string;
  apiKey: string | undefined; // undefined when it was created elsewhere and not kept here
  consoleLogin?: string;
  consolePassword?: string; // undefined when the user was created elsewhere and not kept here
}

/**
 * First start of a trial install: a demo tenant, one service, an API key and a console
 * administrator (login `admin`, generated password, hashed like any other). The key is stored
 * hashed like any other; for convenience its clear text is also kept in the data folder (mode
 * 0600) so every start can print it again. Only the embedded mode does this by default.
 */
export async function ensureDemoTenant(pool: pg.Pool, dataDir: string): Promise<DemoCredentials> {
  const file = join(dataDir, 'demo-credentials.json');
  const existing = await findTenantByName(pool, DEMO_TENANT);
  if (existing) {
    const saved = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as DemoCredentials) : undefined;
    const creds: DemoCredentials = {
      tenant: DEMO_TENANT,
      service: DEMO_SERVICE,
      apiKey: saved?.apiKey,
      consoleLogin: DEMO_CONSOLE_LOGIN,
      consolePassword: saved?.consolePassword,
    };
    // A data folder from before the console: add its administrator once, and keep the password.
    if (!(await consoleUserByLogin(pool, existing.id, DEMO_CONSOLE_LOGIN))) {
      creds.consolePassword = (await new ConsoleUserService(pool).create(existing, DEMO_CONSOLE_LOGIN, 'ADMINISTRATOR')).password;
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(file, JSON.stringify(creds, null, 2), { mode: 0o600 });
    }
    return creds;
  }
  const apiKey = generateApiKey();
  await withTransaction(pool, async (tx) => {
    const tenant = await createTenant(tx, DEMO_TENANT);
    await upsertService(tx, tenant.id, DEMO_SERVICE, parseServiceOptions({ defaultCountry: 'US' }));
    await addApiKey(tx, tenant.id, apiKey);
  });
  const tenant = await findTenantByName(pool, DEMO_TENANT);
  const { password: consolePassword } = await new ConsoleUserService(pool).create(tenant!, DEMO_CONSOLE_LOGIN, 'ADMINISTRATOR');
  mkdirSync(dataDir, { recursive: true });
  const creds: DemoCredentials = { tenant: DEMO_TENANT, service: DEMO_SERVICE, apiKey, consoleLogin: DEMO_CONSOLE_LOGIN, consolePassword };
  writeFileSync(file, JSON.stringify(creds, null, 2), { mode: 0o600 });
  return creds;
}
