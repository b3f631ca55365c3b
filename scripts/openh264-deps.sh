#!/usr/bin/env bash
# Installs what the OpenH264 encoder's tests need, when missing: the library
# (libopenh264-7, loaded at run time), its header (libopenh264-dev, read
# only by the layout test, never by the build) and a C compiler for that
# test.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
[ -n "$(ldconfig -p 2>/dev/null | grep -F libopenh264.so.7 || true)" ] || need+=(libopenh264-7)
[ -f /usr/include/wels/codec_api.h ] || need+=(libopenh264-dev)
have cc || need+=(gcc libc6-dev)

if [ ${#need[@]} -eq 0 ]; then
	echo "openh264-deps: libopenh264-7, its header and a C compiler are installed"
	exit 0
fi
echo "openh264-deps: installing ${need[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if have sudo; then sudo="sudo"; else
		echo "openh264-deps: need root to apt-get install ${need[*]}" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${need[@]}"
