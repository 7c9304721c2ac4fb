--[[
  An attempt ended before any dial (no agent could be reserved): from pending back to waiting in
  the queue at its score (one ZADD moves it), and its watchdog leaves the due index.

  Input:
    KEYS[1]  queue (waiting and pending callbacks)
    KEYS[2]  the tenant's due index

    ARGV[1]  callback id
    ARGV[2]  queue score

  Output:
    1
]]
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
