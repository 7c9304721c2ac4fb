import type { Queryable } from '../store/db.ts';
import { deleteSecret, getSealedSecret, listSecretNames, putSealedSecret } from '../store/tenant-secret-store.ts';
import { GesError } from '../domain/errors.ts';
import type { SecretBox } from './secret-box.ts';

/** Names of tenant secrets: lower-case words, as the table's check allows. */
export const SECRET_NAME = /^[a-z][a-z0-9_.-]{0,62}$/;
/** A Firebase service-account JSON is about 2.3 KB; anything near this bound is not a credential. */
export const MAX_SECRET_CHARS = 16384;
/** How long a node reuses a secret it opened: a create checked against a CAPTCHA provider costs no query for its secret. */
const CACHE_MS = 30_000;

/**
 * Secrets a tenant entrusts to GES for outside services, stored sealed in PostgreSQL (SecretBox)
 * and opened only in memory, when a provider is called. Without a node key (TENANT_SECRET_KEY)
 * nothing can be stored, and a feature that needs a secret fails closed.
 */
export class TenantSecrets {
  readonly #db: Queryable;
  readonly #box: SecretBox | undefined;
  readonly #cache = new Map<string, { value: string | undefined; until: number }>();
  readonly #now: () => number;

  constructor(db: Queryable, box: SecretBox | undefined, now: () => number = Date.now) {
    this.#db = db;
    this.#box = box;
    this.#now = now;
  }

  /** Whether this node can store and open secrets. */
  get available(): boolean {
    return this.#box !== undefined;
  }

  async put(tenantId: number, name: string, value: string): Promise<void> {
    checkName(name);
    if (value.length === 0 || value.length > MAX_SECRET_CHARS) throw new GesError('GES_VALIDATION', `secret ${name}: 1 to ${MAX_SECRET_CHARS} characters`);
    if (!this.#box) throw new GesError('GES_SECRET_STORAGE_OFF', `secret ${name} cannot be stored: this deployment has no TENANT_SECRET_KEY`);
    await putSealedSecret(this.#db, tenantId, name, this.#box.seal(value, contextOf(tenantId, name)));
    this.#cache.delete(cacheKey(tenantId, name));
  }

  /**
   * The clear value, or undefined when the tenant has none. Throws SecretOpenError when it is stored
   * but does not open here (another key, or altered): callers treat that as a provider they cannot use.
   */
  async get(tenantId: number, name: string): Promise<string | undefined> {
    checkName(name);
    const key = cacheKey(tenantId, name);
    const now = this.#now();
    const hit = this.#cache.get(key);
    if (hit && hit.until > now) return hit.value;
    const sealed = await getSealedSecret(this.#db, tenantId, name);
    let value: string | undefined;
    if (sealed) {
      if (!this.#box) throw new GesError('GES_SECRET_STORAGE_OFF', `secret ${name} is stored, but this node has no TENANT_SECRET_KEY to open it`);
      value = this.#box.open(sealed, contextOf(tenantId, name));
    }
    this.#cache.set(key, { value, until: now + CACHE_MS });
    return value;
  }

  async remove(tenantId: number, name: string): Promise<boolean> {
    checkName(name);
    this.#cache.delete(cacheKey(tenantId, name));
    return deleteSecret(this.#db, tenantId, name);
  }

  /** Which secrets the tenant has set, and when; never the values. */
  names(tenantId: number): Promise<{ name: string; updatedAt: Date }[]> {
    return listSecretNames(this.#db, tenantId);
  }
}

function checkName(name: string): void {
  if (!SECRET_NAME.test(name)) throw new GesError('GES_VALIDATION', 'secret name: a lower-case word of at most 63 characters');
}

function cacheKey(tenantId: number, name: string): string {
  return `${tenantId}\0${name}`;
}

/** The authenticated data of a sealed value: it opens only as this tenant's secret of this name. */
function contextOf(tenantId: number, name: string): string {
  return `tenant_secret:${tenantId}:${name}`;
}
