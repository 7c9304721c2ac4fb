export interface QueueSizeRow {
  tenant: string;
  service: string;
  scheduled: number;
  queued: number;
}

/**
 * The last reading of the waiting callbacks per service, kept fresh by a timer so that a scrape
 * of `ges_queue_size` only reads memory: a scrape storm (several Prometheus servers, a dashboard
 * refreshing) then costs the database nothing, and a slow database never slows a scrape. The read
 * itself (one grouped count over the partial index of waiting callbacks) is handed in by the
 * composition root, so this module holds no SQL. A read that fails or does not answer within
 * `timeoutMs` keeps the last reading; concurrent refreshes share one read.
 */
export class QueueSizeReading {
  #last: { at: number; rows: QueueSizeRow[] } | undefined;
  #running: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly read: () => Promise<QueueSizeRow[]>,
    private readonly timeoutMs = 1000,
  ) {}

  /** The last rows read, or undefined before the first read answered. Runs nothing. */
  current(): QueueSizeRow[] | undefined {
    return this.#last?.rows;
  }

  /** When the last reading was taken (node clock, ms), or undefined. */
  takenAt(): number | undefined {
    return this.#last?.at;
  }

  /** Reads now (or joins the read already running). Never rejects. */
  refresh(): Promise<void> {
    this.#running ??= withTimeout(this.read(), this.timeoutMs)
      .then(
        (rows) => {
          this.#last = { at: Date.now(), rows };
        },
        () => undefined,
      )
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  /** Refreshes now and every `intervalMs` until stop(); the timer never keeps the process alive. */
  start(intervalMs: number): void {
    this.stop();
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  promise.catch(() => undefined); // a late failure after the timeout must not go unhandled
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
