import type { Queryable } from './db.ts';
import type { Role } from '../domain/roles.ts';

/** All SQL of the console-user aggregate (migrations/0006_console.sql). */

export interface ConsoleUser {
  id: number;
  tenantId: number;
  tenantName: string;
  login: string;
  role: Role;
  showUtc: boolean;
  clock24h: boolean;
  createdAt: Date;
  disabledAt: Date | null;
}

const COLUMNS = `u.id, u.tenant_id AS "tenantId", t.name AS "tenantName", u.login, u.role, u.show_utc AS "showUtc",
  u.clock_24h AS "clock24h", u.created_at AS "createdAt", u.disabled_at AS "disabledAt"`;
const FROM = 'console_user u JOIN tenant t ON t.id = u.tenant_id';

/** Inserts a user; returns undefined when the login is taken in that tenant. */
export async function insertConsoleUser(db: Queryable, tenantId: number, login: string, role: Role, passwordHash: string): Promise<ConsoleUser | undefined> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO console_user (tenant_id, login, role, password_hash) VALUES ($1, $2, $3, $4)
     ON CONFLICT (tenant_id, login) DO NOTHING RETURNING id`,
    [tenantId, login, role, passwordHash],
  );
  return rows[0] ? consoleUserById(db, tenantId, rows[0].id) : undefined;
}

/** The user of a session: by id, and only within the session's tenant. */
export async function consoleUserById(db: Queryable, tenantId: number, id: number): Promise<ConsoleUser | undefined> {
  const { rows } = await db.query<ConsoleUser>(`SELECT ${COLUMNS} FROM ${FROM} WHERE u.tenant_id = $1 AND u.id = $2`, [tenantId, id]);
  return rows[0];
}

/** What sign-in needs: the user and its hash, found by tenant name and login. */
export async function consoleUserForSignIn(db: Queryable, tenantName: string, login: string): Promise<(ConsoleUser & { passwordHash: string }) | undefined> {
  const { rows } = await db.query<ConsoleUser & { passwordHash: string }>(
    `SELECT ${COLUMNS}, u.password_hash AS "passwordHash" FROM ${FROM} WHERE t.name = $1 AND u.login = $2`,
    [tenantName, login],
  );
  return rows[0];
}

export async function consoleUserByLogin(db: Queryable, tenantId: number, login: string): Promise<ConsoleUser | undefined> {
  const { rows } = await db.query<ConsoleUser>(`SELECT ${COLUMNS} FROM ${FROM} WHERE u.tenant_id = $1 AND u.login = $2`, [tenantId, login]);
  return rows[0];
}

export async function passwordHashOf(db: Queryable, tenantId: number, id: number): Promise<string | undefined> {
  const { rows } = await db.query<{ h: string }>('SELECT password_hash AS h FROM console_user WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return rows[0]?.h;
}

export async function listConsoleUsers(db: Queryable, tenantId: number): Promise<ConsoleUser[]> {
  const { rows } = await db.query<ConsoleUser>(`SELECT ${COLUMNS} FROM ${FROM} WHERE u.tenant_id = $1 ORDER BY u.login`, [tenantId]);
  return rows;
}

export interface ConsoleUserChange {
  role?: Role;
  passwordHash?: string;
  disabled?: boolean;
  showUtc?: boolean;
  clock24h?: boolean;
}

/** Applies the given changes in one statement; false when no such user exists in the tenant. */
export async function updateConsoleUser(db: Queryable, tenantId: number, login: string, change: ConsoleUserChange): Promise<boolean> {
  const res = await db.query(
    `UPDATE console_user SET
       role = coalesce($3, role),
       password_hash = coalesce($4, password_hash),
       disabled_at = CASE WHEN $5::boolean IS NULL THEN disabled_at WHEN $5 THEN coalesce(disabled_at, now()) ELSE NULL END,
       show_utc = coalesce($6, show_utc),
       clock_24h = coalesce($7, clock_24h)
     WHERE tenant_id = $1 AND login = $2`,
    [tenantId, login, change.role ?? null, change.passwordHash ?? null, change.disabled ?? null, change.showUtc ?? null, change.clock24h ?? null],
  );
  return (res.rowCount ?? 0) > 0;
}

/** Enabled administrators of the tenant: the console refuses to remove the last one. */
export async function countActiveAdministrators(db: Queryable, tenantId: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM console_user WHERE tenant_id = $1 AND role = 'ADMINISTRATOR' AND disabled_at IS NULL`,
    [tenantId],
  );
  return rows[0]!.n;
}
