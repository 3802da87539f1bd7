-- statuses.lua is report.lua plus a count of answers by HTTP status. The per-response hook slows
-- wrk down, so the driver uses it only for warm-up runs, to learn what a case really answers.
counts = {}
local threads = {}

setup = function(thread)
  table.insert(threads, thread)
end

response = function(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

done = function(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for k, v in pairs(c) do all[k] = (all[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(all) do table.insert(parts, string.format('"%d":%d', k, v)) end
  io.write('WRKSTATUS {' .. table.concat(parts, ',') .. '}\n')
end
