import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait-for.ts';

/** GES nodes and the stand-in voice platform as processes of their own, for the fault suite. */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GES_BIN = join(ROOT, 'bin/ges.mjs');
const PLATFORM = join(ROOT, 'src/voice/redis-stream/platform-process.ts');

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
  /** undefined while it runs. */
  exitCode(): number | null | undefined;
  stop(ms?: number): Promise<number | null>;
}

export function spawnProc(name: string, args: string[], env: Record<string, string>): Proc {
  const { NODE_TEST_CONTEXT: _ignored, ...inherited } = process.env;
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of String(chunk).split('\n')) if (line.trim() !== '') lines.push(line);
    if (lines.length > 20_000) lines.splice(0, lines.length - 20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve((code = c))));
  return {
    name,
    child,
    lines,
    exited,
    exitCode: () => code,
    async stop(ms = 15_000) {
      if (code !== undefined) return code;
      child.kill('SIGCONT'); // in case it was left frozen
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export interface GesNode extends Proc {
  readonly apiUrl: string;
  readonly internalUrl: string;
  readonly consumer: string;
}

export async function startNode(name: string, env: Record<string, string>): Promise<GesNode> {
  const proc = spawnProc(name, [GES_BIN, 'start'], env);
  let urls: { apiUrl: string; internalUrl: string } | undefined;
  try {
    await waitForListening();
  } catch (error) {
    await proc.stop(1000);
    throw error;
  }
  return Object.assign(proc, { apiUrl: urls!.apiUrl, internalUrl: urls!.internalUrl, consumer: `${hostname()}-${proc.child.pid}` });

  async function waitForListening() {
    await waitFor(
      () => {
        if (proc.exitCode() !== undefined) throw new Error(`${name} exited with ${proc.exitCode()}:\n${proc.lines.slice(-30).join('\n')}`);
        const line = proc.lines.find((l) => l.includes('"GES listening"'));
        if (line) urls = JSON.parse(line) as { apiUrl: string; internalUrl: string };
        return urls !== undefined;
      },
      `${name} to listen`,
      90_000,
    );
    await waitFor(async () => (await fetch(`${urls!.internalUrl}/health/ready`).catch(() => undefined))?.status === 200, `${name} ready`, 30_000);
  }
}

export interface PlatformOptions {
  redisUrl: string;
  prefix: string;
  queues: Record<string, { agents: number; handleTimeSec: { mean: number; sd: number } }>;
  sim: Record<string, unknown>;
  speed: number;
  ledgerFile: string;
}

/** The stand-in contact center (platform-process.ts); resolves once it printed READY. */
export async function startPlatform(o: PlatformOptions): Promise<Proc> {
  const proc = spawnProc(
    'platform',
    [
      '--import',
      'tsx',
      PLATFORM,
      '--redis',
      o.redisUrl,
      '--prefix',
      o.prefix,
      '--queues',
      JSON.stringify(o.queues),
      '--seed',
      '20261202',
      '--speed',
      String(o.speed),
      '--ledger-file',
      o.ledgerFile,
      '--sim',
      JSON.stringify(o.sim),
      '--heartbeat-ms',
      '2000',
      '--log-level',
      'warn',
    ],
    {},
  );
  await waitFor(
    () => {
      if (proc.exitCode() !== undefined) throw new Error(`platform exited with ${proc.exitCode()}:\n${proc.lines.join('\n')}`);
      return proc.lines.includes('READY');
    },
    'the platform to print READY',
    60_000,
  );
  return proc;
}
