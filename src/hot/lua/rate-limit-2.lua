--[[
  One request against two GCRA buckets of one tenant (src/hot/rate-limiter.ts): counted in both
  or in neither. A bucket holds its theoretical arrival time (ms, Redis clock) and expires when it
  has refilled completely, so idle keys cost no memory. The Redis clock (TIME) is the one clock of
  every node, so the limit holds across nodes whatever their clocks say.

  Input:
    KEYS[1]  first bucket (e.g. the API key's), under the tenant's hash tag
    KEYS[2]  second bucket (e.g. the tenant's), same hash tag

    ARGV[1]  limit of the first bucket (requests per period; 0: the bucket is not checked)
    ARGV[2]  period of the first bucket, ms
    ARGV[3]  limit of the second bucket (0: not checked)
    ARGV[4]  period of the second bucket, ms

  Output:
    {allowed (1|0), refusing bucket (0 none, 1, 2), wait in ms (0 when allowed)}
]]
local buckets = {KEYS[1], KEYS[2]}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local next = {}
local refused, wait = 0, 0
for i = 1, 2 do
  local limit = tonumber(ARGV[2 * i - 1])
  if limit > 0 then
    local period = tonumber(ARGV[2 * i])
    local tat = tonumber(redis.call('GET', buckets[i]) or now)
    if tat < now then tat = now end
    local n = tat + period / limit
    local allowAt = n - period
    if allowAt > now then
      local w = math.ceil(allowAt - now)
      if w > wait then refused, wait = i, w end
    else
      next[i] = n
    end
  end
end
if refused > 0 then return {0, refused, wait} end
for i = 1, 2 do
  if next[i] then
    redis.call('SET', buckets[i], string.format('%.3f', next[i]), 'PX', math.max(1, math.ceil(next[i] - now)))
  end
end
return {1, 0, 0}
