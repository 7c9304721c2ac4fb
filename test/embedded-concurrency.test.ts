// The embedded default (PGlite behind its socket server) must answer as correctly as server mode
// under concurrency, from its first second: the socket server interleaves the protocol messages of
// different connections outside a transaction, which with a pool of several connections answered
// valid creates 400/500 or never. And one SIGTERM must end it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigSchema } from '../src/config/config.ts';
import { waitFor } from './support/wait-for.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GES = join(ROOT, 'bin', 'ges.mjs');
/** Creates in the burst, all sent at once as soon as the node has printed its welcome. */
const BURST = 40;

const dataDir = mkdtempSync(join(tmpdir(), 'ges-embedded-burst-'));
let child: ChildProcess | undefined;
after(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit').catch(() => undefined);
  }
  rmSync(dataDir, { recursive: true, force: true });
});

test(
  'embedded: a burst of concurrent creates and retrieves right after start is answered correctly, and one SIGTERM ends the node',
  { timeout: 180_000 },
  async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const key of Object.keys(ConfigSchema.properties)) delete env[key];
    delete env.NODE_TEST_CONTEXT;
    Object.assign(env, { DATA_DIR: dataDir, PORT: '0', INTERNAL_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
    const proc = spawn(process.execPath, [GES, 'start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    await waitFor(
      () => {
        if (proc.exitCode !== null) throw new Error(`ges exited with ${proc.exitCode}:\n${out}`);
        return /API key:\r?\n[ \t]*\S+[ \t]*\r?\n/.test(out);
      },
      'the welcome text',
      120_000,
    );
    const apiBase = out.match(/Engagement API:\s+(http:\/\/\S+)/)![1]!.replace(/\/$/, '');
    const key = out.match(/API key:\r?\n[ \t]*(\S+)/)![1]!;
    const service = 'demo-callbacks';

    const call = async (path: string, body: unknown) => {
      const res = await fetch(`${apiBase}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(60_000),
      });
      return {
        status: res.status,
        body: (await res.json()) as { status: { message: string }; data?: { id: string; phoneNumber: string; serviceName: string } },
      };
    };
    // Everything at once: creates, each followed by a retrieve of its own callback, and retrieves of
    // ids that do not exist (404), interleaved on the pool's connections.
    const results = await Promise.all(
      Array.from({ length: BURST }, async (_, i) => {
        const phone = `+1415555${String(6000 + i)}`;
        const created = await call('/callbacks/create', { serviceName: service, phoneNumber: phone });
        assert.equal(created.status, 200, `create ${i}: ${created.status} ${created.body.status.message}`);
        const read = await call('/callbacks/retrieve', { id: created.body.data!.id });
        assert.equal(read.status, 200, `retrieve ${i}: ${read.status} ${read.body.status.message}`);
        assert.equal(read.body.data!.phoneNumber, phone, `retrieve ${i} returns its own callback`);
        const missing = await call('/callbacks/retrieve', { id: '00000000-0000-4000-8000-00000000' + String(1000 + i).padStart(4, '0') });
        assert.equal(missing.status, 404, `retrieve of an unknown id ${i}: ${missing.status} ${missing.body.status.message}`);
        return created.body.data!.id;
      }),
    );
    assert.equal(new Set(results).size, BURST, 'every create made its own callback');

    // One SIGTERM: the node stops and the process exits 0.
    const exited = once(proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    proc.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const [code, signal] = await Promise.race([
      exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no exit within 40 s of one SIGTERM:\n${out.slice(-3000)}`)), 40_000);
      }),
    ]).finally(() => clearTimeout(timer));
    assert.equal(signal, null);
    assert.equal(code, 0, `exit code after SIGTERM:\n${out.slice(-3000)}`);
  },
);
