import * as store from '../store/engine-transition-store.ts';
import { takeForgottenAgents, takeHeldAgent } from '../store/held-agent-store.ts';
import { listEvents } from '../store/callback-history.ts';
import { dialKeyOf, type DialKey } from '../voice/voice-port.ts';
import type { EngineContext } from './engine-context.ts';
import { parseDialKey } from './dial-key.ts';

/**
 * Gives back the agents held for attempts that ended without the connection (a failed or
 * abandoned call, a cancel, a watchdog giving up), so that a platform that waits for
 * `release_agent` does not lose an agent per failed attempt (docs/ENGINE.md, "Agents held for an
 * attempt").
 *
 * The agent held for an attempt lives in Postgres (callback.held_agent, written by the statement
 * that applies agent_reserved), not in the memory of the node that heard it: whichever node ends
 * the attempt releases it, and if that node dies first the sweep of any node does. Taking the
 * agent out of the row and sending release_agent is done by one node only (the statement's
 * fence), so an agent is released once.
 */
export class HeldAgents {
  readonly #ctx: EngineContext;

  constructor(ctx: EngineContext) {
    this.#ctx = ctx;
  }

  /** The attempt ended without the connection: the agent held for it, if any and not given back yet, is. */
  async release(dialKey: DialKey): Promise<void> {
    const attempt = parseDialKey(dialKey);
    if (!attempt) return;
    const held = await takeHeldAgent(this.#ctx.db, attempt.id, attempt.attempt);
    if (held) await this.#ctx.send({ type: 'release_agent', dialKey, agentId: held.agentId });
  }

  /**
   * An agent_reserved for an attempt that is over (the row as read, if the callback exists): never
   * recorded, the agent is given back at once, unless that very attempt connected an agent (a
   * duplicate of its reservation: the agent is the call's, or free again, and not GES's to release).
   */
  async late(row: store.EngineRow | undefined, attempt: number, dialKey: DialKey, agentId: string): Promise<void> {
    if (row && row.attempt === attempt && row.state === 'COMPLETED' && (await this.#connected(row, attempt))) return;
    await this.#ctx.send({ type: 'release_agent', dialKey, agentId });
  }

  /** Gives back the agents of attempts that are over but kept their agent (the node that ended them died, or failed to send). */
  async sweep(): Promise<void> {
    const batch = 500;
    for (;;) {
      const forgotten = await takeForgottenAgents(this.#ctx.db, batch);
      for (const h of forgotten) await this.#ctx.send({ type: 'release_agent', dialKey: dialKeyOf(h.id, h.attempt), agentId: h.agentId });
      if (forgotten.length < batch) return;
    }
  }

  async #connected(row: store.EngineRow, attempt: number): Promise<boolean> {
    const history = await listEvents(this.#ctx.db, row.tenantId, row.id);
    return history.some((e) => e.attempt === attempt && (e.detail === store.AGENT_CONNECTED_DETAIL || e.reason === 'AGENT_CONNECTED'));
  }
}
