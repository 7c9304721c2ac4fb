import type { Queryable } from './db.ts';
import { STATES } from '../domain/callback-state.ts';
import { PHASES } from '../domain/engine/attempt-phase.ts';

/**
 * Agents held for attempts (migrations/0010_held_agent.sql): advanceAttempt records the agent of an
 * agent_reserved and clears it at the connection, completeAttempt clears it when the callback was
 * served; these two give the others back. A release clears the agent and returns it in one
 * statement, so of the nodes that try to release it (the one that ended the attempt, a cancel,
 * the sweep of any node) exactly one gets it and sends release_agent.
 */

export interface HeldAgent {
  id: string;
  attempt: number;
  agentId: string;
}

/**
 * The agent is not the attempt's any more: the attempt is over (the callback completed, a later
 * attempt started, or it waits again), or the agent rejected the callback's preview (the attempt
 * goes on with another agent).
 */
const ATTEMPT_OVER = `(c.state = ${STATES.COMPLETED} OR c.attempt <> c.held_attempt OR c.phase IN (${PHASES.WAITING}, ${PHASES.RETRY_WAIT})
  OR c.held_agent = ANY(c.preview_rejects))`;

/**
 * Takes the agent held for attempt `attempt` of a callback, if that attempt is over and nobody took
 * it yet. The row lock of the first statement makes a concurrent one see the cleared column.
 */
export async function takeHeldAgent(db: Queryable, id: string, attempt: number): Promise<HeldAgent | undefined> {
  const { rows } = await db.query<{ id: string; attempt: number; agent_id: string }>(
    `WITH old AS (
       SELECT c.id, c.held_agent, c.held_attempt FROM callback c
        WHERE c.id = $1 AND c.held_attempt = $2 AND c.held_agent IS NOT NULL AND ${ATTEMPT_OVER}
        FOR UPDATE
     )
     UPDATE callback c SET held_agent = NULL, held_attempt = NULL
       FROM old WHERE c.id = old.id AND c.held_agent IS NOT NULL AND c.held_attempt = $2
     RETURNING c.id, old.held_attempt AS attempt, old.held_agent AS agent_id`,
    [id, attempt],
  );
  const r = rows[0];
  return r && { id: r.id, attempt: r.attempt, agentId: r.agent_id };
}

/**
 * Takes up to `limit` agents whose attempts are over and were not given back (the node that ended
 * the attempt died before it could, or its command was lost): the sweep's share. Rows another node
 * is changing right now are skipped, not waited for.
 */
export async function takeForgottenAgents(db: Queryable, limit = 500): Promise<HeldAgent[]> {
  const { rows } = await db.query<{ id: string; attempt: number; agent_id: string }>(
    `WITH old AS (
       SELECT c.id, c.held_agent, c.held_attempt FROM callback c
        WHERE c.held_agent IS NOT NULL AND ${ATTEMPT_OVER}
        LIMIT $1 FOR UPDATE SKIP LOCKED
     )
     UPDATE callback c SET held_agent = NULL, held_attempt = NULL
       FROM old WHERE c.id = old.id AND c.held_agent IS NOT NULL
     RETURNING c.id, old.held_attempt AS attempt, old.held_agent AS agent_id`,
    [limit],
  );
  return rows.map((r) => ({ id: r.id, attempt: r.attempt, agentId: r.agent_id }));
}
