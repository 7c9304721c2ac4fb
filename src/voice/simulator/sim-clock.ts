/**
 * Virtual time for the contact-center simulator. Everything the simulator does later than "now" is
 * a callback in this clock's queue, so a whole contact-center day runs as fast as the CPU allows and
 * the same inputs always replay in the same order: time only moves when a caller moves it.
 *
 * Time is epoch milliseconds. Tasks run in time order; tasks due at the same millisecond run in the
 * order they were scheduled, which is what makes a run reproducible (a heap alone is not stable).
 *
 * The optional real-time driver ties virtual time to the wall clock at a chosen speed for the demo;
 * tests and benchmarks never use it and step the clock themselves.
 */

import type { ScheduledTask, SchedulingClock } from '../../domain/clock.ts';

export type { ScheduledTask } from '../../domain/clock.ts';

class Task implements ScheduledTask {
  fn: (() => void) | undefined;

  constructor(
    readonly at: number,
    readonly seq: number,
    fn: () => void,
    private readonly onCancel: () => void,
  ) {
    this.fn = fn;
  }

  cancel(): void {
    if (this.fn === undefined) return;
    // Dropped lazily: the entry stays in the heap and is skipped when it surfaces, which keeps
    // cancel O(1); the simulator cancels a timer on almost every call.
    this.fn = undefined;
    this.onCancel();
  }
}

/** A day is the natural unit of a contact-center run; runUntilIdle stops there unless told otherwise. */
const DEFAULT_IDLE_LIMIT_MS = 24 * 60 * 60 * 1000;

export class SimClock implements SchedulingClock {
  #now: number;
  #seq = 0;
  #live = 0;
  #heap: Task[] = [];
  #advancing = false;
  #realTimer: ReturnType<typeof setInterval> | undefined;

  constructor(startMs = 0) {
    if (!Number.isFinite(startMs)) throw new RangeError(`SimClock start must be a finite epoch-ms time (got ${startMs})`);
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  /** Tasks scheduled and neither run nor cancelled. */
  pending(): number {
    return this.#live;
  }

  /** Time of the next live task, if any. */
  nextAt(): number | undefined {
    this.#dropCancelledTop();
    return this.#heap[0]?.at;
  }

  /**
   * Runs `fn` at `atMs`. A time in the past is clamped to now: it runs at the next step, after the
   * tasks already due, never synchronously here (callers rely on "scheduled" meaning "later").
   */
  schedule(atMs: number, fn: () => void): ScheduledTask {
    if (Number.isNaN(atMs)) throw new RangeError('SimClock.schedule: time is NaN');
    const task = new Task(Math.max(atMs, this.#now), this.#seq++, fn, () => {
      this.#live -= 1;
    });
    this.#push(task);
    this.#live += 1;
    return task;
  }

  /** Runs `fn` after `delayMs` of virtual time. */
  after(delayMs: number, fn: () => void): ScheduledTask {
    return this.schedule(this.#now + Math.max(0, delayMs), fn);
  }

  /**
   * Moves time forward to `ms`, running every task due up to and including `ms` in order, each with
   * now() equal to its own time. Tasks scheduled by those tasks run too if they fall due by `ms`.
   * Returns the number of tasks run.
   */
  advanceTo(ms: number): number {
    if (Number.isNaN(ms)) throw new RangeError('SimClock.advanceTo: time is NaN');
    if (ms < this.#now) throw new RangeError(`SimClock cannot go back in time (now ${this.#now}, asked ${ms})`);
    return this.#runWhile((at) => at <= ms, ms);
  }

  advanceBy(ms: number): number {
    return this.advanceTo(this.#now + ms);
  }

  /**
   * Runs tasks until none is left, but never further than `limitMs` of virtual time past now: a
   * self-rescheduling task would otherwise loop forever. Stops at the last task's time when the queue
   * empties, at now + limitMs otherwise. Returns the number of tasks run.
   */
  runUntilIdle(limitMs: number = DEFAULT_IDLE_LIMIT_MS): number {
    if (!(limitMs >= 0)) throw new RangeError(`SimClock.runUntilIdle: limit must be >= 0 (got ${limitMs})`);
    const until = this.#now + limitMs;
    const ran = this.#runWhile((at) => at <= until, undefined);
    if (this.#live > 0) this.#now = Math.max(this.#now, until);
    return ran;
  }

  /**
   * Lets virtual time follow the wall clock, `speed` times faster (60: an hour per minute), by
   * stepping it from an unref'd interval so an idle demo does not keep the process alive. Virtual
   * time is computed from the elapsed wall time, not by counting ticks, so a slow tick does not make
   * the simulation drift behind. A task that throws stops the driver and the error propagates
   * (uncaught): a broken simulation should be loud, not silently frozen.
   */
  startRealTime(speed: number, tickMs = 20): void {
    if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`SimClock.startRealTime: speed must be a positive number (got ${speed})`);
    if (!(tickMs > 0)) throw new RangeError(`SimClock.startRealTime: tick must be > 0 ms (got ${tickMs})`);
    this.stopRealTime();
    const realStart = Date.now();
    const virtualStart = this.#now;
    const timer = setInterval(() => {
      // Tasks run inside an advance may call back into the clock; a tick landing then waits for the next.
      if (this.#advancing) return;
      const target = Math.floor(virtualStart + (Date.now() - realStart) * speed);
      if (target <= this.#now) return;
      try {
        this.advanceTo(target);
      } catch (error) {
        this.stopRealTime();
        throw error;
      }
    }, tickMs);
    timer.unref?.();
    this.#realTimer = timer;
  }

  stopRealTime(): void {
    if (this.#realTimer === undefined) return;
    clearInterval(this.#realTimer);
    this.#realTimer = undefined;
  }

  get realTime(): boolean {
    return this.#realTimer !== undefined;
  }

  #runWhile(due: (at: number) => boolean, endAt: number | undefined): number {
    if (this.#advancing) throw new Error('SimClock is already advancing: a scheduled task cannot advance the clock itself');
    this.#advancing = true;
    let ran = 0;
    try {
      for (;;) {
        this.#dropCancelledTop();
        const top = this.#heap[0];
        if (top === undefined || !due(top.at)) break;
        this.#pop();
        const fn = top.fn;
        if (fn === undefined) continue;
        top.fn = undefined;
        this.#live -= 1;
        this.#now = top.at;
        ran += 1;
        fn();
      }
    } finally {
      this.#advancing = false;
    }
    if (endAt !== undefined) this.#now = Math.max(this.#now, endAt);
    return ran;
  }

  #dropCancelledTop(): void {
    while (this.#heap.length > 0 && this.#heap[0]!.fn === undefined) this.#pop();
  }

  // Binary min-heap ordered by (at, seq).
  #before(a: Task, b: Task): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #push(task: Task): void {
    const heap = this.#heap;
    heap.push(task);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && this.#before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && this.#before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) break;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}
