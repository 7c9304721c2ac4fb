import { hashRequest } from './request-hash.ts';
import { decodeCursor, encodeCursor } from './find-cursor.ts';
import type pg from 'pg';
import { GesError } from '../domain/errors.ts';
import { planCreate, checkDesiredTime, type CreateCallbackInput } from '../domain/callback-request.ts';
import { MAX_HORIZON_DAYS, parseServiceOptions, type ServiceOptions } from '../domain/service-options.ts';
import { CANCELLABLE_STATES, RESCHEDULABLE_STATES, cancelRefusal, type CallbackState, type CompletionReason } from '../domain/callback-state.ts';
import { normalizePhone } from '../domain/phone-number.ts';
import { enforceNumberRule, parseNumberRule } from '../domain/numbers/number-rule.ts';
import { parseInstant } from '../domain/instant.ts';
import { retryOnConflict, withTransaction } from '../store/db.ts';
import type { DbClock } from '../store/db-clock.ts';
import * as callbacks from '../store/callback-store.ts';
import type { CallbackRecord } from '../domain/callback-record.ts';
import { listEvents, type CallbackEvent } from '../store/callback-history.ts';
import { claimIdempotencyKey, completeIdempotencyKey, lookupIdempotencyKey } from '../store/idempotency-key-store.ts';
import { slotBookings } from '../store/slot-booking-store.ts';
import { ACTOR, type Actor } from '../domain/actor.ts';
import { findService, type ServiceRow } from '../store/service-store.ts';
import { availableSlots, calendarOf, chooseSlot, proposedSlots, type OpenSlot } from '../domain/calendar/booking-plan.ts';
import { admitImmediate } from '../domain/calendar/immediate-admission.ts';
import { DAY_MS } from '../domain/calendar/time-zone.ts';
import { ensurePartitions, isMissingPartition } from '../store/partition-store.ts';
import type { Tenant } from '../store/tenant-store.ts';
import { CaptchaGate, type CaptchaTicket } from './captcha-gate.ts';

/** What the use cases answer with; adapters (API, console) name it from here, not from the store. */
export type { CallbackRecord } from '../domain/callback-record.ts';

export interface CreateOutcome {
  id: string;
  replayed: boolean;
  droppedUserDataKeys: string[];
  /** Scheduled callbacks: the desired time booked (later than asked when off-hours, full, or kept for the opening). */
  desiredTime?: Date;
  /** Set when this request inserted the callback (not on a replay). */
  inserted?: { createdAt: Date; desiredAt: Date; dueAt: Date | null; scheduled: boolean };
}

/** Told of every callback really created (not of idempotent replays) and of every cancel; metrics count them. */
export interface CreateObserver {
  callbackCreated(event: { tenant: string; service: string; type: 'immediate' | 'scheduled' }): void;
  /** A completion made here rather than by the engine (a cancel). */
  callbackCompleted?(event: { tenant: string; service: string; reason: CompletionReason }): void;
}

/**
 * The engine's side of the callback use cases: told after each change has committed, so the hot
 * state follows Postgres (a failure there is logged and repaired by the rebuild, never undoes a
 * committed change); and asked for the live place and wait of an active callback.
 */
export interface CallbackLifecycle {
  created(c: {
    id: string;
    tenantId: number;
    serviceId: number;
    scheduled: boolean;
    createdAt: Date;
    desiredAt: Date;
    dueAt: Date | null;
    priority: number;
    priorityStepSec: number;
  }): Promise<void>;
  cancelled(c: { id: string; tenantId: number; serviceId: number; attempt: number }): Promise<void>;
  rescheduled(c: { id: string; tenantId: number; dueAt: Date }): Promise<void>;
  live(tenantId: number, record: CallbackRecord): Promise<{ positionInQueue: number; estimatedWaitTime: number } | undefined>;
}

