#!/bin/sh
# SPDX-License-Identifier: MIT
# The image's entry point (under tini, which reaps zombies and forwards signals as PID 1).
# No arguments, or arguments starting with "-": the emulator with those flags. It listens on
# 0.0.0.0:8080 through SESSIONPOOL_LISTEN, which --listen (flags win) or -e SESSIONPOOL_LISTEN=…
# overrides. Anything else is run as given (sessionpool-conformance …, sh, python3 …).
case "${1:-}" in
"" | -*) exec /usr/local/bin/sessionpool-emulator "$@" ;;
esac
exec "$@"
