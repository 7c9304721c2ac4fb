import type { Queryable } from './db.ts';
import { stateName, type CallbackState } from '../domain/callback-state.ts';
import { phoneFromStored } from '../domain/phone-number.ts';
import { isCallbackId } from '../domain/callback-id.ts';
import { phaseName, type AttemptPhase } from '../domain/engine/attempt-phase.ts';

// The engine's row of a callback and the one way its statements are run (engine-transition-store.ts
// and the reads beside it share them).

/** What the engine needs of a callback, with the names the voice platform is told. */
export interface EngineRow {
  id: string;
  tenantId: number;
  tenantName: string;
  serviceId: number;
  serviceName: string;
  state: CallbackState;
  phase: AttemptPhase;
  attempt: number;
  dueAt: Date | null;
  desiredAt: Date;
  createdAt: Date;
  priority: number;
  scheduled: boolean;
  phone: string; // E.164
  /** When the prediction made as the callback first joined its queue said an agent would take it. */
  ewtAt: Date | null;
  /** Agents who rejected this callback's preview, over all attempts (never held for it again). */
  previewRejects: string[];
  /** The agent the platform holds for the attempt `heldAttempt`, when GES has not given it back. */
  heldAgent: string | null;
  heldAttempt: number | null;
  /** What the call's context is built from, when the statement selected it (CALL_COLUMNS): engineRows and startAttempt do. */
  call?: CallColumns;
}

/** The callback's own part of its call's context, as stored (userData inline, or in `dataChunks` chunks of callback_data). */
export interface CallColumns {
  userData: Record<string, unknown> | null;
  dataChunks: number;
  language: string | undefined;
  routePoint: string | undefined;
}

interface EngineDbRow {
  id: string;
  tenant_id: number;
  tenant_name: string;
  service_id: number;
  service_name: string;
  state: number;
  phase: number;
  attempt: number;
  due_at: Date | null;
  desired_at: Date;
  created_at: Date;
  priority: number;
  scheduled: boolean;
  phone: string;
  ewt_at: Date | null;
  preview_rejects: string[] | null;
  held_agent: string | null;
  held_attempt: number | null;
  user_data?: Record<string, unknown> | null;
  data_chunks?: number;
  language?: string | null;
  route_point?: string | null;
}

export const ENGINE_COLUMNS = `c.id, c.tenant_id, t.name AS tenant_name, c.service_id, s.name AS service_name, c.state, c.phase,
  c.attempt, c.due_at, c.desired_at, c.created_at, c.priority, c.scheduled, c.phone, c.ewt_at,
  c.preview_rejects, c.held_agent, c.held_attempt`;
/** The columns of a call's context (read with the rows that commands to the platform are built from, not with bulk reads). */
export const CALL_COLUMNS = `c.user_data, c.data_chunks, c.extras->>'language' AS language, c.extras->>'routePoint' AS route_point`;
export const ENGINE_JOIN = 'JOIN callback_service s ON s.id = c.service_id JOIN tenant t ON t.id = c.tenant_id';

function toEngineRow(r: EngineDbRow): EngineRow {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    tenantName: r.tenant_name,
    serviceId: r.service_id,
    serviceName: r.service_name,
    state: stateName(r.state),
    phase: phaseName(r.phase),
    attempt: r.attempt,
    dueAt: r.due_at,
    desiredAt: r.desired_at,
    createdAt: r.created_at,
    priority: r.priority,
    scheduled: r.scheduled,
    phone: phoneFromStored(r.phone),
    ewtAt: r.ewt_at,
    previewRejects: r.preview_rejects ?? [],
    heldAgent: r.held_agent,
    heldAttempt: r.held_attempt,
    ...(r.data_chunks === undefined
      ? {}
      : {
          call: {
            userData: r.user_data ?? null,
            dataChunks: r.data_chunks,
            language: r.language ?? undefined,
            routePoint: r.route_point ?? undefined,
          },
        }),
  };
}

export const NOW = 'coalesce($NOW::timestamptz, now())';

/** Runs an engine statement whose clock parameter is written $NOW (appended as the last parameter). */
export async function engineQuery(db: Queryable, sql: string, params: unknown[], now: Date | null): Promise<EngineRow[]> {
  const usesNow = sql.includes('$NOW');
  const text = usesNow ? sql.replaceAll('$NOW', `$${params.length + 1}`) : sql;
  const { rows } = await db.query<EngineDbRow>(text, usesNow ? [...params, now] : params);
  return rows.map(toEngineRow);
}

/**
 * The engine's view of some callbacks (any state), for platform events and reconciling due entries,
 * with what their calls' context is built from: the command an event leads to needs no second read.
 */
export async function engineRows(db: Queryable, ids: readonly string[]): Promise<EngineRow[]> {
  const valid = ids.filter(isCallbackId);
  if (valid.length === 0) return [];
  return engineQuery(db, `SELECT ${ENGINE_COLUMNS}, ${CALL_COLUMNS} FROM callback c ${ENGINE_JOIN} WHERE c.id = ANY($1::uuid[])`, [valid], null);
}
