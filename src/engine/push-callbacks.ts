import * as store from '../store/engine-transition-store.ts';
import * as pushStore from '../store/push-transition-store.ts';
import type { EngineRow } from '../store/engine-transition-store.ts';
import { dialKeyOf } from '../voice/voice-port.ts';
import { GesError } from '../domain/errors.ts';
import { decidePushStep, pushActions, type PushAnswer } from '../domain/engine/push-answer.ts';
import type { PushContent } from '../domain/push-message.ts';
import type { EngineContext } from './engine-context.ts';
import type { EngineService } from './service-directory.ts';
import type { CallInIssuer, GivenCallIn, PushResult, PushSender } from './push-sender.ts';

/** A push that reached no target because FCM was down is tried again this much later (out of the queue meanwhile). */
export const PUSH_FAILED_PAUSE_SEC = 30;

/** What an answer of the app led to (the API shows it). */
export type PushAnswerOutcome = { action: 'DIAL' } | { action: 'CALL_IN'; callIn: GivenCallIn } | { action: 'SNOOZE'; until: Date };

/** What the push flow asks of the other parts of the engine. */
export interface PushHooks {
  /** Due work at `atMs` (a snooze's end): the node's next tick comes no later. */
  wake(atMs: number): void;
  /** A pushed callback left its pacing place (snoozed, expired, completed): the next one may be pushed. */
  dispatch(tenantId: number, serviceId: number): Promise<void>;
}

/**
 * USERORIGINATED callbacks (docs/ENGINE.md, "Push callbacks"). The dispatcher takes them from
 * their queue as their estimated wait falls to the service's threshold and starts a push (an
 * attempt in phase PUSHED, due at the push's expiry); this class sends the push to each of the
 * callback's FCM targets, and carries out the app's answer or the push's expiry by the table of
 * src/domain/engine/push-answer.ts, each as one fenced statement.
 */
export class PushCallbacks {
  readonly #ctx: EngineContext;
  readonly #hooks: PushHooks;
  readonly #sender: PushSender | undefined;
  readonly #callIn: CallInIssuer | undefined;

  constructor(ctx: EngineContext, hooks: PushHooks, sender: PushSender | undefined, callIn: CallInIssuer | undefined) {
    this.#ctx = ctx;
    this.#hooks = hooks;
    this.#sender = sender;
    this.#callIn = callIn;
  }

  /** A push was started (the row is PUSHED): send it, and go on at once when the service does not wait for a confirmation. */
  async pushed(row: EngineRow, service: EngineService): Promise<void> {
    const ctx = this.#ctx;
    const o = service.options;
    const pushes = (await pushStore.pushCount(ctx.db, row.id)) + 1;
    const expiresAt = row.dueAt ?? new Date(ctx.clock.nowMs() + o.pushedCallbackExpiryTimeSec * 1000);
    let callIn: GivenCallIn | undefined;
    if (!o.waitForUserConfirm && o.pushCallInGroup !== '') {
      // The push itself carries the number to call: the request exists before the push says so.
      callIn = await this.#issueCallIn(row, o.pushCallInGroup);
    }
    const content: PushContent = {
      callbackId: row.id,
      serviceName: row.serviceName,
      actions: o.waitForUserConfirm ? pushActions(pushes, o.maxNumberOfUserAvailabilityConfirmationAttempts) : ['CANCEL'],
      push: pushes,
      maxPushes: o.maxNumberOfUserAvailabilityConfirmationAttempts,
      expiresAt,
      ...(callIn ? { callIn } : {}),
    };
    const results = await this.#sendAll(row, content);
    const sent = results.filter((r) => r === 'sent').length;
    if (sent === 0) {
      await this.#undelivered(row, results);
      return;
    }
    await pushStore.recordPushOutcome(ctx.db, row.id, row.attempt, `PUSH_SENT ${sent}/${results.length}`, ctx.clock.sqlNow());
    if (o.waitForUserConfirm) return;
    // Informational push: GES proceeds as on a confirmation.
    if (callIn) await this.#completeCallIn(row, callIn);
    else await this.#dial(row, service);
  }

