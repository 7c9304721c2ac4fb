import type { CallbackRecord } from '../domain/callback-record.ts';
import type { Tenant } from '../store/tenant-store.ts';

/**
 * Where the console's live figures come from: queue snapshots for the queue monitor, their recent
 * history for the charts, and a callback's live position and EWT on its detail page. The default,
 * DatabaseQueueMonitorSource, counts callbacks in PostgreSQL and takes EWT, agents and positions
 * from a LiveFigures provider (the callback engine) when it is given one.
 */

export interface QueueSnapshot {
  /** Expected wait of a callback booked now, in seconds; undefined when unknown. */
  ewtSeconds: number | undefined;
  queued: number;
  scheduled: number;
  routing: number;
  processing: number;
  /** undefined when nothing reports agents. */
  agentsLoggedIn: number | undefined;
  agentsFree: number | undefined;
  /** The next opening when closed now, and the end of the current opening when open. */
  opensAt?: Date;
  closesAt?: Date;
}

export interface QueueSample {
  at: Date;
  ewtSeconds: number | undefined;
  /** Callbacks waiting in the queue (QUEUED) at that moment. */
  queueLength: number;
}

export interface CallbackLive {
  position: number;
  ewtSeconds: number | undefined;
}

export interface QueueMonitorSource {
  queueSnapshot(tenant: Tenant, serviceName: string): Promise<QueueSnapshot>;
  /** Samples since `sinceMs`, oldest first. */
  history(tenant: Tenant, serviceName: string, sinceMs: number): Promise<QueueSample[]>;
  /** Live figures of an unfinished callback; undefined when unknown. */
  callbackLive(tenant: Tenant, callback: CallbackRecord): Promise<CallbackLive | undefined>;
}

/** What only the callback engine knows: waits, agents and places in queue. */
export interface LiveFigures {
  queue(tenant: Tenant, serviceId: number): Promise<{ ewtSeconds: number | undefined; agentsLoggedIn: number; agentsFree: number } | undefined>;
  callback(tenant: Tenant, callback: CallbackRecord): Promise<CallbackLive | undefined>;
}
