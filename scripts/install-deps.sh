#!/usr/bin/env bash
# Installs the Debian packages the project needs, and only those missing.
# As root it calls apt-get directly; otherwise sudo apt-get. A no-op when all are present.
set -euo pipefail

packages=(
	build-essential cmake pkg-config
	civetweb libcivetweb-dev libcjson-dev libcurl4-openssl-dev libseccomp-dev libpython3-dev libcriterion-dev
	python3 libssl-dev curl openssl libyajl-dev
)
# The sessions' package set, documented with versions in docs/packages.md (regenerate it with
# scripts/list-packages.sh after changing this list): the scientific and document stack an
# analysis agent reaches for, as far as Debian 12 packages it.
packages+=(
	python3-numpy python3-pandas python3-scipy python3-sklearn python3-matplotlib
	python3-seaborn python3-statsmodels python3-sympy python3-networkx
	python3-openpyxl python3-xlrd python3-xlsxwriter python3-docx python3-pypdf python3-reportlab
	python3-pil python3-bs4 python3-lxml python3-html5lib python3-requests python3-tabulate
	python3-plotly python3-jinja2 python3-tqdm python3-ipython python3-setuptools python3-pip
)
# Benchmarks only: installed by 'make bench', not needed to build or test. bench/perf.sh compares
# with a Jupyter kernel started by jupyter_client (Debian's python3-ipykernel).
if [ "${1:-}" = "--bench" ]; then
	packages+=(wrk hyperfine python3-ipykernel python3-jupyter-client)
fi
# 'make fuzz' only: clang and its libFuzzer runtime.
if [ "${1:-}" = "--fuzz" ]; then
	packages+=(clang libclang-rt-14-dev)
fi
# 'make lint' and 'make test' (the ctest tests lint_format and lint_shell run scripts/lint.sh): the
# formatter the repo's .clang-format is written for (Debian 12: clang-format 14) and shellcheck.
if [ "${1:-}" = "--lint" ]; then
	packages+=(clang-format shellcheck git)
	# Also for 'make test' (its lint-deps step): Node and npm for tests/mcp-sdk, the official MCP
	# TypeScript SDK against /mcp (Debian 12: nodejs 18, npm 9). Each only when missing from PATH:
	# NodeSource's nodejs bundles npm and conflicts with Debian's npm package.
	command -v node >/dev/null 2>&1 || packages+=(nodejs)
	command -v npm >/dev/null 2>&1 || packages+=(npm)
	# And Debian's Chromium for tests/playground, the browser playground driven headless.
	packages+=(chromium)
fi
# 'make test-container' only (container/test.sh): a Docker engine, the v1 docker-compose (Debian 12
# packages no Compose v2), debootstrap for the base image, npm for the Testcontainers test
# (Debian's npm only when no npm is on PATH: it would pull Debian's nodejs over another one).
if [ "${1:-}" = "--container" ]; then
	packages+=(docker.io docker-compose debootstrap curl python3)
	command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	"install ok installed") ;;
	*) missing+=("$p") ;;
	esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
	sudo=()
elif command -v sudo >/dev/null 2>&1; then
	sudo=(sudo)
else
	echo "install-deps: missing packages (${missing[*]}) and not root, and no sudo" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq </dev/null
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
