import { GesError } from '../domain/errors.ts';
import { isCallbackId } from '../domain/callback-id.ts';
import type { PushAnswerOutcome } from '../engine/callback-engine.ts';
import { publishNotification, type FcmPushSender, type NotificationPublishInput } from './fcm-push-sender.ts';
import type { Tenant } from '../store/tenant-store.ts';

/** The engine's side of a push answer (CallbackEngine.answerPush). */
export interface PushAnswerPort {
  answerPush(tenantId: number, id: string, answer: 'confirm' | 'snooze'): Promise<PushAnswerOutcome>;
}

/**
 * The customer's app and USERORIGINATED callbacks (docs/API.md, "Push callbacks"): its answer to a
 * push (confirm, snooze), carried out by the engine, and the older notification/publish operation
 * of Genesys' client, sent with the tenant's own FCM credentials.
 */
export class PushCallbackService {
  constructor(
    private readonly engine: PushAnswerPort,
    private readonly sender: FcmPushSender | undefined,
  ) {}

  answer(tenant: Tenant, id: string, answer: 'confirm' | 'snooze'): Promise<PushAnswerOutcome> {
    if (!isCallbackId(id)) throw new GesError('GES_CALLBACK_NOT_FOUND', `callback ${id} not found`);
    return this.engine.answerPush(tenant.id, id, answer);
  }

  publish(tenant: Tenant, input: NotificationPublishInput): Promise<{ name: string }> {
    if (!this.sender) throw new GesError('GES_PUSH_NOT_CONFIGURED', 'push notifications are not set up on this node');
    return publishNotification(this.sender, tenant, input);
  }
}
