#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The image tested for real (ctest -L container, make test-container, .ci/run):
#   container/test.sh RUNNER [WORKDIR]
# RUNNER is build/bin/sessionpool-conformance. As root: installs Docker's Debian packages when
# missing, starts a private dockerd (own socket, data root and exec root; stopped at exit whatever
# happens), builds the base (container/make-base.sh) and the image, then checks: default options
# (degraded, announced), a non-root start without privileges (refused with the flags that fix
# it), both full-isolation recipes (full, and a session cannot see the host), the whole
# conformance suite through the published port, docker-compose.yml as written, the Node
# Testcontainers test, PID 1 reaping, and docker stop (time printed, clean exit, nothing left).
# Traffic goes only to 127.0.0.1 published ports and networks this script creates.
set -euo pipefail
runner=$(realpath "${1:?usage: test.sh RUNNER [WORKDIR]}")
src=$(cd "$(dirname "$0")/.." && pwd)
work=${2:-$src/build/container-test}
[ "$(id -u)" -eq 0 ] || { echo "container test: needs root (dockerd, debootstrap)"; exit 1; }

"$src/scripts/install-deps.sh" --container

# Debian's engine and CLI, never another docker first on PATH.
docker=/usr/bin/docker
compose=/usr/bin/docker-compose
name=sessionpool-test-docker
export DOCKER_HOST=unix:///run/$name.sock
export DOCKER=$docker
image=sessionpool:test
base=sessionpool-base:bookworm
project=sessionpooltest$$
label=org.sessionpool.test=$$
rm -rf "$work" && mkdir -p "$work"
started=$(date +%s)

log() { printf '[container %4ds] %s\n' $(($(date +%s) - started)) "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; exit 1; }

# One run at a time on this machine: the daemon's names and data root are fixed (so layers are
# reused between runs).
exec 9>/run/lock/$name.lock
flock -w 900 9 || fail "another container test holds /run/lock/$name.lock"

dockerd_pid=
cleanup() {
	local status=$?
	set +e
	if [ -n "$dockerd_pid" ]; then
		$compose -p "$project" -f "$src/docker-compose.yml" down -v --remove-orphans >/dev/null 2>&1
		$docker ps -aq --filter "label=$label" | xargs -r $docker rm -f >/dev/null 2>&1
		kill -TERM "$dockerd_pid" 2>/dev/null
		for _ in $(seq 300); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$dockerd_pid" 2>/dev/null
		wait "$dockerd_pid" 2>/dev/null
		# containerd-shims outlive a killed dockerd; they hold the exec root.
		pkill -TERM -f -- "-namespace moby -id [0-9a-f]+ -address /run/$name/" 2>/dev/null
	fi
	log "done (exit $status)"
	exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A daemon left by a killed run of this script (its pid file names it).
if [ -s /run/$name.pid ] && kill -0 "$(cat /run/$name.pid)" 2>/dev/null; then
	kill -TERM "$(cat /run/$name.pid)"
	for _ in $(seq 300); do kill -0 "$(cat /run/$name.pid)" 2>/dev/null || break; sleep 0.1; done
fi
mkdir -p /var/lib/$name
dockerd --iptables=false --ip6tables=false --storage-driver=overlay2 \
	--data-root /var/lib/$name --exec-root /run/$name --pidfile /run/$name.pid \
	--host "$DOCKER_HOST" >"$work/dockerd.log" 2>&1 </dev/null &
dockerd_pid=$!
for _ in $(seq 600); do
	$docker version >/dev/null 2>&1 && break
	kill -0 $dockerd_pid 2>/dev/null || { tail -n 20 "$work/dockerd.log"; fail "dockerd exited"; }
	sleep 0.1
done
$docker version >/dev/null || fail "dockerd did not answer on $DOCKER_HOST"
log "dockerd $($docker version -f '{{.Server.Version}}') on $DOCKER_HOST"

# ---- base and image ----
$docker image inspect $base >/dev/null 2>&1 || "$src/container/make-base.sh" $base
# --network host: this daemon runs without iptables, so its bridge has no NAT to the mirror.
# The build stage gets a tag of its own, so its layers (the -dev packages) stay cached when the
# images of earlier runs, now untagged, are pruned.
for target in build ""; do
	$docker build -q --network host --build-arg BASE_IMAGE=$base ${target:+--target $target} \
		-t "${target:+sessionpool-build:test}${target:-$image}" "$src" >"$work/build.log" 2>&1 ||
		{ tail -n 40 "$work/build.log"; fail "docker build"; }
done
$docker image prune -f >/dev/null
size=$($docker image inspect -f '{{.Size}}' $image)
log "image $image built: $((size / 1000000)) MB"

# ---- helpers ----
# run NAME [docker run options...] -- [image arguments...]: starts a container detached,
# publishing 8080 on an ephemeral 127.0.0.1 port.
run() {
	local n=$1
	shift
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	$docker run -d --name "$n" --label "$label" -p 127.0.0.1::8080 "${opts[@]}" $image "$@" >/dev/null
}
port() { $docker port "$1" 8080/tcp | head -n 1 | sed 's/.*://'; }
# wait_healthy NAME: the image's own HEALTHCHECK says healthy (bounded: 120 s).
wait_healthy() {
	local st
	for _ in $(seq 600); do
		st=$($docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$1")
		case $st in
		"running healthy") return 0 ;;
		exited* | dead*) $docker logs "$1" 2>&1 | tail -n 20; fail "$1 exited ($st)" ;;
		esac
		sleep 0.2
	done
	$docker logs "$1" 2>&1 | tail -n 20
	fail "$1 not healthy after 120 s ($st)"
}
# healthz NAME FIELD: one field of GET /healthz through the published port.
healthz() {
	curl -fsS "http://127.0.0.1:$(port "$1")/healthz" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}
# execute NAME IDENTIFIER CODE: the old-shape result of one cell (a text as is, else as JSON).
execute() {
	local body
	body=$(python3 -c 'import json,sys; print(json.dumps({"properties":{"code":sys.argv[1]}}))' "$3")
	curl -fsS -X POST -H 'Authorization: Bearer local' -H 'Content-Type: application/json' \
		"http://127.0.0.1:$(port "$1")/code/execute?api-version=2024-02-02-preview&identifier=$2" \
		-d "$body" | python3 -c 'import json,sys; r=json.load(sys.stdin)["properties"]["result"]; print(r if isinstance(r, str) else json.dumps(r))'
}
# What a session can see of the host: an internet socket, the container's secret variable in
# any /proc/*/environ it can read, the emulator in any /proc/*/cmdline, its own uid.
# shellcheck disable=SC2016
probe='import json, os, socket
r = {"uid": os.getuid(), "inet": "refused", "secret": False, "emulator": False}
try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM).close(); r["inet"] = "allowed"
except OSError:
    pass
