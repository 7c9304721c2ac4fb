-- An attempt ended before any dial (no agent could be reserved): back into the queue at its score.
-- KEYS[1]  queue
-- KEYS[2]  pending set
-- KEYS[3]  the tenant's due index
-- ARGV[1]  callback id
-- ARGV[2]  queue score
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
