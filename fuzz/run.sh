#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs libFuzzer targets one after another ('make fuzz'):
#
#   fuzz/run.sh BUILD_DIR SECONDS [TARGET...]     (default: every fuzz/corpus/<target>/)
#
# BUILD_DIR holds a -DSP_FUZZ=ON clang build. Each target runs for SECONDS in one process
# (-jobs=1 style: one core) on a copy of its checked-in corpus in a temporary directory, so
# nothing is written into the source tree. A crash, leak, timeout or sanitizer report stops
# that target; its input is kept in BUILD_DIR/fuzz-artifacts/ (add it to fuzz/corpus/<target>/
# once the parser is fixed). With FUZZ_MERGE=1 new coverage-increasing inputs are merged back
# into fuzz/corpus/<target>/. Exit status: 0 when every target ran clean, 1 otherwise.
set -uo pipefail
build=$(cd "$1" && pwd) seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for d in "$here"/corpus/*/; do targets+=("$(basename "$d")"); done
fi
artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"
work=$(mktemp -d "${TMPDIR:-/tmp}/sp-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
summary=()
for t in "${targets[@]}"; do
	bin=$build/bin/fuzz_$t
	if [ ! -x "$bin" ]; then
		echo "fuzz: $bin is missing (build the fuzz targets first)" >&2
		status=1
		continue
	fi
	mkdir -p "$work/$t/corpus" "$work/$t/run"
	cp "$here/corpus/$t/"* "$work/$t/corpus/"
	log=$artifacts/$t.log
	echo "fuzz: $t for ${seconds}s (log: $log)"
	(cd "$work/$t/run" && "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
		"$work/$t/corpus" >"$log" 2>&1)
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	secs=$(sed -n 's/^stat::.*//; s/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
	if [ $rc -eq 0 ]; then
		result=clean
	else
		result="FOUND something (exit $rc): $(grep -m1 -E 'ERROR: |SUMMARY: |deadly signal|timeout' "$log")"
		status=1
	fi
	summary+=("$t: ${secs:-?} s, ${execs:-?} executions, $result")
	if [ "${FUZZ_MERGE:-0}" = 1 ] && [ $rc -eq 0 ]; then
		"$bin" -merge=1 -max_len=65536 "$here/corpus/$t" "$work/$t/corpus" >>"$log" 2>&1
	fi
done
printf '%s\n' "${summary[@]}"
exit $status
