import type pg from 'pg';
import { withTransaction, type Queryable } from './db.ts';
import { phoneFromStored, phoneToStored } from '../domain/phone-number.ts';
import { isCallbackId, newCallbackId } from '../domain/callback-id.ts';
import type { CallInGroup } from '../domain/call-in/call-in-group.ts';
import { CALL_IN_STATES, callInStateName, type CallInStateName } from '../domain/call-in/call-in-match.ts';
import { decodeUserData, encodeUserData } from './user-data-codec.ts';

/**
 * All SQL of the Click-To-Call-In aggregate: a tenant's call-in groups and the requests made on
 * them. Creating a request and matching an inbound call to one are each a single statement; both
 * read the time from the database (`now()`) unless a caller passes its own `now` (tests, and
 * simulations that run on virtual time).
 *
 * userData is stored as for callbacks (src/store/user-data-codec.ts), but a large value stays in
 * the request row as one deflated bytea rather than in page-sized chunks: call-in requests are few
 * and short-lived, so their storage is not worth a second table.
 */

const W = CALL_IN_STATES.WAITING;

// ---- Groups ---------------------------------------------------------------------------------------

export interface CallInGroupRow extends CallInGroup {
  id: number;
}

interface GroupRow {
  id: number;
  name: string;
  dnis: string[];
  access_code: boolean;
  access_code_length: number;
  expiry_sec: number;
  target_service: string | null;
  default_country: string;
}

const GROUP_COLUMNS = 'id, name, dnis, access_code, access_code_length, expiry_sec, target_service, default_country';

function toGroup(r: GroupRow): CallInGroupRow {
  return {
    id: r.id,
    name: r.name,
    dnis: r.dnis.map(phoneFromStored),
    accessCode: r.access_code,
    accessCodeLength: r.access_code_length,
    expirySeconds: r.expiry_sec,
    targetService: r.target_service,
    defaultCountry: r.default_country,
  };
}

