#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runner self-tests in the style of hurl's: run sessionpool-conformance on the scenario folders
# next to this script against the echo server, and check exit codes and messages.
#
#   selftest.sh RUNNER ECHO_SERVER WORKDIR MODE
#
# MODE: ok (exit 0), failed (each file: exit 4, every line of its .err in stdout; a line
# starting with "!" must not appear), error_parser (each file: exit 2, .err lines in
# stdout+stderr), transport (exit 3), token (a --token-command refreshed after a 401), outputs
# (JUnit, report, recordings and redaction), recorded ([CHOICE] recorded against a real
# target), usage (--help, --list, usage errors, exit 1), token_fail (a failing token source stops
# the run after one failure, with the command's standard error, exit 3), placeholder (an
# endpoint with a template placeholder is refused before anything runs, exit 1),
# interrupt (Ctrl-C: exit 130 and sessions still deleted), teardown (api-versions and teardown
# routes from a target file: variables, session deletion, the sweep, turning both off), mcp (the
# MCP key: given, from a variable, or none, when mcp scenarios are skipped; never in an output;
# a captured session identifier deleted).
set -uo pipefail
runner=$1 echo_server=$2 work=$3 mode=$4
here=$(cd "$(dirname "$0")" && pwd)
cd "$here" || exit 1
mkdir -p "$work"
fail=0
die() { echo "FAIL: $*"; fail=1; }

check_lines() { # file-with-expected-lines output-file
	while IFS= read -r line; do
		[ -z "$line" ] && continue
		if [ "${line:0:1}" = "!" ]; then
			grep -qF -- "${line:1}" "$2" && die "$1: output contains '${line:1}'"
		else
			grep -qF -- "$line" "$2" || die "$1: output lacks '$line'"
		fi
	done <"$1"
}

run() { # expected-exit output-file args...
	local want=$1 out=$2
	shift 2
	"$runner" --emulator "$echo_server" --data-dir "$here/data" "$@" >"$out" 2>&1
	local got=$?
	[ "$got" = "$want" ] || { die "exit $got, expected $want: $*"; sed 's/^/    /' "$out"; }
}

case $mode in
ok)
	run 0 "$work/ok.out" -j 4 ok
	cat "$work/ok.out"
	tail -n 1 "$work/ok.out" | grep -qE '^[0-9]+ passed, 0 failed, [0-9]+ skipped$' ||
		die "last line is not the summary"
	grep -q '# SKIP real-only' "$work/ok.out" || die "real-only scenario not skipped"
	grep -q '# TODO known divergence on emulator' "$work/ok.out" || die "divergence not TODO"
	;;
