import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadLuaScripts } from '../src/hot/lua-scripts.ts';

// The KEYS count of a script is in its file name and nowhere else: it must be what the script uses.
test('each Lua script uses exactly the keys its name declares, and documents its input and output', () => {
  const scripts = loadLuaScripts();
  assert.deepEqual(
    scripts.map((s) => s.name),
    ['claimDue', 'finish', 'pause', 'rateLimit', 'requeue', 'take'],
  );
  for (const s of scripts) {
    const [header, body] = s.lua.split(/\n\]\]\n/, 2) as [string, string];
    assert.match(header, /^--\[\[\n/, `${s.name}: header first`);
    assert.match(header, /\n {2}Input:\n/, `${s.name}: Input section`);
    assert.match(header, /\n {2}Output:\n/, `${s.name}: Output section`);
    const used = Math.max(...[...body.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1])));
    assert.equal(used, s.numberOfKeys, `${s.name}: KEYS used`);
    for (let k = 1; k <= s.numberOfKeys; k++) assert.match(header, new RegExp(`KEYS\\[${k}\\]`), `${s.name}: KEYS[${k}] documented`);
    const argv = [...body.matchAll(/ARGV\[(\d+)\]/g)].map((m) => Number(m[1]));
    for (const a of new Set(argv)) assert.match(header, new RegExp(`ARGV\\[${a}\\]`), `${s.name}: ARGV[${a}] documented`);
  }
});