for p in [p for p in os.listdir("/proc") if p.isdigit()]:
    for f, k, w in (("environ", "secret", b"SP_TEST_SECRET"), ("cmdline", "emulator", b"sessionpool-emulator")):
        try:
            r[k] = r[k] or w in open("/proc/%s/%s" % (p, f), "rb").read()
        except OSError:
            pass
r["secret"] = r["secret"] or "SP_TEST_SECRET" in os.environ
json.dumps(r)'
# check_stop NAME: docker stop ends it cleanly (SIGTERM handled, exit 0) and quickly, and the
# emulator left no session directory behind.
check_stop() {
	local t0 t1 code
	t0=$(date +%s%N)
	$docker stop -t 10 "$1" >/dev/null
	t1=$(date +%s%N)
	code=$($docker inspect -f '{{.State.ExitCode}}' "$1")
	log "docker stop $1: $(((t1 - t0) / 1000000)) ms, exit $code"
	[ "$code" = 0 ] || { $docker logs "$1" 2>&1 | tail -n 20; fail "$1 exited $code on docker stop (137: it needed SIGKILL)"; }
	if $docker diff "$1" | grep -E '^A /tmp/sessionpool-[0-9]'; then
		fail "$1 left its data directory behind"
	fi
}

# ---- 1. default options: degraded isolation, announced in the log and /healthz ----
run sp-default -e SP_TEST_SECRET=container-secret --
wait_healthy sp-default
[ "$(healthz sp-default isolation)" = degraded ] || fail "default options: isolation is not degraded"
$docker logs sp-default 2>&1 | grep 'WARNING: DEGRADED ISOLATION' >/dev/null || fail "no degraded warning in the log"
$docker logs sp-default 2>/dev/null | grep 'listening on http://.*:8080 (isolation: degraded' >/dev/null ||
	fail "start line missing"
[ "$(execute sp-default deg-0001 '6 * 7')" = 42 ] || fail "default options: execute"
r=$(execute sp-default deg-0002 "$probe")
log "default options: degraded; a session sees $r"
case $r in *'"inet": "refused"'*'"secret": false'*) ;; *) fail "degraded session: $r" ;; esac
# PID 1 reaps orphans: a process orphaned inside the container is reparented to PID 1 (tini).
$docker exec sp-default sh -c 'sh -c "sleep 0.3 &" ; exit 0'
zombies=1
for _ in $(seq 100); do
	# zombies, and the orphan itself while it still sleeps
	zombies=$($docker exec sp-default sh -c 'grep -lE "^(State:.*Z|Name:.sleep$)" /proc/[0-9]*/status 2>/dev/null | wc -l')
	[ "$zombies" = 0 ] && break
	sleep 0.1
done
[ "$zombies" = 0 ] || fail "an orphan stayed a zombie: PID 1 does not reap"
[ "$($docker exec sp-default cat /proc/1/comm)" = tini ] || fail "PID 1 is not tini"
check_stop sp-default

# ---- 2. an ordinary user without privileges: refused, with the flags that fix it ----
$docker run --name sp-nonroot --label "$label" --user 1000:1000 $image >"$work/nonroot.log" 2>&1 &&
	fail "a non-root start without privileges did not fail"
