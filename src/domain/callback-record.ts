import type { CallbackState, CompletionReason } from './callback-state.ts';
import type { CallbackExtras } from './callback-request.ts';
import type { AttemptPhase } from './engine/attempt-phase.ts';

/**
 * A callback as the API, the console and the engine read it back. The store maps its rows to this
 * (src/store/callback-row.ts); the layers above only ever see this shape, never a row.
 */
export interface CallbackRecord {
  id: string;
  serviceName: string;
  phoneNumber: string;
  desiredTime: Date;
  createdAt: Date;
  updatedAt: Date;
  state: CallbackState;
  reason: CompletionReason | undefined;
  attempt: number;
  scheduled: boolean;
  priority: number;
  extras: CallbackExtras | null;
  userData: Record<string, unknown> | null;
  /** Where the current attempt stands (src/domain/engine/attempt-phase.ts). */
  phase: AttemptPhase;
  serviceId: number;
}

/** What a list of callbacks shows of each: no userData, no request extras. */
export type CallbackSummary = Pick<
  CallbackRecord,
  'id' | 'serviceName' | 'phoneNumber' | 'desiredTime' | 'createdAt' | 'updatedAt' | 'state' | 'reason' | 'scheduled'
>;