  /** The app's answer to a push (POST /callbacks/confirm, /callbacks/snooze). */
  async answer(tenantId: number, id: string, answer: Exclude<PushAnswer, 'expired'>): Promise<PushAnswerOutcome> {
    const ctx = this.#ctx;
    const [row] = await store.engineRows(ctx.db, [id]);
    if (!row || row.tenantId !== tenantId) throw new GesError('GES_CALLBACK_NOT_FOUND', `callback ${id} not found`);
    const service = await ctx.services.byId(row.serviceId);
    if (!service || service.options.callDirection !== 'USERORIGINATED') {
      throw new GesError('GES_PUSH_ANSWER_NOT_ALLOWED', 'the callback belongs to a USERTERMINATED service: there is no push to answer');
    }
    const o = service.options;
    const step = decidePushStep(
      {
        phase: row.state === 'COMPLETED' ? 'WAITING' : row.phase,
        pushes: await pushStore.pushCount(ctx.db, row.id),
        maxPushes: o.maxNumberOfUserAvailabilityConfirmationAttempts,
        callIn: o.pushCallInGroup !== '',
      },
      answer,
    );
    const raced = () => new GesError('GES_PUSH_ANSWER_NOT_ALLOWED', 'the push was answered or expired meanwhile');
    switch (step.step) {
      case 'refuse':
      case 'giveUp':
        throw new GesError('GES_PUSH_ANSWER_NOT_ALLOWED', step.step === 'refuse' ? step.why : 'the push expired');
      case 'dial':
        if (!(await this.#dial(row, service))) throw raced();
        return { action: 'DIAL' };
      case 'callIn': {
        const callIn = await this.#issueCallIn(row, o.pushCallInGroup);
        // A request left by a lost race expires unused: it is only a number and a code.
        if (!(await this.#completeCallIn(row, callIn))) throw raced();
        return { action: 'CALL_IN', callIn };
      }
      case 'snooze': {
        const paused = await pushStore.snoozePush(ctx.db, row.id, row.attempt, o.snoozeDurationSec, ctx.clock.sqlNow());
        if (!paused) throw raced();
        await this.#pause(paused);
        return { action: 'SNOOZE', until: paused.dueAt! };
      }
    }
  }

  /** The push's due time passed in phase PUSHED (the watchdog found it): nobody answered. */
  async expired(row: EngineRow): Promise<void> {
    const ctx = this.#ctx;
    const step = decidePushStep({ phase: row.phase, pushes: 0, maxPushes: 1, callIn: false }, 'expired');
    if (step.step !== 'giveUp') return;
    const done = await store.completeAttempt(ctx.db, row.id, row.attempt, ['PUSHED'], 'FAIL_USER_NO_CONFIRM', 'PUSH_EXPIRED', ctx.clock.sqlNow());
    if (!done) return;
    await ctx.finished(row, 'FAIL_USER_NO_CONFIRM');
    await this.#hooks.dispatch(row.tenantId, row.serviceId);
  }

  async #sendAll(row: EngineRow, content: PushContent): Promise<PushResult[]> {
    const targets = (await pushStore.pushTargetsOf(this.#ctx.db, row.id)).filter((t) => t.channel === 'FCM' && typeof t.target === 'string');
    if (!this.#sender) return targets.map(() => 'unconfigured');
    const results: PushResult[] = [];
    for (const t of targets) {
      try {
        results.push(await this.#sender.send({ id: row.tenantId, name: row.tenantName }, t.target, content));
      } catch (err) {
        this.#ctx.logger.error({ err, callbackId: row.id }, 'push sender failed');
        results.push('failed');
      }
    }
    return results;
  }

  /**
   * No target took the push. FCM down (failed): out of the queue for PUSH_FAILED_PAUSE_SEC, then
   * pushed again at its place. Refused for good, or no credentials: nothing GES can retry, the
   * callback completes FAIL_ERROR (the logs and ges_push_notifications_sent say why).
   */
  async #undelivered(row: EngineRow, results: readonly PushResult[]): Promise<void> {
    const ctx = this.#ctx;
    if (results.includes('failed')) {
      const paused = await pushStore.snoozePush(ctx.db, row.id, row.attempt, PUSH_FAILED_PAUSE_SEC, ctx.clock.sqlNow(), 'PUSH_FAILED: FCM unavailable');
      if (paused) await this.#pause(paused);
      return;
    }
    const why = results.length === 0 ? 'no FCM target' : results.includes('unconfigured') ? 'no push credentials' : 'refused by FCM';
    const done = await store.completeAttempt(ctx.db, row.id, row.attempt, ['PUSHED'], 'FAIL_ERROR', `PUSH_FAILED: ${why}`, ctx.clock.sqlNow());
    if (!done) return;
    await ctx.finished(row, 'FAIL_ERROR');
    // Tracked, not awaited: this runs inside the dispatcher's loop, which then runs once more.
    void ctx.track(this.#hooks.dispatch(row.tenantId, row.serviceId));
  }

  /** Confirmed (or informational push): the attempt goes on as a dial, keyed and watched as any. */
  async #dial(row: EngineRow, service: EngineService): Promise<boolean> {
    const ctx = this.#ctx;
    const first = service.options.firstConnectParty;
    const phase = first === 'AGENT' ? 'RESERVING' : 'DIALING';
    const next = await pushStore.confirmPushToDial(ctx.db, row.id, row.attempt, first, ctx.watchdogSec(phase), ctx.clock.sqlNow());
    if (!next) return false;
    await ctx.hot.moveDue(row.tenantId, [{ id: row.id, atMs: next.dueAt!.getTime() }]);
    const dialKey = dialKeyOf(next.id, next.attempt);
    if (first === 'AGENT') await ctx.send({ type: 'reserve_agent', dialKey, tenant: next.tenantName, queue: next.serviceName });
    else await ctx.send({ type: 'dial', dialKey, tenant: next.tenantName, queue: next.serviceName, phone: next.phone });
    return true;
  }

  async #issueCallIn(row: EngineRow, groupName: string): Promise<GivenCallIn> {
    if (!this.#callIn) throw new GesError('GES_INTERNAL', 'call-in is not wired into this engine');
    return this.#callIn({ tenantId: row.tenantId, groupName, callbackId: row.id, phone: row.phone });
  }

  async #completeCallIn(row: EngineRow, callIn: GivenCallIn): Promise<boolean> {
    const ctx = this.#ctx;
    const done = await store.completeAttempt(
      ctx.db,
      row.id,
      row.attempt,
      ['PUSHED'],
      'CALL_IN_GIVEN',
      `PUSH_CONFIRMED: call-in ${callIn.id}`,
      ctx.clock.sqlNow(),
    );
    if (!done) return false;
    await ctx.finished(row, 'CALL_IN_GIVEN');
    void ctx.track(this.#hooks.dispatch(row.tenantId, row.serviceId));
    return true;
  }

  async #pause(row: EngineRow): Promise<void> {
    const atMs = row.dueAt!.getTime();
    await this.#ctx.hot.pause(row.tenantId, row.serviceId, row.id, atMs);
    this.#hooks.wake(atMs);
    // Tracked, not awaited: called from within a dispatch loop too, which would otherwise wait on itself.
    void this.#ctx.track(this.#hooks.dispatch(row.tenantId, row.serviceId));
  }
}
