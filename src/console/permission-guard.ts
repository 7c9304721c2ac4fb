import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { GesError } from '../domain/errors.ts';
import type { ConsoleContext } from './console-context.ts';
import { readCookie } from './cookies.ts';
import { ACTIONS, PUBLIC, ROLE_LABELS, can, isAction } from './permissions.ts';
import { SESSION_COOKIE } from './routes/session-routes.ts';
import { isSessionId } from './session-store.ts';
import { TimeFormat } from './time-format.ts';

/**
 * Refuses to register a console route that names no action (the static files are public), and a
 * POST route whose action changes nothing (it would then skip the CSRF check's reason to exist).
 */
export function requireRouteActions(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const config = (route.config ?? {}) as { action?: string };
    if (config.action === undefined && route.url.startsWith('/ges/static/')) {
      route.config = { ...config, action: PUBLIC };
      return;
    }
    if (config.action === PUBLIC) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!config.action || !isAction(config.action)) throw new Error(`console route ${methods.join(',')} ${route.url} names no action`);
    if (methods.some((m) => m === 'POST') && !ACTIONS[config.action].changes) {
      throw new Error(`console route POST ${route.url} needs an action that changes state (and so a CSRF token)`);
    }
  });
}

/**
 * The guard: session, user, CSRF, permission — for every route, by the action it names. It also
 * sets the request's user, session and time format for the route and the page layout.
 */
export function guardRoutes(app: FastifyInstance, ctx: ConsoleContext, zoneOf: (tenantId: number, tenantName: string) => Promise<string>): void {
  app.addHook('preHandler', async (request) => {
    const action = request.routeOptions.config.action;
    // No action: the not-found handler (onRoute gives every real route one).
    if (action === PUBLIC || !action || !isAction(action)) return;
    const id = readCookie(request.headers.cookie, SESSION_COOKIE);
    const data = id && isSessionId(id) ? await ctx.sessions.get(id) : undefined;
    if (!id || !data)
      throw new GesError(
        'GES_CONSOLE_SIGN_IN_REQUIRED',
        id ? 'your session has ended (signed out, or idle too long); sign in again' : 'sign in to use the console',
      );
    const user = await ctx.users.active(data.tenantId, data.userId);
    if (!user) {
      await ctx.sessions.destroy(id);
      throw new GesError('GES_CONSOLE_SIGN_IN_REQUIRED', 'your account is no longer enabled; sign in again');
    }
    request.consoleSession = { id, data };
    request.consoleUser = user;
    request.consoleTime = new TimeFormat(user.showUtc ? 'UTC' : await zoneOf(user.tenantId, user.tenantName), user.clock24h);
    // The monitor's own refreshes are not activity: a console left open on the queues page still ends.
    if (request.headers['x-ges-poll'] !== '1') await ctx.sessions.touch(id, ctx.idleMs);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      const header = request.headers['x-csrf-token'];
      const sent = (typeof header === 'string' ? header : '') || formToken(request.body);
      if (!csrfMatches(sent, data.csrf))
        throw new GesError(
          'GES_CONSOLE_CSRF_INVALID',
          'this form is not from your current console session (missing or wrong CSRF token); reload the page and try again',
        );
    }
    if (!can(user.role, action)) {
      throw new GesError('GES_CONSOLE_FORBIDDEN', `your role (${ROLE_LABELS[user.role]}) does not allow this: ${ACTIONS[action].what.toLowerCase()}`);
    }
  });
}

function csrfMatches(sent: string, expected: string): boolean {
  const a = createHash('sha256').update(sent).digest();
  const b = createHash('sha256').update(expected).digest();
  return sent.length > 0 && timingSafeEqual(a, b);
}

function formToken(body: unknown): string {
  const v = (body as Record<string, unknown> | undefined)?._csrf;
  const s: unknown = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' ? s : '';
}
