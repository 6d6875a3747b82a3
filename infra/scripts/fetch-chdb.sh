#!/usr/bin/env bash
# fetch-chdb.sh puts libchdb.so, the embedded ClickHouse engine behind
# chdb:// DSNs, into the per-user cache and prints its path.
#
# The library ships in the npm package @chdb/lib-linux-x64-gnu, so npm is the
# only tool needed besides tar. The script is idempotent: a library already in
# the cache is reused. It unpacks into a temporary directory beside the final
# path and renames, so a concurrent or interrupted run never leaves a partial
# libchdb.so where services/chdb would load it.
#
# Usage: infra/scripts/fetch-chdb.sh        (prints the library's path)
# Then:  DRIFTLINE_LIBCHDB=<path> is optional; services/chdb looks here by default.
set -euo pipefail

readonly version="26.7.3-stable.1"
readonly package="@chdb/lib-linux-x64-gnu"
# sha256 of libchdb.so inside ${package}@${version}. npm already checks the
# tarball against the registry's integrity hash; this pins what we load into
# our own processes against a republished package.
readonly lib_sha256="36ad4e999882821ef13cf2d0f52c93f48e6ee1b4498b35a201c23ce4b8d15bf5"

readonly cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/driftline/chdb/${version}"
readonly lib="${cache_dir}/libchdb.so"

die() {
	echo "fetch-chdb: $*" >&2
	exit 1
}

if [[ -f "${lib}" ]]; then
	echo "${lib}"
	exit 0
fi

case "$(uname -s)/$(uname -m)" in
Linux/x86_64) ;;
*) die "only linux/x86_64 (glibc) is packaged as ${package}; on $(uname -s)/$(uname -m) build libchdb from https://github.com/chdb-io/chdb-core and set DRIFTLINE_LIBCHDB to its path" ;;
esac

command -v npm >/dev/null 2>&1 || die "npm is required to download ${package}@${version}; install Node.js/npm, or download libchdb.so yourself and set DRIFTLINE_LIBCHDB"
command -v tar >/dev/null 2>&1 || die "tar is required to unpack ${package}@${version}"

mkdir -p "${cache_dir}" || die "cannot create cache directory ${cache_dir}"
tmp="$(mktemp -d "${cache_dir}/.fetch.XXXXXX")" || die "cannot create a temporary directory in ${cache_dir}"
trap 'rm -rf "${tmp}"' EXIT

echo "fetch-chdb: downloading ${package}@${version} (about 180 MB) ..." >&2
if ! npm pack "${package}@${version}" --pack-destination "${tmp}" --silent >"${tmp}/npm.log" 2>&1; then
	cat "${tmp}/npm.log" >&2
	die "npm pack ${package}@${version} failed (see above); check network access to the npm registry ($(npm config get registry 2>/dev/null || echo unknown))"
fi

shopt -s nullglob
tarballs=("${tmp}"/*.tgz)
shopt -u nullglob
((${#tarballs[@]} == 1)) || die "npm pack did not leave exactly one tarball in ${tmp}"

echo "fetch-chdb: unpacking libchdb.so (about 570 MB) ..." >&2
tar -xzf "${tarballs[0]}" -C "${tmp}" package/libchdb.so ||
	die "${tarballs[0]} has no package/libchdb.so; has ${package}@${version} changed layout?"
rm -f "${tarballs[0]}"

if command -v sha256sum >/dev/null 2>&1; then
	got="$(sha256sum "${tmp}/package/libchdb.so" | cut -d' ' -f1)"
	[[ "${got}" == "${lib_sha256}" ]] ||
		die "libchdb.so from ${package}@${version} has sha256 ${got}, want ${lib_sha256}; refusing to install it"
else
	echo "fetch-chdb: sha256sum not found, skipping the checksum check" >&2
fi

chmod 0755 "${tmp}/package/libchdb.so"
# Same filesystem as the destination, so mv is an atomic rename.
mv -f "${tmp}/package/libchdb.so" "${lib}" || die "cannot move libchdb.so into ${cache_dir}"

echo "${lib}"
