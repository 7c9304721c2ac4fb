import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/config.ts';
import { newSecretKey, parseSecretKey, SecretBox } from '../app/secret-box.ts';

/** The embedded default's generated key, next to its database (both must be backed up together). */
export const EMBEDDED_KEY_FILE = 'tenant-secret.key';

/**
 * The SecretBox of this node: TENANT_SECRET_KEY (and TENANT_SECRET_KEY_PREVIOUS during a
 * rotation) when set. The embedded default, which has no operator to set it, generates a key once
 * and keeps it in its data folder (mode 0600). Any other node without a key gets none: tenant
 * secrets cannot be stored there, and features that need one fail closed.
 */
export function secretBoxFor(config: Pick<Config, 'TENANT_SECRET_KEY' | 'TENANT_SECRET_KEY_PREVIOUS' | 'DATA_DIR'>, embedded: boolean): SecretBox | undefined {
  const previous = config.TENANT_SECRET_KEY_PREVIOUS ? [mustParse(config.TENANT_SECRET_KEY_PREVIOUS, 'TENANT_SECRET_KEY_PREVIOUS')] : [];
  if (config.TENANT_SECRET_KEY) return new SecretBox(mustParse(config.TENANT_SECRET_KEY, 'TENANT_SECRET_KEY'), previous);
  if (!embedded) return undefined;
  const file = join(config.DATA_DIR, EMBEDDED_KEY_FILE);
  if (!existsSync(file)) {
    mkdirSync(config.DATA_DIR, { recursive: true });
    // 'wx': two processes starting on one data folder cannot both write a key.
    try {
      writeFileSync(file, `${newSecretKey()}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return new SecretBox(mustParse(readFileSync(file, 'utf8'), file), previous);
}

function mustParse(text: string, where: string): Buffer {
  const key = parseSecretKey(text);
  // The value itself never appears in the message.
  if (!key) throw new Error(`${where}: not a 32-byte key (64 hex digits or base64)`);
  return key;
}
