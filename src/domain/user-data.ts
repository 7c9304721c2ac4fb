/**
 * GES ignores userData keys that are not valid JavaScript identifiers. Reserved words are accepted:
 * they are valid property names, and refusing `class` or `default` would surprise every client.
 */
const IDENTIFIER = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200C\u200D]*$/u;

export interface FilteredUserData {
  kept: Record<string, unknown> | undefined;
  dropped: string[];
}

export function filterUserData(userData: Record<string, unknown> | undefined): FilteredUserData {
  if (!userData) return { kept: undefined, dropped: [] };
  const kept: Record<string, unknown> = {};
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(userData)) {
    if (IDENTIFIER.test(key)) kept[key] = value;
    else dropped.push(key);
  }
  return { kept: Object.keys(kept).length > 0 ? kept : undefined, dropped };
}
