import { randomBytes } from 'node:crypto';

/**
 * Callback ids are UUIDv7 (RFC 9562): 48 bits of creation time in ms, then 74 random bits. Ids
 * created one after another sort one after another, so each day's id index grows at its right
 * edge and its pages stay ~90% full, where random UUIDv4 keys leave them half empty (measured in
 * docs/BENCHMARKS.md). 74 random bits keep ids unguessable; the creation time they reveal is also
 * in the callback itself. Call-in requests take their ids from here too.
 */
export function newCallbackId(nowMs: number = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(nowMs, 0, 6);
  b[6] = 0x70 | (b[6]! & 0x0f); // version 7
  b[8] = 0x80 | (b[8]! & 0x3f); // RFC 9562 variant
  return callbackIdFromHex(b.toString('hex'));
}

/** A syntactically impossible id cannot name a callback; checking it first keeps a bad uuid cast out of SQL. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isCallbackId(id: string): boolean {
  return UUID.test(id);
}

/** 32 hex digits (16 raw bytes, as Redis members and id-prefix ranges hold them) in the 8-4-4-4-12 form. */
export function callbackIdFromHex(h: string): string {
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
