import type { Queryable } from '../store/db.ts';
import type { EngineRow } from '../store/engine-transition-store.ts';
import { callFacts } from '../store/call-facts-read.ts';
import { buildCallContext, callProgressOf, machineMessageOf } from '../domain/call-context.ts';
import { dialKeyOf, type CallContext, type VoiceCommand } from '../voice/voice-port.ts';
import type { EngineService } from './service-directory.ts';

type Row = Pick<EngineRow, 'id' | 'attempt' | 'tenantName' | 'serviceName' | 'phone' | 'priority' | 'call' | 'previewRejects'>;

/**
 * The commands of an attempt that carry the call's context (dial, reserve_agent, connect) and the
 * machine message, built in one place so that every sender (dispatcher, attempt driver, watchdog)
 * tells the platform the same: docs/VOICE-CONTRACT.md, "Context on the call". The context holds
 * customer data: it goes to the platform and nowhere else (no log line names it). The flows'
 * commands without context (confirm_customer, preview, leave_message) are built here too.
 */
export class CallCommands {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  async context(row: Row, service: EngineService): Promise<CallContext> {
    return buildCallContext(await callFacts(this.#db, row), service.options);
  }

  async dial(row: Row, service: EngineService, agentId?: string): Promise<VoiceCommand> {
    return {
      type: 'dial',
      dialKey: dialKeyOf(row.id, row.attempt),
      tenant: row.tenantName,
      queue: row.serviceName,
      phone: row.phone,
      ...(agentId === undefined ? {} : { agentId }),
      context: await this.context(row, service),
      progress: callProgressOf(service.options),
    };
  }

  /**
   * The agents who rejected the callback's preview come from Postgres with the row, so whichever
   * node asks, and at whatever attempt, none of them is held for it again.
   */
  async reserveAgent(row: Row, service: EngineService): Promise<VoiceCommand> {
    return {
      type: 'reserve_agent',
      dialKey: dialKeyOf(row.id, row.attempt),
      tenant: row.tenantName,
      queue: row.serviceName,
      ...(row.previewRejects.length > 0 ? { excludeAgents: [...row.previewRejects] } : {}),
      context: await this.context(row, service),
    };
  }

  async connect(row: Row, service: EngineService, agentId?: string): Promise<VoiceCommand> {
    return {
      type: 'connect',
      dialKey: dialKeyOf(row.id, row.attempt),
      ...(agentId === undefined ? {} : { agentId }),
      context: await this.context(row, service),
    };
  }

  /** confirm_customer: the service's prompt and timeout (userConfirm). */
  confirmCustomer(row: Row, service: EngineService): VoiceCommand {
    const o = service.options;
    return { type: 'confirm_customer', dialKey: dialKeyOf(row.id, row.attempt), prompt: o.confirmPrompt, timeoutSec: o.userConfirmTimeoutSec };
  }

  /** preview: the agent held for the attempt sees the callback (its previewKeys came with reserve_agent's context), as the service's preview options say. */
  preview(row: Row, agentId: string, service: EngineService): VoiceCommand {
    const o = service.options;
    return {
      type: 'preview',
      dialKey: dialKeyOf(row.id, row.attempt),
      agentId,
      timeoutSec: o.agentPreviewTimeoutSec,
      allowReject: o.agentPreviewAllowReject,
      timeoutSetsNotReady: o.previewTimeoutSetsNotReady,
    };
  }

  leaveMessage(row: Row, service: EngineService): VoiceCommand {
    return { type: 'leave_message', dialKey: dialKeyOf(row.id, row.attempt), message: machineMessageOf(service.options) };
  }
}
