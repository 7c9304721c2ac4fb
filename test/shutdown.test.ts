import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/config/config.ts';
import { startGes } from '../src/app/server.ts';
import { createLogger } from '../src/logging/logger.ts';
import { createTestDb, TEST_DATABASE_URL } from './support/test-env.ts';

test('on stop the node reports not-ready at once, keeps serving through the delay, then stops listening', async () => {
  const db = await createTestDb();
  const config = loadConfig({}, {
    DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: db.schema, PORT: 0, INTERNAL_PORT: 0, HOST: '127.0.0.1',
    DEMO_SEED: 'false', SHUTDOWN_DELAY_SEC: 3, LOG_LEVEL: 'silent',
  });
  const ges = await startGes(config, createLogger('silent'));
  try {
    assert.equal((await fetch(`${ges.internalUrl}/health/ready`)).status, 200);
    const stopping = ges.stop();
    const ready = await fetch(`${ges.internalUrl}/health/ready`);
    assert.equal(ready.status, 503, 'not ready as soon as shutdown starts');
    assert.equal(((await ready.json()) as { checks: { lifecycle?: string } }).checks.lifecycle, 'shutting down');
    const api = await fetch(`${ges.apiUrl}/engagement/v3/callbacks/retrieve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id":"x"}' });
    assert.equal(api.status, 401, 'the API still answers during the delay');
    await stopping;
    await assert.rejects(fetch(`${ges.apiUrl}/engagement/v3/callbacks/retrieve`, { method: 'POST' }), 'no longer listening');
  } finally {
    await ges.stop();
    await db.close();
  }
});
