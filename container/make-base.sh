#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Makes a debian:bookworm-slim equivalent without Docker Hub: debootstrap --variant=minbase from
# the Debian mirror this machine uses, trimmed like the slim image, imported as TAG.
#   make-base.sh TAG [CACHE_DIR]
# The root file system is kept as CACHE_DIR/bookworm-minbase.tar (default /var/cache/sessionpool),
# so a second run only imports it (a few seconds). Needs root, debootstrap and a docker CLI whose
# DOCKER_HOST is set by the caller.
set -euo pipefail
tag=$1
cache=${2:-/var/cache/sessionpool}
docker=${DOCKER:-docker}
tarball=$cache/bookworm-minbase.tar

# The first Debian mirror (…/debian, not …/debian-security) named in the apt sources.
mirror_of() {
	local want=$1
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
		2>/dev/null | grep -v '^[[:space:]]*#' | grep -oE 'https?://[^[:space:]]+' |
		sed 's#/*$##' | grep -E "/${want}\$" | head -n 1 || true
}

if [ ! -s "$tarball" ]; then
	mirror=$(mirror_of debian)
	security=$(mirror_of debian-security)
	mirror=${mirror:-http://deb.debian.org/debian}
	mkdir -p "$cache"
	root=$(mktemp -d "$cache/rootfs.XXXXXX")
	trap 'rm -rf "$root"' EXIT
	echo "make-base: debootstrap --variant=minbase bookworm from $mirror (about a minute)" >&2
	debootstrap --variant=minbase bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$cache/debootstrap.log" >&2; exit 1; }
	# The same sources as debian:bookworm-slim (updates and security when the machine has them).
	rm -f "$root/etc/apt/sources.list"
	{
		printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\n' "$mirror"
		printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
		if [ -n "$security" ]; then
			printf '\nTypes: deb\nURIs: %s\nSuites: bookworm-security\nComponents: main\n' "$security"
			printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
		fi
	} >"$root/etc/apt/sources.list.d/debian.sources"
	# Slim: no documentation, manual pages or translations, now or in later installs.
	cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<-'EOF'
		path-exclude /usr/share/doc/*
		path-include /usr/share/doc/*/copyright
		path-exclude /usr/share/man/*
		path-exclude /usr/share/info/*
		path-exclude /usr/share/locale/*
		path-exclude /usr/share/lintian/*
	EOF
	cat >"$root/etc/apt/apt.conf.d/docker-clean" <<-'EOF'
		DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
		APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
		Dir::Cache::pkgcache "";
		Dir::Cache::srcpkgcache "";
		APT::Install-Recommends "false";
	EOF
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/* \
		"$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
	find "$root/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
	tar -C "$root" --numeric-owner -cf "$tarball.tmp" .
	mv "$tarball.tmp" "$tarball"
	rm -rf "$root"
	trap - EXIT
fi
"$docker" import --change 'CMD ["bash"]' "$tarball" "$tag" >/dev/null
echo "make-base: $tag imported from $tarball" >&2
