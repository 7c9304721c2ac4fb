import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GesError } from '../domain/errors.ts';
import { limitsFor, type ApiLimits, type RequestKind } from '../domain/api-limits.ts';
import type { RateLimiter, RateRule } from '../hot/rate-limiter.ts';
import type { EdgeMetrics } from '../metrics/edge-metrics.ts';

export interface RateLimitDeps {
  limiter: RateLimiter;
  /** The tenant's limits (its own where set, else the node defaults); may be cached by the provider. */
  limitsOf(tenantId: number): Promise<ApiLimits>;
  metrics?: EdgeMetrics;
}

const PERIOD_MS = 60_000;
const CREATE_ROUTES = new Set(['/engagement/v3/callbacks/create', '/engagement/v3/call-in/requests/create']);

/** The bucket name of an API key: a digest, so neither Redis nor memory ever holds the key. */
function keyDigest(request: FastifyRequest): string {
  const raw = request.headers['x-api-key'];
  const key = ((Array.isArray(raw) ? raw[0] : raw) ?? '').trim();
  return createHash('sha256').update(key, 'utf8').digest('base64url').slice(0, 22);
}

/**
 * onRequest hook of the Engagement API, after authentication: counts the request against its API
 * key's and its tenant's bucket of its kind and refuses it with 429 GES_RATE_LIMITED and
 * Retry-After (whole seconds) when either is empty. A refused create carries `data.slots` (empty),
 * the shape clients read on the create's other 429s. Refused creates count as the original's
 * CB_TTL_LIMIT_REACHED.
 */
export function rateLimit(deps: RateLimitDeps) {
  return async function limit(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const tenant = request.tenant;
    if (!tenant) return;
    const kind: RequestKind = CREATE_ROUTES.has(request.routeOptions.url ?? '') ? 'create' : 'other';
    const { perKey, perTenant } = limitsFor(await deps.limitsOf(tenant.id), kind);
    const rules: RateRule[] = [];
    const scopes: ('key' | 'tenant')[] = [];
    if (perKey > 0) {
      rules.push({ bucket: `${kind}:k:${keyDigest(request)}`, limit: perKey, periodMs: PERIOD_MS });
      scopes.push('key');
    }
    if (perTenant > 0) {
      rules.push({ bucket: `${kind}:t`, limit: perTenant, periodMs: PERIOD_MS });
      scopes.push('tenant');
    }
    if (rules.length === 0) return;
    const verdict = await deps.limiter.take(tenant.id, rules);
    if (verdict.allowed) return;
    const scope = scopes[verdict.refusedBy ?? 0]!;
    const seconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
    deps.metrics?.rateLimited.inc({ tenant: tenant.name, scope, kind });
    if (kind === 'create') deps.metrics?.ttlLimitReached.inc({ exported_tenant: tenant.name });
    request.log.info({ scope, kind, retryAfterSec: seconds }, 'rate limited');
    reply.header('retry-after', String(seconds));
    const limitValue = scope === 'key' ? perKey : perTenant;
    throw new GesError(
      'GES_RATE_LIMITED',
      `${scope === 'key' ? 'this API key' : 'this tenant'} reached its limit of ${limitValue} ${kind === 'create' ? 'creates' : 'requests'} per minute; retry after ${seconds} s`,
      kind === 'create' ? { slots: {} } : undefined,
    );
  };
}
