#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The way a real pool is addressed: start the emulator by hand with TLS and strict auth, then
# point the runner at https://…/subscriptions/…/sessionPools/<pool> with --target, --cacert,
# a --token-command and an MCP key from a variable (--mcp-key-env), as one would for Azure.
#   target-url.sh RUNNER EMULATOR CERT KEY WORKDIR SCENARIOS DATA [runner args...]
set -euo pipefail
runner=$1 emulator=$2 cert=$3 key=$4 work=$5 scenarios=$6 data=$7
shift 7
rm -rf "$work" && mkdir -p "$work/data"
token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$token" >"$work/token"
chmod 600 "$work/token"
mcp_key=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
"$emulator" --listen 127.0.0.1:0 --ready-file "$work/ready" --data-dir "$work/data" \
	--tls-cert "$cert" --tls-key "$key" --auth-mode strict --static-token "$token" \
	--mcp-api-key "$mcp_key" --pool-name conformance-pool >"$work/emulator.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 600); do
	[ -s "$work/ready" ] && break
	kill -0 $pid 2>/dev/null || { cat "$work/emulator.log"; exit 3; }
	sleep 0.05
done
base=$(head -n 1 "$work/ready")
case $base in https://*) ;; *) echo "expected an https:// ready URL, got $base"; exit 3 ;; esac
url="$base/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/conformance-rg/sessionPools/conformance-pool"
status=0
SP_CONFORMANCE_MCP_KEY=$mcp_key "$runner" --target "$url" --name emulator-url --kind emulator \
	--cacert "$cert" --token-command "cat '$work/token'" --mcp-key-env SP_CONFORMANCE_MCP_KEY \
	--data-dir "$data" "$@" "$scenarios" || status=$?
if grep -rqF -e "$token" -e "$mcp_key" "$work"/*.xml "$work"/*.md 2>/dev/null; then
	echo "the token or the MCP key reached a report"
	status=3
fi
exit $status
