#!/usr/bin/env bash
# Prints every row of issue 13's table in one run, each beside its floor or comparison measured in
# the same run, as ratios (sessionpool / comparison), with the load average before and after each
# section; then a summary table. Figures only, never pass/fail. Usage: bench/perf.sh [BUILD]
# Needs wrk, and for the comparisons Debian's python3 with python3-ipykernel and
# python3-jupyter-client ('make bench' installs them). Takes about six minutes; section 5 stops
# creating sessions after PERF_ROW5_SECONDS (170). Everything it creates lives in one mktemp
# directory, removed on any exit after the emulator it started has stopped. Only 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bin=$build/bin
py=/usr/bin/python3
secs=${PERF_SECONDS:-10}           # length of each measured wrk run
row5_budget=${PERF_ROW5_SECONDS:-170} # bound on section 5's session creations
hz=$(getconf CLK_TCK)
# shellcheck source=SCRIPTDIR/lib.sh
. bench/lib.sh
bench_work perf

for tool in wrk "$bin/bench_http" "$bin/sessionpool-emulator"; do
	command -v "$tool" >/dev/null || {
		echo "perf: $tool is missing ('make bench' builds and installs what this needs)" >&2
		exit 1
	}
done
jupyter=yes
"$py" -c 'import jupyter_client, ipykernel, pandas' 2>/dev/null || jupyter=

# start NAME FLAGS...: a fresh emulator on an ephemeral port; sets emu, base and zyg.
start() {
	local name=$1
	shift
	"$bin/sessionpool-emulator" --listen 127.0.0.1:0 --ready-file "$work/$name.ready" \
		--data-dir "$work/$name-data" --quiet "$@" >"$work/$name.log" 2>&1 &
	emu=$!
	zyg=
	for _ in $(seq 1 600); do
		[ -s "$work/$name.ready" ] && zyg=$(pgrep -P "$emu" -f sessionpool-zygote | head -1 || true)
		[ -n "$zyg" ] && break
		kill -0 "$emu" 2>/dev/null || break
		sleep 0.05
	done
	if [ -z "$zyg" ]; then
		echo "perf: the emulator did not start:" >&2
		cat "$work/$name.log" >&2
		exit 1
	fi
	base=$(head -1 "$work/$name.ready")
	wait_children "$zyg" 4 # the default ready pool
}
stop() {
	kill "$emu"
	wait "$emu" 2>/dev/null || true
	emu=
}

load() { cut -d' ' -f1-3 /proc/loadavg; }
section() {
	echo
	echo "== $* =="
	echo "load average before: $(load)"
}
end_section() { echo "load average after: $(load)"; }

