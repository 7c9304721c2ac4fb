import type { FastifyInstance } from 'fastify';

/**
 * No inline script or style anywhere (htmx is told not to add its indicator styles); SVG charts
 * use presentation attributes and classes. Forms may only post back to the console.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

/**
 * The headers of every console answer: the CSP above, no framing, no MIME sniffing, no referrer
 * outside the site; pages (not the versioned static files) are never cached, as they show a
 * signed-in user's data.
 */
export function addSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('content-security-policy', CSP);
    reply.header('x-frame-options', 'DENY');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'same-origin');
    if (!request.url.startsWith('/ges/static/')) reply.header('cache-control', 'no-store');
    return payload;
  });
}
