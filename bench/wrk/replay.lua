-- wrk script for bench/ceiling.py: each request takes the next path of a file.
-- Arguments (after --): paths file, method, body file ("-" for none), "cycle" or "once", run nonce.
-- "once" gives every path to exactly one request (thread k of n takes paths k, k+n, ...) and stops
-- the thread when its share is spent; "cycle" reads the paths round and round.
-- A line "path<TAB>etag" sends that etag in If-None-Match (open tracking pages polling).
-- done() prints one JSON line: requests by status, latency percentiles, the run's duration.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

local paths, method, body, mode, nonce
local position, step, issued = 0, 1, 0
statuses = {}
placed = 0

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    if #line > 0 then table.insert(paths, line) end
  end
  method = args[2]
  body = nil
  if args[3] ~= "-" then
    local f = io.open(args[3], "rb")
    body = f:read("*a")
    f:close()
  end
  mode = args[4]
  nonce = args[5] or "x"
  step = tonumber(args[6] or "1")
  position = id - 1
end

function request()
  if position >= #paths then
    if mode == "once" then
      wrk.thread:stop()
      return wrk.format("GET", "/healthz")
    end
    position = position % #paths
  end
  local path = paths[position + 1]
  position = position + step
  issued = issued + 1
  local headers = {}
  local tab = string.find(path, "\t", 1, true)
  if tab then
    headers["If-None-Match"] = string.sub(path, tab + 1)
    path = string.sub(path, 1, tab - 1)
  end
  if body then
    headers["Content-Type"] = "application/json"
    headers["Idempotency-Key"] = nonce .. "-" .. id .. "-" .. issued
  end
  return wrk.format(method, path, headers, body)
end

function response(status, headers, resp_body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for k, v in pairs(s) do counts[k] = (counts[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(counts) do table.insert(parts, string.format('"%s":%d', k, v)) end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d},'
      .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,"statuses":{%s}}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, summary.errors.status, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, table.concat(parts, ",")))
end
