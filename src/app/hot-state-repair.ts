import type { Logger } from 'pino';

/**
 * Puts back in the hot state what an engine hook could not write there. A create, cancel or
 * reschedule commits to PostgreSQL first and then tells the engine; when Redis does not answer in
 * time (REDIS_COMMAND_TIMEOUT_MS) the request is answered anyway, and the callback would be known
 * only to PostgreSQL. A failed hook asks for a rebuild of the hot state from PostgreSQL (it only
 * adds, so running nodes are not disturbed); a rebuild that fails because Redis is still away is
 * tried again every `retryMs` until one succeeds. Requests made while one runs lead to one more run,
 * never to one per request.
 */
export class HotStateRepair {
  #wanted = false;
  #running: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly rebuild: () => Promise<void>,
    private readonly logger: Logger,
    private readonly retryMs = 2000,
  ) {}

  /** A hook failed: the hot state may lack a change that PostgreSQL has. */
  request(): void {
    if (this.#stopped) return;
    this.#wanted = true;
    // The failure is usually Redis being away: give it a moment before the first try.
    this.#timer ??= setTimeout(() => this.#run(), this.retryMs);
    this.#timer.unref();
  }

  #run(): void {
    this.#timer = undefined;
    if (this.#stopped || this.#running || !this.#wanted) return;
    this.#wanted = false;
    this.#running = this.rebuild()
      .then(
        () => this.logger.info('hot state repaired from the database after a failed engine hook'),
        (err: unknown) => {
          this.#wanted = true;
          // The error itself, not its message: the logger's serializer strips what a database error quotes.
          this.logger.warn({ err }, 'hot state repair failed; trying again');
        },
      )
      .finally(() => {
        this.#running = undefined;
        if (this.#wanted) this.request();
      });
  }

  /** True while a repair is wanted or running (tests wait on it). */
  get pending(): boolean {
    return this.#wanted || this.#running !== undefined;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
