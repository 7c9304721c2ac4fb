/**
 * RFC 4733 telephone-events: the way a phone sends a key press inside the RTP stream. A sender
 * repeats the event packet while the key is held (same RTP timestamp, growing duration), sends the
 * end packet three times, and may retransmit the start; the callers want each key press once.
 * One event is one RTP timestamp, so a digit is reported on the first packet of a timestamp not
 * seen recently, whichever packet of the event that is (the start may be lost).
 */

export interface TelephoneEvent {
  /** '0'-'9', '*', '#', 'A'-'D'; undefined for the other events (flash, tones) we do not act on. */
  readonly digit: string | undefined;
  readonly end: boolean;
  readonly volume: number;
  readonly duration: number;
}

const DIGITS = '0123456789*#ABCD';

export function parseTelephoneEvent(payload: Uint8Array): TelephoneEvent | undefined {
  if (payload.length < 4) return undefined;
  const event = payload[0]!;
  return {
    digit: event < DIGITS.length ? DIGITS[event] : undefined,
    end: (payload[1]! & 0x80) !== 0,
    volume: payload[1]! & 0x3f,
    duration: (payload[2]! << 8) | payload[3]!,
  };
}

export function buildTelephoneEvent(digit: string, opts: { end: boolean; duration: number; volume?: number }): Uint8Array {
  const event = DIGITS.indexOf(digit.toUpperCase());
  if (event < 0 || digit.length !== 1) throw new Error(`not a DTMF digit: ${digit}`);
  return Uint8Array.of(event, (opts.end ? 0x80 : 0) | ((opts.volume ?? 10) & 0x3f), (opts.duration >> 8) & 0xff, opts.duration & 0xff);
}

/** How many recent event timestamps are remembered: enough for reordered packets of a few presses. */
const REMEMBERED = 8;

export class TelephoneEventDecoder {
  readonly #recent: number[] = [];

  /** The digit this packet starts, or undefined when it repeats, ends or retransmits one already reported. */
  push(payload: Uint8Array, timestamp: number): string | undefined {
    const event = parseTelephoneEvent(payload);
    if (event?.digit === undefined) return undefined;
    if (this.#recent.includes(timestamp)) return undefined;
    this.#recent.push(timestamp);
    if (this.#recent.length > REMEMBERED) this.#recent.shift();
    return event.digit;
  }
}
