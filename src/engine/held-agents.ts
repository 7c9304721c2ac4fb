import * as store from '../store/engine-transition-store.ts';
import { listEvents } from '../store/callback-history.ts';
import type { DialKey } from '../voice/voice-port.ts';
import { attemptOver } from '../domain/engine/attempt-transitions.ts';
import type { EngineContext } from './engine-context.ts';
import { parseDialKey } from './dial-key.ts';

/** Agents remembered at most: past this the oldest are forgotten (their attempts are long over, or the platform's own hold time frees them). */
const MAX_HELD = 10_000;

/**
 * The agents this node heard reserved for attempts (agent_reserved applied here) and not yet
 * connected to their customer. GES gives such an agent back with `release_agent` whenever its
 * attempt ends without the connection (a failed or abandoned call, a cancel, a watchdog giving up),
 * so a platform that waits for that command does not lose an agent per failed attempt
 * (docs/ENGINE.md, "Agents held for an attempt").
 *
 * Kept in memory: the platform's event that ends an attempt may reach another node, so the sweep
 * also looks the remembered attempts up in Postgres and releases those that are over.
 */
export class HeldAgents {
  readonly #ctx: EngineContext;
  readonly #byKey = new Map<DialKey, string>();

  constructor(ctx: EngineContext) {
    this.#ctx = ctx;
  }

  hold(dialKey: DialKey, agentId: string): void {
    this.#byKey.delete(dialKey);
    this.#byKey.set(dialKey, agentId);
    if (this.#byKey.size > MAX_HELD) this.#byKey.delete(this.#byKey.keys().next().value!);
  }

  /** The agent was connected to the customer: it is the call's now, nothing to give back. */
  forget(dialKey: DialKey): void {
    this.#byKey.delete(dialKey);
  }

  /** The attempt ended without the connection: its agent, if this node holds one, is given back. */
  async release(dialKey: DialKey): Promise<void> {
    const agentId = this.#byKey.get(dialKey);
    if (agentId === undefined) return;
    this.#byKey.delete(dialKey);
    await this.#ctx.send({ type: 'release_agent', dialKey, agentId });
  }

  /**
   * An agent_reserved for an attempt that is over (the row as read, if the callback exists): the
   * agent is given back at once, unless that very attempt connected an agent (a duplicate of its
   * reservation: the agent is the call's, or free again, and not this node's to release).
   */
  async late(row: store.EngineRow | undefined, attempt: number, dialKey: DialKey, agentId: string): Promise<void> {
    if (row && row.attempt === attempt && row.state === 'COMPLETED' && (await this.#connected(row, attempt))) return;
    await this.#ctx.send({ type: 'release_agent', dialKey, agentId });
  }

  /** Gives back the agents of remembered attempts that ended on another node (one read for all of them). */
  async sweep(): Promise<void> {
    if (this.#byKey.size === 0) return;
    const attempts = [...this.#byKey.keys()].map((key) => ({ key, attempt: parseDialKey(key) }));
    const rows = await store.engineRows(this.#ctx.db, [...new Set(attempts.map((a) => a.attempt?.id ?? ''))]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const { key, attempt } of attempts) {
      const row = attempt && byId.get(attempt.id);
      if (!attempt || !row) {
        this.forget(key);
        continue;
      }
      if (row.attempt === attempt.attempt && row.state !== 'COMPLETED') {
        if (row.phase === 'TALKING')
          this.forget(key); // connected: the call has the agent now
        else if (attemptOver(row.phase)) await this.release(key);
        continue;
      }
      // A later attempt, or completed: released unless this very attempt connected its agent.
      if (await this.#connected(row, attempt.attempt)) this.forget(key);
      else await this.release(key);
    }
  }

  async #connected(row: store.EngineRow, attempt: number): Promise<boolean> {
    const history = await listEvents(this.#ctx.db, row.tenantId, row.id);
    return history.some((e) => e.attempt === attempt && (e.detail === store.AGENT_CONNECTED_DETAIL || e.reason === 'AGENT_CONNECTED'));
  }
}
