import type pg from 'pg';
import { anyTenantAllowsOrigin, tenantAllowsOrigin } from '../store/cors-origin-store.ts';

/** The questions the HTTP layer asks about browser origins (src/http/cors.ts). */
export interface OriginPolicy {
  /** A preflight carries no API key: is the origin allowed by some tenant? */
  anyTenantAllows(origin: string): Promise<boolean>;
  /** The actual request: does the tenant of its API key allow the origin? */
  tenantAllows(tenantId: number, origin: string): Promise<boolean>;
}

/**
 * Browser origins allowed per tenant, read from PostgreSQL and remembered for `cacheSeconds`
 * (API_KEY_CACHE_SEC: an origin removed from a tenant keeps working on a node at most as long as a
 * revoked key does). Answers, yes or no, are kept per origin, at most `maxEntries` of each kind,
 * so a stream of made-up Origin headers cannot grow memory.
 */
export class CorsOrigins implements OriginPolicy {
  readonly #any = new Map<string, { allowed: boolean; until: number }>();
  readonly #tenant = new Map<string, { allowed: boolean; until: number }>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly cacheSeconds = 0,
    private readonly maxEntries = 10_000,
  ) {}

  anyTenantAllows(origin: string): Promise<boolean> {
    return this.#cached(this.#any, origin, () => anyTenantAllowsOrigin(this.pool, origin));
  }

  tenantAllows(tenantId: number, origin: string): Promise<boolean> {
    return this.#cached(this.#tenant, `${tenantId} ${origin}`, () => tenantAllowsOrigin(this.pool, tenantId, origin));
  }

  async #cached(map: Map<string, { allowed: boolean; until: number }>, key: string, lookup: () => Promise<boolean>): Promise<boolean> {
    if (this.cacheSeconds <= 0) return lookup();
    const now = Date.now();
    const hit = map.get(key);
    if (hit && hit.until > now) return hit.allowed;
    const allowed = await lookup();
    if (map.size >= this.maxEntries) map.clear();
    map.set(key, { allowed, until: now + this.cacheSeconds * 1000 });
    return allowed;
  }
}
