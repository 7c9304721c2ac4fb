import type pg from 'pg';
import type { SipAgent, SipAgentCredentials, SipAgentDirectory, SipRegistrationBook } from '../voice/sip/sip-agent-directory.ts';
import {
  bindSipContact,
  holdSipAgent,
  isSipTenant,
  releaseSipAgent,
  renewSipAgentHolds,
  reserveSipAgent,
  setSipAgentNotReadyByName,
  sipAgentHeldFor,
  sipAgentPresence,
  sipAgentSecrets,
  sipContactOf,
  unbindSipContact,
  type SipAgentPresenceRow,
  type SipAgentRow,
} from '../store/sip-agent-store.ts';

export interface PgSipAgentDirectoryOptions {
  /** How often the counts and presence are read again (default 1000 ms). */
  refreshMs?: number;
  /** Told of a refresh that failed; the counts of the last good one stay in use meanwhile. */
  onRefreshError?: (err: unknown) => void;
}

export type SipPresenceChange = { tenant: string; queue: string; login: string; ready: boolean };

const DEFAULT_REFRESH_MS = 1000;

// The separator cannot be in a tenant name, a service name (no control characters) or a login.
const key = (...parts: string[]) => parts.join('\u0000');

/**
 * The SIP adapter's agents, holds and registrations over PostgreSQL (src/store/sip-agent-store.ts),
 * so every node shares them. Holds go to the database each time (they decide who gets an agent);
 * the counts the engine asks for many times a second are read from a snapshot refreshed every
 * refreshMs, since one query per refresh is all a node should cost the database for them.
 *
 * Between refreshes an agent this node took is counted as unavailable at once, so the engine does
 * not dial for the same agent twice in one refresh period; a release waits for the next refresh.
 */
export class PgSipAgentDirectory implements SipAgentDirectory, SipRegistrationBook {
  readonly #pool: pg.Pool;
  readonly #refreshMs: number;
  readonly #onRefreshError: (err: unknown) => void;
  readonly #listeners = new Set<(change: SipPresenceChange) => void>();
  /** Available per agent and queue as of the last refresh (undefined before the first). */
  #presence: Map<string, SipAgentPresenceRow> | undefined;
  #counts = new Map<string, { available: number; signedIn: number }>();
  /** Agents this node held since the last refresh, already taken off #counts. */
  #heldHere = new Set<string>();
  #queuesOf = new Map<string, string[]>();
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;

  constructor(pool: pg.Pool, opts: PgSipAgentDirectoryOptions = {}) {
    this.#pool = pool;
    this.#refreshMs = opts.refreshMs ?? DEFAULT_REFRESH_MS;
    this.#onRefreshError = opts.onRefreshError ?? (() => undefined);
  }

  async start(): Promise<void> {
    if (this.#timer) return;
    await this.refresh(); // the first snapshot: counts are right from the first question, and a database that is down fails the start
    this.#timer = setInterval(() => {
      this.refresh().catch(this.#onRefreshError);
    }, this.#refreshMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#refreshing?.catch(() => undefined);
  }

  /**
   * Reads the presence of every agent again and tells the listeners whose readiness changed. The
   * first read only sets the baseline: a node that starts announces no change. A refresh still
   * running is joined, not doubled, when the database is slower than refreshMs.
   */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    const rows = await sipAgentPresence(this.#pool);
    const next = new Map<string, SipAgentPresenceRow>();
    const counts = new Map<string, { available: number; signedIn: number }>();
    const queuesOf = new Map<string, string[]>();
    for (const r of rows) {
      next.set(key(r.tenant, r.queue, r.login), r);
      const k = key(r.tenant, r.queue);
      const c = counts.get(k) ?? { available: 0, signedIn: 0 };
      if (r.available) c.available++;
      if (r.signedIn) c.signedIn++;
      counts.set(k, c);
      const a = key(r.tenant, r.login);
      queuesOf.set(a, [...(queuesOf.get(a) ?? []), r.queue]);
    }
    const before = this.#presence;
    this.#presence = next;
    this.#counts = counts;
    this.#queuesOf = queuesOf;
    this.#heldHere.clear();
    if (!before) return;
    const changes: SipPresenceChange[] = [];
    for (const [k, r] of next) if ((before.get(k)?.available ?? false) !== r.available) changes.push({ ...pick(r), ready: r.available });
    for (const [k, r] of before) if (!next.has(k) && r.available) changes.push({ ...pick(r), ready: false }); // removed, or the queue taken away
    // A listener that throws must not keep the others from hearing, nor the next refresh from running.
    for (const change of changes)
      for (const l of this.#listeners) {
        try {
          l(change);
        } catch (err) {
          this.#onRefreshError(err);
        }
      }
  }

  /** Counts the agent out of its queues' available agents until the next refresh says otherwise. */
  #tookHere(agent: SipAgentRow): void {
    const a = key(agent.tenant, agent.login);
    if (this.#heldHere.has(a)) return;
    this.#heldHere.add(a);
    for (const queue of this.#queuesOf.get(a) ?? []) {
      if (!this.#presence?.get(key(agent.tenant, queue, agent.login))?.available) continue;
      const c = this.#counts.get(key(agent.tenant, queue));
      if (c && c.available > 0) c.available--;
    }
  }

  available(tenant: string, queue: string): number {
    return this.#counts.get(key(tenant, queue))?.available ?? 0;
  }

  signedIn(tenant: string, queue: string): number {
    return this.#counts.get(key(tenant, queue))?.signedIn ?? 0;
  }

  onPresence(listener: (change: SipPresenceChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async reserve(tenant: string, queue: string, dialKey: string, exclude: readonly string[], leaseMs: number): Promise<SipAgent | undefined> {
    const row = await reserveSipAgent(this.#pool, tenant, queue, dialKey, exclude, leaseMs);
    if (row) this.#tookHere(row);
    return row;
  }

  async hold(tenant: string, login: string, dialKey: string, leaseMs: number): Promise<SipAgent | undefined> {
    const row = await holdSipAgent(this.#pool, tenant, login, dialKey, leaseMs);
    if (row) this.#tookHere(row);
    return row;
  }

  async heldFor(dialKey: string): Promise<SipAgent | undefined> {
    const row = await sipAgentHeldFor(this.#pool, dialKey);
    return row;
  }

  async release(dialKey: string, login: string): Promise<void> {
    await releaseSipAgent(this.#pool, dialKey, login);
  }

  async renew(dialKeys: readonly string[], leaseMs: number): Promise<void> {
    await renewSipAgentHolds(this.#pool, dialKeys, leaseMs);
  }

  async setNotReady(tenant: string, login: string, reason: string): Promise<void> {
    await setSipAgentNotReadyByName(this.#pool, tenant, login, reason);
  }

  // SipRegistrationBook

  async credentials(tenant: string, login: string): Promise<SipAgentCredentials | undefined> {
    return sipAgentSecrets(this.#pool, tenant, login);
  }

  async bind(tenant: string, login: string, contact: string, expiresSec: number): Promise<void> {
    if (expiresSec <= 0) await unbindSipContact(this.#pool, tenant, login, contact);
    else await bindSipContact(this.#pool, tenant, login, contact, expiresSec);
  }

  async contactOf(tenant: string, login: string): Promise<string | undefined> {
    return sipContactOf(this.#pool, tenant, login);
  }

  async isTenant(name: string): Promise<boolean> {
    return isSipTenant(this.#pool, name);
  }
}

function pick(r: SipAgentPresenceRow): Omit<SipPresenceChange, 'ready'> {
  return { tenant: r.tenant, queue: r.queue, login: r.login };
}
