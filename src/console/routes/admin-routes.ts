import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { GesError } from '../../domain/errors.ts';
import { field, needs, tenantOf, userOf, type ConsoleContext } from '../console-context.ts';
import { rerenderRefused } from '../rerender-refused.ts';
import { ROLE_LABELS, ACTIONS } from '../permissions.ts';
import { ROLES, parseRole } from '../../domain/roles.ts';

/** API keys, console users and the Developer page (failed API requests by correlation id). */
export function adminRoutes(ctx: ConsoleContext): FastifyPluginAsync {
  return async (app) => {
    // ---- API keys
    async function keysPage(
      request: FastifyRequest,
      reply: FastifyReply,
      extra: { createdKey?: string; error?: string; notice?: string; status?: number } = {},
    ) {
      const keys = await ctx.config.apiKeys(tenantOf(request));
      return ctx.page(
        request,
        reply,
        'api-keys',
        {
          title: 'API keys',
          section: 'apikeys',
          keys,
          createdKey: extra.createdKey ?? '',
          error: extra.error ?? '',
          notice: extra.notice ?? '',
          cacheSeconds: ctx.apiKeyCacheSeconds,
        },
        extra.status,
      );
    }

    app.get('/api-keys', needs('apikeys.view'), async (request, reply) => keysPage(request, reply));

    app.post('/api-keys', needs('apikeys.manage'), async (request, reply) => {
      const key = await ctx.config.createApiKey(tenantOf(request));
      request.log.info({ tenant: userOf(request).tenantName, prefix: key.slice(0, 10) }, 'API key created in the console');
      return keysPage(request, reply, { createdKey: key });
    });

    app.post('/api-keys/revoke', needs('apikeys.manage'), async (request, reply) => {
      const prefix = field(request.body, 'prefix', 64);
      try {
        await ctx.config.revokeApiKey(tenantOf(request), prefix);
      } catch (err) {
        return rerenderRefused(reply, err, (refusal) => keysPage(request, reply, { error: refusal.message, status: refusal.http }));
      }
      request.log.info({ tenant: userOf(request).tenantName, prefix }, 'API key revoked in the console');
      return keysPage(request, reply, { notice: `Key ${prefix}… revoked.` });
    });

    // ---- users (administrators only)
    async function usersPage(
      request: FastifyRequest,
      reply: FastifyReply,
      extra: { created?: { login: string; password: string }; error?: string; notice?: string; status?: number } = {},
    ) {
      const users = await ctx.users.list(tenantOf(request).id);
      return ctx.page(
        request,
        reply,
        'users',
        {
          title: 'Users',
          section: 'users',
          users,
          roles: ROLES,
          roleLabels: ROLE_LABELS,
          actions: ACTIONS,
          created: extra.created,
          error: extra.error ?? '',
          notice: extra.notice ?? '',
          me: userOf(request).login,
        },
        extra.status,
      );
    }

    app.get('/users', needs('users.view'), async (request, reply) => usersPage(request, reply));

    async function attempt(
      request: FastifyRequest,
      reply: FastifyReply,
      fn: () => Promise<{ created?: { login: string; password: string }; notice?: string }>,
    ) {
      try {
        return usersPage(request, reply, await fn());
      } catch (err) {
        return rerenderRefused(reply, err, (refusal) => usersPage(request, reply, { error: refusal.message, status: refusal.http }));
      }
    }

    app.post('/users', needs('users.manage'), async (request, reply) =>
      attempt(request, reply, async () => {
        const login = field(request.body, 'login', 64);
        const role = parseRole(field(request.body, 'role', 20));
        if (!role) throw new GesError('GES_VALIDATION', 'choose a role');
        const { password } = await ctx.users.create(tenantOf(request), login, role);
        request.log.info({ tenant: userOf(request).tenantName, role }, 'console user created');
        return { created: { login, password } };
      }),
    );

    app.post('/users/update', needs('users.manage'), async (request, reply) =>
      attempt(request, reply, async () => {
        const login = field(request.body, 'login', 64);
        const roleText = field(request.body, 'role', 20);
        const state = field(request.body, 'state', 10);
        const role = roleText ? parseRole(roleText) : undefined;
        if (roleText && !role) throw new GesError('GES_VALIDATION', 'unknown role');
        if (login === userOf(request).login && (state === 'disabled' || (role && role !== userOf(request).role))) {
          throw new GesError('GES_VALIDATION', 'you cannot disable yourself or change your own role; ask another administrator');
        }
        await ctx.users.update(tenantOf(request).id, login, { ...(role ? { role } : {}), ...(state ? { disabled: state === 'disabled' } : {}) });
        request.log.info({ tenant: userOf(request).tenantName, role, state }, 'console user updated');
        return { notice: `User ${login} updated.` };
      }),
    );

    app.post('/users/reset-password', needs('users.manage'), async (request, reply) =>
      attempt(request, reply, async () => {
        const login = field(request.body, 'login', 64);
        const password = await ctx.users.resetPassword(tenantOf(request).id, login);
        request.log.info({ tenant: userOf(request).tenantName }, 'console user password reset');
        return { created: { login, password }, notice: `New password for ${login}.` };
      }),
    );

    // ---- Developer: failed API requests
    app.get('/developer', needs('developer.view'), async (request, reply) => {
      const corrId = field(request.query, 'corrId', 64);
      const tenant = tenantOf(request);
      const [found, recent, redis] = await Promise.all([
        corrId ? ctx.failed.find(tenant.id, corrId) : Promise.resolve([]),
        ctx.failed.recent(tenant.id, 50),
        ctx.redisUp
          ? ctx.redisUp().then(
              (up) => (up ? 'UP' : 'DOWN'),
              () => 'DOWN',
            )
          : Promise.resolve('not used'),
      ]);
      return ctx.page(request, reply, 'developer', { title: 'Developer', section: 'developer', corrId, found, recent, searched: corrId !== '', redis });
    });
  };
}
