import * as store from '../store/disposition-store.ts';
import type { EngineRow } from '../store/engine-transition-store.ts';
import { dialKeyOf, type VoiceEvent } from '../voice/voice-port.ts';
import { DISPOSITION_GRACE_SEC, DISPOSITION_STORED, dispositionDetail, recreateDesiredTime, recreatedFromDetail } from '../domain/disposition.ts';
import type { EngineContext } from './engine-context.ts';
import type { EngineService } from './service-directory.ts';
import { parseDialKey } from './dial-key.ts';

/** What a CALL_BACK_LATER asks of the create path: a new scheduled callback like the original, at `desiredTime`. */
export interface RecreateRequest {
  tenantId: number;
  callbackId: string;
  /** ISO 8601: the agent's choice, or the service's default delay after the dialog was shown. */
  desiredTime: string;
}

/**
 * The new callback (`created`: also when a redelivery found it made already), or why the create
 * path refused it (`refused`: an error code such as GES_SLOT_FULL; a refusal is recorded, not retried).
 */
export type RecreateOutcome = { created: string } | { refused: string };

/** The create path behind a recreate (src/app/callback-recreate.ts); it must be idempotent per original callback. */
export type Recreate = (request: RecreateRequest) => Promise<RecreateOutcome>;

type DispositionEvent = Extract<VoiceEvent, { type: 'disposition' }>;

/**
 * The disposition of served callbacks (docs/ENGINE.md, "Disposition"). It comes after the callback
 * is COMPLETED, so it has its own fence (callback.disposition, disposition-store.ts) instead of
 * the attempt's: the dialog is asked for once, and the first outcome, the agent's or TIMEOUT, is
 * recorded once, whatever the redeliveries and however many nodes hear the event.
 */
export class DispositionHandler {
  readonly #ctx: EngineContext;
  #recreate: Recreate | undefined;

  constructor(ctx: EngineContext) {
    this.#ctx = ctx;
  }

  /** Connects the create path (set once at start-up, like the callback service's engine). */
  attachRecreate(recreate: Recreate): void {
    this.#recreate = recreate;
  }

  /** A callback was served (the call_ended that completed it AGENT_CONNECTED): with the dialog on, the platform shows it. */
  async served(row: EngineRow, service: EngineService): Promise<void> {
    if (!service.options.enableDispositionDialog) return;
    const ctx = this.#ctx;
    const timeoutSec = service.options.agentDispositionTimeoutSec;
    if (!(await store.requestDisposition(ctx.db, row.id, timeoutSec, ctx.clock.sqlNow()))) return;
    await ctx.send({ type: 'disposition_request', dialKey: dialKeyOf(row.id, row.attempt), timeoutSec });
  }

  async onEvent(event: DispositionEvent): Promise<void> {
    const ctx = this.#ctx;
    try {
      const parsed = parseDialKey(event.dialKey);
      if (!parsed) return;
      const target = await store.dispositionTarget(ctx.db, parsed.id);
      // Never asked, asked for another attempt, or recorded already (a redelivery, or after TIMEOUT): nothing to do.
      if (!target || target.attempt !== parsed.attempt || target.stored !== DISPOSITION_STORED.REQUESTED) return;
      const service = await ctx.services.byId(target.serviceId);
      if (!service) return;
      let recreated: string | undefined;
      let refused: string | undefined;
      if (event.code === 'CALL_BACK_LATER') {
        if (!this.#recreate) throw new Error('no create path attached to the engine: the disposition is left for redelivery');
        const desiredTime = recreateDesiredTime(event.desiredTime, target.requestedAt.getTime(), service.options.callBackLaterDelaySec);
        const outcome = await this.#recreate({ tenantId: target.tenantId, callbackId: target.id, desiredTime });
        if ('created' in outcome) recreated = outcome.created;
        else refused = outcome.refused;
      }
      const detail = dispositionDetail(event.code, {
        agentId: event.agentId,
        ...(event.note === undefined ? {} : { note: event.note }),
        ...(recreated === undefined ? {} : { recreatedAs: recreated }),
        ...(refused === undefined ? {} : { recreateRefused: refused }),
      });
      const recorded = await store.recordDisposition(
        ctx.db,
        {
          id: target.id,
          stored: DISPOSITION_STORED[event.code],
          detail,
          ...(recreated === undefined ? {} : { recreated: { id: recreated, detail: recreatedFromDetail(target.id) } }),
        },
        ctx.clock.sqlNow(),
      );
      if (recorded) ctx.observer.disposition?.({ tenant: target.tenantName, service: target.serviceName, code: event.code });
    } catch (err) {
      ctx.logger.error({ err, event: event.type }, 'disposition handling failed');
      throw err;
    }
  }

  /** Dialogs with no outcome by their timeout (and a grace for one on its way) are recorded TIMEOUT. */
  async sweep(): Promise<void> {
    const ctx = this.#ctx;
    for (;;) {
      const timedOut = await store.timeOutDispositions(ctx.db, dispositionDetail('TIMEOUT'), DISPOSITION_GRACE_SEC, ctx.clock.sqlNow());
      for (const t of timedOut) ctx.observer.disposition?.({ tenant: t.tenantName, service: t.serviceName, code: 'TIMEOUT' });
      if (timedOut.length < 1000) return;
    }
  }
}
