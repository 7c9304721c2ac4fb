import type { Queryable } from './db.ts';

/**
 * All SQL of the SIP agent aggregate (migrations/0017_sip_agent.sql): agents, their presence, the
 * holds attempts take on them, and the registrations of their softphones. Every transition is one
 * statement, so two nodes racing for an agent are decided by the row lock and nothing else; every
 * lease and expiry is read and written on the database clock, so skewed nodes agree on them.
 */

/** An agent as the voice adapter is handed it. */
export interface SipAgentRow {
  tenant: string;
  login: string;
  queues: string[];
  uri?: string;
  displayName?: string;
}

/** An agent as an administrator lists it: never its secrets, only whether it has any. */
export interface SipAgentListing extends SipAgentRow {
  ready: boolean;
  notReadyReason?: string;
  registers: boolean;
  heldBy?: string;
  heldUntil?: Date;
  stateChangedAt: Date;
  lastReleasedAt?: Date;
}

export interface SipAgentSecrets {
  ha1Md5: string;
  ha1Sha256: string;
}

export interface NewSipAgent {
  login: string;
  queues: readonly string[];
  uri?: string;
  displayName?: string;
  secrets?: SipAgentSecrets;
}

/** undefined: leave as it is; null: clear it. */
export interface SipAgentChanges {
  queues?: readonly string[];
  uri?: string | null;
  displayName?: string | null;
}

/** Presence of one agent in one of its queues. */
export interface SipAgentPresenceRow {
  tenant: string;
  queue: string;
  login: string;
  /** Ready, not held (a hold whose lease ran out is no hold) and reachable (a fixed phone or a registration). */
  available: boolean;
  /** Ready, held, or not ready with a reason (on a break rather than signed out). */
  signedIn: boolean;
}

export interface SipQueueCounts {
  tenant: string;
  queue: string;
  available: number;
  signedIn: number;
}

/**
 * The tenant of a name as the voice adapter and the registrar give it: the exact name, else the
 * same name in another case (a REGISTER's domain is lower-cased), so softphones need not match
 * the case an administrator typed.
 */
const TENANT_BY_NAME = (param: string) => `(SELECT id FROM tenant WHERE lower(name) = lower(${param}) ORDER BY name = ${param} DESC, id LIMIT 1)`;

/** A hold still in force; one whose lease ran out frees the agent without anybody clearing it. */
const HELD = `(a.held_by IS NOT NULL AND a.held_until > now())`;

/**
 * The agent can be called: it has a fixed phone, or its softphone holds an unexpired registration.
 * A ready agent whose softphone went away is neither available nor reserved, so no customer is
 * called for an agent nobody can reach.
 */
const REACHABLE = `(a.uri IS NOT NULL OR EXISTS (SELECT 1 FROM sip_registration r WHERE r.tenant_id = a.tenant_id AND r.login = a.login AND r.expires_at > now()))`;

const AGENT_COLUMNS = `t.name AS tenant, a.login, a.queues, a.uri, a.display_name AS "displayName"`;

interface AgentDbRow {
  tenant: string;
  login: string;
  queues: string[];
  uri: string | null;
  displayName: string | null;
}

function agentOf(r: AgentDbRow): SipAgentRow {
  return {
    tenant: r.tenant,
    login: r.login,
    queues: r.queues,
    ...(r.uri === null ? {} : { uri: r.uri }),
    ...(r.displayName === null ? {} : { displayName: r.displayName }),
  };
}

const leaseParam = (leaseMs: number) => Math.max(1, Math.round(leaseMs));

// ---------------------------------------------------------------------------------------------
// Administration (AgentAdmin, `ges agent ...`): by tenant id, the caller has found the tenant.

/** Creates the agent, not ready; false when the login exists in the tenant. */
export async function insertSipAgent(db: Queryable, tenantId: number, agent: NewSipAgent): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO sip_agent (tenant_id, login, queues, uri, display_name, ha1_md5, ha1_sha256)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, login) DO NOTHING`,
    [tenantId, agent.login, agent.queues, agent.uri ?? null, agent.displayName ?? null, agent.secrets?.ha1Md5 ?? null, agent.secrets?.ha1Sha256 ?? null],
  );
  return rowCount === 1;
}

/** Changes queues, phone and name; false when there is no such agent. */
export async function updateSipAgent(db: Queryable, tenantId: number, login: string, changes: SipAgentChanges): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE sip_agent SET
       queues = CASE WHEN $3 THEN $4::text[] ELSE queues END,
       uri = CASE WHEN $5 THEN $6 ELSE uri END,
       display_name = CASE WHEN $7 THEN $8 ELSE display_name END
     WHERE tenant_id = $1 AND login = $2`,
    [
      tenantId,
      login,
      changes.queues !== undefined,
      changes.queues ?? [],
      changes.uri !== undefined,
      changes.uri ?? null,
      changes.displayName !== undefined,
      changes.displayName ?? null,
    ],
  );
  return rowCount === 1;
}

