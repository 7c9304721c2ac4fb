import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from './db.ts';
import type { Tenant } from '../domain/tenant.ts';

export type { Tenant };

/** All SQL of the tenant aggregate: tenants and their API keys. */

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** GES recommends UUID-like keys; ours are 32 random bytes, URL-safe, with a recognisable prefix. */
export function generateApiKey(): string {
  return `ges_${randomBytes(32).toString('base64url')}`;
}

export const API_KEY_PREFIX_LENGTH = 10;

export async function createTenant(db: Queryable, name: string): Promise<Tenant> {
  const { rows } = await db.query<Tenant>('INSERT INTO tenant (name) VALUES ($1) RETURNING id, name', [name]);
  return rows[0]!;
}

export async function findTenantByName(db: Queryable, name: string): Promise<Tenant | undefined> {
  const { rows } = await db.query<Tenant>('SELECT id, name FROM tenant WHERE name = $1', [name]);
  return rows[0];
}

export async function addApiKey(db: Queryable, tenantId: number, key: string): Promise<{ prefix: string }> {
  const prefix = key.slice(0, API_KEY_PREFIX_LENGTH);
  await db.query('INSERT INTO api_key (tenant_id, prefix, key_hash) VALUES ($1, $2, $3)', [tenantId, prefix, hashApiKey(key)]);
  return { prefix };
}

/** Revokes the tenant's active keys that start with `prefix`; refuses an ambiguous prefix. */
export async function revokeApiKeys(db: Queryable, tenantId: number, prefix: string): Promise<{ revoked: number; ambiguous: boolean }> {
  const { rows } = await db.query<{ revoked: number; matching: number }>(
    `WITH matching AS (
       SELECT id FROM api_key
        WHERE tenant_id = $1 AND revoked_at IS NULL AND starts_with(prefix, left($2, ${API_KEY_PREFIX_LENGTH}))
          AND length($2) > 0
     ), upd AS (
       UPDATE api_key SET revoked_at = now()
        WHERE id IN (SELECT id FROM matching) AND (SELECT count(*) FROM matching) = 1
        RETURNING id
     )
     SELECT (SELECT count(*) FROM upd)::int AS revoked, (SELECT count(*) FROM matching)::int AS matching`,
    [tenantId, prefix],
  );
  const r = rows[0]!;
  return { revoked: r.revoked, ambiguous: r.matching > 1 };
}

export async function listApiKeys(db: Queryable, tenantId: number): Promise<{ prefix: string; createdAt: Date; revokedAt: Date | null }[]> {
  const { rows } = await db.query<{ prefix: string; createdAt: Date; revokedAt: Date | null }>(
    'SELECT prefix, created_at AS "createdAt", revoked_at AS "revokedAt" FROM api_key WHERE tenant_id = $1 ORDER BY created_at',
    [tenantId],
  );
  return rows;
}

/** The tenant an API key belongs to, if the key is known and not revoked. */
export async function tenantForApiKey(db: Queryable, key: string): Promise<Tenant | undefined> {
  const { rows } = await db.query<Tenant>(
    `SELECT t.id, t.name FROM api_key k JOIN tenant t ON t.id = k.tenant_id
      WHERE k.key_hash = $1 AND k.revoked_at IS NULL`,
    [hashApiKey(key)],
  );
  return rows[0];
}

export async function findTenantById(db: Queryable, id: number): Promise<Tenant | undefined> {
  const { rows } = await db.query<Tenant>('SELECT id, name FROM tenant WHERE id = $1', [id]);
  return rows[0];
}
