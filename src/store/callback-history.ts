import type { Queryable } from './db.ts';
import { STATES, stateName, reasonName, type CallbackState, type CompletionReason } from '../domain/callback-state.ts';
import { isCallbackId } from '../domain/callback-id.ts';
import { ACTOR } from '../domain/actor.ts';

/**
 * The history of a callback (callback_event): the kinds of event as stored, and the read of one
 * callback's history. Events are written by the statement that makes the change they record
 * (callback-store, engine-transition-store), never on their own. The creation is not stored as an
 * event: the callback row itself records it (created_at, initial state), and the read adds it.
 */

/** Stored in callback_event.kind; never renumber. */
export const EVENT_KIND = Object.freeze({ STATE: 1, DIAL: 2, RESCHEDULE: 3, DISPOSITION: 4 } as const);

export interface CallbackEvent {
  at: Date;
  kind: 'STATE' | 'DIAL' | 'RESCHEDULE' | 'DISPOSITION';
  state: CallbackState;
  reason: CompletionReason | undefined;
  attempt: number;
  actor: 'SYSTEM' | 'API' | 'CONSOLE';
  detail: string | null;
}

export async function listEvents(db: Queryable, tenantId: number, id: string): Promise<CallbackEvent[]> {
  if (!isCallbackId(id)) return [];
  const kinds = ['', 'STATE', 'DIAL', 'RESCHEDULE', 'DISPOSITION'] as const;
  const actors = ['SYSTEM', 'API', 'CONSOLE'] as const;
  const { rows } = await db.query<{ at: Date; kind: number; state: number; reason: number | null; attempt: number; actor: number; detail: string | null }>(
    `SELECT c.created_at AS at, ${EVENT_KIND.STATE} AS kind,
            CASE WHEN c.scheduled THEN ${STATES.SCHEDULED} ELSE ${STATES.QUEUED} END AS state,
            NULL::smallint AS reason, 0 AS attempt, ${ACTOR.API} AS actor, NULL AS detail, 0 AS ord
       FROM callback c WHERE c.id = $2 AND c.tenant_id = $1
     UNION ALL
     SELECT e.at, e.kind, e.state, e.reason, e.attempt, e.actor, e.detail, 1 AS ord
       FROM callback_event e
      WHERE e.callback_id = $2 AND EXISTS (SELECT 1 FROM callback c WHERE c.id = $2 AND c.tenant_id = $1)
      ORDER BY ord, at, kind`,
    [tenantId, id],
  );
  return rows.map((r) => ({
    at: r.at,
    kind: kinds[r.kind] as CallbackEvent['kind'],
    state: stateName(r.state),
    reason: reasonName(r.reason),
    attempt: r.attempt,
    actor: actors[r.actor] ?? 'SYSTEM',
    detail: r.detail,
  }));
}
