import { readdirSync, readFileSync } from 'node:fs';

/** A Lua script of the hot state, as ioredis's defineCommand takes it. */
export interface LuaScript {
  /** The command name: the file name in camel case (`claim-due-1.lua` → `claimDue`). */
  name: string;
  numberOfKeys: number;
  lua: string;
}

/** `<name>-<KEYS count>.lua`, as BullMQ names its scripts: the key count travels with the file. */
const FILE = /^([a-z][a-z0-9-]*)-(\d+)\.lua$/;

/**
 * Every script of src/hot/lua. Each file starts with an Input/Output header that documents its
 * KEYS, ARGV and return value; the number in its name is its KEYS count, so a script and the
 * number of keys it is called with cannot drift apart.
 */
export function loadLuaScripts(dir = new URL('./lua/', import.meta.url)): LuaScript[] {
  const scripts: LuaScript[] = [];
  for (const file of readdirSync(dir).sort()) {
    const m = FILE.exec(file);
    if (!m) {
      if (file.endsWith('.lua')) throw new Error(`Lua script ${file} is not named <name>-<KEYS count>.lua`);
      continue;
    }
    const name = m[1]!.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    scripts.push({ name, numberOfKeys: Number(m[2]), lua: readFileSync(new URL(file, dir), 'utf8') });
  }
  return scripts;
}
