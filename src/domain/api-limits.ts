import { Type, type Static } from 'typebox';

/**
 * A tenant's API rate limits, in requests per minute (0: no limit). "create" requests are
 * callbacks/create and call-in/requests/create; "other" are every other Engagement API request.
 * Each request counts against its API key's bucket and its tenant's bucket of its kind.
 */
export interface ApiLimits {
  createPerKey: number;
  createPerTenant: number;
  otherPerKey: number;
  otherPerTenant: number;
}

export type RequestKind = 'create' | 'other';

const perMinute = (what: string) =>
  Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, description: `${what} per minute; 0: no limit; absent: the node default` }));

/** The `apiLimits` item of a tenant's configuration document: absent fields take the node defaults. */
export const ApiLimitsDoc = Type.Object(
  {
    createPerKey: perMinute('Creates one API key may send'),
    createPerTenant: perMinute('Creates all keys of the tenant may send'),
    otherPerKey: perMinute('Other requests one API key may send'),
    otherPerTenant: perMinute('Other requests all keys of the tenant may send'),
  },
  { additionalProperties: false },
);
export type ApiLimitsDoc = Static<typeof ApiLimitsDoc>;

/** The tenant's limits: its own where it set them, the node defaults elsewhere. */
export function resolveApiLimits(defaults: ApiLimits, own: ApiLimitsDoc | undefined): ApiLimits {
  return {
    createPerKey: own?.createPerKey ?? defaults.createPerKey,
    createPerTenant: own?.createPerTenant ?? defaults.createPerTenant,
    otherPerKey: own?.otherPerKey ?? defaults.otherPerKey,
    otherPerTenant: own?.otherPerTenant ?? defaults.otherPerTenant,
  };
}

/** The per-key and per-tenant limits that apply to one request of `kind`. */
export function limitsFor(limits: ApiLimits, kind: RequestKind): { perKey: number; perTenant: number } {
  return kind === 'create'
    ? { perKey: limits.createPerKey, perTenant: limits.createPerTenant }
    : { perKey: limits.otherPerKey, perTenant: limits.otherPerTenant };
}