/** Removes the agent and its registrations (cascade); false when there is no such agent. */
export async function deleteSipAgent(db: Queryable, tenantId: number, login: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM sip_agent WHERE tenant_id = $1 AND login = $2', [tenantId, login]);
  return rowCount === 1;
}

/** Replaces the digest secrets (null: the agent no longer registers); false when there is no such agent. */
export async function setSipAgentSecrets(db: Queryable, tenantId: number, login: string, secrets: SipAgentSecrets | null): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE sip_agent SET ha1_md5 = $3, ha1_sha256 = $4 WHERE tenant_id = $1 AND login = $2', [
    tenantId,
    login,
    secrets?.ha1Md5 ?? null,
    secrets?.ha1Sha256 ?? null,
  ]);
  return rowCount === 1;
}

/**
 * Makes the agent ready. state_changed_at moves only when readiness changes: a repeated "ready"
 * does not send an agent who has waited long to the back of the line.
 */
export async function setSipAgentReady(db: Queryable, tenantId: number, login: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE sip_agent SET ready = true, not_ready_reason = NULL, state_changed_at = CASE WHEN ready THEN state_changed_at ELSE now() END
      WHERE tenant_id = $1 AND login = $2`,
    [tenantId, login],
  );
  return rowCount === 1;
}

/** Makes the agent not ready; reason null signs it out. A hold in force is left alone: the call it is for goes on. */
export async function setSipAgentNotReady(db: Queryable, tenantId: number, login: string, reason: string | null): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE sip_agent SET ready = false, not_ready_reason = $3, state_changed_at = CASE WHEN ready THEN now() ELSE state_changed_at END
      WHERE tenant_id = $1 AND login = $2`,
    [tenantId, login, reason],
  );
  return rowCount === 1;
}

export async function listSipAgents(db: Queryable, tenantId: number): Promise<SipAgentListing[]> {
  const { rows } = await db.query<
    AgentDbRow & {
      ready: boolean;
      notReadyReason: string | null;
      registers: boolean;
      heldBy: string | null;
      heldUntil: Date | null;
      stateChangedAt: Date;
      lastReleasedAt: Date | null;
    }
  >(
    `SELECT ${AGENT_COLUMNS}, a.ready, a.not_ready_reason AS "notReadyReason", a.ha1_md5 IS NOT NULL AS registers,
            CASE WHEN ${HELD} THEN a.held_by END AS "heldBy", CASE WHEN ${HELD} THEN a.held_until END AS "heldUntil",
            a.state_changed_at AS "stateChangedAt", a.last_released_at AS "lastReleasedAt"
       FROM sip_agent a JOIN tenant t ON t.id = a.tenant_id
      WHERE a.tenant_id = $1 ORDER BY a.login`,
    [tenantId],
  );
  return rows.map((r) => ({
    ...agentOf(r),
    ready: r.ready,
    ...(r.notReadyReason === null ? {} : { notReadyReason: r.notReadyReason }),
    registers: r.registers,
    ...(r.heldBy === null ? {} : { heldBy: r.heldBy }),
    ...(r.heldUntil === null ? {} : { heldUntil: r.heldUntil }),
    stateChangedAt: r.stateChangedAt,
    ...(r.lastReleasedAt === null ? {} : { lastReleasedAt: r.lastReleasedAt }),
  }));
}

// ---------------------------------------------------------------------------------------------
// Holds (SipAgentDirectory): by tenant name, as the voice adapter knows tenants.

/**
 * Holds an agent of `queue` for `dialKey` for `leaseMs`. An agent the key already holds (and is
 * not excluded) comes back with its lease extended: a repeated reserve after a lost answer takes
 * no second agent. Otherwise the ready, free, reachable agent idle longest (since it became ready, its last
 * hold ended, or a dead node's lease ran out), never one of `exclude`. Rows another node is
 * locking are skipped, not waited for: that node is taking that agent.
 */
