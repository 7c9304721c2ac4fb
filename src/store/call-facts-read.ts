import type { Queryable } from './db.ts';
import type { CallFacts } from '../domain/call-context.ts';
import { CALL_COLUMNS, type CallColumns, type EngineRow } from './engine-row.ts';
import { decodeUserData } from './user-data-codec.ts';

/**
 * The callback's part of its call's context (userData, language, route point, priority), for the
 * commands the engine sends. The rows of platform events and of a started attempt carry it already
 * (CALL_COLUMNS); only userData too large to stay inline costs a read of its chunks, and a row read
 * without the columns one read of them.
 */
export async function callFacts(db: Queryable, row: Pick<EngineRow, 'id' | 'priority' | 'call'>): Promise<CallFacts> {
  const call = row.call ?? (await readCallColumns(db, row.id));
  if (call === undefined) return { userData: null, priority: row.priority };
  let userData = call.userData;
  if (call.dataChunks > 0) {
    const { rows } = await db.query<{ chunk: Buffer }>('SELECT chunk FROM callback_data WHERE callback_id = $1 ORDER BY seq', [row.id]);
    userData = rows.length > 0 ? await decodeUserData(rows.map((r) => r.chunk)) : null;
  }
  return { userData, language: call.language, routePoint: call.routePoint, priority: row.priority };
}

async function readCallColumns(db: Queryable, id: string): Promise<CallColumns | undefined> {
  const { rows } = await db.query<{ user_data: Record<string, unknown> | null; data_chunks: number; language: string | null; route_point: string | null }>(
    `SELECT ${CALL_COLUMNS} FROM callback c WHERE c.id = $1`,
    [id],
  );
  const r = rows[0];
  if (r === undefined) return undefined;
  return { userData: r.user_data, dataChunks: r.data_chunks, language: r.language ?? undefined, routePoint: r.route_point ?? undefined };
}
