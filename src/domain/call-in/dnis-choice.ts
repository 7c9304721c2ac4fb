import { cryptoRandomInt, type RandomInt } from './access-code.ts';

/**
 * Which number of a group's pool a new request is given. The store takes the number with the
 * fewest waiting requests (so load, and access codes in use, spread evenly), and among equally
 * loaded numbers the first in the order made here: a uniform shuffle, so ties are broken at random
 * rather than always sending the first burst to the first number of the list.
 *
 * Why not "least recently issued": it needs the last issue time of every number, which moves on
 * every create and would have to be one more row to update under concurrency; the waiting count is
 * read from the index that matching uses anyway.
 */
export function dnisPreference(pool: readonly string[], random: RandomInt = cryptoRandomInt): string[] {
  const order = [...pool];
  // Fisher-Yates: every order equally likely.
  for (let i = order.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** What the store knows of one number when it places a request: its waiting requests' codes. */
export interface NumberLoad {
  waiting: number;
  codesInUse: ReadonlySet<number>;
}

/**
 * The pure statement of the store's choice (the SQL in call-in-store.ts does the same in one
 * statement), for tests and readers: numbers from least to most loaded, ties in `preference`
 * order; on each, the first candidate code not held by a waiting request of that number. Without
 * access codes (`codes` undefined) the least loaded number. Undefined when every candidate code is
 * taken on every number.
 */
export function choosePlacement(
  preference: readonly string[],
  load: ReadonlyMap<string, NumberLoad>,
  codes: readonly number[] | undefined,
): { dnis: string; accessCode: number | undefined } | undefined {
  const ranked = preference
    .map((dnis, order) => ({ dnis, order, l: load.get(dnis) ?? { waiting: 0, codesInUse: new Set<number>() } }))
    .sort((a, b) => a.l.waiting - b.l.waiting || a.order - b.order);
  for (const { dnis, l } of ranked) {
    if (codes === undefined) return { dnis, accessCode: undefined };
    const free = codes.find((c) => !l.codesInUse.has(c));
    if (free !== undefined) return { dnis, accessCode: free };
  }
  return undefined;
}
