#!/usr/bin/env bash
# Downloads (never installs) a Debian kernel and busybox-static for ARCH with
# apt-get download, unpacks them under CACHE/ARCH and runs depmod there.
# Prints the unpacked kernel's directory. Reuses what is already cached.
#
#   scripts/vm/fetch.sh ARCH CACHE      ARCH: amd64 or arm64
#
# Layout afterwards:
#   CACHE/ARCH/debs/*.deb
#   CACHE/ARCH/root/   the two packages unpacked with dpkg -x
#   CACHE/ARCH/kver    the kernel version, e.g. 6.1.0-56-amd64
set -euo pipefail

arch=${1:?usage: fetch.sh ARCH CACHE}
cache=${2:?usage: fetch.sh ARCH CACHE}
dir="$cache/$arch"
mkdir -p "$dir/debs"
dir=$(cd "$dir" && pwd)

if [ -s "$dir/kver" ] && [ -d "$dir/root/lib/modules/$(cat "$dir/kver")" ] && [ -x "$dir/root/bin/busybox" ]; then
	echo "$dir"
	exit 0
fi

# The meta package linux-image-ARCH depends on exactly one versioned image.
meta="linux-image-$arch"
pkgarch=""
if [ "$(dpkg --print-architecture)" != "$arch" ]; then pkgarch=":$arch"; fi
image=$(apt-cache show --no-all-versions "$meta$pkgarch" |
	sed -n 's/^Depends:.*\(linux-image-[0-9][^ ,]*\).*/\1/p' | head -n1)
if [ -z "$image" ]; then
	echo "vm-fetch: cannot resolve the kernel image $meta$pkgarch depends on (run apt-get update?)" >&2
	exit 1
fi
kver=${image#linux-image-}
echo "vm-fetch: $meta$pkgarch -> $image" >&2

cd "$dir/debs"
rm -f ./*.deb
# apt-get download runs as the _apt user when it can; a root-owned cache
# directory makes it warn but still works.
apt-get download -q "$image$pkgarch" "busybox-static$pkgarch" >&2
rm -rf "$dir/root"
mkdir -p "$dir/root"
for d in ./*.deb; do dpkg -x "$d" "$dir/root"; done
# busybox-static puts busybox in /bin; make sure it is there.
if [ ! -x "$dir/root/bin/busybox" ]; then
	echo "vm-fetch: busybox-static did not unpack a /bin/busybox" >&2
	exit 1
fi
# The .deb carries no modules.dep: build it for the unpacked tree.
depmod -b "$dir/root" "$kver"
echo "$kver" >"$dir/kver"
echo "$dir"
