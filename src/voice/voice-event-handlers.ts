import type { VoiceEventHandler } from './voice-port.ts';

/**
 * The subscribers of a voice port (VoicePort.onEvent), as every adapter keeps them. Each
 * subscription is its own entry, so the same function subscribed twice gets two subscriptions,
 * each removable alone.
 */
export class VoiceEventHandlers {
  readonly #handlers = new Set<VoiceEventHandler>();

  /** Subscribes `handler`; returns the unsubscribe function. */
  subscribe(handler: VoiceEventHandler): () => void {
    const entry: VoiceEventHandler = (event) => handler(event);
    this.#handlers.add(entry);
    return () => {
      this.#handlers.delete(entry);
    };
  }

  /** The handlers subscribed now (a copy: one may unsubscribe while an event is being delivered). */
  list(): VoiceEventHandler[] {
    return [...this.#handlers];
  }
}

/** Rethrows what the handlers of one delivery threw: the error itself, or all of them together. */
export function throwHandlerErrors(errors: readonly unknown[]): void {
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} voice event handlers failed`);
}