/** Creates the group or replaces every field of it: idempotent for configuration files. */
export async function upsertCallInGroup(db: Queryable, tenantId: number, g: CallInGroup): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO callin_group (tenant_id, name, dnis, access_code, access_code_length, expiry_sec, target_service, default_country)
     VALUES ($1, $2, $3::bigint[], $4, $5, $6, $7, $8)
     ON CONFLICT (tenant_id, name) DO UPDATE SET dnis = EXCLUDED.dnis, access_code = EXCLUDED.access_code,
       access_code_length = EXCLUDED.access_code_length, expiry_sec = EXCLUDED.expiry_sec,
       target_service = EXCLUDED.target_service, default_country = EXCLUDED.default_country, updated_at = now()
     RETURNING id`,
    [tenantId, g.name, g.dnis.map(phoneToStored), g.accessCode, g.accessCodeLength, g.expirySeconds, g.targetService, g.defaultCountry],
  );
  return rows[0]!.id;
}

export async function listCallInGroups(db: Queryable, tenantId: number): Promise<CallInGroupRow[]> {
  const { rows } = await db.query<GroupRow>(`SELECT ${GROUP_COLUMNS} FROM callin_group WHERE tenant_id = $1 ORDER BY name`, [tenantId]);
  return rows.map(toGroup);
}

export async function findCallInGroup(db: Queryable, tenantId: number, name: string): Promise<CallInGroupRow | undefined> {
  const { rows } = await db.query<GroupRow>(`SELECT ${GROUP_COLUMNS} FROM callin_group WHERE tenant_id = $1 AND name = $2`, [tenantId, name]);
  return rows[0] ? toGroup(rows[0]) : undefined;
}

/**
 * A number that two groups of the tenant share, with their names, or undefined. A call to a
 * shared number could not tell which group's rules apply, so configuration refuses it.
 */
export async function sharedCallInNumber(db: Queryable, tenantId: number): Promise<{ dnis: string; groups: string[] } | undefined> {
  const { rows } = await db.query<{ dnis: string; groups: string[] }>(
    `SELECT d AS dnis, array_agg(g.name ORDER BY g.name) AS groups
       FROM callin_group g, unnest(g.dnis) AS d
      WHERE g.tenant_id = $1
      GROUP BY d HAVING count(*) > 1
      ORDER BY d LIMIT 1`,
    [tenantId],
  );
  return rows[0] ? { dnis: phoneFromStored(rows[0].dnis), groups: rows[0].groups } : undefined;
}

// ---- Requests -------------------------------------------------------------------------------------

export interface InsertCallInRequest {
  tenantId: number;
  groupId: number;
  /** The group's numbers (E.164), in the order ties of load are broken (src/domain/call-in/dnis-choice.ts). */
  dnisPreference: readonly string[];
  /** Candidate access codes in order of preference; undefined when the group uses none. */
  accessCodes: readonly number[] | undefined;
  expirySeconds: number;
  fromNumber: string | undefined; // E.164
  callbackServiceId: string | undefined;
  userData: Record<string, unknown> | undefined;
  /** The time of creation; default the database's now(). */
  now?: Date;
}

export interface InsertedCallInRequest {
  id: string;
  toNumber: string;
  accessCode: number | undefined;
  createdAt: Date;
  expiresAt: Date;
}

/**
 * Creates a request in one statement: it takes the least loaded number of the pool (ties in
 * `dnisPreference` order) on which one of `accessCodes` is not held by a waiting request, and the
 * first such code (src/domain/call-in/dnis-choice.ts `choosePlacement` states the same rule).
 * Undefined when every candidate code is taken on every number; the caller draws new codes.
 *
 * Two concurrent creates may still pick the same free code for the same number (each statement's
 * snapshot predates the other's row). That is rare, and harmless: the matching rule then prefers
 * the request made from the caller's number, else the newer one.
 */
export async function insertCallInRequest(db: Queryable, r: InsertCallInRequest): Promise<InsertedCallInRequest | undefined> {
  const userData = await encodeUserData(r.userData);
  const packed = userData.chunks.length > 0 ? Buffer.concat(userData.chunks) : null;
  const id = newCallbackId(r.now?.getTime());
  const { rows } = await db.query<{ id: string; to_number: string; access_code: string | null; created_at: Date; expires_at: Date }>(
    `WITH clock AS (
       SELECT date_trunc('milliseconds', coalesce($10::timestamptz, now())) AS now
     ), pool AS (
       SELECT d.dnis, d.ord,
              (SELECT count(*) FROM callin_request w, clock
                WHERE w.tenant_id = $1 AND w.to_number = d.dnis AND w.state = ${W} AND w.expires_at > clock.now) AS waiting
         FROM unnest($3::bigint[]) WITH ORDINALITY AS d(dnis, ord)
     ), choice AS (
       SELECT p.dnis, c.code
         FROM pool p
         CROSS JOIN LATERAL unnest(coalesce($4::bigint[], ARRAY[NULL]::bigint[])) WITH ORDINALITY AS c(code, ord)
         CROSS JOIN clock
        WHERE c.code IS NULL OR NOT EXISTS (
                SELECT 1 FROM callin_request w
                 WHERE w.tenant_id = $1 AND w.to_number = p.dnis AND w.state = ${W} AND w.expires_at > clock.now AND w.access_code = c.code)
        ORDER BY p.waiting, p.ord, c.ord
        LIMIT 1
     )
     INSERT INTO callin_request (created_at, expires_at, to_number, from_number, access_code, id, tenant_id, group_id, callback_id, user_data, user_data_z)
     SELECT clock.now, clock.now + make_interval(secs => $5), choice.dnis, $6, choice.code, $7, $1, $2, $8, $9, $11
       FROM choice, clock
     RETURNING id, to_number, access_code, created_at, expires_at`,
    [
      r.tenantId,
      r.groupId,
      r.dnisPreference.map(phoneToStored),
      r.accessCodes ? [...r.accessCodes] : null,
      r.expirySeconds,
      r.fromNumber ? phoneToStored(r.fromNumber) : null,
      id,
      r.callbackServiceId ?? null,
      userData.inline,
      r.now ?? null,
      packed,
    ],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    id: row.id,
    toNumber: phoneFromStored(row.to_number),
    accessCode: row.access_code === null ? undefined : Number(row.access_code),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

export interface InboundMatchInput {
  tenantName: string;
  callId: string;
  toNumber: string; // E.164
  fromNumber: string | undefined; // E.164
  accessCode: number | undefined; // what the caller keyed in
  /** The time of the call; default the database's now(). */
  now?: Date;
}

export interface MatchedCallInRequest {
  id: string;
  groupName: string;
  targetService: string | null;
  userData: Record<string, unknown> | undefined;
  callbackServiceId: string | undefined;
  /** True when this call had already been matched (the platform delivered the call twice). */
  replay: boolean;
}

/**
 * Matches an inbound call to a waiting request and marks it matched, in one statement, by the rule
 * of src/domain/call-in/call-in-match.ts. The candidate row is locked with SKIP LOCKED and the
 * update re-checks that it is still waiting, so two calls racing for one request cannot both get
 * it: the second skips it (and takes the next candidate, if any).
 *
 * A call id already matched gets its request back (`replay`) instead of a second one. Two
 * deliveries of the same call at the same moment (a platform redelivering to another node) could
 * not see each other's match from inside one statement, whose snapshot predates the other's
 * commit; so the statement runs after a transaction-scoped advisory lock on the call id, which
 * makes the second delivery wait and then see the first one's match. The unique index on
 * (tenant, call id) stays as the last guard.
 */
export async function matchInboundCall(pool: pg.Pool, m: InboundMatchInput): Promise<MatchedCallInRequest | undefined> {
  return withTransaction(pool, async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('ges_callin_call'), hashtext($1 || ':' || $2))`, [m.tenantName, m.callId]);
    return matchStatement(tx, m);
  });
}

