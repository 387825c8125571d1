-- wrk script: POST executions of `x + 1` spread over SESSIONS identifiers (keep-alive), or, with
-- MODE=healthz, GET /healthz on the same connections.
-- Thread t of THREADS uses identifiers t, t + THREADS, t + 2 * THREADS, ... below SESSIONS in turn,
-- so two threads never share a session; with -tN -cN and SESSIONS=N each connection keeps its own
-- session (bench-wrk-0 ... bench-wrk-N-1). done() prints one machine-readable line, "WRK k=v ...".
local mode = os.getenv("MODE") or "exec"
local sessions = tonumber(os.getenv("SESSIONS") or "16")
local threads = tonumber(os.getenv("THREADS") or "1")
local created = 0

function setup(thread)
	thread:set("index", created)
	created = created + 1
end

local requests = {}
local counter = 0

function init(args)
	local me = index or 0
	if mode == "healthz" then
		requests[1] = wrk.format("GET", "/healthz")
		return
	end
	wrk.method = "POST"
	wrk.headers["Authorization"] = "Bearer bench"
	wrk.headers["Content-Type"] = "application/json"
	wrk.body = '{"code":"x + 1"}'
	for id = me % threads, sessions - 1, threads do
		requests[#requests + 1] =
			wrk.format(nil, "/executions?api-version=2025-10-02-preview&identifier=bench-wrk-" .. id)
	end
	if #requests == 0 then
		requests[1] = wrk.format(nil, "/executions?api-version=2025-10-02-preview&identifier=bench-wrk-0")
	end
end

request = function()
	counter = counter + 1
	return requests[counter % #requests + 1]
end

function done(summary, latency, _)
	local e = summary.errors
	io.write(string.format(
		"WRK requests=%d seconds=%.3f rate=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f"
			.. " non2xx=%d socket_errors=%d\n",
		summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
		latency.max / 1e3, e.status, e.connect + e.read + e.write + e.timeout))
end
