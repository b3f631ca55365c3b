#!/usr/bin/env bash
# Installs what the shaped-link rate adaptation test drives, when missing:
# iproute2 (ip netns, tc with tbf), tcpdump, and the clients from
# scripts/test-deps.sh (GStreamer, ffmpeg).
set -euo pipefail

here=$(dirname "$0")
bash "$here/../test-deps.sh"

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have ip || need+=(iproute2)
have tc || need+=(iproute2)
have tcpdump || need+=(tcpdump)
if [ ${#need[@]} -eq 0 ]; then
	echo "adapt-deps: iproute2 and tcpdump are installed"
	exit 0
fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
echo "adapt-deps: installing ${need[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if have sudo; then sudo="sudo"; else
		echo "adapt-deps: need root to apt-get install ${need[*]}" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${need[@]}"
