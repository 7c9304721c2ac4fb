--[[
  Takes callbacks from the head of a service queue for dialing, as far as dial pacing allows: no
  more than ARGV[1] callbacks pending an agent. Pending callbacks stay in the queue's sorted set at
  negative scores (waiting ones have their virtual start time, a positive epoch ms), so they sort
  first and the first ARGV[1] members are the pending ones followed by the heads that may be
  taken: one read gives both (one member more tells whether any callback is left waiting). The
  taken callbacks become pending and due at their watchdog time in the same step, so a node that
  dies right after taking them leaves them findable. A pending entry whose watchdog passed long
  ago was left by a node that died between finding an agent and saying so: it is dropped here,
  where it is read anyway, so that it does not hold a pacing place for good.

  Input:
    KEYS[1]  queue (zset: waiting callback id -> virtual start time; pending id -> -watchdog time)
    KEYS[2]  the tenant's due index

    ARGV[1]  most callbacks pending at once (1..MAX_PENDING of hot-state.ts)
    ARGV[2]  watchdog time of the callbacks taken now (epoch ms)
    ARGV[3]  pending entries with a watchdog before this time (epoch ms) are stale

  Output:
    { 1 if no callback is left waiting else 0, taken ids in queue order... }
]]
local most = tonumber(ARGV[1])
local stale_before = tonumber(ARGV[3])
local first = redis.call('ZRANGE', KEYS[1], 0, most, 'WITHSCORES')
local live, stale, waiting = 0, {}, {}
for i = 1, #first, 2 do
  local score = tonumber(first[i + 1])
  if score >= 0 then
    waiting[#waiting + 1] = first[i]
  elseif -score < stale_before then
    stale[#stale + 1] = first[i]
  else
    live = live + 1
  end
end
if #stale > 0 then redis.call('ZREM', KEYS[1], unpack(stale)) end
local pending, due, taken = {}, {}, {}
for _, id in ipairs(waiting) do
  if live + #taken >= most then break end
  taken[#taken + 1] = id
  pending[#pending + 1] = -tonumber(ARGV[2])
  pending[#pending + 1] = id
  due[#due + 1] = ARGV[2]
  due[#due + 1] = id
end
if #taken > 0 then
  redis.call('ZADD', KEYS[1], unpack(pending))
  redis.call('ZADD', KEYS[2], unpack(due))
end
-- The whole set was read and every waiting callback in it was taken: none is left waiting.
local drained = 0
if #first <= 2 * most and #taken == #waiting then drained = 1 end
return { drained, unpack(taken) }
