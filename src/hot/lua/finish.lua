-- A callback is finished (completed, cancelled, expired): it leaves every index of its queue, and
-- the interaction is recorded for the wait estimators when it reached an agent. The samples list
-- is trimmed only when it has grown to twice its size, so most finishes cost one push.
-- KEYS[1]  queue
-- KEYS[2]  pending set
-- KEYS[3]  the tenant's due index
-- KEYS[4]  samples list of the queue
-- ARGV[1]  callback id
-- ARGV[2]  encoded sample, or '' for none
-- ARGV[3]  samples kept
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if ARGV[2] ~= '' then
  local kept = tonumber(ARGV[3])
  if redis.call('RPUSH', KEYS[4], ARGV[2]) > 2 * kept then
    redis.call('LTRIM', KEYS[4], -kept, -1)
  end
end
return 1
