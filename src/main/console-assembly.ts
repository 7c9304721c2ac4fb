import type pg from 'pg';
import type { CallbackService } from '../app/callback-service.ts';
import type { AvailabilityService } from '../app/availability-service.ts';
import { ConsoleUserService } from '../app/console-users.ts';
import { CallbackList } from '../app/callback-list.ts';
import { ConsoleConfig } from '../app/console-config.ts';
import { CorsConfig } from '../app/cors-config.ts';
import { CaptchaConfig } from '../app/captcha-config.ts';
import { NumberRuleConfig } from '../app/number-rule-config.ts';
import { FailedRequestLog } from '../app/failed-request-log.ts';
import { DatabaseQueueMonitorSource } from '../app/database-queue-monitor-source.ts';
import type { QueueMonitorSource } from '../app/queue-monitor-source.ts';
import type { ConsoleServices } from '../console/console-plugin.ts';
import type { LoginThrottleOptions } from '../console/login-throttle.ts';
import type { AttemptCounter, SessionStore } from '../console/session-store.ts';

/** The console's parts as a node (or a test) has them: a pool, the shared use cases, settings. */
export interface ConsoleOptions {
  pool: pg.Pool;
  callbacks: CallbackService;
  availability: AvailabilityService;
  /** Server-side sessions: MemorySessionStore on a single node, RedisSessionStore on several. */
  sessions: SessionStore;
  /** Failed sign-in counters; default in memory (per node). */
  loginAttempts?: AttemptCounter;
  loginThrottle?: LoginThrottleOptions;
  /** Live queue figures; default: DatabaseQueueMonitorSource without engine figures (counts and opening times only). */
  queueMonitor?: QueueMonitorSource;
  /** Where the Developer page reads failed API requests (the API app records them). */
  failedRequests?: FailedRequestLog;
  /** Idle timeout of a session (CONSOLE_SESSION_IDLE_MIN). */
  sessionIdleMs: number;
  /** CONSOLE_SECURE_COOKIE. */
  secureCookie: 'auto' | 'true' | 'false';
  /** API_KEY_CACHE_SEC, to tell how long a revoked key may still work. */
  apiKeyCacheSeconds?: number;
  /** The clock of sessions and the login throttle (tests move it forward). */
  now?: () => number;
  /** Whether the node's Redis answers, within a bounded time; absent on a node without Redis. */
  redisUp?: () => Promise<boolean>;
}

/**
 * Builds the console's use cases on the pool, so the console itself holds no pool and imports
 * no store: users, the callback list, configuration, the failed-request log and the queue monitor.
 */
export function assembleConsole(o: ConsoleOptions): ConsoleServices {
  const { pool, queueMonitor, failedRequests, ...settings } = o;
  return {
    ...settings,
    users: new ConsoleUserService(pool),
    list: new CallbackList(pool),
    config: new ConsoleConfig(pool),
    cors: new CorsConfig(pool),
    numberRules: new NumberRuleConfig(pool),
    captcha: new CaptchaConfig(pool),
    queueMonitor: queueMonitor ?? new DatabaseQueueMonitorSource(pool, { now: o.now ?? Date.now }),
    failedRequests: failedRequests ?? new FailedRequestLog(pool),
  };
}
