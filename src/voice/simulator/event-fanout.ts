/**
 * Delivery of the simulator's events to its subscribers. A handler that throws keeps the event from
 * no other handler and the simulator's step from no later state change; its error is held and
 * rethrown at the end of the clock step (`rethrow`), so it surfaces from advanceTo instead of
 * vanishing. An async handler's failure is kept the same way, for the next step.
 */
import type { VoiceEvent, VoiceEventHandler } from '../voice-port.ts';
import { VoiceEventHandlers, throwHandlerErrors } from '../voice-event-handlers.ts';

export class EventFanout {
  readonly #handlers = new VoiceEventHandlers();
  readonly #errors: unknown[] = [];

  subscribe(handler: VoiceEventHandler): () => void {
    return this.#handlers.subscribe(handler);
  }

  deliver(event: VoiceEvent): void {
    Object.freeze(event);
    for (const handler of this.#handlers.list()) {
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
    throwHandlerErrors(this.#errors.splice(0));
  }
}