export interface FindInput {
  serviceName?: string;
  phoneNumber?: string;
  states?: CallbackState[];
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

/**
 * The callback use cases behind the API: it applies the domain rules, then asks the store to make
 * each change in one statement. It knows nothing of HTTP.
 */
export class CallbackService {
  #lifecycle: CallbackLifecycle | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly clock: DbClock,
    private readonly observer?: CreateObserver,
    /**
     * How long a request waits for the engine to hear of its committed change (none: as long as it
     * takes). The engine's Redis commands are bounded one by one; this bounds them all together,
     * so a slow Redis cannot make a create slow: the change is in Postgres, and a hook that does
     * not finish in time counts as failed (the repair picks the callback up from Postgres).
     */
    private readonly hookTimeoutMs?: number,
  ) {}

  /**
   * CAPTCHA on create. The default gate can open no secret, so a tenant with a CAPTCHA provider
   * fails closed until the composition root hands the real one in (useCaptcha).
   */
  #captchaGate: CaptchaGate | undefined;

  /** Sets the CAPTCHA gate (once at start-up), with the tenants' secrets and the provider client. */
  useCaptcha(gate: CaptchaGate): void {
    this.#captchaGate = gate;
  }

  get #captcha(): CaptchaGate {
    return (this.#captchaGate ??= new CaptchaGate({ pool: this.pool }));
  }

  /** Connects the engine (set once at start-up; without one, callbacks are stored and not worked). */
  attach(lifecycle: CallbackLifecycle, onError: (err: unknown) => void): void {
    this.#lifecycle = lifecycle;
    this.#lifecycleError = onError;
  }

  #lifecycleError: (err: unknown) => void = () => undefined;

