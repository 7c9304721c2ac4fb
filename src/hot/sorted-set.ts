/**
 * A sorted set (member → score, ordered by score then member) for the in-process hot state: the
 * same ordering rules as a Redis zset, with O(log n) search and array insertion, which is fast
 * enough for the hundred thousand entries of a scheduled day.
 */
export class SortedSet {
  readonly #scores = new Map<string, number>();
  #order: { score: number; member: string }[] = [];

  get size(): number {
    return this.#scores.size;
  }

  score(member: string): number | undefined {
    return this.#scores.get(member);
  }

  add(member: string, score: number): void {
    if (this.#scores.has(member)) this.delete(member);
    this.#scores.set(member, score);
    this.#order.splice(this.#index(score, member), 0, { score, member });
  }

  /** Sets the score only if lower than the current one (or the member is new), like ZADD LT. */
  addLower(member: string, score: number): void {
    const current = this.#scores.get(member);
    if (current === undefined || score < current) this.add(member, score);
  }

  delete(member: string): boolean {
    const score = this.#scores.get(member);
    if (score === undefined) return false;
    this.#scores.delete(member);
    const i = this.#index(score, member);
    this.#order.splice(i, 1);
    return true;
  }

  /** 0-based rank, or undefined. */
  rank(member: string): number | undefined {
    const score = this.#scores.get(member);
    return score === undefined ? undefined : this.#index(score, member);
  }

  first(): { score: number; member: string } | undefined {
    return this.#order[0];
  }

  popFirst(): { score: number; member: string } | undefined {
    const head = this.#order.shift();
    if (head) this.#scores.delete(head.member);
    return head;
  }

  /** Members with score <= max, in order, at most `limit`. */
  upTo(max: number, limit: number): { score: number; member: string }[] {
    const out: { score: number; member: string }[] = [];
    for (const e of this.#order) {
      if (e.score > max || out.length >= limit) break;
      out.push(e);
    }
    return out;
  }

  /** How many members score below `score`. */
  countBelow(score: number): number {
    return this.#index(score, '');
  }

  head(limit: number): { score: number; member: string }[] {
    return this.#order.slice(0, limit);
  }

  clear(): void {
    this.#scores.clear();
    this.#order = [];
  }

  /** Where (score, member) is or would be inserted. */
  #index(score: number, member: string): number {
    let lo = 0;
    let hi = this.#order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const e = this.#order[mid]!;
      if (e.score < score || (e.score === score && e.member < member)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
