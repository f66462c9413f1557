#!/usr/bin/env bash
# fresh-base.sh - the cached minimal Debian 12 root that
# ../shared/testing/fresh-debian.sh unpacks ($FRESH_CACHE, default
# /var/cache/fresh-debian, file bookworm-minbase.tar), made once.
#
# Made here with an explicit --format=tar: mmdebstrap picks the format
# from the file name, and the temporary name fresh-debian.sh would use
# gives a directory. Used by .ci/run and `make check-install`; needs root.
set -euo pipefail
cache=${FRESH_CACHE:-/var/cache/fresh-debian}
[ -s "$cache/bookworm-minbase.tar" ] && exit 0
[ "$(id -u)" -eq 0 ] || { echo "fresh-base.sh: needs root to build $cache/bookworm-minbase.tar" >&2; exit 2; }
if ! command -v mmdebstrap >/dev/null; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q mmdebstrap </dev/null
fi
mkdir -p "$cache"
rm -rf "$cache/bookworm-minbase.tar" "$cache/bookworm-minbase.tar.tmp"
mmdebstrap --quiet --format=tar --variant=minbase --include=make,ca-certificates \
    bookworm "$cache/bookworm-minbase.tar.tmp" </dev/null
mv "$cache/bookworm-minbase.tar.tmp" "$cache/bookworm-minbase.tar"