failed)
	for f in failed/*.json; do
		run 4 "$work/failed.out" "$f"
		check_lines "${f%.json}.err" "$work/failed.out"
		tail -n 1 "$work/failed.out" | grep -qx '0 passed, 1 failed, 0 skipped' || die "$f: summary"
	done
	;;
error_parser)
	for f in error_parser/*.json; do
		run 2 "$work/parse.out" "$f"
		check_lines "${f%.json}.err" "$work/parse.out"
	done
	;;
transport)
	run 3 "$work/transport.out" transport
	check_lines transport/001-connection-refused.err "$work/transport.out"
	;;
token)
	rm -f "$work/token-used" "$work/token-used2"
	run 0 "$work/token.out" --token-command \
		"if [ -f '$work/token-used' ]; then echo fresh-token; else touch '$work/token-used'; echo stale-token; fi" \
		token
	cat "$work/token.out"
	grep -q 'retrying with a fresh one' "$work/token.out" && die "notes of passing scenarios are not printed"
	run 0 "$work/token.out" -v --token-command \
		"if [ -f '$work/token-used2' ]; then echo fresh-token; else touch '$work/token-used2'; echo stale-token; fi" \
		token
	grep -q 'retrying with a fresh one' "$work/token.out" || die "no refresh after a 401"
	grep -q 'fresh-token\|stale-token' "$work/token.out" && die "a token reached the output"
	;;
token_fail)
	# The command fails the way az does when nobody is logged in; it must run once, and the
	# run must stop there (19 scenarios, 4 in parallel).
	rm -f "$work/token-runs"
	run 3 "$work/token-fail.out" -j 4 --token-command \
		"echo run >>'$work/token-runs'; echo 'ERROR: Please run az login to setup account.' >&2; exit 1" \
		ok
	cat "$work/token-fail.out"
	[ "$(wc -l <"$work/token-runs")" = 1 ] || die "the token command ran $(wc -l <"$work/token-runs") times"
	[ "$(grep -c '^not ok' "$work/token-fail.out")" = 1 ] || die "not exactly one failure reported"
	grep -q '^ok ' "$work/token-fail.out" && die "scenarios ran after the token failure"
	grep -q '^not ok 1 - .* # error: token: the token command failed (exit status 1)$' "$work/token-fail.out" ||
		die "the failure does not say the token command failed"
	[ "$(grep -c 'ERROR: Please run az login to setup account.' "$work/token-fail.out")" = 2 ] ||
		die "the command's standard error is not shown once in TAP and once on stderr"
	grep -q '^Bail out! target emulator: its token source failed' "$work/token-fail.out" || die "no Bail out!"
	tail -n 1 "$work/token-fail.out" | grep -qx '0 passed, 1 failed, 0 skipped' || die "summary"
	# An unset --token-env variable stops the run the same way.
	env -u SP_SELFTEST_UNSET_TOKEN "$runner" --emulator "$echo_server" --data-dir "$here/data" \
		--token-env SP_SELFTEST_UNSET_TOKEN -j 2 ok >"$work/token-env.out" 2>&1
	[ $? = 3 ] || die "an unset --token-env variable must exit 3"
	[ "$(grep -c '^not ok' "$work/token-env.out")" = 1 ] || die "--token-env: not exactly one failure"
	grep -q 'the environment variable SP_SELFTEST_UNSET_TOKEN is unset or empty' "$work/token-env.out" ||
		die "--token-env: no reason given"
	;;
placeholder)
	for url in 'https://<REGION>.dynamicsessions.io/subscriptions/<SUBSCRIPTION_ID>/resourceGroups/<RESOURCE_GROUP>/sessionPools/<POOL>' \
		'https://westus2.dynamicsessions.io/subscriptions/s/resourceGroups/rg/sessionPools/{pool}' \
		'http://127.0.0.1:9/<anything>'; do
		"$runner" --target "$url" --token my-token ok >"$work/placeholder.out" 2>&1
		code=$?
		[ $code = 1 ] || die "$url: exit $code, expected 1 (usage)"
		ph=$(grep -o '<[^>]*>\|{[^}]*}' <<<"$url" | head -1)
		grep -qF "the endpoint still contains the placeholder \"$ph\"" "$work/placeholder.out" ||
			die "$url: message does not name $ph"
		grep -q '^TAP version\|^1\.\.' "$work/placeholder.out" && die "$url: the run started"
	done
	# The shipped example target file, not yet filled in.
	"$runner" --target "$here/../../fixtures/targets/real.example.json" ok >"$work/placeholder.out" 2>&1
	code=$?
	[ $code = 1 ] || die "real.example.json: exit $code, expected 1"
	grep -qF 'placeholder "<REGION>"' "$work/placeholder.out" || die "real.example.json: no message"
	;;
outputs)
	rm -rf "$work/rec" "$work/junit.xml" "$work/report.md"
	secret=sp-selftest-secret-$$-token
	"$runner" --emulator "$echo_server" --data-dir "$here/data" --token "$secret" \
		--record "$work/rec" --junit "$work/junit.xml" --report "$work/report.md" \
		ok failed/001-status.json transport >"$work/outputs.out" 2>&1
	[ $? = 3 ] || die "exit status with a transport error must be 3"
	grep -rq -- "$secret" "$work/rec" "$work/junit.xml" "$work/report.md" "$work/outputs.out" &&
		die "the token reached an output"
	grep -rq '<redacted>' "$work/rec" || die "recordings show no redaction"
	ls "$work"/rec/emulator/001-status/01-step.http >/dev/null || die "no recording of 001-status"
	grep -q 'Authorization: Bearer <redacted>' "$work"/rec/emulator/001-status/01-step.http ||
		die "Authorization not redacted in the recording"
	ls "$work"/rec/emulator/017-cleanup-and-sessions/*teardown-delete-session.http >/dev/null ||
		die "no recorded session deletion"
	grep -q '<failure message="step\[0\] (GET /status/404): status: expected 200, got 404' "$work/junit.xml" ||
		die "junit failure"
	grep -q '<error message="GET http://127.0.0.1:9/x' "$work/junit.xml" || die "junit error"
	grep -q '<skipped message="real-only"' "$work/junit.xml" || die "junit skipped"
	# shellcheck disable=SC2016 # the backticks are literal: Markdown code spans in the report
	grep -q '| `001-status` | style.md §8 \[CHOICE\] | \*\*fail\*\*' "$work/report.md" || die "report fail row"
	# shellcheck disable=SC2016 # the backticks are literal: Markdown code spans in the report
	grep -q '| `014-skips-and-capabilities` | .* | skipped (real-only) |' "$work/report.md" || die "report skip row"
	grep -q 'todo (known divergence)' "$work/report.md" || die "report todo row"
	;;
recorded)
	run 0 "$work/recorded.out" --kind real recorded/001-choice-only.json recorded/002-choice-assertion.json \
		recorded/003-emulator-only.json
	grep -q '^ok 1 - 001-choice-only # recorded: 1 \[CHOICE\] difference(s) recorded' "$work/recorded.out" ||
		die "a [CHOICE]-only scenario was not recorded"
	grep -q '#   recorded: step\[0\] (GET /echo): \$.method: expected "POST"' "$work/recorded.out" ||
		die "a choice assertion was not recorded"
	grep -q '# SKIP emulator-only' "$work/recorded.out" || die "emulator-only ran against a real target"
	run 4 "$work/recorded.out" --kind real recorded
	grep -q '^not ok 4 - 004-binding-failure' "$work/recorded.out" || die "a binding failure was not a failure"
	;;
usage)
	"$runner" --help >"$work/usage.out" 2>&1 || die "--help failed"
	grep -q 'Exit status: 0 all passed, 1 usage, 2 scenario parse error' "$work/usage.out" || die "help text"
	"$runner" --bogus >"$work/usage.out" 2>&1
	[ $? = 1 ] || die "an unknown option must exit 1"
	"$runner" ok >"$work/usage.out" 2>&1
	[ $? = 1 ] || die "no target must exit 1"
	"$runner" --list --tag real-only ok >"$work/usage.out" 2>&1 || die "--list failed"
	grep -qx '014-skips-and-capabilities \[real-only\]' "$work/usage.out" || die "--list output"
	[ "$(wc -l <"$work/usage.out")" = 1 ] || die "--list --tag must select one scenario"
	"$runner" --list --filter '00[12]-*' ok >"$work/usage.out" 2>&1
	[ "$(wc -l <"$work/usage.out")" = 2 ] || die "--filter must select two scenarios"
	"$runner" --list error_parser >"$work/usage.out" 2>&1
	[ $? = 2 ] || die "--list with a broken file must exit 2"
	;;
interrupt)
	cat >"$work/slow.json" <<'JSON'
{"description": "A run interrupted by Ctrl-C MUST still delete its sessions.",
 "provenance": {"sections": ["style.md §8"], "tags": ["CHOICE"]},
 "steps": [{"request": {"method": "GET", "path": "/slow/20000", "query": [["identifier", "{{session}}"]]}}]}
JSON
	"$runner" --emulator "$echo_server" --record "$work/irec" "$work/slow.json" >"$work/int.out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do [ -d "$work/irec" ] && grep -q '^# target' "$work/int.out" && break; sleep 0.05; done
	sleep 0.5
	kill -INT $pid
	wait $pid
	code=$?
	[ $code = 130 ] || { die "exit $code after Ctrl-C, expected 130"; cat "$work/int.out"; }
	ls "$work"/irec/emulator/slow/*teardown-delete-session.http >/dev/null 2>&1 ||
		die "no session deletion after Ctrl-C"
	;;
teardown)
	# A target file's api_versions become the api_* variables (defaults for the rest), and its
	# delete_session routes are tried in order: the first answers 500, the second 200.
	cat >"$work/td-target.json" <<JSON
{"name": "echo-td", "kind": "emulator", "emulator": "$echo_server",
 "api_versions": {"new": "2099-01-01-selftest", "management": "2099-02-02-selftest"},
 "teardown": {"delete_session": [
   {"method": "DELETE", "path": "/status/500?api-version={{api_new}}&identifier={{identifier|url}}"},
   {"method": "POST", "path": "/echo/stop?api-version={{api_management}}&id={{identifier|url}}"}]}}
JSON
	cat >"$work/td-versions.json" <<'JSON'
{"description": "The api-version variables MUST come from the target file, the defaults filling the rest.",
 "provenance": {"sections": ["style.md §8"], "tags": ["CHOICE"]},
 "steps": [{"request": {"method": "GET",
   "path": "/echo?old={{api_old}}&new={{api_new}}&mgmt={{api_management}}&identifier={{session}}-a%2Fb"},
   "expect": {"status": 200, "json": [{"path": "$.query",
     "matches": "^old=2024-02-02-preview&new=2099-01-01-selftest&mgmt=2099-02-02-selftest&identifier="}]}}]}
JSON
	rm -rf "$work/td-rec"
	"$runner" --target "$work/td-target.json" --run-id tdrun --record "$work/td-rec" \
		"$work/td-versions.json" >"$work/td.out" 2>&1 || { die "target file run failed"; cat "$work/td.out"; }
	rec=$work/td-rec/echo-td/td-versions
	grep -qx 'DELETE /status/500?api-version=2099-01-01-selftest&identifier=tdrun-s000-a%2Fb HTTP/1.1' \
		"$rec"/02-teardown-delete-session.http || die "first delete_session route not used"
	grep -qx 'POST /echo/stop?api-version=2099-02-02-selftest&id=tdrun-s000-a%2Fb HTTP/1.1' \
		"$rec"/03-teardown-delete-session.http || die "second delete_session route not used"
	[ "$(find "$rec" -name '*teardown*' | wc -l)" = 2 ] || die "not exactly two teardown requests"
	# "delete_session": [] deletes nothing; a bad key is a usage error naming it.
	cat >"$work/td-off.json" <<JSON
{"name": "echo-off", "emulator": "$echo_server", "teardown": {"delete_session": [], "list_sessions": null}}
JSON
	rm -rf "$work/td-rec-off"
	"$runner" --target "$work/td-off.json" --record "$work/td-rec-off" ok/017-cleanup-and-sessions.json \
		>"$work/td-off.out" 2>&1 || die "run with teardown off failed"
	find "$work/td-rec-off" -name '*teardown*' | grep -q . && die "delete_session [] still deleted"
	printf '{"name": "x", "emulator": "%s", "teardown": {"delete": []}}\n' "$echo_server" >"$work/td-bad.json"
	"$runner" --target "$work/td-bad.json" ok >"$work/td-bad.out" 2>&1
	[ $? = 1 ] || die "a bad teardown key must exit 1"
	grep -qF 'teardown: unknown key "delete"' "$work/td-bad.out" || die "bad teardown key not named"
	# The sweep of a URL target lists through list_sessions and deletes only the run's sessions.
	rm -f "$work/td-ready"
	"$echo_server" --listen 127.0.0.1:0 --ready-file "$work/td-ready" >"$work/td-echo.log" 2>&1 &
	pid=$!
	for _ in $(seq 200); do [ -s "$work/td-ready" ] && break; sleep 0.05; done
	[ -s "$work/td-ready" ] || die "the echo server did not start"
	base=$(head -n 1 "$work/td-ready")
	cat >"$work/td-url.json" <<JSON
{"name": "echo-url", "kind": "emulator", "base_url": "$base",
 "teardown": {"delete_session": [{"method": "POST", "path": "/echo/swept?identifier={{identifier|url}}"}],
              "list_sessions": {"method": "GET", "path": "/listSessions?ids={{run_id}}-s999,other-s000"}}}
JSON
	rm -rf "$work/td-rec-url"
	"$runner" --target "$work/td-url.json" --run-id sweeprun --record "$work/td-rec-url" \
		ok/001-echo-get-query-headers.json >"$work/td-url.out" 2>&1 || die "URL target run failed"
	kill -TERM $pid
	wait $pid 2>/dev/null
	cat "$work/td-url.out"
	grep -q '^# sweep of echo-url: 1 leftover session(s) deleted' "$work/td-url.out" || die "no sweep"
	grep -qx 'POST /echo/swept?identifier=sweeprun-s999 HTTP/1.1' \
		"$work"/td-rec-url/echo-url/sweep/*teardown-delete-session.http || die "sweep did not delete"
	grep -rq 'other-s000' "$work/td-rec-url" && die "the sweep deleted another run's session"
	;;
mcp)
	# A key given on the command line reaches the scenarios and the emulator's --mcp-api-key,
	# and no output shows it, although the echo server sends it back in bodies.
	key=sp-selftest-mcp-$$-key
	rm -rf "$work/mcp-rec" "$work/mcp-junit.xml" "$work/mcp-report.md"
	"$runner" --emulator "$echo_server" --mcp-key "$key" --run-id mcprun --record "$work/mcp-rec" \
		--junit "$work/mcp-junit.xml" --report "$work/mcp-report.md" \
		ok/019-mcp-key-and-session-capture.json failed/011-mcp-key-redacted.json >"$work/mcp.out" 2>&1
	[ $? = 4 ] || die "exit status with one failing scenario must be 4"
	cat "$work/mcp.out"
	grep -q '^ok 2 - 019-mcp-key-and-session-capture' "$work/mcp.out" || die "the key did not reach the scenario"
	grep -q '^not ok 1 - 011-mcp-key-redacted' "$work/mcp.out" || die "the failing scenario did not fail"
	grep -rqF -- "$key" "$work/mcp-rec" "$work/mcp-junit.xml" "$work/mcp-report.md" "$work/mcp.out" &&
		die "the MCP key reached an output"
	grep -qF '"x-ms-apikey":"<redacted>"' "$work/mcp.out" || die "TAP shows no redacted key"
	grep -qF 'x-ms-apikey&quot;:&quot;&lt;redacted&gt;' "$work/mcp-junit.xml" || die "JUnit shows no redacted key"
	grep -qx 'x-ms-apikey: <redacted>' "$work"/mcp-rec/emulator/019-mcp-key-and-session-capture/01-step-send-key.http ||
		die "the x-ms-apikey header is not redacted in the recording"
	grep -q '"--mcp-api-key","<redacted>"' "$work"/mcp-rec/emulator/019-mcp-key-and-session-capture/02-step-emulator-flag.http ||
		die "the emulator was not started with --mcp-api-key and the key"
	grep -qx 'DELETE /session?api-version=2025-10-02-preview&identifier=mcprun-env-1 HTTP/1.1' \
		"$work"/mcp-rec/emulator/019-mcp-key-and-session-capture/*teardown-delete-session.http ||
		die "the captured session identifier was not deleted"
	# A URL target without a key skips mcp scenarios, saying why; with --mcp-key-env they run.
	rm -f "$work/mcp-ready"
	"$echo_server" --listen 127.0.0.1:0 --ready-file "$work/mcp-ready" --mcp-api-key "$key" >"$work/mcp-echo.log" 2>&1 &
	pid=$!
	for _ in $(seq 200); do [ -s "$work/mcp-ready" ] && break; sleep 0.05; done
	[ -s "$work/mcp-ready" ] || die "the echo server did not start"
	base=$(head -n 1 "$work/mcp-ready")
	"$runner" --target "$base" --kind emulator ok/019-mcp-key-and-session-capture.json ok/001-echo-get-query-headers.json \
		>"$work/mcp-url.out" 2>&1 || die "a URL target without a key must pass (mcp scenarios skipped)"
	cat "$work/mcp-url.out"
	grep -q '^ok 1 - 001-echo-get-query-headers # [0-9.]*s$' "$work/mcp-url.out" ||
		die "a scenario without the mcp tag did not run"
	grep -q '^ok 2 - 019-mcp-key-and-session-capture # SKIP mcp: no MCP key for this target (--mcp-key, --mcp-key-env' \
		"$work/mcp-url.out" || die "no skip with a reason without a key"
	SP_SELFTEST_MCP_KEY=$key "$runner" --target "$base" --kind emulator --mcp-key-env SP_SELFTEST_MCP_KEY \
		ok/019-mcp-key-and-session-capture.json >"$work/mcp-env.out" 2>&1 || die "--mcp-key-env run failed"
	cat "$work/mcp-env.out"
	grep -q '^ok 1 - 019-mcp-key-and-session-capture # [0-9.]*s$' "$work/mcp-env.out" || die "--mcp-key-env: not run"
	grep -qF -- "$key" "$work/mcp-env.out" && die "--mcp-key-env: the key reached the output"
	kill -TERM $pid
	wait $pid 2>/dev/null
	# An unset variable, a short key or a key unlike the emulator's own --mcp-api-key: usage errors.
	env -u SP_SELFTEST_UNSET_KEY "$runner" --target "$base" --mcp-key-env SP_SELFTEST_UNSET_KEY ok >"$work/mcp-bad.out" 2>&1
	[ $? = 1 ] || die "an unset --mcp-key-env variable must exit 1"
	grep -qF 'MCP key: the environment variable SP_SELFTEST_UNSET_KEY is unset or empty' "$work/mcp-bad.out" ||
		die "unset --mcp-key-env: no reason given"
	"$runner" --emulator "$echo_server" --mcp-key abc ok >"$work/mcp-bad.out" 2>&1
	[ $? = 1 ] || die "a 3-byte MCP key must exit 1"
	"$runner" --emulator "$echo_server" --emulator-arg --mcp-api-key --emulator-arg other-key \
		--mcp-key "$key" ok >"$work/mcp-bad.out" 2>&1
	[ $? = 1 ] || die "an MCP key unlike the emulator's --mcp-api-key must exit 1"
	grep -qF -- "$key" "$work/mcp-bad.out" && die "a usage error shows the MCP key"
	;;
*)
	echo "unknown mode $mode"
	exit 2
	;;
esac
exit $fail
