--[[
  Takes the due entries of one tenant and leases them: each is moved to now + lease, so it comes
  back by itself if the node that took it dies before settling it.

  Input:
    KEYS[1]  the tenant's due index (zset: member callback id, score epoch ms)

    ARGV[1]  now (epoch ms)
    ARGV[2]  lease (ms)
    ARGV[3]  most entries to take

  Output:
    the ids taken (due at or before now, earliest first), now leased until now + lease; none: {}
]]
local ids = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, ARGV[3])
if #ids == 0 then return ids end
local lease_end = tonumber(ARGV[1]) + tonumber(ARGV[2])
local args = {}
for _, id in ipairs(ids) do
  args[#args + 1] = lease_end
  args[#args + 1] = id
end
redis.call('ZADD', KEYS[1], unpack(args))
return ids
