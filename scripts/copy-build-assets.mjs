// Copies every file under src/ that tsc does not emit (Lua scripts, console templates and static
// files, anything added later) next to the compiled code, so `npm run build` alone produces what
// the container runs. Usage: node scripts/copy-build-assets.mjs [outDir]   (default: dist)
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const out = join(root, process.argv[2] ?? 'dist');

let copied = 0;
for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || entry.name.endsWith('.ts')) continue;
  const from = join(entry.parentPath, entry.name);
  const to = join(out, relative(src, from));
  mkdirSync(dirname(to), { recursive: true });
  cpSync(from, to);
  copied += 1;
}
console.log(`copied ${copied} asset file(s) from src/ to ${relative(root, out) || '.'}/`);
