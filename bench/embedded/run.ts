/**
 * Throughput of the embedded default (PGlite behind its socket server, no DATABASE_URL): a node is
 * started in process on a fresh data folder, then BENCH_REQUESTS creates, each followed by a
 * retrieve of what it created, run BENCH_CONCURRENCY at a time through HTTP. Every answer is checked
 * (200, and the retrieve returns the phone number created), so a run reports wrong answers beside
 * the rate. Results go to docs/BENCHMARKS.md by hand.
 *
 *   npm run bench:embedded            (BENCH_REQUESTS=1000 BENCH_CONCURRENCY=20 by default)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.ts';
import { startGes } from '../../src/main/server.ts';
import { createLogger } from '../../src/logging/logger.ts';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);

const dataDir = mkdtempSync(join(tmpdir(), 'ges-bench-embedded-'));
const ges = await startGes(
  loadConfig({}, { DATA_DIR: dataDir, PORT: 0, INTERNAL_PORT: 0, HOST: '127.0.0.1', LOG_LEVEL: 'silent', SIMULATOR_AGENTS: 0 }),
  createLogger('silent'),
);
try {
  const key = ges.demo!.apiKey!;
  const service = ges.demo!.service;
  const call = async (path: string, body: unknown) => {
    try {
      // An answer that never comes counts as wrong (status 0) instead of hanging the run.
      const res = await fetch(`${ges.apiUrl}/engagement/v3${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      return { status: res.status, json: (await res.json()) as { data?: { id?: string; phoneNumber?: string } } };
    } catch {
      unanswered += 1;
      return { status: 0, json: {} };
    }
  };
  let wrong = 0;
  let unanswered = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        const phone = `+1415${String(5_000_000 + next++).padStart(7, '0')}`;
        const created = await call('/callbacks/create', { serviceName: service, phoneNumber: phone });
        if (created.status !== 200 || !created.json.data?.id) {
          wrong += 1;
          continue;
        }
        const read = await call('/callbacks/retrieve', { id: created.json.data.id });
        if (read.status !== 200 || read.json.data?.phoneNumber !== phone) wrong += 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(
    JSON.stringify({
      requests: REQUESTS,
      concurrency: CONCURRENCY,
      seconds: Number(seconds.toFixed(2)),
      createsPerSec: Number((REQUESTS / seconds).toFixed(1)),
      wrongAnswers: wrong,
      unanswered,
    }),
  );
} finally {
  const stopping = Date.now();
  await Promise.race([ges.stop(), new Promise((r) => setTimeout(r, 30_000).unref())]);
  console.log(JSON.stringify({ stopMs: Date.now() - stopping }));
  rmSync(dataDir, { recursive: true, force: true });
}
