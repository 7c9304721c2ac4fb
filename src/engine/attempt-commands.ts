import type { EngineRow } from '../store/engine-row.ts';
import type { ServiceOptions } from '../domain/service-options.ts';
import { dialKeyOf, type VoiceCommand } from '../voice/voice-port.ts';

// The commands of an attempt that its row and its service's options decide, built in one place so
// that the first send and every re-send (watchdog, ask again, another node) say the same thing.

/**
 * reserve_agent for the row's attempt. The agents who rejected the callback's preview come from
 * Postgres with the row, so whichever node asks, and at whatever attempt, none of them is held
 * for it again.
 */
export function reserveAgentCommand(row: EngineRow): Extract<VoiceCommand, { type: 'reserve_agent' }> {
  const command: Extract<VoiceCommand, { type: 'reserve_agent' }> = {
    type: 'reserve_agent',
    dialKey: dialKeyOf(row.id, row.attempt),
    tenant: row.tenantName,
    queue: row.serviceName,
  };
  if (row.previewRejects.length > 0) command.excludeAgents = [...row.previewRejects];
  return command;
}

/** confirm_customer: the service's prompt and timeout (userConfirm). */
export function confirmCustomerCommand(row: EngineRow, options: ServiceOptions): VoiceCommand {
  return { type: 'confirm_customer', dialKey: dialKeyOf(row.id, row.attempt), prompt: options.confirmPrompt, timeoutSec: options.userConfirmTimeoutSec };
}

/** preview: the agent held for the attempt sees the callback, as the service's preview options say. */
export function previewCommand(row: EngineRow, agentId: string, options: ServiceOptions): VoiceCommand {
  return {
    type: 'preview',
    dialKey: dialKeyOf(row.id, row.attempt),
    agentId,
    timeoutSec: options.agentPreviewTimeoutSec,
    allowReject: options.agentPreviewAllowReject,
    timeoutSetsNotReady: options.previewTimeoutSetsNotReady,
  };
}
