#!/usr/bin/env bash
# Builds the kernel's vicodec test driver (a stateful V4L2 memory-to-memory
# FWHT encoder/decoder) and v4l2-mem2mem, which Debian's kernels do not
# ship, out of tree for the VM's kernel, and installs both into the
# unpacked kernel tree that scripts/vm/fetch.sh made, under
# lib/modules/KVER/updates/, with depmod, so that scripts/vm/initramfs.sh
# finds "vicodec" with its dependencies like any other module.
#
#   scripts/vm/vicodec.sh ARCH CACHE     ARCH: amd64 (the only one built)
#
# Needs (installed here when missing, with apt-get): the linux-source-6.1
# of the kernel's own version, linux-headers-KVER, build-essential, bc,
# flex, bison, libelf-dev. The build is cached under CACHE/vicodec/KVER;
# a second run only reinstalls it when the kernel tree was fetched anew.
set -euo pipefail

arch=${1:?usage: vicodec.sh ARCH CACHE}
cache=${2:?usage: vicodec.sh ARCH CACHE}
here=$(cd "$(dirname "$0")" && pwd)
if [ "$arch" != amd64 ] || [ "$(dpkg --print-architecture)" != amd64 ]; then
	echo "vm-vicodec: builds for amd64 on an amd64 host only (asked for $arch)" >&2
	exit 2
fi

kdir=$("$here/fetch.sh" "$arch" "$cache" | tail -n1)
kver=$(cat "$kdir/kver")
modroot="$kdir/root/lib/modules/$kver"
build="$(cd "$cache" && pwd)/vicodec/$kver"

if [ -s "$modroot/updates/vicodec.ko" ] && [ -s "$modroot/updates/v4l2-mem2mem.ko" ]; then
	echo "vm-vicodec: vicodec for $kver is installed in the VM's kernel tree" >&2
	exit 0
fi

if [ ! -s "$build/vicodec.ko" ] || [ ! -s "$build/v4l2-mem2mem.ko" ]; then
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
	export DEBIAN_FRONTEND=noninteractive
	headers="/usr/src/linux-headers-$kver"
	# The source of exactly the kernel's version when apt has it.
	ver=$(apt-cache show --no-all-versions "linux-image-$kver" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
	src=linux-source-6.1
	if [ -n "$ver" ] && apt-cache show "$src=$ver" >/dev/null 2>&1; then src="$src=$ver"; fi
	need=()
	[ -d "$headers" ] || need+=("linux-headers-$kver")
	tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n1 || true)
	if [ -z "$tarball" ] || { [ -n "$ver" ] && [ "$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null)" != "$ver" ]; }; then
		need+=("$src")
	fi
	for t in gcc make bc flex bison; do command -v "$t" >/dev/null 2>&1 || need+=(build-essential bc flex bison); done
	dpkg-query -W -f='${Status}' libelf-dev 2>/dev/null | grep -q "ok installed" || need+=(libelf-dev)
	if [ ${#need[@]} -gt 0 ]; then
		mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
		echo "vm-vicodec: installing ${need[*]}" >&2
		$sudo apt-get update -q >&2
		$sudo apt-get install -y -q --no-install-recommends "${need[@]}" >&2
	fi
	tarball=$(ls /usr/src/linux-source-6.1.tar.* | head -n1)

	rm -rf "$build"
	mkdir -p "$build"
	echo "vm-vicodec: extracting vicodec and v4l2-mem2mem from $tarball" >&2
	tar -xf "$tarball" -C "$build" --strip-components=1 --wildcards \
		'linux-source-6.1/drivers/media/test-drivers/vicodec/*' \
		'linux-source-6.1/drivers/media/v4l2-core/v4l2-mem2mem.c'
	cp "$build"/drivers/media/test-drivers/vicodec/*.[ch] "$build"/drivers/media/v4l2-core/v4l2-mem2mem.c "$build"/
	rm -rf "$build/drivers"
	cat >"$build/Kbuild" <<'EOF'
obj-m += v4l2-mem2mem.o vicodec.o
vicodec-objs := vicodec-core.o codec-fwht.o codec-v4l2-fwht.o
EOF
	echo "vm-vicodec: building against $headers" >&2
	make -s -C "$headers" M="$build" modules >&2
fi

mkdir -p "$modroot/updates"
cp "$build/vicodec.ko" "$build/v4l2-mem2mem.ko" "$modroot/updates/"
depmod -b "$kdir/root" "$kver"
echo "vm-vicodec: installed vicodec.ko and v4l2-mem2mem.ko for $kver" >&2
