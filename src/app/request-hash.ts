import { createHash } from 'node:crypto';

/** Canonical JSON (keys sorted) so that key order in the client's body does not matter. */
export function hashRequest(value: unknown): Buffer {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify(canonical(value)))
    .digest();
}
