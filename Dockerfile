# SPDX-License-Identifier: MIT
# sessionpool as an image: docs/container.md. Build it from the repository root:
#   docker build -t sessionpool .
# (where the build cannot reach the Debian mirror, e.g. a daemon without NAT: add --network host;
#  another Debian 12 base: --build-arg BASE_IMAGE=…)
ARG BASE_IMAGE=debian:bookworm-slim

# ---- build: the CMake build and 'cmake --install' into /out ----
# (civetweb: the CMake package of libcivetweb-dev names its /usr/bin/civetweb too)
FROM ${BASE_IMAGE} AS build
RUN apt-get update \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		build-essential cmake pkg-config \
		civetweb libcivetweb-dev libcjson-dev libcurl4-openssl-dev libseccomp-dev libpython3-dev \
		libcriterion-dev libssl-dev libyajl-dev \
	&& rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the build reads (.dockerignore keeps the rest out of the context too); the
# documentation comes after the compilation, so editing it does not recompile.
COPY CMakeLists.txt ./
COPY common common
COPY sandbox sandbox
COPY emulator emulator
COPY conformance conformance
COPY tests tests
COPY fuzz fuzz
COPY bench bench
COPY container/CMakeLists.txt container/
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr/local \
	&& cmake --build /build -j"$(nproc)" \
		--target sessionpool-emulator sessionpool-zygote sessionpool-conformance
COPY README.md ./
COPY docs docs
COPY fixtures fixtures
RUN DESTDIR=/out cmake --install /build --strip

# ---- runtime: the libraries, the session Python packages, the installed tree ----
FROM ${BASE_IMAGE}
# The runtime halves of scripts/install-deps.sh's list: libraries of the three programs, the
# session package set (the same list as install-deps.sh, documented in docs/packages.md), curl
# for the health check, tini as PID 1 (reaps orphans, forwards signals).
# Debian's python3-scipy depends on python3-pythran, a compiler that pulls gcc, g++, Boost and
# -dev packages (about 450 MB) although scipy's compiled modules never need it at run time: an
# empty stand-in package satisfies that dependency instead.
RUN printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
		'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' \
		'path-exclude /usr/share/locale/*' >/etc/dpkg/dpkg.cfg.d/sessionpool-slim \
	&& mkdir -p /tmp/stub/DEBIAN \
	&& printf '%s\n' 'Package: python3-pythran' 'Version: 0.11.0+ds-7+sessionpool1' \
		'Architecture: all' 'Maintainer: sessionpool <sessionpool@localhost>' \
		'Description: stand-in: scipy needs no Pythran compiler at run time' \
		>/tmp/stub/DEBIAN/control \
	&& dpkg-deb --build /tmp/stub /tmp/python3-pythran-stub.deb >/dev/null \
	&& dpkg -i /tmp/python3-pythran-stub.deb && rm -rf /tmp/stub /tmp/python3-pythran-stub.deb \
	&& apt-get update \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		tini curl \
		libcivetweb1 libcjson1 libseccomp2 libyajl2 libpython3.11 libssl3 libcurl4 \
		python3 \
		python3-numpy python3-pandas python3-scipy python3-sklearn python3-matplotlib \
		python3-seaborn python3-statsmodels python3-sympy python3-networkx \
		python3-openpyxl python3-xlrd python3-xlsxwriter python3-docx python3-pypdf \
		python3-reportlab python3-pil python3-bs4 python3-lxml python3-html5lib \
		python3-requests python3-tabulate python3-plotly python3-jinja2 python3-tqdm \
		python3-ipython python3-setuptools python3-pip \
	&& rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
	&& groupadd --gid 1000 sessionpool \
	&& useradd --uid 1000 --gid 1000 --no-create-home --home-dir /tmp \
		--shell /usr/sbin/nologin sessionpool
COPY --from=build /out/ /
COPY container/entrypoint.sh /usr/local/bin/sessionpool-entrypoint
COPY container/healthcheck.sh /usr/local/bin/sessionpool-healthcheck
# The conformance runner's defaults (fixtures/scenarios, fixtures/data) are found from here.
WORKDIR /usr/local/share/sessionpool
# Every flag also works as an argument (docker run IMAGE --max-sessions 5), and every
# SESSIONPOOL_* variable with -e; flags win over variables.
ENV SESSIONPOOL_LISTEN=0.0.0.0:8080 \
	SESSIONPOOL_READY_FILE=/tmp/sessionpool.ready
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=6s --start-period=60s --retries=3 \
	CMD ["/usr/local/bin/sessionpool-healthcheck"]
# root by default: without extra privileges (Docker's default seccomp profile refuses
# namespaces) only root can keep sessions apart (one uid each: degraded isolation). Run it as
# --user sessionpool (uid 1000) with the profile for full isolation: docs/container.md.
# tini -s: also reaps when it is not PID 1 (docker run --init).
ENTRYPOINT ["/usr/bin/tini", "-s", "--", "/usr/local/bin/sessionpool-entrypoint"]
CMD []
