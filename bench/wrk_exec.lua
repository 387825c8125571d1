-- wrk script: POST executions of `x + 1` spread over SESSIONS identifiers (keep-alive).
local sessions = tonumber(os.getenv("SESSIONS") or "16")
local counter = 0
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer bench"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"code":"x + 1"}'
request = function()
	counter = counter + 1
	local id = "bench-wrk-" .. (counter % sessions)
	return wrk.format(nil, "/executions?api-version=2025-10-02-preview&identifier=" .. id)
end
