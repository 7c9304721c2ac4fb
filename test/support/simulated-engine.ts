import type { TestContext } from 'node:test';
import { CallbackService } from '../../src/app/callback-service.ts';
import { callbackRecreate } from '../../src/app/callback-recreate.ts';
import { CallbackEngine, type EngineOptions } from '../../src/engine/callback-engine.ts';
import { simulatedEngineClock } from '../../src/engine/engine-clock.ts';
import { MemoryHotState } from '../../src/hot/memory-hot-state.ts';
import { createLogger } from '../../src/logging/logger.ts';
import type { SimClock } from '../../src/voice/simulator/sim-clock.ts';
import type { VoicePort } from '../../src/voice/voice-port.ts';
import type { TestDb } from './test-env.ts';

/**
 * One engine on simulated time over `voice`, with the callback service attached to it (an engine
 * hook that fails fails the test), both started and stopped after the test. In-process hot state,
 * a 1 s poll and watchdogs of at most 10 minutes, unless `options` says otherwise.
 */
export async function startSimulatedEngine(
  t: TestContext,
  db: TestDb,
  voice: VoicePort,
  clock: SimClock,
  options: Partial<EngineOptions> = {},
): Promise<{ engine: CallbackEngine; callbacks: CallbackService }> {
  const engine = new CallbackEngine({
    db: db.pool,
    hot: new MemoryHotState(),
    voice,
    clock: simulatedEngineClock(clock),
    logger: createLogger('silent'),
    pollMs: 1000,
    watchdogCapSec: 600,
    ...options,
  });
  db.clock.__test__pretendNow(clock.now());
  const callbacks = new CallbackService(db.pool, db.clock);
  callbacks.attach(engine, (err) => {
    throw err;
  });
  engine.attachRecreate(callbackRecreate(db.pool, callbacks));
  await voice.start();
  await engine.start();
  t.after(async () => {
    await engine.stop();
    await voice.stop();
  });
  return { engine, callbacks };
}
