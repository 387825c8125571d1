#!/usr/bin/env bash
# What ctest runs for the node:test suites (tests/mcp-sdk, tests/playground): installs the test
# folder's pinned packages (its package-lock.json) with 'npm ci' into WORK_DIR when they are
# missing there or the lockfile changed, copies the test and emulator.mjs (here) into WORK_DIR and
# runs 'node --test TEST' from there. The emulator binary comes from SESSIONPOOL_EMULATOR. Each
# VAR=PATH names a program the test needs: VAR is exported as PATH unless already set, and must be
# executable (the playground's CHROMIUM).
# Usage: SESSIONPOOL_EMULATOR=path/to/sessionpool-emulator run.sh TEST_DIR TEST WORK_DIR [VAR=PATH]...
set -euo pipefail

[ $# -ge 3 ] || {
	echo "usage: run.sh TEST_DIR TEST WORK_DIR [VAR=PATH]..." >&2
	exit 1
}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$1" && pwd)
test=$2
work=$3
shift 3
name=${src##*/}

fail() {
	echo "$name: $*" >&2
	exit 1
}

[ -f "$src/$test" ] || fail "no test $src/$test"
[ -n "${SESSIONPOOL_EMULATOR:-}" ] || fail "SESSIONPOOL_EMULATOR must name the emulator binary"
[ -x "$SESSIONPOOL_EMULATOR" ] || fail "no emulator binary at $SESSIONPOOL_EMULATOR (build it first)"
for tool in node npm; do
	command -v "$tool" >/dev/null 2>&1 ||
		fail "$tool not found: install nodejs and npm (scripts/install-deps.sh --lint does)"
done
for need in "$@"; do
	var=${need%%=*}
	[[ $need == *=* && $var =~ ^[A-Z_][A-Z0-9_]*$ ]] || fail "not VAR=PATH: $need"
	export "$var=${!var:-${need#*=}}"
	[ -x "${!var}" ] || fail "no $var at ${!var}: install it (scripts/install-deps.sh --lint does)"
done

mkdir -p "$work"
# installed.lock is the lockfile of the last successful install: a changed lockfile reinstalls.
if [ ! -d "$work/node_modules" ] || ! cmp -s "$src/package-lock.json" "$work/installed.lock"; then
	rm -rf "$work/node_modules" "$work/installed.lock"
	cp "$src/package.json" "$src/package-lock.json" "$work/"
	echo "$name: npm ci in $work (node $(node --version), npm $(npm --version))"
	if ! (cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline \
		>npm.log 2>&1 </dev/null); then
		tail -n 30 "$work/npm.log" >&2
		fail "npm ci failed (the log above, all of it in $work/npm.log)"
	fi
	cp "$src/package-lock.json" "$work/installed.lock"
fi
# From WORK_DIR, so that the test's imports resolve in WORK_DIR/node_modules and ./emulator.mjs.
cp "$src/$test" "$here/emulator.mjs" "$work/"
cd "$work"
exec node --test "$test" </dev/null
