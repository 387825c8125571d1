# shellcheck shell=bash
# Sourced by bench/run-all.sh and bench/perf.sh (from the repository's root, under set -euo pipefail).

# bench_work NAME: sets work to a fresh directory, ${TMPDIR:-/tmp}/sessionpool-NAME.XXXXXX, for
# everything the benchmark creates, and emu to empty: the pid of the emulator the script starts
# goes there. On any exit, Ctrl-C included, that emulator is stopped, then work is removed.
bench_work() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/sessionpool-$1.XXXXXX")
	emu=
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
}

bench_cleanup() {
	if [ -n "$emu" ]; then
		kill "$emu" 2>/dev/null || true
		wait "$emu" 2>/dev/null || true
	fi
	rm -rf "$work"
}
