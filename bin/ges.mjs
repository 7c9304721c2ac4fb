#!/usr/bin/env node
// Entry point of the `ges` command. In a checkout with dev dependencies we run the TypeScript
// sources through tsx so the command never runs a stale build; in a production image (no tsx,
// only dist/) we run the compiled output.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
let useSource = existsSync(join(root, 'src/cli/ges.ts'));
if (useSource) {
  try {
    const { register } = await import(pathToFileURL(require.resolve('tsx/esm/api')).href);
    register();
  } catch {
    useSource = false;
  }
}
const entry = useSource ? join(root, 'src/cli/ges.ts') : join(root, 'dist/cli/ges.js');
const { runCli } = await import(pathToFileURL(entry).href);
await runCli(process.argv);
