import type { FastifyInstance, FastifyServerOptions } from 'fastify';

/**
 * How long a client may take to send a request, and how many connections a node holds
 * (src/config/edge-settings.ts documents each). Node's own defaults let a client that trickles
 * one byte every few seconds hold a connection for as long as it likes; these bound it.
 */
export interface EdgeLimits {
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** 0: no bound. */
  maxConnections: number;
}

export const DEFAULT_EDGE_LIMITS: EdgeLimits = Object.freeze({
  requestTimeoutMs: 10_000,
  headersTimeoutMs: 5_000,
  keepAliveTimeoutMs: 72_000,
  maxConnections: 4096,
});

/**
 * The fastify/Node server options that enforce the limits. Node checks the request and headers
 * deadlines every `connectionsCheckingInterval` (30 s by default, which would let a trickling client
 * stay up to 30 s past its deadline), so the interval is a fraction of the shorter deadline.
 * An expired request reaches the clientError handler (src/http/raw-answers.ts) as
 * ERR_HTTP_REQUEST_TIMEOUT, which answers 408 in the envelope and closes the connection.
 */
export function edgeServerOptions(
  limits: EdgeLimits,
): Pick<FastifyServerOptions, 'requestTimeout' | 'keepAliveTimeout'> & { http: { headersTimeout: number; connectionsCheckingInterval: number } } {
  const headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  return {
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: { headersTimeout, connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headersTimeout / 4))) },
  };
}

/** Bounds the open connections of the app's server (net.Server drops connections beyond it at once). */
export function boundConnections(app: FastifyInstance, limits: EdgeLimits): void {
  if (limits.maxConnections > 0) app.server.maxConnections = limits.maxConnections;
}
