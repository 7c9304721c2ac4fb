import { createHash, randomBytes } from 'node:crypto';
import type { Role } from '../domain/roles.ts';

/**
 * What the server keeps about a console session, and nothing more: who (user id, tenant, the role
 * at sign-in) and the CSRF token of its forms. The user's current role and enabled state are read
 * from the database on every request; the role here only helps an operator reading the store.
 */
export interface SessionData {
  userId: number;
  tenantId: number;
  role: Role;
  csrf: string;
}

/**
 * Server-side console sessions. Every entry lives `ttlMs` after its last `set` or `touch`: the TTL
 * is the idle timeout, so an idle session disappears by itself and logout is a `destroy`.
 */
export interface SessionStore {
  get(id: string): Promise<SessionData | undefined>;
  set(id: string, data: SessionData, ttlMs: number): Promise<void>;
  destroy(id: string): Promise<void>;
  /** Extends the life of a live session to `ttlMs` from now; does nothing for an ended one. */
  touch(id: string, ttlMs: number): Promise<void>;
}

/**
 * Failed sign-in bookkeeping for the login throttle: a counter per key that forgets itself
 * `windowMs` after its last failure, and a block with its own expiry.
 */
export interface AttemptCounter {
  increment(key: string, windowMs: number): Promise<number>;
  block(key: string, ms: number): Promise<void>;
  /** Milliseconds the key stays blocked; 0 when it is not. */
  blockedFor(key: string): Promise<number>;
  reset(key: string): Promise<void>;
}

/**
 * A session id names its tenant (`t<tenantId>.<256 random bits>`), so a Redis store can keep each
 * tenant's sessions under one hash tag. Knowing the tenant part gains nothing: the random part is
 * the secret, and the store returns the tenant the session was created for.
 */
export function newSessionId(tenantId: number): string {
  return `t${tenantId}.${randomBytes(32).toString('base64url')}`;
}

const SESSION_ID = /^t([1-9][0-9]{0,9})\.([A-Za-z0-9_-]{43})$/;

export function isSessionId(id: string): boolean {
  return SESSION_ID.test(id);
}

export function parseSessionId(id: string): { tenantId: number; secret: string } | undefined {
  const m = SESSION_ID.exec(id);
  return m ? { tenantId: Number(m[1]), secret: m[2]! } : undefined;
}

export function newCsrfToken(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * What a store files a session under: SHA-256 of its secret, never the secret itself, so reading
 * Redis key names (SCAN, MONITOR, a key dump, a slow log) gives nobody a cookie that signs in. The
 * secret has 256 random bits, so a plain digest cannot be reversed or guessed. Sessions filed
 * under clear ids by an older version are simply not found: their users sign in again.
 */
export function sessionDigest(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('base64url');
}
