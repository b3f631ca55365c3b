#!/usr/bin/env bash
# Boots the test VM under QEMU's software emulation (TCG) with the console
# on stdin/stdout: the guest's /init reads commands from it.
#
#   scripts/vm/boot.sh ARCH KDIR INITRD [NET [GUEST_IP]]
#
# NET is "tap:IFNAME" (an existing TAP device, e.g. in a network namespace
# the caller made), "user:HOSTFWD" (QEMU's user-mode network with a hostfwd
# rule such as tcp:127.0.0.1:18554-:8554), or empty for no network.
# GUEST_IP (ADDR/PREFIX) is given to eth0 by /init. VM_SMP and VM_MEM
# override the 2 CPUs and 1024 MB.
set -euo pipefail

arch=${1:?usage: boot.sh ARCH KDIR INITRD [NET [GUEST_IP]]}
kdir=${2:?}
initrd=${3:?}
net=${4:-}
ip=${5:-}
kver=$(cat "$kdir/kver")
kernel="$kdir/root/boot/vmlinuz-$kver"

append="panic=-1 quiet loglevel=3"
[ -z "$ip" ] || append="$append vm.ip=$ip"
case $arch in
amd64)
	qemu=(qemu-system-x86_64 -accel tcg -cpu max)
	append="console=ttyS0 $append"
	;;
arm64)
	qemu=(qemu-system-aarch64 -M virt -cpu cortex-a72)
	append="console=ttyAMA0 $append"
	;;
*) echo "vm-boot: unknown architecture $arch" >&2; exit 2 ;;
esac

case $net in
"") netargs=(-nic none) ;;
tap:*) netargs=(-netdev "tap,id=n0,ifname=${net#tap:},script=no,downscript=no" -device virtio-net-pci,netdev=n0,romfile=) ;;
user:*) netargs=(-netdev "user,id=n0,hostfwd=${net#user:}" -device virtio-net-pci,netdev=n0,romfile=) ;;
*) echo "vm-boot: bad NET $net" >&2; exit 2 ;;
esac

exec "${qemu[@]}" -smp "${VM_SMP:-2}" -m "${VM_MEM:-1024}" \
	-display none -monitor none -serial stdio -no-reboot \
	-kernel "$kernel" -initrd "$initrd" -append "$append" \
	"${netargs[@]}"
