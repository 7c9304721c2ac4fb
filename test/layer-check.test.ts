import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type IConfiguration } from 'dependency-cruiser';

// The layer check (.dependency-cruiser.cjs, run by `npm run check:layers`) is only worth having if
// it fails on a violation. These tests run it on scratch trees laid out like src/: one that keeps
// every rule, and ones that each break one rule on purpose.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const config = createRequire(import.meta.url)(join(ROOT, '.dependency-cruiser.cjs')) as IConfiguration;

/** Runs the checker as `npm run check:layers` does, with the project's rules, on a scratch tree. */
async function check(files: Record<string, string>): Promise<{ status: number; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ges-layers-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const run = await cruise(['src'], { ...config.options, baseDir: dir, validate: true, ruleSet: { forbidden: config.forbidden ?? [] }, outputType: 'err' });
    return { status: run.exitCode, output: typeof run.output === 'string' ? run.output : JSON.stringify(run.output) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A small tree that keeps every rule: the layers as docs/ARCHITECTURE.md draws them. */
const CLEAN: Record<string, string> = {
  'src/domain/rule.ts': "import { createHash } from 'node:crypto';\nexport const rule = (s: string) => createHash('sha256').update(s).digest('hex');\n",
  'src/store/rows.ts': "import type { Pool } from 'pg';\nimport { rule } from '../domain/rule.ts';\nexport const read = (p: Pool) => [p, rule('x')];\n",
  'src/app/use-case.ts': "import { read } from '../store/rows.ts';\nexport const useCase = read;\n",
  'src/http/route.ts': "import type { useCase } from '../app/use-case.ts';\nexport type Route = typeof useCase;\n",
  'src/console/page.ts': "import type { useCase } from '../app/use-case.ts';\nexport type Page = typeof useCase;\n",
  'src/voice/port.ts': "import { rule } from '../domain/rule.ts';\nexport const port = rule;\n",
  'src/main/server.ts': "import '../http/route.ts';\nimport '../console/page.ts';\nimport '../voice/port.ts';\n",
  'src/cli/ges.ts': "import '../main/server.ts';\n",
};

test('the layer check passes a tree that keeps the rules', async () => {
  const run = await check(CLEAN);
  assert.equal(run.status, 0, run.output);
});

const VIOLATIONS: { rule: string; file: string; text: string }[] = [
  { rule: 'domain-no-io', file: 'src/domain/reads-files.ts', text: "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n" },
  { rule: 'domain-no-io-packages', file: 'src/domain/queries.ts', text: "import type { Pool } from 'pg';\nexport type P = Pool;\n" },
  { rule: 'domain-no-outer-layer', file: 'src/domain/knows-store.ts', text: "import type { read } from '../store/rows.ts';\nexport type R = typeof read;\n" },
  { rule: 'http-no-store', file: 'src/http/sql-route.ts', text: "import { read } from '../store/rows.ts';\nexport const r = read;\n" },
  { rule: 'console-no-store', file: 'src/console/sql-page.ts', text: "import type { read } from '../store/rows.ts';\nexport type R = typeof read;\n" },
  { rule: 'voice-no-store', file: 'src/voice/sql-port.ts', text: "import { read } from '../store/rows.ts';\nexport const r = read;\n" },
  { rule: 'one-composition-root', file: 'src/app/wires.ts', text: "import '../main/server.ts';\n" },
  // store → app closes a cycle with app → store.
  { rule: 'no-folder-cycle', file: 'src/store/calls-up.ts', text: "import { useCase } from '../app/use-case.ts';\nexport const u = useCase;\n" },
];

for (const v of VIOLATIONS) {
  test(`the layer check fails on a deliberate ${v.rule} violation`, async () => {
    const run = await check({ ...CLEAN, [v.file]: v.text });
    assert.notEqual(run.status, 0, `the checker accepted ${v.file}:\n${run.output}`);
    // A folder cycle is reported by folder; every other rule by the importing file.
    const where = v.rule === 'no-folder-cycle' ? 'src/' : v.file;
    assert.ok(run.output.includes(`${v.rule}: ${where}`), run.output);
  });
}
