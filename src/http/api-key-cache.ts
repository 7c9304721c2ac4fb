import { createHash } from 'node:crypto';
import type { Tenant } from '../domain/tenant.ts';

/**
 * Remembers, for a few seconds, which tenant a valid API key belongs to, so a busy client does not
 * cost a database round trip per request. Only hits are kept (a new key works at once); a revoked
 * key keeps working on a node for at most `ttlMs` (API_KEY_CACHE_SEC, 0 turns this off). Keys are
 * held as their SHA-256, never in clear.
 */
export class ApiKeyCache {
  readonly #entries = new Map<string, { tenant: Tenant; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  async resolve(key: string, lookup: (key: string) => Promise<Tenant | undefined>): Promise<Tenant | undefined> {
    if (this.ttlMs <= 0) return lookup(key);
    const id = createHash('sha256').update(key).digest('base64');
    const now = Date.now();
    const hit = this.#entries.get(id);
    if (hit && hit.until > now) return hit.tenant;
    const tenant = await lookup(key);
    if (tenant) {
      if (this.#entries.size >= this.maxEntries) this.#entries.clear();
      this.#entries.set(id, { tenant, until: now + this.ttlMs });
    } else {
      this.#entries.delete(id);
    }
    return tenant;
  }
}
