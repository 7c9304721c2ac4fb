/**
 * Delivery of the simulator's events to its subscribers. A handler that throws keeps the event from
 * no other handler and the simulator's step from no later state change; its error is held and
 * rethrown at the end of the clock step (`rethrow`), so it surfaces from advanceTo instead of
 * vanishing. An async handler's failure is kept the same way, for the next step.
 */
import type { VoiceEvent, VoiceEventHandler } from '../voice-port.ts';

export class EventFanout {
  readonly #handlers = new Set<VoiceEventHandler>();
  readonly #errors: unknown[] = [];

  subscribe(handler: VoiceEventHandler): () => void {
    // Wrapped so the same function subscribed twice gets two subscriptions, each removable alone.
    const entry: VoiceEventHandler = (event) => handler(event);
    this.#handlers.add(entry);
    return () => {
      this.#handlers.delete(entry);
    };
  }

  deliver(event: VoiceEvent): void {
    Object.freeze(event);
    for (const handler of [...this.#handlers]) {
      try {
        const settled = handler(event);
        if (settled instanceof Promise) settled.catch((error: unknown) => this.#errors.push(error));
      } catch (error) {
        this.#errors.push(error);
      }
    }
  }

  /** Throws what the handlers threw since the last call (one error as it is, several together). */
  rethrow(): void {
    const errors = this.#errors.splice(0);
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} voice event handlers failed`);
  }
}
