import type { PushContent } from '../domain/push-message.ts';

/**
 * How the engine reaches a customer's app: one push to one registration token (FCM HTTP v1 in
 * production, src/app/fcm-push-sender.ts). Retries with backoff are the sender's; the result says
 * what is left to decide:
 * - sent: FCM took it;
 * - rejected: FCM refused the message or the token for good (4xx: unregistered, invalid);
 * - failed: FCM or the token endpoint did not answer or answered 5xx/429 after the retries;
 * - unconfigured: the tenant has no usable push credentials.
 */
export type PushResult = 'sent' | 'rejected' | 'failed' | 'unconfigured';

export interface PushSender {
  send(tenant: { id: number; name: string }, token: string, content: PushContent): Promise<PushResult>;
}

/** A call-in number and access code handed to a confirmed push callback (Click-To-Call-In, src/app/call-in-service.ts). */
export interface GivenCallIn {
  id: string;
  toPhoneNumber: string;
  accessCode: number | undefined;
  expirationTime: Date;
}

/** Creates the call-in request of a confirmed push callback, in the service's pushCallInGroup. */
export type CallInIssuer = (c: { tenantId: number; groupName: string; callbackId: string; phone: string }) => Promise<GivenCallIn>;
