// Smoke test of the embedded default (no DATABASE_URL: PGlite in DATA_DIR), driven only through the
// real `ges` command and HTTP: start, the welcome text, the callback lifecycle, CLI commands that
// reach the running node's database, graceful SIGTERM, and data kept across a restart.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigSchema } from '../src/config/config.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const GES = join(ROOT, 'bin', 'ges.mjs');
const START_TIMEOUT_MS = 120_000; // PGlite's first start (initdb in WASM) takes a few seconds
const CLI_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
const HTTP_TIMEOUT_MS = 15_000;
// Subtests do not inherit their parent's timeout (they get --test-timeout), so each names its own.
const STEP = { timeout: START_TIMEOUT_MS + 3 * CLI_TIMEOUT_MS };

const dataDir = mkdtempSync(join(tmpdir(), 'ges-embedded-'));
const children = new Set<ChildProcess>();

after(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit').catch(() => undefined);
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
});

/** The environment of every child: no GES setting inherited from ours, in particular no DATABASE_URL. */
function gesEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(ConfigSchema.properties)) delete env[key];
  delete env.NODE_TEST_CONTEXT;
  return { ...env, DATA_DIR: dataDir, PORT: '0', INTERNAL_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
}

/** Resolves with the first match of `pattern` in the child's stdout; rejects on exit or timeout. */
function waitForOutput(
  ges: { child: ChildProcess; output: () => string },
  stdout: () => string,
  pattern: RegExp,
  timeoutMs: number,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = stdout().match(pattern);
      if (m) {
        cleanup();
        resolve(m);
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new Error(`ges exited (code ${code}, signal ${signal}) before printing ${pattern}:\n${ges.output()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${ges.output()}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      ges.child.off('output', check);
      ges.child.off('exit', onExit);
    };
    ges.child.on('output', check);
    ges.child.once('exit', onExit);
    check();
  });
}

interface Server {
  child: ChildProcess;
  apiBase: string; // .../engagement/v3
  healthUrl: string;
  demoKey: string;
  output: () => string;
}

async function startServer(): Promise<Server> {
  const child = spawn(process.execPath, [GES, 'start'], { cwd: ROOT, env: gesEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    child.emit('output');
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const ges = { child, output: () => `${out}${err ? `\n[stderr]\n${err}` : ''}` };
  // The welcome text is written at once; wait for the line after the key so it is complete.
  const m = await waitForOutput(ges, () => out, /API key:\r?\n[ \t]*(\S+)[ \t]*\r?\n/, START_TIMEOUT_MS);
  const api = out.match(/Engagement API:\s+(http:\/\/\S+)/);
  const health = out.match(/Health:\s+(http:\/\/\S+)/);
  assert.ok(api?.[1], `no Engagement API line in:\n${out}`);
  assert.ok(health?.[1], `no Health line in:\n${out}`);
  assert.ok(m[1], `no demo API key in:\n${out}`);
  return { child, apiBase: api[1].replace(/\/$/, ''), healthUrl: health[1], demoKey: m[1], output: ges.output };
}

/** SIGTERM, then the exit code (bounded). */
async function stopServer(server: Server): Promise<number | null> {
  const exited = once(server.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  assert.ok(server.child.kill('SIGTERM'), 'SIGTERM could not be sent');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`ges did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM:\n${server.output()}`)), STOP_TIMEOUT_MS);
  });
  try {
    const [code, signal] = await Promise.race([exited, timeout]);
    assert.equal(signal, null, `ges was ended by ${signal}:\n${server.output()}`);
    return code;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a CLI command to its end (bounded); returns its exit code and output. */
async function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [GES, ...args], { cwd: ROOT, env: gesEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let timer: NodeJS.Timeout | undefined;
  try {
    const [code] = (await Promise.race([
      once(child, 'close'),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`ges ${args.join(' ')} did not finish within ${CLI_TIMEOUT_MS} ms:\n${stdout}\n${stderr}`)), CLI_TIMEOUT_MS);
      }),
    ])) as [number | null];
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer); // a child still running is killed by the after hook
  }
}

async function cli(args: string[]): Promise<string> {
  const r = await runCli(args);
  assert.equal(r.code, 0, `ges ${args.join(' ')} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

interface Envelope {
  status: { code: number; message: string; corrId: string; errorCode?: string };
  data?: Record<string, unknown>;
}

async function call(server: Server, path: string, apiKey: string, body: unknown): Promise<{ statusCode: number; body: Envelope }> {
  const res = await fetch(`${server.apiBase}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  return { statusCode: res.status, body: (await res.json()) as Envelope };
}

test('embedded mode through the real CLI and HTTP', { timeout: 10 * 60_000 }, async (t) => {
  let server = await startServer();
  assert.match(server.apiBase, /^http:\/\/127\.0\.0\.1:\d+\/engagement\/v3$/);
  assert.match(server.healthUrl, /^http:\/\/127\.0\.0\.1:\d+\/health\/ready$/);
  const demoKey = server.demoKey;
  let demoCallbackId = '';

  await t.test('the node is ready', STEP, async () => {
    const res = await fetch(server.healthUrl, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    assert.equal(res.status, 200, await res.text());
  });

  await t.test('callback lifecycle with the demo key', STEP, async () => {
    const created = await call(server, '/callbacks/create', demoKey, { serviceName: 'demo-callbacks', phoneNumber: '+14155550100' });
    assert.equal(created.statusCode, 200, JSON.stringify(created.body));
    assert.equal(created.body.status.code, 200);
    assert.equal(created.body.status.message, 'Successful');
    assert.equal(typeof created.body.status.corrId, 'string');
    assert.ok(created.body.status.corrId.length > 0);
    const id = created.body.data?.id;
    assert.equal(typeof id, 'string');
    demoCallbackId = id as string;

    const queued = await call(server, '/callbacks/retrieve', demoKey, { id: demoCallbackId });
    assert.equal(queued.statusCode, 200, JSON.stringify(queued.body));
    assert.equal(queued.body.data?.callbackState, 'QUEUED');
    assert.equal(queued.body.data?.phoneNumber, '+14155550100');

    const cancelled = await call(server, '/callbacks/cancel', demoKey, { id: demoCallbackId });
    assert.equal(cancelled.statusCode, 200, JSON.stringify(cancelled.body));
    assert.equal(cancelled.body.data?.id, demoCallbackId);

    const completed = await call(server, '/callbacks/retrieve', demoKey, { id: demoCallbackId });
    assert.equal(completed.statusCode, 200, JSON.stringify(completed.body));
    assert.equal(completed.body.data?.callbackState, 'COMPLETED');
    assert.equal(completed.body.data?.callbackReason, 'CANCELLED');

    const again = await call(server, '/callbacks/cancel', demoKey, { id: demoCallbackId });
    assert.equal(again.statusCode, 400, JSON.stringify(again.body));
    assert.equal(again.body.status.code, 400);
  });

  await t.test('the CLI works on the running node database', STEP, async () => {
    // Without the published port the CLI would open the PGlite files a second time.
    assert.ok(existsSync(join(dataDir, 'pglite.port')), 'the running node did not publish DATA_DIR/pglite.port');
    assert.match(await cli(['tenant', 'create', 'acme']), /tenant acme created/);
    const keyOut = await cli(['apikey', 'create', 'acme']);
    const acmeKey = keyOut.trim().split('\n').pop()!.trim();
    assert.ok(acmeKey.length >= 16, `no key on stdout: ${JSON.stringify(keyOut)}`);
    assert.match(await cli(['service', 'create', 'acme', 'support']), /service support of acme saved/);

    const created = await call(server, '/callbacks/create', acmeKey, { serviceName: 'support', phoneNumber: '+14155550100' });
    assert.equal(created.statusCode, 200, JSON.stringify(created.body));
    const acmeId = created.body.data?.id as string;
    assert.equal(typeof acmeId, 'string');

    const own = await call(server, '/callbacks/retrieve', acmeKey, { id: acmeId });
    assert.equal(own.statusCode, 200, JSON.stringify(own.body));
    assert.equal(own.body.data?.serviceName, 'support');

    const foreign = await call(server, '/callbacks/retrieve', demoKey, { id: acmeId });
    assert.equal(foreign.statusCode, 404, JSON.stringify(foreign.body));
  });

  await t.test('SIGTERM stops the node cleanly', STEP, async () => {
    assert.equal(await stopServer(server), 0, server.output());
    assert.ok(!existsSync(join(dataDir, 'pglite.port')), 'pglite.port should be removed on shutdown');
  });

  await t.test('data and demo key survive a restart', STEP, async () => {
    server = await startServer();
    assert.equal(server.demoKey, demoKey);
    const kept = await call(server, '/callbacks/retrieve', demoKey, { id: demoCallbackId });
    assert.equal(kept.statusCode, 200, JSON.stringify(kept.body));
    assert.equal(kept.body.data?.callbackState, 'COMPLETED');
    assert.equal(kept.body.data?.callbackReason, 'CANCELLED');
    assert.equal(kept.body.data?.phoneNumber, '+14155550100');
    assert.equal(await stopServer(server), 0, server.output());
  });
});
