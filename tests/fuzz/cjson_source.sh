#!/usr/bin/env bash
# Unpacks Debian's source of cJSON (the libcjson that the library links, with Debian's
# patches applied) into DEST and prints the folder that holds cJSON.c, for
#   cmake ... -DMRXCL_FUZZ=ON -DMRXCL_CJSON_SOURCE_DIR="$(bash tests/fuzz/cjson_source.sh DEST)"
# so that fuzz_model instruments cJSON's parsing of the model header too. The source is
# not kept in this repository: it comes from Debian's archive, as the binary package does.
# Needs apt-get source, which needs deb-src entries: as root, this adds them for Debian 12
# (bookworm) when apt has none.
#   bash tests/fuzz/cjson_source.sh DEST
set -euo pipefail
if [ $# -ne 1 ]; then
    echo "usage: bash tests/fuzz/cjson_source.sh DEST" >&2
    exit 2
fi
mkdir -p "$1"
DEST=$(cd "$1" && pwd)
found() { find "$DEST" -maxdepth 2 -name cJSON.c -printf '%h\n' | head -n 1; }
if [ -n "$(found)" ]; then found; exit 0; fi
if ! grep -rqs "deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO tee /etc/apt/sources.list.d/mrxcl-deb-src.sources >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    $SUDO apt-get update -qq >&2
fi
(cd "$DEST" && apt-get source -qq cjson >&2)
dir=$(found)
if [ -z "$dir" ]; then
    echo "cjson_source.sh: apt-get source cjson gave no cJSON.c under $DEST" >&2
    exit 1
fi
echo "$dir"
