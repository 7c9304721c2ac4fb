import type { Logger } from 'pino';
import type { Queryable } from '../store/db.ts';
import type { EngineRow } from '../store/engine-transition-store.ts';
import { findTenantById } from '../store/tenant-store.ts';
import type { InteractionSample } from '../hot/hot-state.ts';
import type { VoiceCommand, VoicePort } from '../voice/voice-port.ts';
import type { CompletionReason } from '../domain/callback-state.ts';
import type { EngineClock } from './engine-clock.ts';
import { OwnDueEntries } from './own-due-entries.ts';
import { ServiceDirectory, type EngineService } from './service-directory.ts';
import { engineSettings, type EngineObserver, type EngineOptions, type EngineSettings } from './engine-options.ts';
import { watchdogSec, type WatchedPhase } from './watchdog-times.ts';
import { CallCommands } from './call-commands.ts';

/**
 * What the parts of one node's engine share: its connections, its clock, the services and tenant
 * names it has looked up, the queues it has seen waiting callbacks in, and the work it has in
 * hand. Also the few acts every part needs: send a command, finish a callback.
 */
export class EngineContext {
  readonly db: Queryable;
  /** The hot state, remembering the due entries only this node times (its watchdogs and leases). */
  readonly hot: OwnDueEntries;
  readonly voice: VoicePort;
  readonly clock: EngineClock;
  readonly logger: Logger;
  readonly observer: EngineObserver;
  readonly settings: EngineSettings;
  readonly services: ServiceDirectory;
  /** The commands that carry a call's context (dial, reserve_agent, connect) and the machine message. */
  readonly calls: CallCommands;
  /** Services this node has seen waiting callbacks in (serviceId → tenantId): swept for dispatch each poll. */
  readonly activeServices = new Map<number, number>();
  /** False once the node stops taking work (quiesce, stop). */
  running = false;
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #tenantNames = new Map<number, string>();

  constructor(o: EngineOptions) {
    this.db = o.db;
    this.hot = new OwnDueEntries(o.hot);
    this.voice = o.voice;
    this.clock = o.clock;
    this.logger = o.logger;
    this.observer = o.observer ?? {};
    this.settings = engineSettings(o);
    this.services = new ServiceDirectory(o.db);
    this.calls = new CallCommands(o.db);
  }

  /** Keeps count of work started, so that idle() can wait for it. */
  track<T>(p: Promise<T>): Promise<T> {
    this.#inflight.add(p);
    const done = () => this.#inflight.delete(p);
    p.then(done, done);
    return p;
  }

  /** Resolves when no work started by this engine is still running. */
  async idle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  async send(command: VoiceCommand): Promise<void> {
    try {
      await this.voice.send(command);
    } catch (err) {
      // The attempt's watchdog re-sends it; a refused command must not abort the transition already made.
      this.logger.error({ err, command: command.type }, 'voice command refused');
    }
  }

  /**
   * The one way a callback leaves the hot state once Postgres says it is COMPLETED: out of its
   * queue and the due index (with a sample when it reached an agent), and the transition reported.
   */
  async finished(row: EngineRow, reason: CompletionReason, sample?: InteractionSample): Promise<void> {
    await this.hot.finish(row.tenantId, row.serviceId, row.id, sample);
    this.observer.transition?.({ tenant: row.tenantName, service: row.serviceName, to: 'COMPLETED', reason });
  }

  /** A phase's watchdog (seconds), capped by the watchdogCapSec option. */
  watchdogSec(phase: WatchedPhase): number {
    return watchdogSec(phase, this.settings.watchdogCapSec);
  }

  /** The tenant's name as the platform knows it (cached: names do not change under a running engine). */
  async tenantName(tenantId: number, service: EngineService): Promise<string> {
    const hit = this.#tenantNames.get(tenantId);
    if (hit) return hit;
    const name = (await findTenantById(this.db, tenantId))?.name ?? String(service.tenantId);
    this.#tenantNames.set(tenantId, name);
    return name;
  }

  /** A tenant's name heard from the platform (agent_ready): no lookup needed later. */
  learnTenantName(tenantId: number, name: string): void {
    this.#tenantNames.set(tenantId, name);
  }
}

/** When a callback joined its queue: its request time if immediate, its due time if scheduled. */
export function queueEntryMs(r: EngineRow, service: EngineService): number {
  return r.scheduled ? r.desiredAt.getTime() - service.options.executionBufferSec * 1000 : r.createdAt.getTime();
}
