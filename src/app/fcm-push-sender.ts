import type { Logger } from 'pino';
import { GesError } from '../domain/errors.ts';
import { fcmMessage, type PushContent } from '../domain/push-message.ts';
import type { PushResult, PushSender } from '../engine/callback-engine.ts';
import { GoogleAccessTokens, parseServiceAccount, TokenError, type ServiceAccount } from './google-access-token.ts';
import type { TenantSecrets } from './tenant-secrets.ts';

/** The tenant secret holding the Firebase service-account JSON (set through tenant config `pushServiceAccount`). */
export const PUSH_SECRET_NAME = 'push.fcm_service_account';
/** Tries per message (the first included) when FCM or the token endpoint is unavailable. */
const TRIES = 3;
/** The longest Retry-After GES honours between tries: a push is about now, not in a minute. */
const MAX_RETRY_AFTER_MS = 5000;
const SEND_TIMEOUT_MS = 10_000;
/** A registration token longer than this is not one (FCM's are about 160 characters). */
const MAX_TOKEN_CHARS = 4096;
/** notification/publish: the FCM message fields of one event, as JSON. */
const MAX_EVENT_CHARS = 8192;

/** Told of every push outcome, and of every retry; metrics count them (ges_push_notifications_sent). */
export interface PushObserver {
  pushSent(e: { tenant: string; result: PushResult | 'retry' }): void;
}

export interface FcmSettings {
  /** FCM_API_URL: the FCM HTTP v1 base URL. */
  apiUrl: string;
  /** FCM_TOKEN_URL: overrides the service account's token_uri; empty: the account's. */
  tokenUrl: string;
  /** First pause between tries (doubled each time); tests shorten it. */
  retryBaseMs?: number;
}

/** What one FCM call gave: its message name, or why not. */
export type FcmOutcome = { ok: true; name: string } | { ok: false; result: Exclude<PushResult, 'sent'>; status?: number; fcmStatus?: string };

/**
 * Firebase Cloud Messaging HTTP v1 for the tenants' pushes: the tenant's service account (sealed
 * in TenantSecrets) gives an OAuth token (google-access-token.ts), each message is POSTed to
 * {FCM_API_URL}/v1/projects/{project_id}/messages:send. Unavailable (network, 429, 5xx) is tried
 * again with backoff; a 401 renews the token once; other 4xx are final. Registration tokens and
 * credentials are never logged.
 */
export class FcmPushSender implements PushSender {
  readonly #tokens: GoogleAccessTokens;

  constructor(
    private readonly secrets: TenantSecrets,
    private readonly settings: FcmSettings,
    private readonly logger: Logger,
    private readonly observer?: PushObserver,
  ) {
    this.#tokens = new GoogleAccessTokens(settings.tokenUrl || undefined);
  }

  async send(tenant: { id: number; name: string }, token: string, content: PushContent): Promise<PushResult> {
    if (token.length === 0 || token.length > MAX_TOKEN_CHARS) {
      this.#count(tenant, 'rejected');
      return 'rejected';
    }
    const outcome = await this.publish(tenant, { message: fcmMessage(token, content, Date.now()) });
    return outcome.ok ? 'sent' : outcome.result;
  }

  /**
   * Sends one FCM v1 request body (`{message, validate_only?}`) for the tenant: the engine's pushes
   * and POST /notification/publish both come here.
   */
  async publish(tenant: { id: number; name: string }, body: { message: unknown; validate_only?: boolean }): Promise<FcmOutcome> {
    const outcome = await this.#publish(tenant, body);
    this.#count(tenant, outcome.ok ? 'sent' : outcome.result);
    return outcome;
  }

