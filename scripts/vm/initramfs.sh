#!/usr/bin/env bash
# Builds the test VM's initramfs: a gzip'd newc cpio holding busybox-static,
# the kernel modules named on the command line with their dependencies (in
# load order), scripts/vm/init as /init, and every file under PAYLOAD (e.g.
# bin/camagent), copied to the same path in the guest.
#
#   scripts/vm/initramfs.sh KDIR OUT PAYLOAD MODULE...
#
# KDIR is what scripts/vm/fetch.sh printed. MODULE may carry insmod
# arguments after a colon, e.g. "vivid:n_devs=1".
set -euo pipefail

kdir=${1:?usage: initramfs.sh KDIR OUT PAYLOAD MODULE...}
out=${2:?}
payload=${3:?}
shift 3
here=$(cd "$(dirname "$0")" && pwd)
kver=$(cat "$kdir/kver")
root="$kdir/root"
modroot="$root/lib/modules/$kver"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,etc/vm,proc,sys,dev,tmp,run,lib/modules/"$kver"}
cp "$root/bin/busybox" "$stage/bin/busybox"
cp "$here/init" "$stage/init"
chmod 755 "$stage/init"

# modprobe --show-depends prints "insmod PATH" lines in load order; keep
# each module once (virtio_net and virtio_pci share virtio and virtio_ring).
: >"$stage/etc/vm/modules"
declare -A seen=()
for spec in "$@"; do
	name=${spec%%:*}
	args=""
	[ "$name" = "$spec" ] || args=${spec#*:}
	deps=$(modprobe -d "$root" -S "$kver" --show-depends "$name") || {
		echo "vm-initramfs: module $name not found for $kver" >&2
		exit 1
	}
	while read -r kind path _; do
		[ "$kind" = insmod ] || continue
		rel=${path#"$modroot"/}
		rel=${rel#./}
		rel=${rel#*lib/modules/"$kver"/}
		[ -z "${seen[$rel]:-}" ] || continue
		seen[$rel]=1
		mkdir -p "$stage/lib/modules/$kver/$(dirname "$rel")"
		cp "$modroot/$rel" "$stage/lib/modules/$kver/$rel"
		a=""
		[ "$(basename "$rel" .ko)" != "$(echo "$name" | tr - _)" ] && [ "$(basename "$rel" .ko)" != "$name" ] || a=$args
		echo "$rel $a" >>"$stage/etc/vm/modules"
	done <<<"$deps"
done

cp -a "$payload"/. "$stage"/
(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet --owner 0:0) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
