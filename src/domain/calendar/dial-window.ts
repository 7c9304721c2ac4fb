import { openIntervals, type BusinessHours } from './business-hours.ts';
import { DAY_MS } from './time-zone.ts';

/**
 * Whether a service's callbacks may be dialed now, by its business hours (in their own time zone):
 * the engine asks at dispatch time, just before it starts an attempt, so a callback queued while
 * the office was open (or whose retry pause ended a moment before closing) is never dialed after
 * closing. Pure: the engine carries the answer out (src/engine/dispatcher.ts).
 *
 * Only openness counts here, not the immediate blackout: the blackout stops taking new immediate
 * callbacks some minutes before closing (immediate-admission.ts), while callbacks already waiting
 * are still served until the office closes.
 *
 * Time to live: a held callback is due again at the opening or at the end of its time to live,
 * whichever comes first (the engine's hold statement caps it, per callback). One whose time to
 * live ends before the opening is not dialed after hours to save it: it completes
 * FAIL_TIMEOUT_TTL when its time to live ends, as any waiting callback does.
 */
export type DialWindow =
  /** Open now: dial. */
  | { readonly kind: 'dial' }
  /**
   * Closed: hold the service's waiting callbacks out of the queue until `untilMs`, the next
   * opening (`opening`), or the end of the look-ahead when there is none that soon (they are
   * then looked at again).
   */
  | { readonly kind: 'hold'; readonly untilMs: number; readonly opening: boolean };

/** How far ahead the next opening is looked for. */
export const OPENING_LOOKAHEAD_MS = 31 * DAY_MS;

export function dialWindow(hours: BusinessHours, nowMs: number): DialWindow {
  const to = nowMs + OPENING_LOOKAHEAD_MS;
  const next = openIntervals(hours, nowMs, to)[0];
  if (next && next.start <= nowMs) return { kind: 'dial' };
  if (next) return { kind: 'hold', untilMs: next.start, opening: true };
  return { kind: 'hold', untilMs: to, opening: false };
}
