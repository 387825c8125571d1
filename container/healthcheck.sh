#!/bin/sh
# SPDX-License-Identifier: MIT
# The image's HEALTHCHECK: GET /healthz at the address the emulator wrote to its ready file
# (SESSIONPOOL_READY_FILE), so --listen with another port, or TLS, is followed. 0.0.0.0 is
# asked through 127.0.0.1. Exits 0 only for a 200 answer.
f=${SESSIONPOOL_READY_FILE:-/tmp/sessionpool.ready}
url=$(head -n 1 "$f" 2>/dev/null) || exit 1
[ -n "$url" ] || exit 1
url=$(printf '%s' "$url" | sed 's#://0\.0\.0\.0:#://127.0.0.1:#')
exec curl -fsS --insecure --max-time 5 -o /dev/null "$url/healthz"
