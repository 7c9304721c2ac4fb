/**
 * The FCM HTTP v1 message GES sends for a USERORIGINATED callback (docs/ENGINE.md, "Push
 * callbacks"): a data message (every value a string, as FCM requires), high priority so a
 * sleeping phone wakes, and a time to live equal to the push's expiry. No phone number and no
 * userData: only what the app needs to answer through the API.
 */

/** FCM refuses data payloads above 4096 bytes; GES keeps well under it. */
export const MAX_PUSH_DATA_BYTES = 4096;

export interface PushContent {
  callbackId: string;
  serviceName: string;
  actions: readonly string[];
  /** Push n of at most `maxPushes`. */
  push: number;
  maxPushes: number;
  expiresAt: Date;
  /** Given when the push itself carries the call-in number (wait_for_user_confirm false). */
  callIn?: { toPhoneNumber: string; accessCode?: number; expirationTime: Date };
}

export interface FcmMessage {
  token: string;
  data: Record<string, string>;
  android: { priority: 'HIGH'; ttl: string };
  apns: { headers: { 'apns-priority': '10'; 'apns-expiration': string } };
}

export function pushData(c: PushContent): Record<string, string> {
  const data: Record<string, string> = {
    type: 'GES_CALLBACK_AVAILABLE',
    callbackId: c.callbackId,
    serviceName: c.serviceName,
    actions: c.actions.join(','),
    push: String(c.push),
    maxPushes: String(c.maxPushes),
    expiresAt: c.expiresAt.toISOString(),
  };
  if (c.callIn) {
    data.toPhoneNumber = c.callIn.toPhoneNumber;
    if (c.callIn.accessCode !== undefined) data.accessCode = String(c.callIn.accessCode);
    data.callInExpirationTime = c.callIn.expirationTime.toISOString();
  }
  if (new TextEncoder().encode(JSON.stringify(data)).length > MAX_PUSH_DATA_BYTES) throw new RangeError('push data exceeds FCM bounds');
  return data;
}

export function fcmMessage(token: string, c: PushContent, nowMs: number): FcmMessage {
  const ttlSec = Math.max(0, Math.round((c.expiresAt.getTime() - nowMs) / 1000));
  return {
    token,
    data: pushData(c),
    android: { priority: 'HIGH', ttl: `${ttlSec}s` },
    apns: { headers: { 'apns-priority': '10', 'apns-expiration': String(Math.floor(c.expiresAt.getTime() / 1000)) } },
  };
}
