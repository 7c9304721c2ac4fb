import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTestDb } from './support/test-env.ts';
import { connectRedis, dropPrefix, testPrefix, TEST_REDIS_URL } from './support/redis-env.ts';
import { waitFor } from './support/wait-for.ts';

/**
 * The container runs `npm run build`'s output, not the sources the other tests import: this builds
 * it the way the Dockerfile does, lays it out as the image does (dist/, migrations/, bin/,
 * package.json; no src/), and starts it on real Postgres and Redis. It catches what tsc does not
 * emit (Lua scripts, console templates) and paths that only work from src/.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

test('the built image layout starts on Postgres and Redis and serves the API, the console and metrics', async (t) => {
  const image = mkdtempSync(join(ROOT, '.build-check-'));
  t.after(() => rmSync(image, { recursive: true, force: true }));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  await run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', join(image, 'dist')], { cwd: ROOT });
  await run(process.execPath, ['scripts/copy-build-assets.mjs', relative(ROOT, join(image, 'dist'))], { cwd: ROOT });
  symlinkSync(join(ROOT, 'migrations'), join(image, 'migrations'));
  symlinkSync(join(ROOT, 'assets'), join(image, 'assets'));
  mkdirSync(join(image, 'bin'));
  cpSync(join(ROOT, 'bin/ges.mjs'), join(image, 'bin/ges.mjs'));
  cpSync(join(ROOT, 'package.json'), join(image, 'package.json'));
  assert.ok(!existsSync(join(image, 'src')), 'no sources: bin/ges.mjs must run dist/');
  // The SIP prompts are found from dist/ the way the Dockerfile lays them out (assets/ beside dist/).
  const prompts = await run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "const m = await import('./dist/voice/sip/media/prompt.js'); for (const n of ['confirm', 'preview', 'message']) console.log((await m.loadPrompt(m.DEFAULT_PROMPT_DIR + n + '.wav')).frames('PCMA').length);",
    ],
    { cwd: image },
  );
  assert.ok(prompts.stdout.trim().split('\n').length === 3 && !/^0$/m.test(prompts.stdout), `prompts load from dist/: ${prompts.stdout}`);

  const db = await createTestDb(); // a schema of its own; the node migrates it again (nothing to do)
  const redis = await connectRedis();
  const prefix = testPrefix();
  t.after(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
    await db.close();
  });

  const { NODE_TEST_CONTEXT: _ignored, ...inherited } = process.env;
  const child = spawn(process.execPath, [join(image, 'bin/ges.mjs'), 'start'], {
    cwd: image,
    env: {
      ...inherited,
      NODE_ENV: 'production',
      DATABASE_URL: process.env.TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/postgres',
      DATABASE_SCHEMA: db.schema,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      HOST: '127.0.0.1',
      PORT: '0',
      INTERNAL_PORT: '0',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let exit: number | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code) => {
      exit = code;
      resolve();
    }),
  );
  for (const stream of [child.stdout, child.stderr])
    stream.on('data', (chunk: Buffer) =>
      lines.push(
        ...String(chunk)
          .split('\n')
          .filter((l) => l !== ''),
      ),
    );
  t.after(async () => {
    if (exit === undefined) {
      child.kill('SIGTERM');
      await exited;
    }
  });

  let urls: { apiUrl: string; internalUrl: string } | undefined;
  await waitFor(
    () => {
      if (exit !== undefined) throw new Error(`the built node exited with ${exit}:\n${lines.slice(-20).join('\n')}`);
      const line = lines.find((l) => l.includes('"GES listening"'));
      if (line) urls = JSON.parse(line) as { apiUrl: string; internalUrl: string };
      return urls !== undefined;
    },
    'the built node to listen',
    60_000,
  );
  await waitFor(async () => (await fetch(`${urls!.internalUrl}/health/ready`).catch(() => undefined))?.status === 200, 'the built node to be ready', 30_000);

  const login = await fetch(`${urls!.apiUrl}/ges/login`);
  assert.equal(login.status, 200, 'console templates were shipped');
  assert.match(await login.text(), /<form[^>]+method="post"/i);
  assert.equal((await fetch(`${urls!.apiUrl}/ges/static/console.css`)).status, 200, 'console assets were shipped');
  const unauthorised = await fetch(`${urls!.apiUrl}/engagement/v3/callbacks/queue-status/sales`);
  assert.equal(unauthorised.status, 401);
  assert.equal(((await unauthorised.json()) as { status: { code: number } }).status.code, 401);
  const metrics = await (await fetch(`${urls!.internalUrl}/metrics`)).text();
  assert.match(metrics, /^ges_redis_up 1$/m, 'the Lua scripts loaded and Redis answers');
  assert.match(metrics, /^ges_migrations_pending 0$/m);

  child.kill('SIGTERM');
  await exited;
  assert.equal(exit, 0, 'a clean stop on SIGTERM');
});
