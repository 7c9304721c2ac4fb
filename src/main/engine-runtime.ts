import { Cluster, Redis } from 'ioredis';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import type { DbClock } from '../store/db-clock.ts';
import { allServiceQueues } from '../store/service-store.ts';
import type { HotState } from '../hot/hot-state.ts';
import { MemoryHotState } from '../hot/memory-hot-state.ts';
import { RedisHotState } from '../hot/redis-hot-state.ts';
import type { VoicePort } from '../voice/voice-port.ts';
import { SimClock } from '../voice/simulator/sim-clock.ts';
import { ContactCenterSimulator } from '../voice/simulator/contact-center-simulator.ts';
import { CallbackEngine, type CallInIssuer, type EngineObserver, type PushSender } from '../engine/callback-engine.ts';
import { databaseEngineClock } from '../engine/engine-clock.ts';
import { CallInRouter } from '../app/call-in-router.ts';
import { RedisStreamVoicePort } from '../voice/redis-stream/redis-stream-voice-port.ts';
import type { SipMetrics } from '../metrics/sip-metrics.ts';
import { sipVoicePort } from './sip-voice-wiring.ts';

export interface EngineRuntime {
  engine: CallbackEngine;
  hot: HotState;
  voice: VoicePort;
  redis: Redis | Cluster | undefined;
  /** Whether Redis answers PING within REDIS_PROBE_TIMEOUT_MS (always true for the in-process hot state). */
  readonly redisUp: () => Promise<boolean>;
  /**
   * Stops the node's engine side in the order that loses nothing: the engine stops claiming and
   * dispatching and finishes what it holds (settling its leases); the voice port stops reading and
   * lets the events already read be handled and acknowledged; then the engine and the call-in
   * router let go of events, and the connections close.
   */
  stop(): Promise<void>;
}

/** A readiness probe or a scrape must not wait on a Redis that does not answer. */
export const REDIS_PROBE_TIMEOUT_MS = 1000;

/**
 * Every command is bounded (REDIS_COMMAND_TIMEOUT_MS): a Redis that is there but silent (a network
 * partition, a frozen server) would otherwise hold every create and every engine round until the
 * socket gives up, which can take minutes. The blocking stream reads use their own connection
 * without this timeout (src/voice/redis-stream/redis-client.ts).
 */
function redisOptions(config: Config) {
  return { maxRetriesPerRequest: 3, commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS };
}

/** The Redis client the settings ask for, or none (in-process hot state). */
export function connectRedisFromConfig(config: Config): Redis | Cluster | undefined {
  if (config.REDIS_CLUSTER_NODES) {
    const nodes = config.REDIS_CLUSTER_NODES.split(',').map((n) => {
      const [host, port] = n.trim().split(':');
      return { host: host!, port: Number(port ?? 6379) };
    });
    return new Cluster(nodes, { redisOptions: redisOptions(config) });
  }
  if (config.REDIS_URL) return new Redis(config.REDIS_URL, redisOptions(config));
  return undefined;
}

/**
 * Builds the engine side of a node from the settings: the hot state (Redis, Redis Cluster, or in
 * process), the voice platform (the built-in simulator, with SIMULATOR_AGENTS agents on every
 * service that exists at start, on real time so the demo can be watched), and the engine on the
 * database clock.
 */
export async function startEngineRuntime(
  config: Config,
  pool: pg.Pool,
  dbClock: DbClock,
  logger: Logger,
  observer?: EngineObserver,
  /** USERORIGINATED callbacks: the FCM sender and the call-in requests of confirmed pushes. */
  push?: { sender: PushSender; callIn: CallInIssuer },
  /** VOICE_PLATFORM=sip: the observer of its calls, media and refused requests. */
  sipMetrics?: SipMetrics,
): Promise<EngineRuntime> {
  const redis = connectRedisFromConfig(config);
  const hot: HotState = redis ? new RedisHotState(redis, config.REDIS_KEY_PREFIX) : new MemoryHotState();
  let voice: VoicePort;
  let simClock: SimClock | undefined;
  if (config.VOICE_PLATFORM === 'redis-stream') {
    if (!redis) throw new Error('VOICE_PLATFORM=redis-stream needs REDIS_URL or REDIS_CLUSTER_NODES');
    voice = new RedisStreamVoicePort(redis, {
      prefix: config.REDIS_KEY_PREFIX,
      logger,
      claimIdleMs: config.VOICE_CLAIM_IDLE_MS,
      claimIntervalMs: config.VOICE_CLAIM_INTERVAL_MS,
    });
  } else if (config.VOICE_PLATFORM === 'sip') {
    voice = sipVoicePort(config, pool, logger, sipMetrics);
  } else {
    simClock = new SimClock(Date.now());
    const queues = Object.fromEntries(
      (await allServiceQueues(pool)).map((q) => [
        `${q.tenant}/${q.service}`,
        { agents: config.SIMULATOR_AGENTS, handleTimeSec: { mean: 90, sd: 30 }, wrapUpSec: 5 },
      ]),
    );
    voice = new ContactCenterSimulator({ seed: Date.now(), clock: simClock, queues });
    simClock.startRealTime(1);
  }
  const engine = new CallbackEngine({
    db: pool,
    hot,
    voice,
    clock: databaseEngineClock(dbClock),
    logger,
    pollMs: config.ENGINE_POLL_MS,
    observer,
    ...(push ? { push: push.sender, callIn: push.callIn } : {}),
    ...(config.ENGINE_WATCHDOG_SEC > 0 ? { watchdogCapSec: config.ENGINE_WATCHDOG_SEC } : {}),
  });
  // Any node may receive an inbound call, so call-in matching runs whether or not the engine does.
  const callIn = new CallInRouter(pool, voice, logger.child({ component: 'call-in' }));
  callIn.start();
  await voice.start();
  if (config.ENGINE_ENABLED) await engine.start();
  return {
    engine,
    hot,
    voice,
    redis,
    async redisUp() {
      if (!redis) return true;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), REDIS_PROBE_TIMEOUT_MS);
      });
      try {
        return await Promise.race([
          redis.ping().then(
            (r) => r === 'PONG',
            () => false,
          ),
          timeout,
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    async stop() {
      await engine.quiesce();
      // Events read before this are handled by the engine and the router, which still listen.
      await voice.stop();
      await engine.stop();
      await callIn.stop({ timeoutMs: 5000 });
      simClock?.stopRealTime();
      await hot.close();
      redis?.disconnect();
    },
  };
}
