#!/usr/bin/env bash
# Prints the performance figures of issues 2 and 3 (never pass/fail). Usage: bench/run-all.sh [BUILD]
# Exits 0 once every benchmark ran. Everything it creates (the 128 MiB upload file, the emulator's
# data directory, the sandbox benchmark's state) lives in one mktemp directory, removed on any exit,
# Ctrl-C included, after the emulator it started has stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bin=$build/bin
# shellcheck source=SCRIPTDIR/lib.sh
. bench/lib.sh
bench_work bench

start() {
	rm -f "$work/ready"
	"$bin/sessionpool-emulator" --listen 127.0.0.1:0 --ready-file "$work/ready" \
		--data-dir "$work/data" --quiet --max-sessions 400 >"$work/emu.log" 2>&1 &
	emu=$!
	for _ in $(seq 1 600); do
		[ -s "$work/ready" ] && break
		kill -0 "$emu" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$work/ready" ]; then
		echo "bench: the emulator did not start:" >&2
		cat "$work/emu.log" >&2
		exit 1
	fi
	base=$(head -1 "$work/ready")
}
stop() {
	kill "$emu"
	wait "$emu" 2>/dev/null || true
	emu=
}
auth=(-H "Authorization: Bearer bench")

echo "== start-up (zygote preload) =="
t0=$(date +%s%N); start; t1=$(date +%s%N)
echo "emulator ready in $(( (t1 - t0) / 1000000 )) ms: $(head -1 "$work/emu.log")"

echo "== new session over HTTP (first execute on a new identifier) =="
"$bin/bench_http" "$base" new 100

echo "== warm execute of x + 1, one keep-alive connection =="
"$bin/bench_http" "$base" warm 2000

echo "== MCP: runPythonCodeInRemoteEnvironment x + 1 on a warm environment, one keep-alive connection =="
"$bin/bench_http" "$base" mcp-python 2000
echo "== MCP: runShellCommandInRemoteEnvironment true =="
"$bin/bench_http" "$base" mcp-shell 500

if command -v wrk >/dev/null; then
	echo "== throughput: wrk -t2 -c32 -d10s, x + 1 over 16 sessions =="
	for i in $(seq 0 15); do
		curl -s "${auth[@]}" -H 'Content-Type: application/json' -d '{"code":"x = 1"}' \
			"$base/executions?api-version=2025-10-02-preview&identifier=bench-wrk-$i" >/dev/null
	done
	SESSIONS=16 THREADS=2 wrk -t2 -c32 -d10s -s bench/wrk_exec.lua "$base" | grep -E 'Requests/sec|Latency|requests in|Non-2xx'
else
	echo "(wrk not installed: make bench installs it)"
fi

echo "== 128 MiB upload (streamed) =="
head -c $((128 * 1024 * 1024)) /dev/urandom >"$work/big.bin"
curl -s "${auth[@]}" -F "file=@$work/big.bin;filename=warm.bin" -o /dev/null \
	"$base/files/upload?api-version=2024-02-02-preview&identifier=bench-upload"
rss0=$(awk '/VmHWM/{print $2}' /proc/$emu/status)
out=$(curl -s "${auth[@]}" -F "file=@$work/big.bin;filename=big.bin" -o /dev/null \
	-w '%{time_total} %{speed_upload} %{http_code}' \
	"$base/files/upload?api-version=2024-02-02-preview&identifier=bench-upload")
rss1=$(awk '/VmHWM/{print $2}' /proc/$emu/status)
read -r secs speed code <<<"$out"
echo "HTTP $code in ${secs}s: $(awk -v s="$speed" 'BEGIN{printf "%.0f MB/s", s/1e6}'); emulator peak RSS ${rss0} kB -> ${rss1} kB (+$(( rss1 - rss0 )) kB)"

echo "== idle session memory (USS = Private_Clean + Private_Dirty) =="
for i in $(seq 1 10); do
	curl -s "${auth[@]}" -H 'Content-Type: application/json' -d '{"code":"print(1)"}' \
		"$base/executions?api-version=2025-10-02-preview&identifier=bench-idle-$i" >/dev/null
done
sleep 1
zyg=$(pgrep -P "$emu" -f sessionpool-zygote | head -1 || true)
uss=()
for pid in $(cat /proc/"${zyg:-0}"/task/*/children 2>/dev/null || true); do
	u=$(awk '/^Private_(Clean|Dirty)/{s+=$2} END{print s}' "/proc/$pid/smaps_rollup" 2>/dev/null || true)
	[ -n "$u" ] && uss+=("$u")
done
[ ${#uss[@]} -gt 0 ] || echo "(no session interpreter found under the zygote)"
printf '%s\n' "${uss[@]}" | sort -n | awk '{a[NR]=$1} END{if (NR) printf "sessions=%d USS median %.1f MB, max %.1f MB\n", NR, a[int((NR+1)/2)]/1024, a[NR]/1024}'
stop

echo "== sandbox: zygote spawn, warm round trip, workload overhead (bench-sandbox) =="
"$bin/bench-sandbox" -s "$work/sandbox-state"
"$bin/bench-sandbox" -w 3 -s "$work/sandbox-state"