  async #publish(tenant: { id: number; name: string }, body: { message: unknown; validate_only?: boolean }): Promise<FcmOutcome> {
    let account: ServiceAccount;
    try {
      const json = await this.secrets.get(tenant.id, PUSH_SECRET_NAME);
      if (json === undefined) return { ok: false, result: 'unconfigured' };
      account = parseServiceAccount(json);
    } catch (err) {
      this.logger.warn({ tenant: tenant.name, err: (err as Error).message }, 'push credentials unusable');
      return { ok: false, result: 'unconfigured' };
    }
    const cacheKey = `${tenant.id}:${account.clientEmail}`;
    const url = `${this.settings.apiUrl.replace(/\/+$/, '')}/v1/projects/${encodeURIComponent(account.projectId)}/messages:send`;
    let renewed = false;
    let last: FcmOutcome = { ok: false, result: 'failed' };
    for (let attempt = 1; attempt <= TRIES; attempt++) {
      let retryAfterMs: number | undefined;
      try {
        const accessToken = await this.#tokens.token(cacheKey, account);
        const res = await fetch(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
        });
        const answer = (await res.json().catch(() => ({}))) as { name?: unknown; error?: { status?: unknown } };
        if (res.ok && typeof answer.name === 'string') return { ok: true, name: answer.name };
        const fcmStatus = typeof answer.error?.status === 'string' ? answer.error.status : undefined;
        if (res.status === 401 && !renewed) {
          // The token was revoked or the account rotated: one fresh token, not counted as a try.
          renewed = true;
          this.#tokens.forget(cacheKey);
          attempt--;
          continue;
        }
        if (res.status !== 429 && res.status < 500) {
          this.logger.warn({ tenant: tenant.name, status: res.status, fcmStatus }, 'FCM refused a push');
          return { ok: false, result: 'rejected', status: res.status, ...(fcmStatus ? { fcmStatus } : {}) };
        }
        last = { ok: false, result: 'failed', status: res.status, ...(fcmStatus ? { fcmStatus } : {}) };
        retryAfterMs = retryAfter(res.headers.get('retry-after'));
      } catch (err) {
        if (err instanceof TokenError && err.kind === 'refused') {
          this.logger.warn({ tenant: tenant.name, err: err.message }, 'push credentials refused by the token endpoint');
          return { ok: false, result: 'unconfigured' };
        }
        last = { ok: false, result: 'failed' };
        this.logger.warn({ tenant: tenant.name, err: (err as Error).message, attempt }, 'FCM unavailable');
      }
      if (attempt < TRIES) {
        this.#count(tenant, 'retry');
        const base = (this.settings.retryBaseMs ?? 250) * 2 ** (attempt - 1);
        await new Promise((resolve) => setTimeout(resolve, Math.min(MAX_RETRY_AFTER_MS, retryAfterMs ?? base * (0.5 + Math.random() / 2))));
      }
    }
    return last;
  }

  #count(tenant: { name: string }, result: PushResult | 'retry'): PushResult | 'retry' {
    try {
      this.observer?.pushSent({ tenant: tenant.name, result });
    } catch {
      /* counting never fails a push */
    }
    return result;
  }
}

function retryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const sec = Number(header);
  return Number.isFinite(sec) && sec >= 0 ? sec * 1000 : undefined;
}

/** The body of POST /notification/publish (engagement-client-js NotificationApi, 9.0.18-19). */
export interface NotificationPublishInput {
  channel: string;
  target: string;
  /** The FCM message fields (notification, data, android, apns, webpush…): an object, or the same as JSON text. */
  event: unknown;
  validate_only?: boolean;
}

/**
 * POST /notification/publish: the older operation that sends an app's own FCM message to one
 * target with the tenant's credentials. The target is put in as the message's token; any
 * token/topic/condition in the event is replaced, so the call reaches only the target it names.
 */
export async function publishNotification(
  sender: FcmPushSender,
  tenant: { id: number; name: string },
  input: NotificationPublishInput,
): Promise<{ name: string }> {
  if (input.channel.toUpperCase() !== 'FCM') throw new GesError('GES_VALIDATION', 'channel: only FCM is supported');
  let event = input.event;
  if (typeof event === 'string') {
    try {
      event = JSON.parse(event);
    } catch {
      throw new GesError('GES_VALIDATION', 'event: not a JSON object (the FCM message fields)');
    }
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event))
    throw new GesError('GES_VALIDATION', 'event: a JSON object (the FCM message fields)');
  const { token: _t, topic: _p, condition: _c, ...fields } = event as Record<string, unknown>;
  // FCM takes at most 4 KB of payload; an event far beyond that is refused here, not sent.
  if (JSON.stringify(fields).length > MAX_EVENT_CHARS) throw new GesError('GES_VALIDATION', `event: at most ${MAX_EVENT_CHARS} characters of JSON`);
  const outcome = await sender.publish(tenant, {
    message: { ...fields, token: input.target },
    ...(input.validate_only === true ? { validate_only: true } : {}),
  });
  if (outcome.ok) return { name: outcome.name };
  if (outcome.result === 'unconfigured') throw new GesError('GES_PUSH_NOT_CONFIGURED', 'the tenant has no usable push credentials (pushServiceAccount)');
  if (outcome.result === 'rejected') throw new GesError('GES_PUSH_REFUSED', `FCM refused the message${outcome.fcmStatus ? ` (${outcome.fcmStatus})` : ''}`);
  throw new GesError('GES_PUSH_UNAVAILABLE', 'FCM did not take the message after retries; try again later');
}
