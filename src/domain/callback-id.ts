import { randomBytes } from 'node:crypto';

/**
 * Callback ids are UUIDv7 (RFC 9562): 48 bits of creation time in ms, then 74 random bits. Ids
 * created one after another sort one after another, so each day's id index grows at its right
 * edge and its pages stay ~90% full, where random UUIDv4 keys leave them half empty (measured in
 * docs/BENCHMARKS.md). 74 random bits keep ids unguessable; the creation time they reveal is also
 * in the callback itself.
 */
export function newCallbackId(nowMs: number = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(nowMs, 0, 6);
  b[6] = 0x70 | (b[6]! & 0x0f); // version 7
  b[8] = 0x80 | (b[8]! & 0x3f); // RFC 9562 variant
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
