--[[
  An attempt failed and a retry is planned: out of the queue's pending callbacks, due at the retry time.

  Input:
    KEYS[1]  queue (waiting and pending callbacks)
    KEYS[2]  the tenant's due index

    ARGV[1]  callback id
    ARGV[2]  retry time (epoch ms)

  Output:
    1
]]
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
