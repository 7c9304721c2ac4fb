import { sessionDigest, type AttemptCounter, type SessionData, type SessionStore } from './session-store.ts';

/**
 * Sessions in this process's memory: for the embedded mode, which runs a single node. Expiry is
 * read from an injectable clock, so tests can let twenty minutes pass without waiting for them.
 * Ended entries are swept now and then as new ones arrive, so no timer keeps the process alive.
 * Entries are filed under a digest of the session id, as in Redis (sessionDigest): a heap dump
 * holds no cookie that signs in.
 */
export class MemorySessionStore implements SessionStore {
  readonly #entries = new Map<string, { data: SessionData; expiresAt: number }>();
  #writes = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async get(id: string): Promise<SessionData | undefined> {
    const key = sessionDigest(id);
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return { ...entry.data };
  }

  async set(id: string, data: SessionData, ttlMs: number): Promise<void> {
    if (++this.#writes % 100 === 0) this.#sweep();
    this.#entries.set(sessionDigest(id), { data: { ...data }, expiresAt: this.now() + ttlMs });
  }

  async destroy(id: string): Promise<void> {
    this.#entries.delete(sessionDigest(id));
  }

  async touch(id: string, ttlMs: number): Promise<void> {
    const entry = this.#entries.get(sessionDigest(id));
    if (entry && entry.expiresAt > this.now()) entry.expiresAt = this.now() + ttlMs;
  }

  /** The names entries are filed under (digests; for tests). */
  get storedKeys(): string[] {
    return [...this.#entries.keys()];
  }

  /** Live sessions (for tests and diagnostics). */
  get size(): number {
    this.#sweep();
    return this.#entries.size;
  }

  #sweep(): void {
    const now = this.now();
    for (const [id, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(id);
  }
}

/** Failed sign-in counters in memory, with the same injectable clock. */
export class MemoryAttemptCounter implements AttemptCounter {
  readonly #counts = new Map<string, { n: number; expiresAt: number }>();
  readonly #blocks = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  async increment(key: string, windowMs: number): Promise<number> {
    const now = this.now();
    if (this.#counts.size > 100_000) this.#forgetExpired(now);
    const current = this.#counts.get(key);
    const n = current && current.expiresAt > now ? current.n + 1 : 1;
    this.#counts.set(key, { n, expiresAt: now + windowMs });
    return n;
  }

  async block(key: string, ms: number): Promise<void> {
    this.#blocks.set(key, this.now() + ms);
  }

  async blockedFor(key: string): Promise<number> {
    const until = this.#blocks.get(key);
    if (until === undefined) return 0;
    const left = until - this.now();
    if (left <= 0) this.#blocks.delete(key);
    return Math.max(0, left);
  }

  async reset(key: string): Promise<void> {
    this.#counts.delete(key);
    this.#blocks.delete(key);
  }

  #forgetExpired(now: number): void {
    for (const [k, v] of this.#counts) if (v.expiresAt <= now) this.#counts.delete(k);
    for (const [k, until] of this.#blocks) if (until <= now) this.#blocks.delete(k);
  }
}