children() { cat /proc/"$1"/task/*/children 2>/dev/null || true; }
# wait_children PID N: until PID has N children (at most 10 s).
wait_children() {
	local n
	for _ in $(seq 1 200); do
		n=$(children "$1" | wc -w)
		[ "$n" -ge "$2" ] && return 0
		sleep 0.05
	done
}
# settle PID: until PID's number of children holds still for a second (at most 15 s), e.g. the
# ready pool refilling after a burst of creations.
settle() {
	local n last=-1 same=0
	for _ in $(seq 1 60); do
		n=$(children "$1" | wc -w)
		if [ "$n" = "$last" ]; then
			same=$((same + 1))
			[ "$same" -ge 4 ] && return 0
		else
			same=0
		fi
		last=$n
		sleep 0.25
	done
}
descendants() {
	local p c
	for p in "$@"; do
		c=$(children "$p")
		if [ -n "$c" ]; then
			echo "$c"
			# shellcheck disable=SC2086 # one pid per word
			descendants $c
		fi
	done
}
# ticks PID...: utime + stime of the processes (all their threads), in clock ticks.
ticks() {
	local p s sum=0 f
	for p in "$@"; do
		s=$(cat /proc/"$p"/stat 2>/dev/null) || continue
		s=${s##*) }
		read -ra f <<<"$s"
		sum=$((sum + f[11] + f[12]))
	done
	echo "$sum"
}
mem_kb() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

# kv KEY TEXT: the value of KEY=value in TEXT (a trailing "/s" dropped).
kv() { awk -v k="$1" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) { v = substr($i, length(k) + 2); sub(/\/s$/, "", v); print v; exit } }' <<<"$2"; }
# calc EXPR [FORMAT]: awk arithmetic; "n/a" when an operand is missing or a divisor is 0.
calc() { awk "BEGIN { x = $1; printf \"${2:-%.2f}\\n\", x }" 2>/dev/null || echo n/a; }
ratio() {
	if [ -z "$1" ] || [ -z "$2" ] || [ "$1" = n/a ] || [ "$2" = n/a ] || [ "$(calc "$2 == 0" %d)" = 1 ]; then
		echo n/a
	else
		calc "$1 / $2" "${3:-%.3f}"
	fi
}
summary=()
row() { summary+=("| $1 | $2 | $3 | $4 |"); }

auth=(-H "Authorization: Bearer bench" -H "Content-Type: application/json")
# sessions FROM TO: create bench-wrk-FROM … bench-wrk-(TO-1), the identifiers of wrk_exec.lua.
sessions() {
	local i
	for i in $(seq "$1" $(($2 - 1))); do
		curl -sf -o /dev/null "${auth[@]}" -d '{"code":"x = 1"}' \
			"$base/executions?api-version=2025-10-02-preview&identifier=bench-wrk-$i"
	done
}
# wrk_run MODE CONNECTIONS SECONDS: one wrk thread per connection, each with its own session.
wrk_run() {
	MODE=$1 SESSIONS=$2 THREADS=$2 wrk -t"$2" -c"$2" -d"$3s" --timeout 10s \
		-s bench/wrk_exec.lua "$base" | grep '^WRK '
}
# measure MODE CONNECTIONS: a wrk run of $secs s; sets W (its WRK line) and the CPU ticks used
# meanwhile by the emulator (E) and by the zygote with every descendant (Z).
measure() {
	local tree e0 z0
	read -ra tree <<<"$zyg $(descendants "$zyg" | tr '\n' ' ')"
	e0=$(ticks "$emu")
	z0=$(ticks "${tree[@]}")
	W=$(wrk_run "$1" "$2" "$secs")
	E=$(($(ticks "$emu") - e0))
	Z=$(($(ticks "${tree[@]}") - z0))
}
wrk_line() {
	printf '%-34s %9s/s  p50 %7s ms  p90 %7s ms  p99 %7s ms  max %7s ms  (%s requests, %s non-2xx, %s socket errors)\n' \
		"$1" "$(kv rate "$2")" "$(kv p50_ms "$2")" "$(kv p90_ms "$2")" "$(kv p99_ms "$2")" \
		"$(kv max_ms "$2")" "$(kv requests "$2")" "$(kv non2xx "$2")" "$(kv socket_errors "$2")"
}
# us_per TICKS REQUESTS: CPU microseconds per request.
us_per() { calc "$1 * 1000000 / $hz / $2" %.1f; }

echo "sessionpool perf (issue 13): $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r)"
echo "build: $build; wrk runs of ${secs} s; ratio = sessionpool / comparison"
echo "load average at start: $(load)"
load_start=$(load)

# ---- rows 1-3: one emulator, wrk ---------------------------------------------------------------
start rows123 --max-sessions 200
section "row 1: x + 1 executions/s, 16 sessions over 16 keep-alive connections; GET /healthz on the same server"
sessions 0 16
wrk_run exec 16 2 >/dev/null # warm-up
measure exec 16
x16=$W x16_e=$E x16_z=$Z
measure healthz 16
h16=$W h16_e=$E h16_z=$Z
wrk_line "POST executions x + 1, 16 conns" "$x16"
wrk_line "GET /healthz, 16 conns" "$h16"
echo "executions/s over healthz/s: $(ratio "$(kv rate "$x16")" "$(kv rate "$h16")")"
end_section
row "\`x + 1\` executions/s, 16 sessions, 16 connections" "$(kv rate "$x16")" "healthz $(kv rate "$h16")" \
	"$(ratio "$(kv rate "$x16")" "$(kv rate "$h16")")"
row '… p50 / p99 latency (ms), 16 connections' "$(kv p50_ms "$x16") / $(kv p99_ms "$x16")" \
	"healthz $(kv p50_ms "$h16") / $(kv p99_ms "$h16")" "$(ratio "$(kv p99_ms "$x16")" "$(kv p99_ms "$h16")") (p99)"

section "row 2: the same at 64 sessions over 64 connections"
sessions 16 64
wrk_run exec 64 2 >/dev/null
measure exec 64
x64=$W
measure healthz 64
h64=$W
wrk_line "POST executions x + 1, 64 conns" "$x64"
wrk_line "GET /healthz, 64 conns" "$h64"
echo "executions/s at 64 over at 16: $(ratio "$(kv rate "$x64")" "$(kv rate "$x16")"); over healthz/s at 64: $(ratio "$(kv rate "$x64")" "$(kv rate "$h64")")"
end_section
row "\`x + 1\` executions/s at 64 sessions, 64 connections" "$(kv rate "$x64")" "at 16: $(kv rate "$x16") (flat = 1)" \
	"$(ratio "$(kv rate "$x64")" "$(kv rate "$x16")")"
row '… against healthz at 64 connections' "$(kv rate "$x64")" "healthz $(kv rate "$h64")" \
	"$(ratio "$(kv rate "$x64")" "$(kv rate "$h64")")"
row '… p99 latency at 64 (ms)' "$(kv p99_ms "$x64")" "at 16: $(kv p99_ms "$x16")" \
	"$(ratio "$(kv p99_ms "$x64")" "$(kv p99_ms "$x16")")"

section "row 3: CPU per request (utime + stime, all threads) during row 1's ${secs} s runs at 16 connections"
n16=$(kv requests "$x16")
nh=$(kv requests "$h16")
cpu_e=$(us_per "$x16_e" "$n16")
cpu_z=$(us_per "$x16_z" "$n16")
cpu_t=$(calc "$cpu_e + $cpu_z" %.1f)
cpu_he=$(us_per "$h16_e" "$nh")
cpu_hz=$(us_per "$h16_z" "$nh")
echo "x + 1:   emulator ${cpu_e} µs + zygote and sessions ${cpu_z} µs = ${cpu_t} µs per execution ($n16 executions; $x16_e + $x16_z ticks of 1/$hz s)"
echo "healthz: emulator ${cpu_he} µs (zygote and sessions ${cpu_hz} µs) per request ($nh requests; $h16_e ticks)"
echo "emulator CPU per execution over per healthz: $(ratio "$cpu_e" "$cpu_he"); total over the 100 µs target: $(ratio "$cpu_t" 100)"
end_section
row 'CPU per execution, total (µs)' "$cpu_t" "target 100" "$(ratio "$cpu_t" 100)"
row '… in the emulator (µs)' "$cpu_e" "healthz $cpu_he" "$(ratio "$cpu_e" "$cpu_he")"
row '… in the zygote and sessions (µs)' "$cpu_z" "—" "—"
stop

# ---- row 4 and the warm row: a fresh emulator with the default ready pool, then Jupyter ---------
start row4 --max-sessions 400
section "row 4: new sessions back to back (first execute on new identifiers, default ready pool of 4)"
new=$("$bin/bench_http" "$base" new 200)
echo "sessionpool $new"
warm=$("$bin/bench_http" "$base" warm 2000)
stop
if [ -n "$jupyter" ]; then
	jnew=$("$py" bench/jupyter_bench.py new 10)
	pynew=$("$py" bench/jupyter_bench.py python 10)
	echo "comparison $jnew"
	echo "comparison $pynew"
else
	jnew='' pynew=''
	echo "(no comparison: $py lacks jupyter_client, ipykernel or pandas; 'make bench' installs them)"
fi
for p in p50 p90 p99; do
	echo "$p: sessionpool over Jupyter kernel $(ratio "$(kv "$p" "$new")" "$(kv "$p" "$jnew")" %.4f), over python3 -c 'import pandas' $(ratio "$(kv "$p" "$new")" "$(kv "$p" "$pynew")" %.4f)"
done
end_section
row 'New session, first execute p50 (ms)' "$(kv p50 "$new")" "Jupyter kernel + import pandas $(kv p50 "$jnew")" \
	"$(ratio "$(kv p50 "$new")" "$(kv p50 "$jnew")" %.4f)"
row '… p50 against a fresh python3 (ms)' "$(kv p50 "$new")" "python3 -c 'import pandas' $(kv p50 "$pynew")" \
	"$(ratio "$(kv p50 "$new")" "$(kv p50 "$pynew")" %.4f)"
row '… p90 (ms)' "$(kv p90 "$new")" "Jupyter $(kv p90 "$jnew")" "$(ratio "$(kv p90 "$new")" "$(kv p90 "$jnew")" %.4f)"
row '… p99 (ms)' "$(kv p99 "$new")" "target 5" "$(ratio "$(kv p99 "$new")" 5)"

section "warm x + 1 latency, one keep-alive connection, against a warm Jupyter kernel"
echo "sessionpool $warm"
if [ -n "$jupyter" ]; then
	jwarm=$("$py" bench/jupyter_bench.py warm 1000)
	echo "comparison $jwarm"
else
	jwarm=
fi
echo "p50 ratio: $(ratio "$(kv p50 "$warm")" "$(kv p50 "$jwarm")"); p99 ratio: $(ratio "$(kv p99 "$warm")" "$(kv p99 "$jwarm")")"
end_section
row "Warm \`x + 1\` p50 / p99, one connection (ms)" "$(kv p50 "$warm") / $(kv p99 "$warm")" \
	"Jupyter $(kv p50 "$jwarm") / $(kv p99 "$jwarm")" "$(ratio "$(kv p50 "$warm")" "$(kv p50 "$jwarm")") (p50)"

# ---- row 6 (before 5: it needs a quiet, fresh emulator) ----------------------------------------
idle=200
start row6 --max-sessions 250
section "row 6: kernel memory per idle session, at $idle idle sessions (print(1) run once in each)"
settle "$zyg"
declare -A m0 m1
procs0=$(children "$zyg" | wc -w)
for k in MemAvailable PageTables KernelStack SUnreclaim Shmem; do m0[$k]=$(mem_kb "$k"); done
made=$("$bin/bench_http" "$base" create "$idle" 4 60)
made_n=$(kv n "$made")
settle "$zyg"
for k in MemAvailable PageTables KernelStack SUnreclaim Shmem; do m1[$k]=$(mem_kb "$k"); done
procs1=$(children "$zyg" | wc -w)
procs=$((procs1 - procs0))
drop=$((m0[MemAvailable] - m1[MemAvailable]))
per_avail=$(calc "$drop / $procs / 1024" %.2f)
echo "interpreters under the zygote: $procs0 (the ready pool) -> $procs1 after $made_n sessions (the ready pool grows with demand)"
echo "MemAvailable: ${m0[MemAvailable]} kB -> ${m1[MemAvailable]} kB: $per_avail MB per interpreter ($(calc "$drop / $made_n / 1024" %.2f) MB per session created)"
for k in PageTables KernelStack SUnreclaim Shmem; do
	echo "  of which $k: $(calc "(${m1[$k]} - ${m0[$k]}) / $procs" %.0f) kB per interpreter"
done
smaps=()
for pid in $(children "$zyg"); do
	s=$(awk '/^Private_(Clean|Dirty)/ { u += $2 } /^Pss:/ { p = $2 } END { if (NR) print u, p }' \
		"/proc/$pid/smaps_rollup" 2>/dev/null || true)
	[ -n "$s" ] && smaps+=("$s")
done
priv=$(printf '%s\n' "${smaps[@]}" | sort -n | awk '{ a[NR] = $1; p[NR] = $2 } END { if (NR) printf "%.2f %.2f %.2f %d", a[int((NR + 1) / 2)] / 1024, a[NR] / 1024, p[int((NR + 1) / 2)] / 1024, NR }')
read -r priv_med priv_max pss_med priv_n <<<"${priv:-n/a n/a n/a 0}"
echo "session interpreters (the ready pool's included): $priv_n; private (Private_Clean + Private_Dirty) median $priv_med MB, max $priv_max MB; Pss median $pss_med MB"
at10k=$(calc "$per_avail * 10000 / 1024" %.1f)
on24=$(calc "24 * 1024 / $per_avail" %.0f)
echo "extrapolated: 10,000 idle sessions take $at10k GiB of available memory; 24 GiB holds $on24 idle sessions"
end_section
stop
row 'Available memory per idle session interpreter (MB)' "$per_avail" "target 2" "$(ratio "$per_avail" 2)"
row '… private memory of a session process (MB, median)' "$priv_med" "target 2" "$(ratio "$priv_med" 2)"
row '… idle sessions in 24 GiB (extrapolated)' "$on24" "target 10000" "$(ratio "$on24" 10000)"

# ---- rows 5 and 7: one emulator with room for 2,100 sessions ------------------------------------
start rows57 --max-sessions 2100 --cooldown-seconds 3600
section "row 5: session creation rate (batches of 100, 4 connections) after 100, 1,000 and 2,000 live sessions (creation bounded to ${row5_budget} s)"
t0=$SECONDS
live=0
declare -A rate
for at in 100 1000 2000; do
	left=$((row5_budget - (SECONDS - t0)))
	if [ "$left" -le 0 ]; then
		echo "after $live live: not measured (the ${row5_budget} s bound was reached)"
		break
	fi
	fill=$("$bin/bench_http" "$base" create $((at - live)) 4 "$left")
	live=$((live + $(kv n "$fill")))
	if [ "$(kv stopped "$fill")" != no ]; then
		echo "filling stopped at $live live sessions: $(kv stopped "$fill")"
		break
	fi
	left=$((row5_budget - (SECONDS - t0)))
	[ "$left" -gt 0 ] || left=1
	batch=$("$bin/bench_http" "$base" create 100 4 "$left")
	rate[$at]=$(kv rate "$batch")
	echo "after $live live: ${rate[$at]} sessions/s ($batch; the $(kv n "$fill") before it: $(kv rate "$fill")/s in $(kv seconds "$fill") s)"
	live=$((live + $(kv n "$batch")))
done
echo "creating $live sessions took $((SECONDS - t0)) s in all"
echo "rate at 1,000 over at 100: $(ratio "${rate[1000]:-}" "${rate[100]:-}"); at 2,000 over at 100: $(ratio "${rate[2000]:-}" "${rate[100]:-}")"
end_section
for at in 100 1000 2000; do
	row "Session creation rate after $at live (/s)" "${rate[$at]:-n/a}" "after 100: ${rate[100]:-n/a} (flat = 1)" \
		"$(ratio "${rate[$at]:-}" "${rate[100]:-}")"
done

section "row 7: listSessions, every page, at $live live sessions (20 walks)"
list=$("$bin/bench_http" "$base" list 20)
echo "$list"
echo "(a walk's time is the sum of its pages' round trips over one keep-alive connection)"
end_section
row "listSessions, all pages at $(kv sessions "$list") sessions (ms, p50)" "$(kv p50 "$list")" "target 2" \
	"$(ratio "$(kv p50 "$list")" 2)"
stop

echo
echo "== summary (load average at start $load_start, at end $(load)) =="
echo "| Measure | sessionpool | floor/comparison | ratio |"
echo "|---|---|---|---|"
printf '%s\n' "${summary[@]}"
