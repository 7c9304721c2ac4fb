import { isCallbackId } from '../domain/callback-id.ts';

/** The callback and attempt of an outbound dial key (`<callback id>:<attempt>`); undefined for any other key (inbound calls are `in:<callId>`). */
export function parseDialKey(key: string): { id: string; attempt: number } | undefined {
  const colon = key.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const id = key.slice(0, colon);
  const attempt = Number(key.slice(colon + 1));
  if (!isCallbackId(id) || !Number.isInteger(attempt) || attempt < 1) return undefined;
  return { id, attempt };
}
