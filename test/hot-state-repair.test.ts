import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HotStateRepair } from '../src/app/hot-state-repair.ts';
import { createLogger } from '../src/logging/logger.ts';
import { waitFor } from './support/wait-for.ts';

test('a failed engine hook leads to rebuilds until one succeeds; requests meanwhile add one more run, not one each', async () => {
  let calls = 0;
  let failuresLeft = 2;
  let running = 0;
  let overlapped = false;
  let gate: Promise<void> = Promise.resolve();
  const repair = new HotStateRepair(
    async () => {
      calls += 1;
      running += 1;
      overlapped ||= running > 1;
      await new Promise((resolve) => setImmediate(resolve));
      await gate;
      running -= 1;
      if (failuresLeft-- > 0) throw new Error('Command timed out');
    },
    createLogger('silent'),
    10,
  );
  for (let i = 0; i < 5; i++) repair.request();
  assert.equal(repair.pending, true);
  await waitFor(() => !repair.pending, 'the repair to succeed', 5000);
  assert.equal(calls, 3, 'two failed rebuilds, then one that succeeded');
  assert.equal(overlapped, false, 'never two rebuilds at once');

  // A request while a rebuild runs leads to exactly one more.
  calls = 0;
  let open!: () => void;
  gate = new Promise((resolve) => (open = resolve));
  repair.request();
  await waitFor(() => calls === 1, 'the rebuild to start', 5000);
  repair.request();
  repair.request();
  assert.equal(calls, 1, 'still the first rebuild');
  open();
  await waitFor(() => !repair.pending, 'the repairs to finish', 5000);
  assert.equal(calls, 2);
  await repair.stop();
  repair.request();
  assert.equal(repair.pending, false, 'a stopped repair takes no request');
});
