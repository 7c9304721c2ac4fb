import * as store from '../store/engine-transition-store.ts';
import type { EngineRow } from '../store/engine-transition-store.ts';
import { dialKeyOf } from '../voice/voice-port.ts';
import type { EngineContext } from './engine-context.ts';
import type { AttemptDriver } from './attempt-driver.ts';
import type { WatchedPhase } from './watchdog-times.ts';
import type { HeldAgents } from './held-agents.ts';

/** A stalled attempt is re-sent its command this many times, then given up as a platform failure. */
const MAX_STALLS = 3;

/**
 * The watchdog of attempts in flight: when no event moved an attempt on in time, the command of
 * its phase is sent again with the same dial key (the platform never dials a key twice, and
 * answers the repeat with the call's latest event, so an event lost on the way is heard again);
 * after MAX_STALLS the attempt counts as a platform failure.
 */
export class AttemptWatchdog {
  readonly #ctx: EngineContext;
  readonly #driver: AttemptDriver;
  readonly #held: HeldAgents;
  /** Stalls in a row per dial key; an event of the attempt clears its count. */
  readonly #stalls = new Map<string, number>();

  /** A push whose expiry passed unanswered (push-callbacks.ts): not a stall, the customer's silence. */
  readonly #pushExpired: ((row: EngineRow) => Promise<void>) | undefined;

  constructor(ctx: EngineContext, driver: AttemptDriver, held: HeldAgents, pushExpired?: (row: EngineRow) => Promise<void>) {
    this.#ctx = ctx;
    this.#driver = driver;
    this.#held = held;
    this.#pushExpired = pushExpired;
  }

  /** An event of the attempt arrived: it is not stalled. */
  heard(dialKey: string): void {
    this.#stalls.delete(dialKey);
  }

  async stalled(row: EngineRow): Promise<void> {
    const ctx = this.#ctx;
    const key = dialKeyOf(row.id, row.attempt);
    if (row.phase === 'PUSHED') {
      await this.#pushExpired?.(row);
      return;
    }
    if (row.phase === 'TALKING') {
      // Customer and agent were connected, which is what the callback was for: an attempt whose end
      // is never reported (call_ended lost with the Redis that carried it) completes, instead of
      // staying PROCESSING; retrying it would call back a customer who was served.
      const done = await store.completeAttempt(ctx.db, row.id, row.attempt, ['TALKING'], 'AGENT_CONNECTED', 'call end not reported', ctx.clock.sqlNow());
      if (done) {
        // A call still going past the talk watchdog is ended (a platform whose call is already
        // over hangs up nothing): over SIP, GES's own legs would otherwise stay up for ever.
        await ctx.send({ type: 'cancel', dialKey: key });
        await ctx.finished(row, 'AGENT_CONNECTED');
      }
      return;
    }
    if (row.phase === 'DIALING' && ctx.voice.callsLiveInNode === true) {
      // Over SIP a stalled dial means the node that placed the call died (its port loses no events
      // in process) or it rang past the watchdog. Re-sending the dial would make this node's port,
      // which never saw the key, call the customer a second time under the same key while the dead
      // node's INVITE may still ring their phone. The attempt is given up instead, fenced in
      // Postgres, and retried as the policy says (cancel hangs up a call this node does carry).
      this.#stalls.delete(key);
      ctx.logger.warn({ callbackId: row.id, attempt: row.attempt }, 'dial stalled on a platform whose calls live in their node: given up, not re-sent');
      await ctx.send({ type: 'cancel', dialKey: key });
      await this.#driver.failAttempt(row, 'failed', ['DIALING'], 'no news of the call: its node is gone or it rang past the watchdog');
      await this.#held.release(key);
      return;
    }
    const stalls = (this.#stalls.get(key) ?? 0) + 1;
    this.#stalls.set(key, stalls);
    ctx.logger.warn({ callbackId: row.id, attempt: row.attempt, phase: row.phase, stalls }, 'attempt stalled');
    if (stalls > MAX_STALLS) {
      this.#stalls.delete(key);
      await ctx.send({ type: 'cancel', dialKey: key });
      await this.#driver.failAttempt(row, 'failed', [row.phase]);
      await this.#held.release(key);
      return;
    }
    const service = await ctx.services.byId(row.serviceId);
    if (!service) return;
    const extended = await store.extendWatchdog(ctx.db, row.id, row.attempt, row.phase, ctx.watchdogSec(row.phase as WatchedPhase), ctx.clock.sqlNow());
    if (!extended) return;
    await ctx.hot.moveDue(row.tenantId, [{ id: row.id, atMs: extended.dueAt!.getTime() }]);
    // The same context again: a platform that never got the first command places the call as it would have.
    if (row.phase === 'DIALING') await ctx.send(await ctx.calls.dial(row, service));
    else if (row.phase === 'RESERVING' || row.phase === 'AWAITING_AGENT') await ctx.send(await ctx.calls.reserveAgent(row, service));
    // The platform answers a repeat with the outcome once decided, and nothing while the prompt or preview still runs.
    else if (row.phase === 'CONFIRMING') await ctx.send(ctx.calls.confirmCustomer(row, service));
    else if (row.phase === 'PREVIEWING' && row.heldAgent !== null) await ctx.send(ctx.calls.preview(row, row.heldAgent, service));
    // Without agentId the platform bridges the agent it holds for the key; a call already bridged is left as it is.
    else if (row.phase === 'CONNECTING') await ctx.send(await ctx.calls.connect(row, service));
  }
}