  async #tell(fn: (l: CallbackLifecycle) => Promise<void>): Promise<void> {
    if (!this.#lifecycle) return;
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const hook = fn(this.#lifecycle);
    try {
      if (this.hookTimeoutMs === undefined) await hook;
      else {
        await Promise.race([
          hook,
          new Promise<void>((resolve) => {
            timer = setTimeout(() => {
              timedOut = true;
              resolve();
            }, this.hookTimeoutMs);
          }),
        ]);
        if (timedOut) {
          // It goes on in the background; a late failure there is already repaired by this one.
          hook.catch(() => undefined);
          this.#lifecycleError(new Error(`the engine did not take the change within ${this.hookTimeoutMs} ms`));
        }
      }
    } catch (err) {
      this.#lifecycleError(err);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * `actor`: who asks. CAPTCHA guards the public API against bots; a signed-in console user (or
   * GES itself, e.g. a recreate) has no challenge to solve and is not checked.
   */
  async create(tenant: Tenant, input: CreateCallbackInput, idempotencyKey?: string, actor: Actor = ACTOR.API): Promise<CreateOutcome> {
    // The token is proof of a solved challenge, not part of what is asked: a retry carrying a
    // fresh token is the same request and replays.
    const requestHash = idempotencyKey === undefined ? undefined : hashRequest({ ...input, captchaToken: undefined });
    if (idempotencyKey !== undefined && requestHash) {
      // A retried request must get its original answer even if its desiredTime has passed since.
      const seen = await lookupIdempotencyKey(this.pool, tenant.id, idempotencyKey, requestHash);
      if (seen.kind === 'replay') return { id: seen.callbackId, replayed: true, droppedUserDataKeys: [] };
      if (seen.kind === 'conflict') throw idempotencyConflict();
    }

    const service = await findService(this.pool, tenant.id, input.serviceName);
    if (!service) throw new GesError('GES_SERVICE_UNKNOWN', `serviceName ${JSON.stringify(input.serviceName)} is not a callback service of this tenant`);
    const options = parseServiceOptions(service.options);
    const now = this.clock.now();
    const plan = planCreate(input, options, now);
    enforceNumberRule(service.numberRule ? parseNumberRule(service.numberRule.definition) : undefined, plan.phone);
    const cal = calendarOf(service, options);
    // A scheduled callback books the capacity slot that holds its desired time (or, off-hours, the
    // next opening's first slot when the service accepts off-hours requests and the request does not
    // insist on its slot). An immediate one is taken now only while the office takes immediate
    // callbacks; otherwise it is refused or kept for the opening (immediate-admission.ts).
    let slot: { start: Date; capacity: number } | undefined;
    if (plan.desiredTime) {
      const strict = plan.alwaysCheckCapacity ? { ...options, rejectOutOfHours: true } : options;
      const choice = chooseSlot(cal, strict, plan.desiredTime.getTime(), now.getTime());
      plan.desiredTime = new Date(choice.desiredTime);
      slot = { start: new Date(choice.slot.start), capacity: choice.slot.total };
    } else {
      const admission = admitImmediate(cal, options, now.getTime(), service.name);
      if (admission.kind === 'at-opening') {
        plan.scheduled = true;
        plan.desiredTime = new Date(admission.desiredTime);
        plan.extras = { ...plan.extras, cbOfferType: plan.extras?.cbOfferType ?? 'ASAP' };
        slot = { start: new Date(admission.slot.start), capacity: admission.slot.total };
      }
    }
    // Checked last before booking, once every rule of the request has passed: a refused request
    // does not spend the user's token at the provider.
    let captcha: CaptchaTicket | undefined;
    try {
      if (actor === ACTOR.API) captcha = await this.#captcha.checkCreate(tenant, options.captcha, input.captchaToken);
    } catch (err) {
      // A retry whose first try committed meanwhile answers that result, whatever its token.
      if (idempotencyKey !== undefined && requestHash && err instanceof GesError && err.code.startsWith('GES_CAPTCHA_')) {
        const seen = await lookupIdempotencyKey(this.pool, tenant.id, idempotencyKey, requestHash);
        if (seen.kind === 'replay') return { id: seen.callbackId, replayed: true, droppedUserDataKeys: [] };
      }
      throw err;
    }

    const attempt = () =>
      retryOnConflict(() =>
        withTransaction(this.pool, async (tx): Promise<CreateOutcome> => {
          if (idempotencyKey !== undefined && requestHash) {
            const claim = await claimIdempotencyKey(tx, tenant.id, idempotencyKey, requestHash);
            if (claim.kind === 'replay') return { id: claim.callbackId, replayed: true, droppedUserDataKeys: [] };
            if (claim.kind === 'conflict') throw idempotencyConflict();
          }
          // Spent in the transaction that books: rolled back with it when the create does not happen.
          if (captcha) await this.#captcha.spend(tx, tenant.id, captcha);
          if (plan.maxActivePerNumber !== undefined || plan.maxRequestsPer24h !== undefined) {
            await callbacks.lockNumber(tx, tenant.id, plan.phone);
          }
          const result = await callbacks.insertCallback(tx, {
            tenantId: tenant.id,
            serviceId: service.id,
            ...plan,
            slot,
            executionBufferSec: options.executionBufferSec,
          });
          if (!result.ok) {
            if (result.refusal === 'slot-full') throw new SlotFullSignal();
            if (result.refusal === 'duplicate') {
              throw new GesError(
                'GES_DUPLICATE_IN_QUEUE',
                `phoneNumber already has ${result.active} active callback(s) in service ${service.name} (in-queue checking allows ${plan.maxActivePerNumber})`,
              );
            }
            // The same data shape as a capacity 429 (ProposedSlots, here with no slot to offer): clients read data.slots on every 429.
            throw new GesError(
              'GES_NUMBER_THROTTLED',
              `phoneNumber reached the limit of ${plan.maxRequestsPer24h} callback requests in 24 hours for service ${service.name}`,
              { slots: {} },
            );
          }
          if (idempotencyKey !== undefined) await completeIdempotencyKey(tx, tenant.id, idempotencyKey, result.id);
          return {
            id: result.id,
            replayed: false,
            droppedUserDataKeys: plan.droppedUserDataKeys,
            inserted: { createdAt: result.createdAt, desiredAt: result.desiredTime, dueAt: result.dueAt, scheduled: plan.scheduled },
          };
        }),
      );

    const created = async (outcome: CreateOutcome) => {
      try {
        if (!outcome.replayed) this.observer?.callbackCreated({ tenant: tenant.name, service: service.name, type: plan.scheduled ? 'scheduled' : 'immediate' });
      } catch {
        /* counting must never fail a committed create */
      }
      const ins = outcome.inserted;
      if (ins) {
        await this.#tell((l) =>
          l.created({
            id: outcome.id,
            tenantId: tenant.id,
            serviceId: service.id,
            scheduled: ins.scheduled,
            createdAt: ins.createdAt,
            desiredAt: ins.desiredAt,
            dueAt: ins.dueAt,
            priority: plan.priority,
            priorityStepSec: options.priorityStepSec,
          }),
        );
      }
      return outcome;
    };
    const book = async (): Promise<CreateOutcome> => {
      try {
        return await attempt();
      } catch (err) {
        // Partitions are created ahead by maintenance; a node that slept through midnight heals here.
        if (!isMissingPartition(err)) throw err;
        await ensurePartitions(this.pool, 1, MAX_HORIZON_DAYS + 1);
        return await attempt();
      }
    };
    for (let moves = 0; ; moves += 1) {
      try {
        const outcome = await created(await book());
        return plan.scheduled && plan.desiredTime && !outcome.replayed ? { ...outcome, desiredTime: plan.desiredTime } : outcome;
      } catch (err) {
        if (!(err instanceof SlotFullSignal)) throw err;
        // Proposals are read only after the transaction has ended: embedded PGlite serves one
        // transaction at a time, so a read on another connection inside it would wait forever.
        // Without alwaysCheckCapacity a full slot moves the callback to the next slot with room, as
        // GES did (ges-api.md §1.1, §6.5); a few tries, since others may take that one meanwhile.
        const next = plan.alwaysCheckCapacity || moves >= MAX_SLOT_MOVES ? undefined : (await this.#openSlotsAfter(service, options, slot!.start, 1))[0];
        if (!next) throw await this.slotFull(service, options, slot!.start);
        plan.desiredTime = new Date(next.slot.start);
        slot = { start: new Date(next.slot.start), capacity: next.slot.total };
      }
    }
  }

  async retrieve(tenant: Tenant, id: string): Promise<CallbackRecord> {
    const record = await callbacks.getCallback(this.pool, tenant.id, id);
    if (!record) throw notFound(id);
    return record;
  }

  /** A callback with its live place in the queue and estimated wait while QUEUED, ROUTING or PROCESSING. */
  async retrieveLive(tenant: Tenant, id: string): Promise<CallbackRecord & { positionInQueue?: number; estimatedWaitTime?: number }> {
    const record = await this.retrieve(tenant, id);
    if (!this.#lifecycle || !['QUEUED', 'ROUTING', 'PROCESSING'].includes(record.state)) return record;
    try {
      const live = await this.#lifecycle.live(tenant.id, record);
      return live ? { ...record, ...live } : record;
    } catch (err) {
      // The estimate is a courtesy: the callback itself is answered from Postgres even if Redis is down.
      this.#lifecycleError(err);
      return record;
    }
  }

  async cancel(tenant: Tenant, id: string, reason: CompletionReason = 'CANCELLED', actor: Actor = ACTOR.API): Promise<CallbackRecord> {
    const result = await retryOnConflict(() => callbacks.cancelCallback(this.pool, tenant.id, id, CANCELLABLE_STATES, reason, actor));
    if (result.ok) {
      const r = result.record;
      this.observer?.callbackCompleted?.({ tenant: tenant.name, service: r.serviceName, reason });
      await this.#tell((l) => l.cancelled({ id: r.id, tenantId: tenant.id, serviceId: r.serviceId, attempt: r.attempt }));
      return r;
    }
    if (!result.found) throw notFound(id);
    throw new GesError('GES_CANCEL_NOT_ALLOWED', cancelRefusal(result.state) ?? `callback is ${result.state}`);
  }

  async reschedule(tenant: Tenant, id: string, desiredTime: string, actor: Actor = ACTOR.API): Promise<CallbackRecord> {
    const desired = parseInstant(desiredTime, 'desiredTime');
    const current = await callbacks.getCallback(this.pool, tenant.id, id);
    if (!current) throw notFound(id);
    const service = await findService(this.pool, tenant.id, current.serviceName);
    if (!service) throw notFound(id);
    const options = parseServiceOptions(service.options);
    const now = this.clock.now();
    checkDesiredTime(desired, options, now);
    const choice = chooseSlot(calendarOf(service, options), options, desired.getTime(), now.getTime());
    const slot = { start: new Date(choice.slot.start), capacity: choice.slot.total };
    const result = await retryOnConflict(() =>
      callbacks.rescheduleCallback(this.pool, tenant.id, id, RESCHEDULABLE_STATES, new Date(choice.desiredTime), slot, actor, options.executionBufferSec),
    );
    if (result.ok) {
      const r = result.record;
      await this.#tell((l) => l.rescheduled({ id: r.id, tenantId: tenant.id, dueAt: new Date(r.desiredTime.getTime() - options.executionBufferSec * 1000) }));
      return r;
    }
    if (!result.found) throw notFound(id);
    if ('slotFull' in result) throw await this.slotFull(service, options, slot.start);
    throw new GesError('GES_RESCHEDULE_NOT_ALLOWED', `only a SCHEDULED callback can be rescheduled; this one is ${result.state}`);
  }

  /** The 429 of a full slot, proposing the next slots that still have room (GES's ProposedSlots). */
  private async slotFull(service: ServiceRow, options: ServiceOptions, slotStart: Date): Promise<GesError> {
    const open = await this.#openSlotsAfter(service, options, slotStart, 5);
    return new GesError(
      'GES_SLOT_FULL',
      `the slot starting ${slotStart.toISOString()} is fully booked; data.slots proposes the next available slots`,
      proposedSlots(open),
    );
  }

  /** Up to `max` bookable slots with room starting after `slotStart`, within the next 7 days. */
  async #openSlotsAfter(service: ServiceRow, options: ServiceOptions, slotStart: Date, max: number): Promise<OpenSlot[]> {
    const cal = calendarOf(service, options);
    const from = slotStart.getTime() + 1;
    const to = from + 7 * DAY_MS;
    const booked = await slotBookings(this.pool, service.id, new Date(from - DAY_MS), new Date(to));
    return availableSlots(cal, options, booked, { fromMs: from, toMs: to, reportBusy: false, nowMs: this.clock.now().getTime(), maxSlots: max + 1 })
      .filter((o) => o.slot.start > slotStart.getTime())
      .slice(0, max);
  }

  async history(tenant: Tenant, id: string): Promise<CallbackEvent[]> {
    const events = await listEvents(this.pool, tenant.id, id);
    if (events.length === 0) throw notFound(id);
    return events;
  }

  async find(tenant: Tenant, input: FindInput): Promise<{ callbacks: CallbackRecord[]; nextCursor?: string }> {
    const limit = input.limit ?? 50;
    let service: ServiceRow | undefined;
    if (input.serviceName !== undefined) {
      service = await findService(this.pool, tenant.id, input.serviceName);
      if (!service) return { callbacks: [] };
    }
    let phone: string | undefined;
    if (input.phoneNumber !== undefined) {
      // Search normalises like create: in the named service's country, else E.164 or US.
      const options = parseServiceOptions(service?.options ?? {});
      phone = normalizePhone(input.phoneNumber, { ...options, disallowImpossibleNumbers: false, disallowPremiumNumbers: false });
    }
    const serviceId = service?.id;
    const rows = await callbacks.findCallbacks(this.pool, tenant.id, {
      serviceId,
      phone,
      states: input.states,
      from: input.from !== undefined ? parseInstant(input.from, 'from') : undefined,
      to: input.to !== undefined ? parseInstant(input.to, 'to') : undefined,
      after: input.cursor !== undefined ? decodeCursor(input.cursor) : undefined,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return rows.length > limit && last ? { callbacks: page, nextCursor: encodeCursor(last.desiredTime, last.id) } : { callbacks: page };
  }
}

/** How many times one create moves on to the next slot when the one it tried filled up meanwhile. */
const MAX_SLOT_MOVES = 5;

/** Raised inside the create transaction to roll it back when the slot is full. */
class SlotFullSignal extends Error {}

function notFound(id: string): GesError {
  return new GesError('GES_CALLBACK_NOT_FOUND', `callback ${JSON.stringify(id.slice(0, 64))} not found`);
}

function idempotencyConflict(): GesError {
  return new GesError('GES_IDEMPOTENCY_KEY_REUSED', 'Idempotency-Key was already used in the last 24 hours with a different request body');
}
