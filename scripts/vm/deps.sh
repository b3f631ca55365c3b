#!/usr/bin/env bash
# Installs what the VM tests need on the host, when it is missing: QEMU for
# x86_64 (and aarch64 with "arm64"), cpio, iproute2, ffmpeg; for arm64 also
# registers the arm64 architecture so apt-get download can fetch the arm64
# kernel and busybox. The kernel and busybox themselves are never installed:
# scripts/vm/fetch.sh downloads and unpacks them into the cache.
#
#   scripts/vm/deps.sh [amd64|arm64]
set -euo pipefail

arch=${1:-amd64}
have() { command -v "$1" >/dev/null 2>&1; }
need=()
have cpio || need+=(cpio)
have ip || need+=(iproute2)
have ffmpeg || need+=(ffmpeg)
have ffprobe || need+=(ffmpeg)
have depmod || need+=(kmod)
have gzip || need+=(gzip)
case $arch in
amd64) have qemu-system-x86_64 || need+=(qemu-system-x86) ;;
arm64) have qemu-system-aarch64 || need+=(qemu-system-arm) ;;
*) echo "vm-deps: unknown architecture $arch (want amd64 or arm64)" >&2; exit 2 ;;
esac

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if have sudo; then sudo="sudo"; else
		echo "vm-deps: need root to install packages" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive

updated=0
update() { if [ $updated -eq 0 ]; then $sudo apt-get update -q; updated=1; fi; }

if [ "$arch" = arm64 ] && [ "$(dpkg --print-architecture)" != arm64 ] &&
	! dpkg --print-foreign-architectures | grep -qx arm64; then
	echo "vm-deps: adding the arm64 architecture for apt-get download"
	$sudo dpkg --add-architecture arm64
	updated=0
fi
# apt-get download needs package lists; a fresh machine has none.
if ! apt-cache show "linux-image-$arch" >/dev/null 2>&1 ||
	! apt-cache show "busybox-static:$arch" >/dev/null 2>&1; then
	update
fi

if [ ${#need[@]} -eq 0 ]; then
	echo "vm-deps: QEMU and tools for $arch are installed"
	exit 0
fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
echo "vm-deps: installing ${need[*]}"
update
$sudo apt-get install -y -q --no-install-recommends "${need[@]}"
