#!/usr/bin/env bash
# Runs the OpenH264 encoder tests built for arm64 (the Raspberry Pi 5)
# against Debian's arm64 libopenh264-7 under user-mode QEMU: the real
# library checks the struct layouts and calls on that ABI. The arm64
# packages are fetched with apt-get download (never installed) into
# .cache/openh264-arm64/. Needs qemu-user-static (make deploy-deps) and the
# arm64 architecture in apt (dpkg --add-architecture arm64).
set -euo pipefail
cd "$(dirname "$0")/.."
cache=.cache/openh264-arm64
root=$cache/root
go=${GO:-go}
command -v qemu-aarch64-static >/dev/null || { echo "openh264-arm64: qemu-aarch64-static is missing: apt-get install qemu-user-static (make deploy-deps)" >&2; exit 1; }
if [ ! -f "$root/usr/lib/aarch64-linux-gnu/libopenh264.so.7" ]; then
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		echo "openh264-arm64: adding the arm64 architecture to apt"
		dpkg --add-architecture arm64
		apt-get update -q
	fi
	mkdir -p "$cache"
	(cd "$cache" && apt-get download libopenh264-7:arm64 libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64)
	for d in "$cache"/*.deb; do dpkg -x "$d" "$root"; done
fi
CGO_ENABLED=0 GOARCH=arm64 $go test -c -tags openh264 -o "$cache/openh264.test" ./encode/openh264
root=$(cd "$root" && pwd)
bin=$(cd "$cache" && pwd)/openh264.test
cd encode/openh264
QEMU_LD_PREFIX=$root LD_LIBRARY_PATH=$root/usr/lib/aarch64-linux-gnu:$root/lib/aarch64-linux-gnu \
	qemu-aarch64-static "$bin" -test.count=1 -test.v "$@"
