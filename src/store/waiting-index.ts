import { STATES } from '../domain/callback-state.ts';
import { PHASES } from '../domain/engine/attempt-phase.ts';

/**
 * The predicate of the partial index `callback_waiting` (migrations/0004_engine.sql): callbacks
 * that wait, scheduled or queued and not in an attempt (waiting for their turn, or pausing between
 * attempts). Postgres reads a partial index only for a WHERE clause that implies its predicate,
 * so the statements meant to read just the waiting callbacks (the TTL sweep, the queue-size gauge)
 * repeat it from here, unqualified, and test/waiting-index.test.ts checks that it still says what
 * the migration says. A new migration that redefines the index must change this with it.
 */
export const WAITING_INDEX_PREDICATE = `state < ${STATES.ROUTING} AND phase IN (${PHASES.WAITING}, ${PHASES.RETRY_WAIT})`;