async function matchStatement(db: Queryable, m: InboundMatchInput): Promise<MatchedCallInRequest | undefined> {
  const { rows } = await db.query<{
    id: string;
    replay: boolean;
    group_name: string;
    target_service: string | null;
    user_data: Record<string, unknown> | null;
    user_data_z: Buffer | null;
    callback_id: string | null;
  }>(
    `WITH clock AS (
       SELECT date_trunc('milliseconds', coalesce($6::timestamptz, now())) AS now
     ), t AS (
       SELECT id FROM tenant WHERE name = $1
     ), prior AS (
       SELECT r.id, r.group_id, r.user_data, r.user_data_z, r.callback_id
         FROM callin_request r JOIN t ON r.tenant_id = t.id
        WHERE r.matched_call_id = $5
     ), candidate AS (
       SELECT r.id
         FROM callin_request r JOIN t ON r.tenant_id = t.id CROSS JOIN clock
        WHERE r.to_number = $2 AND r.state = ${W} AND r.expires_at > clock.now
          AND (r.access_code IS NULL OR r.access_code = $4::bigint)
          AND NOT EXISTS (SELECT 1 FROM prior)
        ORDER BY (r.from_number = $3::bigint) IS TRUE DESC, r.created_at DESC, r.id DESC
        LIMIT 1
        FOR UPDATE OF r SKIP LOCKED
     ), upd AS (
       UPDATE callin_request r SET state = ${CALL_IN_STATES.MATCHED}, matched_at = clock.now, matched_call_id = $5
         FROM candidate, clock
        WHERE r.id = candidate.id AND r.state = ${W}
        RETURNING r.id, r.group_id, r.user_data, r.user_data_z, r.callback_id
     ), hit AS (
       SELECT upd.*, false AS replay FROM upd
       UNION ALL
       SELECT prior.*, true AS replay FROM prior
     )
     SELECT hit.id, hit.replay, g.name AS group_name, g.target_service, hit.user_data, hit.user_data_z, hit.callback_id
       FROM hit JOIN callin_group g ON g.id = hit.group_id`,
    [m.tenantName, phoneToStored(m.toNumber), m.fromNumber ? phoneToStored(m.fromNumber) : null, m.accessCode ?? null, m.callId, m.now ?? null],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    id: row.id,
    groupName: row.group_name,
    targetService: row.target_service,
    userData: row.user_data_z ? await decodeUserData([row.user_data_z]) : (row.user_data ?? undefined),
    callbackServiceId: row.callback_id ?? undefined,
    replay: row.replay,
  };
}

