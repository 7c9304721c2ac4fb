import type { Cluster, Redis } from 'ioredis';
import { parseSessionId, sessionDigest, type AttemptCounter, type SessionData, type SessionStore } from './session-store.ts';
import { isRole } from '../domain/roles.ts';

/**
 * Console sessions in Redis, shared by every node. One string key per session, holding only
 * SessionData as JSON, with the idle timeout as its TTL (PX), so Redis itself ends idle sessions.
 * Keys sit under a configurable prefix and carry the tenant as a hash tag, `<prefix>{t42}:session:<SHA-256 of the secret>`,
 * so a clustered Redis keeps a tenant's sessions on one slot.
 */
export class RedisSessionStore implements SessionStore {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix = 'ges:console:',
  ) {}

  /**
   * The Redis key of a session id: the tenant as hash tag and a digest of the secret (never the
   * secret: sessionDigest); ids without a tenant part (never produced by GES) get no tag.
   */
  keyOf(id: string): string {
    const parsed = parseSessionId(id);
    return parsed ? `${this.prefix}{t${parsed.tenantId}}:session:${sessionDigest(parsed.secret)}` : `${this.prefix}session:${sessionDigest(id)}`;
  }

  async get(id: string): Promise<SessionData | undefined> {
    const raw = await this.redis.get(this.keyOf(id));
    if (raw === null) return undefined;
    let data: unknown;
    try {
      data = JSON.parse(raw);
    } catch {
      return undefined;
    }
    const d = data as Partial<SessionData>;
    if (!Number.isInteger(d.userId) || !Number.isInteger(d.tenantId) || typeof d.csrf !== 'string' || typeof d.role !== 'string' || !isRole(d.role))
      return undefined;
    return { userId: d.userId!, tenantId: d.tenantId!, role: d.role, csrf: d.csrf };
  }

  async set(id: string, data: SessionData, ttlMs: number): Promise<void> {
    const value: SessionData = { userId: data.userId, tenantId: data.tenantId, role: data.role, csrf: data.csrf };
    await this.redis.set(this.keyOf(id), JSON.stringify(value), 'PX', Math.max(1, Math.round(ttlMs)));
  }

  async destroy(id: string): Promise<void> {
    await this.redis.del(this.keyOf(id));
  }

  async touch(id: string, ttlMs: number): Promise<void> {
    // PEXPIRE on a missing key does nothing: an ended session stays ended.
    await this.redis.pexpire(this.keyOf(id), Math.max(1, Math.round(ttlMs)));
  }
}

/** Failed sign-in counters in Redis, so the slowdown holds across nodes. Keys are hashes, never a login or an address. */
export class RedisAttemptCounter implements AttemptCounter {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix = 'ges:console:',
  ) {}

  async increment(key: string, windowMs: number): Promise<number> {
    const k = `${this.prefix}login-failures:${key}`;
    const result = await this.redis
      .multi()
      .incr(k)
      .pexpire(k, Math.max(1, Math.round(windowMs)))
      .exec();
    const [err, n] = result?.[0] ?? [new Error('MULTI aborted'), 0];
    if (err) throw err;
    return Number(n);
  }

  async block(key: string, ms: number): Promise<void> {
    await this.redis.set(`${this.prefix}login-block:${key}`, '1', 'PX', Math.max(1, Math.round(ms)));
  }

  async blockedFor(key: string): Promise<number> {
    const left = await this.redis.pttl(`${this.prefix}login-block:${key}`);
    return left > 0 ? left : 0;
  }

  async reset(key: string): Promise<void> {
    await this.redis.del(`${this.prefix}login-failures:${key}`);
    await this.redis.del(`${this.prefix}login-block:${key}`);
  }
}
