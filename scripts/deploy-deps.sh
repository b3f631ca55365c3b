#!/usr/bin/env bash
# Installs what the deployment checks need, when missing: user-mode QEMU
# for the arm unit tests (make test-arm), systemd-analyze for the unit
# checks (make test-systemd, make test-deb; systemd need not be running),
# and GStreamer's RTSP server for the relay test (make test-relay).
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have qemu-aarch64-static || need+=(qemu-user-static)
have qemu-arm-static || need+=(qemu-user-static)
have systemd-analyze || need+=(systemd)
have dpkg-deb || need+=(dpkg)
# The relay test (make test-relay): GStreamer's RTSP server from Debian's
# Python, and the elements of its pipeline.
if ! /usr/bin/python3 -c 'import gi; gi.require_version("GstRtspServer", "1.0")' >/dev/null 2>&1; then
	need+=(python3-gi gir1.2-gst-rtsp-server-1.0)
fi
for el in rtspsrc rtph264depay h264parse rtph264pay; do
	if ! gst-inspect-1.0 "$el" >/dev/null 2>&1; then
		need+=(gstreamer1.0-tools gstreamer1.0-plugins-good gstreamer1.0-plugins-bad)
		break
	fi
done

if [ ${#need[@]} -eq 0 ]; then
	echo "deploy-deps: qemu-user-static, systemd-analyze and the GStreamer RTSP server are installed"
	exit 0
fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
echo "deploy-deps: installing ${need[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if have sudo; then sudo="sudo"; else
		echo "deploy-deps: need root to apt-get install ${need[*]}" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${need[@]}"
