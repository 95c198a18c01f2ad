-- wrk script for a fixed request rate: each connection waits WRK_PACE_MS between requests, so
-- `wrk -c N` sends about N * 1000 / WRK_PACE_MS requests/s. WRK_TOKEN, when set, is sent as a
-- bearer token. Prints one JSON line of counts and latency percentiles (microseconds).
local pace = tonumber(os.getenv("WRK_PACE_MS") or "50")
local token = os.getenv("WRK_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

function delay()
  return pace
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"non2xx":%d,"errors":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