export async function reserveSipAgent(
  db: Queryable,
  tenant: string,
  queue: string,
  dialKey: string,
  exclude: readonly string[],
  leaseMs: number,
): Promise<SipAgentRow | undefined> {
  const { rows } = await db.query<AgentDbRow>(
    `WITH t AS (SELECT ${TENANT_BY_NAME('$1')} AS id),
     mine AS (
       UPDATE sip_agent a SET held_until = greatest(a.held_until, now() + $5 * interval '1 millisecond')
         FROM t
        WHERE a.tenant_id = t.id AND a.held_by = $3 AND a.held_until > now() AND $2 = ANY(a.queues) AND NOT (a.login = ANY($4::text[]))
       RETURNING a.tenant_id, a.login
     ),
     pick AS (
       SELECT a.tenant_id, a.login FROM sip_agent a, t
        WHERE NOT EXISTS (SELECT 1 FROM mine) AND a.tenant_id = t.id AND a.ready AND NOT ${HELD}
          AND $2 = ANY(a.queues) AND NOT (a.login = ANY($4::text[])) AND ${REACHABLE}
        ORDER BY greatest(a.state_changed_at, a.last_released_at, a.held_until), a.login
        LIMIT 1
        FOR UPDATE OF a SKIP LOCKED
     ),
     took AS (
       UPDATE sip_agent a SET held_by = $3, held_until = now() + $5 * interval '1 millisecond'
         FROM pick WHERE a.tenant_id = pick.tenant_id AND a.login = pick.login
       RETURNING a.tenant_id, a.login
     ),
     chosen AS (SELECT * FROM mine UNION ALL SELECT * FROM took LIMIT 1)
     SELECT ${AGENT_COLUMNS}
       FROM chosen c JOIN sip_agent a ON a.tenant_id = c.tenant_id AND a.login = c.login JOIN tenant t ON t.id = a.tenant_id`,
    [tenant, queue, dialKey, exclude, leaseParam(leaseMs)],
  );
  return rows[0] && agentOf(rows[0]);
}

/** Holds the named agent for `dialKey` if it is ready, free and reachable, or extends the hold the key already has on it. */
export async function holdSipAgent(db: Queryable, tenant: string, login: string, dialKey: string, leaseMs: number): Promise<SipAgentRow | undefined> {
  const { rows } = await db.query<AgentDbRow>(
    `UPDATE sip_agent a SET held_by = $3, held_until = CASE WHEN ${HELD} THEN greatest(a.held_until, now() + $4 * interval '1 millisecond')
                                                           ELSE now() + $4 * interval '1 millisecond' END
       FROM tenant t
      WHERE t.id = a.tenant_id AND a.tenant_id = ${TENANT_BY_NAME('$1')} AND a.login = $2
        AND (a.held_by = $3 OR (a.ready AND NOT ${HELD} AND ${REACHABLE}))
     RETURNING ${AGENT_COLUMNS}`,
    [tenant, login, dialKey, leaseParam(leaseMs)],
  );
  return rows[0] && agentOf(rows[0]);
}

/** The agent held for `dialKey` (dial keys are unique across tenants), the hold taken last if several. */
export async function sipAgentHeldFor(db: Queryable, dialKey: string): Promise<SipAgentRow | undefined> {
  const { rows } = await db.query<AgentDbRow>(
    `SELECT ${AGENT_COLUMNS} FROM sip_agent a JOIN tenant t ON t.id = a.tenant_id
      WHERE a.held_by = $1 AND a.held_until > now() ORDER BY a.held_until DESC LIMIT 1`,
    [dialKey],
  );
  return rows[0] && agentOf(rows[0]);
}

/**
 * Ends the hold of `dialKey` on `login`. Fenced by the key: a late release from an attempt whose
 * lease ran out, after another attempt took the agent, changes nothing. True when it let go.
 */
export async function releaseSipAgent(db: Queryable, dialKey: string, login: string): Promise<boolean> {
  const { rowCount } = await db.query(`UPDATE sip_agent SET held_by = NULL, held_until = NULL, last_released_at = now() WHERE held_by = $1 AND login = $2`, [
    dialKey,
    login,
  ]);
  return (rowCount ?? 0) > 0;
}

/** Extends the holds of these keys to `leaseMs` from now; returns how many agents they hold. */
export async function renewSipAgentHolds(db: Queryable, dialKeys: readonly string[], leaseMs: number): Promise<number> {
  if (dialKeys.length === 0) return 0;
  const { rowCount } = await db.query(`UPDATE sip_agent SET held_until = now() + $2 * interval '1 millisecond' WHERE held_by = ANY($1::text[])`, [
    dialKeys,
    leaseParam(leaseMs),
  ]);
  return rowCount ?? 0;
}

