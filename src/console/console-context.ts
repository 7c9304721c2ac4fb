import type { CorsConfig } from '../app/cors-config.ts';
import type { CaptchaConfig } from '../app/captcha-config.ts';
import type { NumberRuleConfig } from '../app/number-rule-config.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CallbackService } from '../app/callback-service.ts';
import type { AvailabilityService } from '../app/availability-service.ts';
import type { ConsoleUserService } from '../app/console-users.ts';
import type { CallbackList } from '../app/callback-list.ts';
import type { ConsoleConfig } from '../app/console-config.ts';
import type { FailedRequestLog } from '../app/failed-request-log.ts';
import { GesError } from '../domain/errors.ts';
import type { ConsoleUser } from '../app/console-users.ts';
import type { Tenant } from '../domain/tenant.ts';
import type { LoginThrottle } from './login-throttle.ts';
import type { Action, RouteAction } from './permissions.ts';
import type { QueueMonitorSource } from '../app/queue-monitor-source.ts';
import type { SessionData, SessionStore } from './session-store.ts';
import type { TimeFormat } from './time-format.ts';

declare module 'fastify' {
  interface FastifyRequest {
    consoleUser?: ConsoleUser;
    consoleSession?: { id: string; data: SessionData };
    consoleTime?: TimeFormat;
  }
  interface FastifyContextConfig {
    /** The permission a console route needs (src/console/permissions.ts), or 'public'. */
    action?: RouteAction;
  }
}

export type Section = 'callbacks' | 'queues' | 'config' | 'apikeys' | 'developer' | 'users' | 'preferences' | 'none';

/** Everything the console's route modules share. */
export interface ConsoleContext {
  callbacks: CallbackService;
  availability: AvailabilityService;
  users: ConsoleUserService;
  list: CallbackList;
  config: ConsoleConfig;
  cors: CorsConfig;
  numberRules: NumberRuleConfig;
  /** The tenant's CAPTCHA provider (read-only); undefined: not shown. */
  captcha: CaptchaConfig | undefined;
  monitor: QueueMonitorSource;
  failed: FailedRequestLog;
  /** Redis health for the Developer page; undefined on a node without Redis. */
  redisUp: (() => Promise<boolean>) | undefined;
  sessions: SessionStore;
  throttle: LoginThrottle;
  idleMs: number;
  apiKeyCacheSeconds: number;
  now(): number;
  /** Whether the session cookie gets the Secure attribute for this request. */
  secure(request: FastifyRequest): boolean;
  /** Renders `template` inside the console layout for the signed-in user. */
  page(request: FastifyRequest, reply: FastifyReply, template: string, data: Record<string, unknown>, status?: number): Promise<FastifyReply>;
}

/** The signed-in user of a guarded route (the guard has run). */
export function userOf(request: FastifyRequest): ConsoleUser {
  const user = request.consoleUser;
  if (!user) throw new GesError('GES_CONSOLE_SIGN_IN_REQUIRED', 'sign in to use the console');
  return user;
}

export function tenantOf(request: FastifyRequest): Tenant {
  const user = userOf(request);
  return { id: user.tenantId, name: user.tenantName };
}

export function timeOf(request: FastifyRequest): TimeFormat {
  const t = request.consoleTime;
  if (!t) throw new Error('console time format is set by the guard');
  return t;
}

type Fields = Record<string, unknown>;

/** A single text field of a parsed form or query (the first, if repeated), trimmed. */
export function field(body: unknown, name: string, max = 1000): string {
  const v = (body as Fields | undefined)?.[name];
  const s: unknown = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' ? s.trim().slice(0, max) : '';
}

/** Every value of a repeated field. */
export function fields(body: unknown, name: string, max = 1000): string[] {
  const v = (body as Fields | undefined)?.[name];
  const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return list.filter((s): s is string => typeof s === 'string').map((s) => s.trim().slice(0, max));
}

/** Route options of a console route: the action it needs. */
export function needs(action: Action) {
  return { config: { action } };
}
