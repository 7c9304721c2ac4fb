import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { GesError } from '../../domain/errors.ts';
import { field, needs, userOf, type ConsoleContext } from '../console-context.ts';
import { rerenderRefused } from '../rerender-refused.ts';
import { readCookie, serializeCookie } from '../cookies.ts';
import { PUBLIC } from '../permissions.ts';
import { isSessionId, newCsrfToken, newSessionId } from '../session-store.ts';

export const SESSION_COOKIE = 'ges_console';
/** The sign-in form's own CSRF token, before any session exists (against login CSRF). */
const LOGIN_COOKIE = 'ges_console_login';
/** Remembers the tenant name typed last, to fill it in next time. Not a secret. */
const TENANT_COOKIE = 'ges_console_tenant';
const HOME = '/ges/callbacks';
const publicRoute = { config: { action: PUBLIC } } as const;

/** Only a path inside the console: never another site, never the sign-in page itself. */
export function safeNext(next: string): string {
  if (next.length > 2000 || !next.startsWith('/ges/') || next.startsWith('/ges/login') || /[\\\s]|\/\//.test(next)) return HOME;
  return next;
}

function sameToken(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return a.length > 0 && b.length > 0 && timingSafeEqual(ha, hb);
}

/** A password is taken exactly as typed (no trimming), up to a sane length. */
function password(body: unknown, name: string): string {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v.slice(0, 300) : '';
}

/** Sign-in, sign-out and the user's own preferences. */
export function sessionRoutes(ctx: ConsoleContext): FastifyPluginAsync {
  return async (app) => {
    async function loginPage(
      request: FastifyRequest,
      reply: FastifyReply,
      o: { status?: number; error?: string; info?: string; code?: string; tenant?: string; login?: string; next?: string },
    ) {
      const token = newCsrfToken();
      reply.header('set-cookie', serializeCookie(LOGIN_COOKIE, token, { path: '/ges/login', secure: ctx.secure(request) }));
      if (o.code) reply.header('x-ges-error-code', o.code);
      const q = request.query as Record<string, string | undefined>;
      return reply.code(o.status ?? 200).view('login', {
        title: 'Sign in',
        token,
        tenant: o.tenant ?? readCookie(request.headers.cookie, TENANT_COOKIE) ?? field(q, 'tenant', 63),
        login: o.login ?? '',
        next: safeNext(o.next ?? field(q, 'next', 2000)),
        error: o.error ?? '',
        info: o.info ?? '',
        idleMinutes: Math.round(ctx.idleMs / 60_000),
      });
    }

    app.get('/', needs('session.use'), async (_request, reply) => reply.redirect(HOME, 303));

    app.get('/login', publicRoute, async (request, reply) => {
      const q = request.query as Record<string, string | undefined>;
      const current = readCookie(request.headers.cookie, SESSION_COOKIE);
      if (current && isSessionId(current) && (await ctx.sessions.get(current))) return reply.redirect(safeNext(field(q, 'next', 2000)), 303);
      const info = q.ended
        ? `Your session has ended: you signed out elsewhere or were inactive for more than ${Math.round(ctx.idleMs / 60_000)} minutes. Sign in again.`
        : q.signedOut
          ? 'You have signed out.'
          : '';
      return loginPage(request, reply, { info });
    });

    app.post('/login', publicRoute, async (request, reply) => {
      const body = request.body;
      const tenant = field(body, 'tenant', 63);
      const login = field(body, 'login', 64);
      const next = field(body, 'next', 2000);
      const expected = readCookie(request.headers.cookie, LOGIN_COOKIE) ?? '';
      if (!sameToken(field(body, '_csrf', 200), expected)) {
        return loginPage(request, reply, {
          status: 403,
          code: 'GES_CONSOLE_CSRF_INVALID',
          error: 'The sign-in form had expired. Please sign in again.',
          tenant,
          login,
          next,
        });
      }
      const key = ctx.throttle.keyOf(tenant, login, request.ip);
      const wait = await ctx.throttle.retryAfter(key);
      if (wait > 0) {
        reply.header('retry-after', String(Math.ceil(wait / 1000)));
        return loginPage(request, reply, {
          status: 429,
          code: 'GES_CONSOLE_SIGN_IN_THROTTLED',
          error: `Too many failed sign-ins. Try again in ${Math.ceil(wait / 1000)} seconds.`,
          tenant,
          login,
          next,
        });
      }
      const user = tenant && login ? await ctx.users.signIn(tenant, login, password(body, 'password')) : undefined;
      if (!user) {
        await ctx.throttle.failed(key);
        request.log.info({ tenant }, 'console sign-in failed');
        return loginPage(request, reply, {
          status: 401,
          code: 'GES_CONSOLE_SIGN_IN_FAILED',
          error: 'Sign-in failed: check the tenant, login and password.',
          tenant,
          login,
          next,
        });
      }
      await ctx.throttle.succeeded(key);
      // A fresh id at every sign-in: a session id planted before sign-in is worth nothing after it.
      const previous = readCookie(request.headers.cookie, SESSION_COOKIE);
      if (previous && isSessionId(previous)) await ctx.sessions.destroy(previous);
      const id = newSessionId(user.tenantId);
      await ctx.sessions.set(id, { userId: user.id, tenantId: user.tenantId, role: user.role, csrf: newCsrfToken() }, ctx.idleMs);
      const secure = ctx.secure(request);
      reply.header('set-cookie', [
        serializeCookie(SESSION_COOKIE, id, { path: '/ges', secure }),
        serializeCookie(LOGIN_COOKIE, '', { path: '/ges/login', secure, maxAge: 0 }),
        serializeCookie(TENANT_COOKIE, user.tenantName, { path: '/ges/login', secure, maxAge: 365 * 86_400 }),
      ]);
      request.log.info({ tenant: user.tenantName, userId: user.id }, 'console sign-in');
      return reply.redirect(safeNext(next), 303);
    });

    app.post('/logout', needs('session.change'), async (request, reply) => {
      await ctx.sessions.destroy(request.consoleSession!.id);
      reply.header('set-cookie', serializeCookie(SESSION_COOKIE, '', { path: '/ges', secure: ctx.secure(request), maxAge: 0 }));
      return reply.redirect('/ges/login?signedOut=1', 303);
    });

    app.get('/preferences', needs('session.use'), async (request, reply) => {
      const q = request.query as Record<string, string | undefined>;
      return ctx.page(request, reply, 'preferences', { title: 'Preferences', section: 'preferences', notice: q.saved ? 'Saved.' : '', error: '' });
    });

    app.post('/preferences', needs('session.change'), async (request, reply) => {
      await ctx.users.setPreferences(userOf(request), { showUtc: field(request.body, 'zone') === 'utc', clock24h: field(request.body, 'clock') !== '12' });
      return reply.redirect('/ges/preferences?saved=1', 303);
    });

    app.post('/preferences/password', needs('session.change'), async (request, reply) => {
      const next = password(request.body, 'newPassword');
      try {
        if (next !== password(request.body, 'confirmPassword')) throw new GesError('GES_VALIDATION', 'the new password and its confirmation differ');
        await ctx.users.changeOwnPassword(userOf(request), password(request.body, 'currentPassword'), next);
      } catch (err) {
        return rerenderRefused(reply, err, (refusal) =>
          ctx.page(request, reply, 'preferences', { title: 'Preferences', section: 'preferences', error: refusal.message }, refusal.http),
        );
      }
      return ctx.page(request, reply, 'preferences', { title: 'Preferences', section: 'preferences', notice: 'Your password has been changed.', error: '' });
    });
  };
}
