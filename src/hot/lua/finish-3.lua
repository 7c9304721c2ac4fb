--[[
  A callback is finished (completed, cancelled, expired): it leaves its queue (waiting or pending)
  and the due index. With a sample it reached an agent, and left the queue's pending callbacks
  when the agent was found, so only its due entry goes and the interaction is recorded for the
  wait estimators. The samples list is trimmed only when it has grown to twice its size, so most
  such finishes cost one push.

  Input:
    KEYS[1]  queue (waiting and pending callbacks)
    KEYS[2]  the tenant's due index
    KEYS[3]  samples list of the queue

    ARGV[1]  callback id
    ARGV[2]  encoded sample, or '' for none
    ARGV[3]  samples kept

  Output:
    1
]]
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
local kept = tonumber(ARGV[3])
if redis.call('RPUSH', KEYS[3], ARGV[2]) > 2 * kept then
  redis.call('LTRIM', KEYS[3], -kept, -1)
end
return 1
