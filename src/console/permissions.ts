import { ROLES, type Role } from '../domain/roles.ts';

/**
 * Who may do what in the console: the one matrix the server enforces on every route (each route
 * names its action; see console-plugin.ts) and docs/CONSOLE.md mirrors (a test keeps them in step).
 *
 * Derived from the original's roles (ges-api.md §4): an Administrator does everything; a Supervisor
 * runs callbacks (create, cancel, reschedule, export) and reads the configuration; a Monitor only
 * watches; a Developer reads, and owns the API side (failed-request search, API keys) but does not
 * run callbacks. Only an Administrator edits scheduling configuration and users, as in the original,
 * where capacity rules are read-only to every other role.
 */

/** How the console and the CLI name each role. */
export const ROLE_LABELS: Readonly<Record<Role, string>> = Object.freeze({
  ADMINISTRATOR: 'Administrator',
  SUPERVISOR: 'Supervisor',
  MONITOR: 'Monitor',
  DEVELOPER: 'Developer',
});

const ALL = ROLES;
const A: readonly Role[] = ['ADMINISTRATOR'];
const AS: readonly Role[] = ['ADMINISTRATOR', 'SUPERVISOR'];
const AD: readonly Role[] = ['ADMINISTRATOR', 'DEVELOPER'];

/**
 * Every action a console route may name. `changes` marks actions that change state (or post data
 * that must not go into a URL): their routes must be POST and carry the session's CSRF token.
 */
export const ACTIONS = Object.freeze({
  'session.use': { roles: ALL, changes: false, what: 'Use the console: pages, own preferences' },
  'session.change': { roles: ALL, changes: true, what: 'Sign out, change own preferences and password' },
  'callbacks.view': { roles: ALL, changes: false, what: 'List, search and open callbacks, with their history' },
  'callbacks.export': { roles: AS, changes: false, what: 'Export the filtered list as CSV' },
  'callbacks.create': { roles: AS, changes: true, what: 'Create immediate or scheduled callbacks' },
  'callbacks.cancel': { roles: AS, changes: true, what: 'Cancel callbacks (reason CANCELLED_BY_ADMIN)' },
  'callbacks.reschedule': { roles: AS, changes: true, what: 'Move a scheduled callback to another slot' },
  'queues.view': { roles: ALL, changes: false, what: 'Live queue monitor' },
  'config.view': { roles: ALL, changes: false, what: 'Read business hours, capacity rules, services, call-in groups, number rules, browser origins' },
  'config.edit': { roles: A, changes: true, what: 'Edit business hours, capacity rules, services, call-in groups, number rules, browser origins' },
  // Posted (and so CSRF-checked) although it changes nothing: a phone number never goes into a URL.
  'numbers.test': { roles: ALL, changes: true, what: 'Test a phone number against the number rules' },
  'apikeys.view': { roles: AD, changes: false, what: 'List API keys by prefix' },
  'apikeys.manage': { roles: AD, changes: true, what: 'Create (shown once) and revoke API keys' },
  'developer.view': { roles: AD, changes: false, what: 'Find failed API requests by correlation id' },
  'users.view': { roles: A, changes: false, what: 'List console users' },
  'users.manage': { roles: A, changes: true, what: 'Create users, change roles, reset passwords, disable and enable' },
} as const satisfies Record<string, { roles: readonly Role[]; changes: boolean; what: string }>);

export type Action = keyof typeof ACTIONS;

/** Routes open without a session: the sign-in page and the static assets. */
export const PUBLIC = 'public';
export type RouteAction = Action | typeof PUBLIC;

export function isAction(name: string): name is Action {
  return Object.hasOwn(ACTIONS, name);
}

export function can(role: Role, action: Action): boolean {
  return (ACTIONS[action].roles as readonly Role[]).includes(role);
}