/** Sets the agent not ready by tenant name (the voice adapter: a preview timeout, an unreachable phone). */
export async function setSipAgentNotReadyByName(db: Queryable, tenant: string, login: string, reason: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE sip_agent SET ready = false, not_ready_reason = $3, state_changed_at = CASE WHEN ready THEN now() ELSE state_changed_at END
      WHERE tenant_id = ${TENANT_BY_NAME('$1')} AND login = $2`,
    [tenant, login, reason],
  );
  return rowCount === 1;
}

// ---------------------------------------------------------------------------------------------
// Presence: what the directory caches between refreshes.

/** Every agent in every one of its queues, with whether it is available and signed in now. */
export async function sipAgentPresence(db: Queryable): Promise<SipAgentPresenceRow[]> {
  const { rows } = await db.query<SipAgentPresenceRow>(
    `SELECT t.name AS tenant, q.queue, a.login,
            a.ready AND NOT ${HELD} AND ${REACHABLE} AS available,
            a.ready OR ${HELD} OR a.not_ready_reason IS NOT NULL AS "signedIn"
       FROM sip_agent a JOIN tenant t ON t.id = a.tenant_id CROSS JOIN LATERAL unnest(a.queues) AS q(queue)
      ORDER BY 1, 2, 3`,
  );
  return rows;
}

/** Available and signed-in agents per queue of the tenant (queues nobody takes are left out). */
export async function sipQueueCounts(db: Queryable, tenantId: number): Promise<SipQueueCounts[]> {
  const { rows } = await db.query<SipQueueCounts>(
    `SELECT t.name AS tenant, q.queue,
            count(*) FILTER (WHERE a.ready AND NOT ${HELD} AND ${REACHABLE})::int AS available,
            count(*) FILTER (WHERE a.ready OR ${HELD} OR a.not_ready_reason IS NOT NULL)::int AS "signedIn"
       FROM sip_agent a JOIN tenant t ON t.id = a.tenant_id CROSS JOIN LATERAL unnest(a.queues) AS q(queue)
      WHERE a.tenant_id = $1
      GROUP BY t.name, q.queue ORDER BY q.queue`,
    [tenantId],
  );
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Registrations (SipRegistrationBook): the registrar of every node reads and writes these.

/** The digest secrets of an agent that registers; undefined for no such agent or one with a fixed phone only. */
export async function sipAgentSecrets(db: Queryable, tenant: string, login: string): Promise<SipAgentSecrets | undefined> {
  const { rows } = await db.query<SipAgentSecrets>(
    `SELECT ha1_md5 AS "ha1Md5", ha1_sha256 AS "ha1Sha256" FROM sip_agent
      WHERE tenant_id = ${TENANT_BY_NAME('$1')} AND login = $2 AND ha1_md5 IS NOT NULL`,
    [tenant, login],
  );
  return rows[0];
}

/**
 * Binds `contact` to the agent until `expiresSec` from now, and in the same statement drops the
 * agent's other bindings that expired (softphones that went away without unregistering), so the
 * table holds only what may still be called. Nothing happens for an unknown agent.
 */
export async function bindSipContact(db: Queryable, tenant: string, login: string, contact: string, expiresSec: number): Promise<void> {
  await db.query(
    `WITH agent AS (SELECT tenant_id, login FROM sip_agent WHERE tenant_id = ${TENANT_BY_NAME('$1')} AND login = $2),
     pruned AS (
       DELETE FROM sip_registration r USING agent
        WHERE r.tenant_id = agent.tenant_id AND r.login = agent.login AND r.contact <> $3 AND r.expires_at <= now()
     )
     INSERT INTO sip_registration (tenant_id, login, contact, expires_at, bound_at)
     SELECT tenant_id, login, $3, now() + $4 * interval '1 second', now() FROM agent
     ON CONFLICT (tenant_id, login, contact) DO UPDATE SET expires_at = EXCLUDED.expires_at, bound_at = EXCLUDED.bound_at`,
    [tenant, login, contact, expiresSec],
  );
}

/** Removes one binding (a REGISTER with Expires: 0). */
export async function unbindSipContact(db: Queryable, tenant: string, login: string, contact: string): Promise<void> {
  await db.query(`DELETE FROM sip_registration WHERE tenant_id = ${TENANT_BY_NAME('$1')} AND login = $2 AND contact = $3`, [tenant, login, contact]);
}

/** The agent's unexpired contact bound last. */
export async function sipContactOf(db: Queryable, tenant: string, login: string): Promise<string | undefined> {
  const { rows } = await db.query<{ contact: string }>(
    `SELECT contact FROM sip_registration
      WHERE tenant_id = ${TENANT_BY_NAME('$1')} AND login = $2 AND expires_at > now()
      ORDER BY bound_at DESC, expires_at DESC LIMIT 1`,
    [tenant, login],
  );
  return rows[0]?.contact;
}

/** Whether a tenant has this name, in any case (a REGISTER's domain). */
export async function isSipTenant(db: Queryable, name: string): Promise<boolean> {
  const { rows } = await db.query<{ found: boolean }>('SELECT EXISTS (SELECT 1 FROM tenant WHERE lower(name) = lower($1)) AS found', [name]);
  return rows[0]!.found;
}
