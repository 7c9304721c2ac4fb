import type { Availability } from '../app/availability-service.ts';

/**
 * Writes the availability envelope straight into a Buffer, slot by slot. A 14-day answer of
 * 15-minute slots is about 140 KiB; serialised as one JSON string it lands in V8's large-object
 * space on every request, and those strings alone triggered the major (stop-the-world) collections
 * that set the endpoint's p99 (bench/availability). Per-slot strings die young and the Buffer lives
 * outside the JS heap. The bytes are exactly what the response schema describes.
 */
export function availabilityJson(corrId: string, a: Availability): Buffer {
  const head = `{"status":{"code":200,"message":"Successful","corrId":${JSON.stringify(corrId)}},"data":{"slots":[`;
  const tail = `],"durationMin":${a.durationMin},"timezone":${JSON.stringify(a.timezone)}}}`;
  let buf = Buffer.allocUnsafe(Buffer.byteLength(head) + Buffer.byteLength(tail) + a.slots.length * 112 + 16);
  let at = buf.write(head, 0, 'utf8');
  const ensure = (more: number) => {
    if (at + more <= buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, at + more));
    buf.copy(bigger, 0, 0, at);
    buf = bigger;
  };
  for (let i = 0; i < a.slots.length; i++) {
    const s = a.slots[i]!;
    // utcTime and localTime are ISO date-times (digits, '-', ':', '.', 'T', 'Z', '+'): nothing to escape.
    const piece = `${i > 0 ? ',' : ''}{"utcTime":"${s.utcTime}","localTime":"${s.localTime}","capacity":${s.capacity},"total":${s.total}}`;
    ensure(piece.length);
    at += buf.write(piece, at, 'latin1');
  }
  const tailBytes = Buffer.byteLength(tail);
  ensure(tailBytes);
  at += buf.write(tail, at, 'utf8');
  return buf.subarray(0, at);
}
