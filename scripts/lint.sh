#!/usr/bin/env bash
# Static checks run by CI (the ctest tests lint_format and lint_shell, tests/lint/) and by 'make lint':
#   format  clang-format --dry-run --Werror on every tracked *.c and *.h file (the repo's .clang-format)
#   shell   shellcheck on every tracked shell script: *.sh, and files without an extension whose
#           first line is a sh or bash shebang (.ci/run)
# Usage: scripts/lint.sh [format|shell]...   (no argument: both). Exit 0 when every check passes,
# 1 when one reports something, 2 on a usage error or a missing tool (scripts/install-deps.sh --lint).
# CLANG_FORMAT and SHELLCHECK name other binaries. Works from any directory; needs a git work tree.
set -euo pipefail
cd "$(dirname "$0")/.."

clang_format=${CLANG_FORMAT:-clang-format}
shellcheck=${SHELLCHECK:-shellcheck}

need() { # tool
	command -v "$1" >/dev/null 2>&1 && return 0
	echo "lint: $1 not found (scripts/install-deps.sh --lint installs it)" >&2
	exit 2
}

# Tracked files still present in the work tree (a file deleted but not yet committed is skipped).
tracked() { # pathspec...
	git ls-files -z -- "$@" | while IFS= read -r -d '' f; do
		if [ -f "$f" ]; then printf '%s\0' "$f"; fi
	done
}

shell_scripts() {
	local f base first
	git ls-files -z | while IFS= read -r -d '' f; do
		[ -f "$f" ] || continue
		base=${f##*/}
		base=${base#.}
		case "$base" in
		*.sh) printf '%s\0' "$f" ;;
		*.*) ;; # another extension: not a shell script
		*)
			first=$(head -c 128 -- "$f" | head -n 1 | tr -d '\0')
			if [[ $first =~ ^\#!\ *(/usr)?/bin/(env\ +)?(ba)?sh([[:space:]]|$) ]]; then
				printf '%s\0' "$f"
			fi
			;;
		esac
	done
}

check_format() {
	need "$clang_format"
	local files=()
	mapfile -d '' files < <(tracked '*.c' '*.h')
	echo "lint: $("$clang_format" --version) on ${#files[@]} C files" >&2
	if [ ${#files[@]} -eq 0 ]; then
		echo "lint: git ls-files lists no C file" >&2
		return 1
	fi
	local bad=() f
	for f in "${files[@]}"; do
		[ -f "$f" ] || continue # removed while this ran
		"$clang_format" --dry-run --Werror -- "$f" >/dev/null 2>&1 || bad+=("$f")
	done
	[ ${#bad[@]} -eq 0 ] && return 0
	# The first differences of each file, then the list (make format fixes them all).
	for f in "${bad[@]}"; do
		"$clang_format" --dry-run --Werror -- "$f" 2>&1 | head -n 12 || true
	done
	echo "lint: ${#bad[@]} file(s) not formatted as .clang-format says (run 'make format'):" >&2
	printf '  %s\n' "${bad[@]}" >&2
	return 1
}

check_shell() {
	need "$shellcheck"
	local files=()
	mapfile -d '' files < <(shell_scripts)
	echo "lint: $("$shellcheck" --version | sed -n 's/^version: /shellcheck /p') on ${#files[@]} scripts: ${files[*]}" >&2
	if [ ${#files[@]} -eq 0 ]; then
		echo "lint: git ls-files lists no shell script" >&2
		return 1
	fi
	"$shellcheck" -- "${files[@]}"
}

# Without a readable git work tree (no git, not a checkout, a repository owned by another user),
# git ls-files would list nothing and every check would pass on nothing.
need git
if ! top=$(git rev-parse --show-toplevel 2>&1); then
	echo "lint: git cannot read this tree: $top" >&2
	exit 2
fi
[ $# -gt 0 ] || set -- format shell
status=0
for check in "$@"; do
	case "$check" in
	format) check_format || status=1 ;;
	shell) check_shell || status=1 ;;
	*)
		echo "usage: scripts/lint.sh [format|shell]..." >&2
		exit 2
		;;
	esac
done
exit "$status"
