import { Type } from 'typebox';

/**
 * Settings of the API edge: how long a client may take to send a request, how many connections a
 * node holds, and the node-wide defaults of the per-key and per-tenant rate limits (a tenant's
 * configuration document may override the limits: `apiLimits`, docs/API.md "Limits"). Kept apart
 * from config.ts so the edge's knobs read as one group; ConfigSchema spreads them in.
 */
export const EDGE_SETTINGS = {
  HTTP_REQUEST_TIMEOUT_MS: Type.Integer({
    minimum: 1000,
    maximum: 600000,
    default: 10000,
    description:
      'A request (headers and body) must have fully arrived this many ms after it began, or the node answers 408 in the GES envelope and closes the connection (slow-body and slowloris clients)',
  }),
  HTTP_HEADERS_TIMEOUT_MS: Type.Integer({
    minimum: 1000,
    maximum: 600000,
    default: 5000,
    description: 'The request line and headers must have arrived within this many ms (capped at HTTP_REQUEST_TIMEOUT_MS), or 408 and the connection is closed',
  }),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: Type.Integer({
    minimum: 1000,
    maximum: 600000,
    default: 72000,
    description: "An idle keep-alive connection is closed after this many ms (keep it above the load balancer's idle timeout, 60 s on most)",
  }),
  HTTP_MAX_CONNECTIONS: Type.Integer({
    minimum: 0,
    maximum: 1000000,
    default: 4096,
    description: 'Open connections one node accepts on the API port; further ones are closed at once (0: no bound)',
  }),
  RATE_LIMIT_CREATE_PER_KEY: Type.Integer({
    minimum: 0,
    maximum: 1000000,
    default: 600,
    description:
      "Creates (callbacks/create, call-in/requests/create) one API key may send per minute, as a burst of this size refilled evenly; beyond: 429 GES_RATE_LIMITED with Retry-After (0: no limit). A tenant's apiLimits.createPerKey overrides it",
  }),
  RATE_LIMIT_CREATE_PER_TENANT: Type.Integer({
    minimum: 0,
    maximum: 1000000,
    default: 3000,
    description: 'Creates all keys of one tenant may send per minute, across all nodes (0: no limit); apiLimits.createPerTenant overrides it',
  }),
  RATE_LIMIT_OTHER_PER_KEY: Type.Integer({
    minimum: 0,
    maximum: 1000000,
    default: 6000,
    description:
      'Other Engagement API requests (retrieve, availability, statistics ...) one API key may send per minute (0: no limit); apiLimits.otherPerKey overrides it',
  }),
  RATE_LIMIT_OTHER_PER_TENANT: Type.Integer({
    minimum: 0,
    maximum: 1000000,
    default: 30000,
    description: 'Other Engagement API requests all keys of one tenant may send per minute (0: no limit); apiLimits.otherPerTenant overrides it',
  }),
};
