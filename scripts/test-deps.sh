#!/usr/bin/env bash
# Installs the real programs the tests drive, when they are missing:
# ffmpeg/ffprobe and GStreamer's rtspsrc with the H.264 and JPEG decoders.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have ffmpeg || need+=(ffmpeg)
have ffprobe || need+=(ffmpeg)
if ! have gst-launch-1.0 || ! have gst-inspect-1.0; then
	need+=(gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav)
else
	for el in rtspsrc rtph264depay rtpjpegdepay avdec_h264 jpegdec videoconvert; do
		if ! gst-inspect-1.0 "$el" >/dev/null 2>&1; then
			need+=(gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav)
			break
		fi
	done
fi

if [ ${#need[@]} -eq 0 ]; then
	echo "test-deps: ffmpeg and GStreamer are installed"
	exit 0
fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
echo "test-deps: installing ${need[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if have sudo; then sudo="sudo"; else
		echo "test-deps: need root to apt-get install ${need[*]}" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${need[@]}"
