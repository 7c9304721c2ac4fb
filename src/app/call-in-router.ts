import type pg from 'pg';
import type { Logger } from 'pino';
import type { VoiceEvent, VoicePort } from '../voice/voice-port.ts';
import { ACCESS_CODE_LENGTH } from '../domain/call-in/call-in-group.ts';
import { accessCodeFromDigits } from '../domain/call-in/access-code.ts';
import { inboundNumber } from '../domain/call-in/call-in-match.ts';
import { maskPhone } from '../domain/phone-number.ts';
import { matchInboundCall, type MatchedCallInRequest } from '../store/call-in-store.ts';

type InboundCall = Extract<VoiceEvent, { type: 'inbound_call' }>;

/** Told of every inbound call handled; metrics count them. */
export interface InboundCallObserver {
  inboundCallRouted(event: { result: 'matched' | 'unmatched' | 'failed' }): void;
}

export interface CallInRouterOptions {
  /**
   * Take the event's `at` as "now" for expiry instead of the database clock: for simulations that
   * run on virtual time (the simulator's clock is not the database's). Production leaves it off.
   */
  eventTime?: boolean;
  observer?: InboundCallObserver;
}

/**
 * Routes inbound calls of Click-To-Call-In. On every `inbound_call` of the voice platform it
 * matches the call to a waiting request (one statement, src/store/call-in-store.ts) and answers
 * `route_inbound`: to the group's target queue with the request's userData when matched, without a
 * queue (the platform's default treatment) when not. Every call gets exactly one answer, also when
 * the database cannot be reached: a caller must never be left ringing because GES failed.
 *
 * Idempotent: a call delivered twice is matched to the same request (the store remembers the call
 * id) and the command repeats the same dial key `in:<callId>`, which the platform deduplicates.
 */
export class CallInRouter {
  #unsubscribe: (() => void) | undefined;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly voice: VoicePort,
    private readonly logger: Logger,
    private readonly options: CallInRouterOptions = {},
  ) {}

  /** Subscribes to the voice port's events; idempotent. */
  start(): void {
    if (this.#unsubscribe) return;
    this.#unsubscribe = this.voice.onEvent((event) => {
      if (event.type !== 'inbound_call') return;
      // Returned so that a durable adapter acknowledges the event only once it is handled.
      const handled = this.handle(event);
      this.#inFlight.add(handled);
      void handled.finally(() => this.#inFlight.delete(handled));
      return handled;
    });
  }

  /** Unsubscribes, then waits (at most `timeoutMs`) for calls being handled to get their answer. */
  async stop({ timeoutMs = 5000 }: { timeoutMs?: number } = {}): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    });
    await Promise.race([Promise.allSettled([...this.#inFlight]), timeout]);
    clearTimeout(timer);
  }

  /** Matches and routes one inbound call. Never rejects: failures are logged and counted. */
  async handle(call: InboundCall): Promise<void> {
    const log = this.logger.child({ callId: call.callId, tenant: call.tenant });
    let matched: MatchedCallInRequest | undefined;
    let result: 'matched' | 'unmatched' | 'failed' = 'unmatched';
    try {
      matched = await this.#match(call);
      if (matched) result = 'matched';
    } catch (err) {
      result = 'failed';
      log.error({ err }, 'call-in matching failed; the call gets the default treatment');
    }

    if (matched) {
      log.info(
        { callInRequestId: matched.id, group: matched.groupName, queue: matched.targetService, replay: matched.replay },
        'inbound call matched a call-in request',
      );
    } else if (result === 'unmatched') {
      // Masked numbers only, and never the digits keyed: they may be someone else's access code.
      log.info(
        { to: mask(call.toNumber), from: mask(call.fromNumber), digitsKeyed: (call.digits ?? '').length > 0 },
        'inbound call matched no call-in request',
      );
    }
    try {
      this.options.observer?.inboundCallRouted({ result });
    } catch {
      /* counting must never keep a call from its answer */
    }

    try {
      await this.voice.send({
        type: 'route_inbound',
        dialKey: `in:${call.callId}`,
        callId: call.callId,
        tenant: call.tenant,
        ...(matched?.targetService ? { queue: matched.targetService } : {}),
        ...(matched?.userData ? { userData: matched.userData } : {}),
      });
    } catch (err) {
      log.error({ err }, 'route_inbound could not be sent');
    }
  }

  async #match(call: InboundCall): Promise<MatchedCallInRequest | undefined> {
    const toNumber = inboundNumber(call.toNumber);
    if (toNumber === undefined) return undefined;
    const input = {
      tenantName: call.tenant,
      callId: call.callId,
      toNumber,
      fromNumber: inboundNumber(call.fromNumber),
      accessCode: accessCodeFromDigits(call.digits, ACCESS_CODE_LENGTH.max),
      now: this.options.eventTime ? new Date(call.at) : undefined,
    };
    try {
      return await matchInboundCall(this.pool, input);
    } catch (err) {
      // The same call delivered twice at once: the other delivery matched it first; read its match.
      if ((err as { code?: string }).code !== '23505') throw err;
      return matchInboundCall(this.pool, input);
    }
  }
}

function mask(raw: string): string {
  const e164 = inboundNumber(raw);
  return e164 ? maskPhone(e164) : '(unreadable)';
}
