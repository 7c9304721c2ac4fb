-- Takes the head of a service queue for dialing, unless enough callbacks already wait for an
-- agent (dial pacing). The taken callback is pending (keeping its queue score, so a requeue puts
-- it back in its place) and due at its watchdog time, in one step: a node that dies right after
-- taking it leaves it findable.
-- KEYS[1]  queue (zset: callback id → virtual start time)
-- KEYS[2]  pending set (zset: callback id → queue score)
-- KEYS[3]  the tenant's due index
-- ARGV[1]  most callbacks pending at once
-- ARGV[2]  watchdog time (epoch ms)
-- Returns the id, 0 when pacing holds the queue back, or nil when the queue is empty.
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[1]) then return 0 end
local head = redis.call('ZPOPMIN', KEYS[1])
if #head == 0 then return false end
redis.call('ZADD', KEYS[2], head[2], head[1])
redis.call('ZADD', KEYS[3], ARGV[2], head[1])
return head[1]
