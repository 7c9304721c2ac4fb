/**
 * The roles of console users, derived from the original's (ges-api.md §4). The console decides what
 * each may do (src/console/permissions.ts); the store keeps a user's role by name, and the CLI
 * parses it, so the list lives here where all of them may import it.
 */

export const ROLES = Object.freeze(['ADMINISTRATOR', 'SUPERVISOR', 'MONITOR', 'DEVELOPER'] as const);
export type Role = (typeof ROLES)[number];

export function isRole(name: string): name is Role {
  return (ROLES as readonly string[]).includes(name);
}

/** Accepts `administrator`, `Administrator` or `ADMINISTRATOR`. */
export function parseRole(name: string): Role | undefined {
  const upper = name.trim().toUpperCase();
  return isRole(upper) ? upper : undefined;
}
