import type { FastifyReply, FastifyRequest } from 'fastify';
import { GesError } from '../domain/errors.ts';
import type { Tenant } from '../domain/tenant.ts';
import { ApiKeyCache } from './api-key-cache.ts';

declare module 'fastify' {
  interface FastifyRequest {
    tenant: Tenant;
  }
}

/** Finds the tenant of an API key (its hash, looked up by index); undefined for an unknown or revoked key. */
export type TenantForApiKey = (key: string) => Promise<Tenant | undefined>;

/**
 * onRequest hook of the Engagement API: the tenant comes from X-API-Key alone. A request naming a
 * contact center by header (ccid / ContactCenterID) is refused, as the GES deployment guide asks of
 * its ingress: knowing a CCID must never be enough to act for that tenant.
 */
export function apiKeyAuth(tenantForApiKey: TenantForApiKey, cacheSeconds = 0) {
  const cache = new ApiKeyCache(cacheSeconds * 1000);
  return async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    for (const header of ['ccid', 'contactcenterid']) {
      const value = request.headers[header];
      if (value !== undefined && String(value).trim() !== '') {
        throw new GesError(
          'GES_CCID_HEADER_REFUSED',
          `the ${header === 'ccid' ? 'ccid' : 'ContactCenterID'} header must be empty: the tenant is identified by X-API-Key`,
        );
      }
    }
    const raw = request.headers['x-api-key'];
    const key = Array.isArray(raw) ? raw[0] : raw;
    if (!key || key.trim() === '') throw new GesError('GES_API_KEY_MISSING', 'X-API-Key header is required');
    if (key.length > 512) throw new GesError('GES_API_KEY_INVALID', 'X-API-Key is not valid');
    const tenant = await cache.resolve(key.trim(), tenantForApiKey);
    if (!tenant) throw new GesError('GES_API_KEY_INVALID', 'X-API-Key is not valid');
    request.tenant = tenant;
  };
}