grep -q -- '--security-opt seccomp=' "$work/nonroot.log" ||
	{ cat "$work/nonroot.log"; fail "the non-root refusal does not name the flags that fix it"; }
log "non-root, default options: refused: $(grep -o 'namespaces are not.*' "$work/nonroot.log" | head -n 1)"

# ---- 3. full isolation, both recipes ----
profile=$src/sandbox/docker-seccomp.json
check_full() {
	local n=$1 r
	wait_healthy "$n"
	[ "$(healthz "$n" isolation)" = full ] || { $docker logs "$n" 2>&1 | tail; fail "$n: isolation is not full"; }
	if $docker logs "$n" 2>&1 | grep DEGRADED >/dev/null; then fail "$n: degraded warning"; fi
	r=$(execute "$n" full-0001 "$probe")
	log "$n: full; a session sees $r"
	case $r in *'"inet": "refused", "secret": false, "emulator": false'*) ;; *) fail "$n: session sees $r" ;; esac
	case $r in '{"uid": 0,'*) fail "$n: a session runs as root" ;; esac
}
run sp-full-root -e SP_TEST_SECRET=container-secret --cap-add SYS_ADMIN \
	--security-opt "seccomp=$profile" --security-opt apparmor=unconfined --
check_full sp-full-root
run sp-full-user -e SP_TEST_SECRET=container-secret --user 1000:1000 \
	--security-opt "seccomp=$profile" --security-opt apparmor=unconfined \
	--security-opt systempaths=unconfined --
check_full sp-full-user
# The recipe for CI service containers, which start before any checkout (no profile file):
# Docker's seccomp filter off (sessions keep the emulator's own allowlist), an ordinary user.
run sp-full-ci -e SP_TEST_SECRET=container-secret --user 1000:1000 \
	--security-opt seccomp=unconfined --security-opt systempaths=unconfined --
check_full sp-full-ci
check_stop sp-full-ci

# ---- 4. the whole conformance suite through the published port ----
log "conformance suite against sp-full-root (127.0.0.1:$(port sp-full-root))"
# Addressed as a real pool is, with the /subscriptions/…/sessionPools/NAME prefix (so the runner
# knows the pool name that .management/stopSession answers with).
pool="http://127.0.0.1:$(port sp-full-root)/subscriptions/00000000-0000-4000-8000-000000000000"
pool="$pool/resourceGroups/container-rg/sessionPools/container-pool"
"$runner" --target "$pool" --kind emulator --name container \
	--token local -j 4 --data-dir "$src/fixtures/data" --junit "$work/conformance.xml" \
	--report "$work/conformance.md" "$src/fixtures/scenarios" >"$work/conformance.tap" 2>&1 ||
	{ grep -A8 '^not ok' "$work/conformance.tap" | head -n 60; tail -n 3 "$work/conformance.tap"; fail "conformance suite"; }
log "conformance: $(tail -n 1 "$work/conformance.tap")"
check_stop sp-full-root
check_stop sp-full-user

# ---- 5. docker-compose.yml as written (the v1 docker-compose; Debian 12 has no Compose v2) ----
free_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log "docker-compose up ($($compose version --short))"
# From the repository root, as a user runs it (the seccomp profile's path is relative).
cd "$src"
SESSIONPOOL_IMAGE=$image SESSIONPOOL_PORT=$free_port $compose -p "$project" -f docker-compose.yml \
	up --no-build --abort-on-container-exit --exit-code-from smoke >"$work/compose.log" 2>&1 ||
	{ tail -n 40 "$work/compose.log"; fail "docker-compose up"; }
grep -E 'smoke.*[0-9]+ passed, 0 failed' "$work/compose.log" || { tail -n 40 "$work/compose.log"; fail "compose: no passing smoke run"; }
grep -q 'isolation: full' "$work/compose.log" || fail "compose: the service is not in full isolation"
SESSIONPOOL_IMAGE=$image $compose -p "$project" -f "$src/docker-compose.yml" down -v >/dev/null 2>&1

# ---- 6. Testcontainers for Node ----
log "testcontainers (node $(node --version))"
mkdir -p "$work/node"
cp "$src/container/node/package.json" "$src/container/node/package-lock.json" \
	"$src/container/node/testcontainers.test.mjs" "$work/node/"
(cd "$work/node" && npm ci --ignore-scripts --no-audit --no-fund >npm.log 2>&1) ||
	{ tail -n 20 "$work/node/npm.log"; fail "npm ci"; }
# No Docker Hub here: Testcontainers' reaper image (ryuk) cannot be pulled; the test stops its
# container itself.
# Testcontainers would use the bridge's gateway on a machine that has /.dockerenv: 127.0.0.1.
(cd "$work/node" && SESSIONPOOL_IMAGE=$image TESTCONTAINERS_RYUK_DISABLED=true \
	TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1 \
	node testcontainers.test.mjs) || fail "testcontainers (node)"

log "all container checks passed"
