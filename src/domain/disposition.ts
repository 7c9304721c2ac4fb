/**
 * The agent's disposition of a served callback (ges-api.md §3.3 `_enable_disposition_dialog`,
 * `_agent_disposition_timeout`): after the customer-agent call the platform shows the agent a
 * dialog, the agent records an outcome, and "call me back later" recreates the callback. Pure: the
 * codes as the platform sends them and as they are stored, and the rules of a recreate.
 */

/** What the agent may choose in the dialog (the `disposition` event's code). */
export const AGENT_DISPOSITION_CODES = Object.freeze(['DONE', 'CALL_BACK_LATER', 'NOT_INTERESTED', 'WRONG_NUMBER', 'OTHER'] as const);
export type AgentDispositionCode = (typeof AGENT_DISPOSITION_CODES)[number];

/** Every recorded outcome: the agent's choices, and TIMEOUT, which GES records when no choice came in time. */
export type DispositionCode = AgentDispositionCode | 'TIMEOUT';
export const DISPOSITION_CODES: readonly DispositionCode[] = Object.freeze([...AGENT_DISPOSITION_CODES, 'TIMEOUT']);

/**
 * Stored in callback.disposition (NULL: no dialog was asked for); never renumber. REQUESTED marks a
 * dialog shown and not yet answered: it is the fence of every recording, so an outcome is recorded
 * once, whichever comes first of the agent's choice and the timeout.
 */
export const DISPOSITION_STORED = Object.freeze({
  REQUESTED: 0,
  DONE: 1,
  CALL_BACK_LATER: 2,
  NOT_INTERESTED: 3,
  WRONG_NUMBER: 4,
  OTHER: 5,
  TIMEOUT: 9,
} as const);

/** Longest note the agent may type (characters); the contract refuses longer ones. */
export const DISPOSITION_NOTE_MAX = 500;

/**
 * Seconds beyond the service's timeout before GES records TIMEOUT itself: the platform closes the
 * dialog at the timeout, and a choice made just before it may still be on its way.
 */
export const DISPOSITION_GRACE_SEC = 15;

/** The idempotency key of the callback a CALL_BACK_LATER recreates: one per original callback, claimed in Postgres. */
export function recreateIdempotencyKey(callbackId: string): string {
  return `ges-recreate:${callbackId}`;
}

/**
 * The desired time asked for the recreated callback: the agent's choice, or the service's default
 * delay after the dialog was shown. `requestedAtMs` is the database's time of the request, stored
 * with the callback, so a redelivered disposition asks for exactly the same time (and the create's
 * idempotency key replays instead of conflicting). The calendar and slot rules of the create path
 * then move it like any scheduled create.
 */
export function recreateDesiredTime(agentChoice: string | undefined, requestedAtMs: number, defaultDelaySec: number): string {
  if (agentChoice !== undefined) return agentChoice;
  return new Date(requestedAtMs + defaultDelaySec * 1000).toISOString();
}

/** The history detail of a recorded disposition (bounded: the note is cut to its limit). */
export function dispositionDetail(code: DispositionCode, d: { agentId?: string; note?: string; recreatedAs?: string; recreateRefused?: string } = {}): string {
  const parts = [`disposition ${code}`];
  if (d.agentId !== undefined) parts.push(`by agent ${d.agentId.slice(0, 256)}`);
  if (d.recreatedAs !== undefined) parts.push(`recreated as ${d.recreatedAs}`);
  if (d.recreateRefused !== undefined) parts.push(`not recreated: ${d.recreateRefused.slice(0, 200)}`);
  const head = parts.join(', ');
  return d.note === undefined || d.note === '' ? head : `${head}: ${d.note.slice(0, DISPOSITION_NOTE_MAX)}`;
}

/** The history detail on the recreated callback. */
export function recreatedFromDetail(originalId: string): string {
  return `recreated from ${originalId}`;
}
