/**
 * Who changed a callback, as its history records it: the engine itself, an API client or a console
 * user. The numbers are stored in callback_event.actor and must never be renumbered.
 */
export const ACTOR = Object.freeze({ SYSTEM: 0, API: 1, CONSOLE: 2 } as const);
export type Actor = (typeof ACTOR)[keyof typeof ACTOR];
