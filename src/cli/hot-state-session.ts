import type { Config } from '../config/config.ts';
import { connectRedisFromConfig } from '../main/engine-runtime.ts';
import { RedisHotState } from '../hot/redis-hot-state.ts';
import type { HotState } from '../hot/hot-state.ts';

/**
 * Opens the hot state a CLI command works on: the Redis (or Redis Cluster) the nodes use, under
 * their REDIS_KEY_PREFIX, or none when neither REDIS_URL nor REDIS_CLUSTER_NODES is set (the
 * in-process hot state lives inside the running node, out of a command's reach).
 */
export async function withHotState<T>(config: Config, fn: (hot: HotState | undefined) => Promise<T>): Promise<T> {
  const redis = connectRedisFromConfig(config);
  if (!redis) return fn(undefined);
  try {
    return await fn(new RedisHotState(redis, config.REDIS_KEY_PREFIX));
  } finally {
    redis.disconnect();
  }
}
