#!/usr/bin/env bash
# The ctest test playground: installs the pinned puppeteer-core (package-lock.json) with 'npm ci'
# into WORK_DIR when it is missing there or the lockfile changed, then runs playground.test.mjs with
# 'node --test' from WORK_DIR. The emulator binary comes from SESSIONPOOL_EMULATOR, the browser
# from CHROMIUM (default /usr/bin/chromium, Debian's), the screenshots go to PLAYGROUND_SCREENSHOTS.
# Usage: SESSIONPOOL_EMULATOR=path/to/sessionpool-emulator run.sh WORK_DIR
set -euo pipefail

fail() {
	echo "playground: $*" >&2
	exit 1
}

[ $# -eq 1 ] || fail "usage: run.sh WORK_DIR"
src=$(cd "$(dirname "$0")" && pwd)
work=$1
[ -n "${SESSIONPOOL_EMULATOR:-}" ] || fail "SESSIONPOOL_EMULATOR must name the emulator binary"
[ -x "$SESSIONPOOL_EMULATOR" ] || fail "no emulator binary at $SESSIONPOOL_EMULATOR (build it first)"
for tool in node npm; do
	command -v "$tool" >/dev/null 2>&1 ||
		fail "$tool not found: install nodejs and npm (scripts/install-deps.sh --lint does)"
done
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || fail "no Chromium at $CHROMIUM: install Debian's chromium (scripts/install-deps.sh --lint does)"

mkdir -p "$work"
# installed.lock is the lockfile of the last successful install: a changed lockfile reinstalls.
if [ ! -d "$work/node_modules" ] || ! cmp -s "$src/package-lock.json" "$work/installed.lock"; then
	rm -rf "$work/node_modules" "$work/installed.lock"
	cp "$src/package.json" "$src/package-lock.json" "$work/"
	echo "playground: npm ci in $work (node $(node --version), npm $(npm --version))"
	if ! (cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline \
		>npm.log 2>&1 </dev/null); then
		tail -n 30 "$work/npm.log" >&2
		fail "npm ci failed (the log above, all of it in $work/npm.log)"
	fi
	cp "$src/package-lock.json" "$work/installed.lock"
fi
export PLAYGROUND_SCREENSHOTS=${PLAYGROUND_SCREENSHOTS:-$work/screenshots}
# From WORK_DIR, so that the test's imports resolve in WORK_DIR/node_modules.
cp "$src/playground.test.mjs" "$work/"
cd "$work"
exec node --test playground.test.mjs </dev/null
