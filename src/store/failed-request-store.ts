import type { Queryable } from './db.ts';

/** All SQL of the failed-request log (migrations/0006_console.sql): the Developer page's data. */

export interface FailedRequest {
  at: Date;
  corrId: string;
  method: string;
  path: string;
  statusCode: number;
  errorCode: string | null;
  message: string | null;
}

export interface NewFailedRequest {
  tenantId: number;
  corrId: string;
  method: string;
  path: string;
  statusCode: number;
  errorCode: string | undefined;
  message: string | undefined;
}

const COLUMNS = `at, corr_id AS "corrId", method, path, status_code AS "statusCode", error_code AS "errorCode", message`;

export async function insertFailedRequest(db: Queryable, r: NewFailedRequest): Promise<void> {
  await db.query(`INSERT INTO failed_request (tenant_id, corr_id, method, path, status_code, error_code, message) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
    r.tenantId,
    r.corrId,
    r.method,
    r.path,
    r.statusCode,
    r.errorCode ?? null,
    r.message ?? null,
  ]);
}

export async function failedRequestsByCorrId(db: Queryable, tenantId: number, corrId: string): Promise<FailedRequest[]> {
  const { rows } = await db.query<FailedRequest>(`SELECT ${COLUMNS} FROM failed_request WHERE tenant_id = $1 AND corr_id = $2 ORDER BY at DESC LIMIT 20`, [
    tenantId,
    corrId,
  ]);
  return rows;
}

export async function recentFailedRequests(db: Queryable, tenantId: number, limit: number): Promise<FailedRequest[]> {
  const { rows } = await db.query<FailedRequest>(`SELECT ${COLUMNS} FROM failed_request WHERE tenant_id = $1 ORDER BY at DESC LIMIT $2`, [tenantId, limit]);
  return rows;
}

/** Retention: failed requests are kept `retentionDays` days. */
export async function purgeFailedRequests(db: Queryable, retentionDays: number): Promise<number> {
  const res = await db.query(`DELETE FROM failed_request WHERE at < now() - make_interval(days => $1)`, [retentionDays]);
  return res.rowCount ?? 0;
}
