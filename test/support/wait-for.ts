/**
 * The one bounded poll of the test suite: tests wait for a condition another task or process will
 * make true, never for a fixed time. `check` is asked every POLL_MS until it gives a truthy value,
 * which is returned; after `ms` the wait fails, naming `what` (a bound, not a sleep).
 */
import { setTimeout as delay } from 'node:timers/promises';

const POLL_MS = 10;

export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

export async function waitFor<T>(check: () => T | Promise<T>, what: string, ms = 15_000): Promise<Truthy<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value as Truthy<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(POLL_MS);
  }
}
