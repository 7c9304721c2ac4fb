/**
 * One running session of the simulator on its clock: the tasks it scheduled (so stop withdraws them
 * all), event delivery (nothing is delivered once stopped), and a stop asked from inside an event
 * handler, which lets the current clock step finish silently and tears the session down right after.
 */
import type { VoiceEvent, VoiceEventHandler } from '../voice-port.ts';
import { EventFanout } from './event-fanout.ts';
import type { ScheduledTask, SimClock } from './sim-clock.ts';

export class SimSession {
  readonly #clock: SimClock;
  readonly #fanout = new EventFanout();
  readonly #tasks = new Set<ScheduledTask>();
  /** Called when a session ends, after its tasks were withdrawn. */
  readonly #teardown: () => void;
  #running = false;
  #inTask = false;
  #stopPending = false;

  constructor(clock: SimClock, teardown: () => void) {
    this.#clock = clock;
    this.#teardown = teardown;
  }

  get running(): boolean {
    return this.#running;
  }

  subscribe(handler: VoiceEventHandler): () => void {
    return this.#fanout.subscribe(handler);
  }

  /** Starts a session; false when one is running already. */
  begin(): boolean {
    if (this.#running) return false;
    if (this.#stopPending) this.#end();
    this.#running = true;
    return true;
  }

  /** Ends the session: at once, or after the current step when called from inside one. */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    if (this.#inTask) this.#stopPending = true;
    else this.#end();
  }

  after(delayMs: number, fn: () => void): ScheduledTask {
    return this.at(this.#clock.now() + delayMs, fn);
  }

  at(atMs: number, fn: () => void): ScheduledTask {
    const task = this.#clock.schedule(atMs, () => {
      this.#tasks.delete(task);
      this.#inTask = true;
      try {
        fn();
      } finally {
        this.#inTask = false;
        if (this.#stopPending) this.#end();
      }
      this.#fanout.rethrow();
    });
    this.#tasks.add(task);
    return task;
  }

  emit(event: VoiceEvent): void {
    if (this.#running) this.#fanout.deliver(event);
  }

  #end(): void {
    this.#stopPending = false;
    for (const task of this.#tasks) task.cancel();
    this.#tasks.clear();
    this.#teardown();
  }
}
