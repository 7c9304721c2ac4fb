import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { hash, verify } from '@node-rs/argon2';
import { GesError } from '../domain/errors.ts';
import type { Role } from '../domain/roles.ts';
import { findTenantByName, type Tenant } from '../store/tenant-store.ts';
import {
  consoleUserById,
  consoleUserByLogin,
  consoleUserForSignIn,
  countActiveAdministrators,
  insertConsoleUser,
  listConsoleUsers,
  passwordHashOf,
  updateConsoleUser,
  type ConsoleUser,
} from '../store/console-user-store.ts';

/** A console user as the console sees it (the console imports no store). */
export type { ConsoleUser };

/**
 * Console users: local accounts per tenant with an argon2id password hash (OWASP's minimum
 * parameters: 19 MiB, 2 passes, 1 lane; about 80 ms a hash). Used by the console and by
 * `ges user ...`. Passwords never leave this module except when generated, to be shown once.
 */

// The algorithm is the library's default, argon2id (its const enum cannot be imported under
// verbatimModuleSyntax); the table's CHECK refuses any hash that is not "$argon2id$...".
const HASH_OPTIONS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
const LOGIN = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
export const MIN_PASSWORD_LENGTH = 12;
const MAX_PASSWORD_LENGTH = 256;

export function generatePassword(): string {
  return randomBytes(15).toString('base64url'); // 20 characters, 120 bits
}

function checkLogin(login: string): void {
  if (!LOGIN.test(login)) throw new GesError('GES_VALIDATION', 'login must be 1 to 64 letters, digits, _ . @ or -, starting with a letter or digit');
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new GesError('GES_VALIDATION', `password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`);
  }
}

function notFound(login: string): GesError {
  return new GesError('GES_CONSOLE_NOT_FOUND', `no console user ${JSON.stringify(login.slice(0, 64))} in this tenant`);
}

export class ConsoleUserService {
  // A hash of a random password, verified when the login is unknown so that a wrong login takes
  // as long as a wrong password and the timing does not reveal which logins exist.
  #decoy: Promise<string> | undefined;

  constructor(private readonly pool: pg.Pool) {}

  /** Creates a user; without a password one is generated and returned (to be shown once). */
  async create(tenant: Tenant, login: string, role: Role, password?: string): Promise<{ user: ConsoleUser; password: string }> {
    checkLogin(login);
    const clear = password ?? generatePassword();
    checkPassword(clear);
    const user = await insertConsoleUser(this.pool, tenant.id, login, role, await hash(clear, HASH_OPTIONS));
    if (!user) throw new GesError('GES_CONSOLE_USER_EXISTS', `a console user ${login} already exists in tenant ${tenant.name}`);
    return { user, password: clear };
  }

  async createInTenant(tenantName: string, login: string, role: Role, password?: string): Promise<{ user: ConsoleUser; password: string }> {
    return this.create(await this.#tenant(tenantName), login, role, password);
  }

  /** The user if the tenant, login and password match an enabled user; undefined otherwise. */
  async signIn(tenantName: string, login: string, password: string): Promise<ConsoleUser | undefined> {
    const found = LOGIN.test(login) && password.length <= MAX_PASSWORD_LENGTH ? await consoleUserForSignIn(this.pool, tenantName, login) : undefined;
    if (!found) {
      await verify(await (this.#decoy ??= hash(generatePassword(), HASH_OPTIONS)), password.slice(0, MAX_PASSWORD_LENGTH)).catch(() => false);
      return undefined;
    }
    const ok = await verify(found.passwordHash, password).catch(() => false);
    if (!ok || found.disabledAt !== null) return undefined;
    const { passwordHash: _, ...user } = found;
    return user;
  }

  /** The user behind a session, if it still exists and is enabled. */
  async active(tenantId: number, userId: number): Promise<ConsoleUser | undefined> {
    const user = await consoleUserById(this.pool, tenantId, userId);
    return user && user.disabledAt === null ? user : undefined;
  }

  list(tenantId: number): Promise<ConsoleUser[]> {
    return listConsoleUsers(this.pool, tenantId);
  }

  async listInTenant(tenantName: string): Promise<ConsoleUser[]> {
    return this.list((await this.#tenant(tenantName)).id);
  }

  async get(tenantId: number, login: string): Promise<ConsoleUser> {
    const user = await consoleUserByLogin(this.pool, tenantId, login);
    if (!user) throw notFound(login);
    return user;
  }

  /**
   * Changes a role or disables a user. The last enabled administrator of a tenant cannot be
   * demoted or disabled, so a tenant never locks itself out of user management.
   */
  async update(tenantId: number, login: string, change: { role?: Role; disabled?: boolean }): Promise<void> {
    const user = await this.get(tenantId, login);
    const losesAdmin =
      user.role === 'ADMINISTRATOR' && user.disabledAt === null && ((change.role !== undefined && change.role !== 'ADMINISTRATOR') || change.disabled === true);
    if (losesAdmin && (await countActiveAdministrators(this.pool, tenantId)) <= 1) {
      throw new GesError('GES_VALIDATION', `${login} is the last enabled administrator of this tenant; make another user administrator first`);
    }
    if (!(await updateConsoleUser(this.pool, tenantId, login, change))) throw notFound(login);
  }

  async setDisabledInTenant(tenantName: string, login: string, disabled: boolean): Promise<void> {
    await this.update((await this.#tenant(tenantName)).id, login, { disabled });
  }

  /** Sets a new password (generated when not given) and returns it, to be shown once. */
  async resetPassword(tenantId: number, login: string, password?: string): Promise<string> {
    checkLogin(login);
    const clear = password ?? generatePassword();
    checkPassword(clear);
    if (!(await updateConsoleUser(this.pool, tenantId, login, { passwordHash: await hash(clear, HASH_OPTIONS) }))) throw notFound(login);
    return clear;
  }

  async resetPasswordInTenant(tenantName: string, login: string, password?: string): Promise<string> {
    return this.resetPassword((await this.#tenant(tenantName)).id, login, password);
  }

  /** A user changing their own password must know the current one. */
  async changeOwnPassword(user: ConsoleUser, current: string, next: string): Promise<void> {
    checkPassword(next);
    const stored = await passwordHashOf(this.pool, user.tenantId, user.id);
    if (!stored || !(await verify(stored, current).catch(() => false))) throw new GesError('GES_VALIDATION', 'the current password is not correct');
    await updateConsoleUser(this.pool, user.tenantId, user.login, { passwordHash: await hash(next, HASH_OPTIONS) });
  }

  async setPreferences(user: ConsoleUser, prefs: { showUtc: boolean; clock24h: boolean }): Promise<void> {
    await updateConsoleUser(this.pool, user.tenantId, user.login, prefs);
  }

  async #tenant(name: string): Promise<Tenant> {
    const tenant = await findTenantByName(this.pool, name);
    if (!tenant) throw new GesError('GES_VALIDATION', `no tenant named ${name}`);
    return tenant;
  }
}