export interface CallInRequestRecord {
  id: string;
  groupName: string;
  toNumber: string;
  fromNumber: string | undefined;
  accessCode: number | undefined;
  callbackServiceId: string | undefined;
  userData: Record<string, unknown> | undefined;
  /** WAITING past its expiry reads as EXPIRED even before maintenance has written it down. */
  state: CallInStateName;
  createdAt: Date;
  expiresAt: Date;
  matchedAt: Date | undefined;
  matchedCallId: string | undefined;
}

interface CallInRequestRow {
  id: string;
  group_name: string;
  to_number: string;
  from_number: string | null;
  access_code: string | null;
  callback_id: string | null;
  user_data: Record<string, unknown> | null;
  user_data_z: Buffer | null;
  state: number;
  created_at: Date;
  expires_at: Date;
  matched_at: Date | null;
  matched_call_id: string | null;
}

const REQUEST_SELECT = `SELECT r.id, g.name AS group_name, r.to_number, r.from_number, r.access_code, r.callback_id, r.user_data, r.user_data_z,
            CASE WHEN r.state = ${W} AND r.expires_at <= now() THEN ${CALL_IN_STATES.EXPIRED} ELSE r.state END AS state,
            r.created_at, r.expires_at, r.matched_at, r.matched_call_id
       FROM callin_request r JOIN callin_group g ON g.id = r.group_id`;

async function toRequestRecord(r: CallInRequestRow): Promise<CallInRequestRecord> {
  return {
    id: r.id,
    groupName: r.group_name,
    toNumber: phoneFromStored(r.to_number),
    fromNumber: r.from_number === null ? undefined : phoneFromStored(r.from_number),
    accessCode: r.access_code === null ? undefined : Number(r.access_code),
    callbackServiceId: r.callback_id ?? undefined,
    userData: r.user_data_z ? await decodeUserData([r.user_data_z]) : (r.user_data ?? undefined),
    state: callInStateName(r.state),
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    matchedAt: r.matched_at ?? undefined,
    matchedCallId: r.matched_call_id ?? undefined,
  };
}

export async function getCallInRequest(db: Queryable, tenantId: number, id: string): Promise<CallInRequestRecord | undefined> {
  if (!isCallbackId(id)) return undefined;
  const { rows } = await db.query<CallInRequestRow>(`${REQUEST_SELECT} WHERE r.tenant_id = $1 AND r.id = $2`, [tenantId, id]);
  return rows[0] ? toRequestRecord(rows[0]) : undefined;
}

/** Data-protection export: every call-in request the number made with the tenant, oldest first. */
export async function callInRequestsOfNumber(db: Queryable, tenantId: number, phone: string): Promise<CallInRequestRecord[]> {
  const { rows } = await db.query<CallInRequestRow>(`${REQUEST_SELECT} WHERE r.tenant_id = $1 AND r.from_number = $2 ORDER BY r.created_at, r.id`, [
    tenantId,
    phoneToStored(phone),
  ]);
  return Promise.all(rows.map(toRequestRecord));
}

/**
 * Retention of call-in requests, in one statement: writes down EXPIRED for waiting requests past
 * their expiry, and deletes requests created more than `retentionDays` ago (whatever their state:
 * the longest expiry is a day, so none is still waiting). The two sets are kept disjoint because a
 * statement must not change one row twice.
 */
export async function purgeCallInRequests(db: Queryable, retentionDays: number): Promise<{ expired: number; deleted: number }> {
  const { rows } = await db.query<{ expired: number; deleted: number }>(
    `WITH expired AS (
       UPDATE callin_request SET state = ${CALL_IN_STATES.EXPIRED}
        WHERE state = ${W} AND expires_at <= now() AND created_at >= now() - make_interval(days => $1)
       RETURNING 1
     ), gone AS (
       DELETE FROM callin_request WHERE created_at < now() - make_interval(days => $1)
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM expired)::int AS expired, (SELECT count(*) FROM gone)::int AS deleted`,
    [retentionDays],
  );
  return rows[0]!;
}

/** Data-protection erasure: every call-in request a number made with the tenant. Returns how many. */
export async function eraseCallInRequestsOfNumber(db: Queryable, tenantId: number, phone: string): Promise<number> {
  const res = await db.query('DELETE FROM callin_request WHERE tenant_id = $1 AND from_number = $2', [tenantId, phoneToStored(phone)]);
  return res.rowCount ?? 0;
}
