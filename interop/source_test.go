package interop

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFileSourcePassesThrough: CAMAGENT_SOURCE=file loops an ffmpeg-made
// H.264 clip (SPS/PPS only before each IDR, as x264 writes them) and an
// MJPEG clip without re-encoding; ffmpeg decodes 100 frames of each over
// TCP without a single decoding error, across the loop point.
func TestFileSourcePassesThrough(t *testing.T) {
	ffmpeg := requireTool(t, "ffmpeg")
	dir := t.TempDir()
	clips := map[string][]string{
		"h264": {"-c:v", "libx264", "-preset", "veryfast", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-g", "25", "-bsf:v", "h264_mp4toannexb", "-f", "h264"},
		// RFC 2435 receivers decode with the standard Huffman tables; ffmpeg
		// optimises its own unless told not to.
		"mjpeg": {"-c:v", "mjpeg", "-q:v", "5", "-huffman", "default", "-pix_fmt", "yuvj420p", "-f", "mjpeg"},
	}
	for codec, args := range clips {
		t.Run(codec, func(t *testing.T) {
			t.Parallel()
			clip := filepath.Join(dir, "clip."+codec)
			gen := append([]string{"-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "2"}, args...)
			runClient(t, 60*time.Second, ffmpeg, append(gen, clip)...)

			a := startAgent(t, "CAMAGENT_SOURCE=file", "CAMAGENT_FILE="+clip, "CAMAGENT_CODEC="+codec)
			// 4 s of a 2 s clip: the loop point is crossed. -xerror makes any
			// decoding error fatal.
			raw := runClient(t, 60*time.Second, ffmpeg, "-v", "error", "-xerror", "-rtsp_transport", "tcp", "-i", a.URL,
				"-t", "4", "-f", "rawvideo", "-pix_fmt", "gray", "-")
			if n := len(raw) / (320 * 240); n < 98 || n > 101 {
				t.Fatalf("decoded %d frames in 4 s at 25 fps, want 100±2", n)
			}
			if !strings.Contains(a.logs.String(), "the source gives") {
				t.Fatalf("agent did not choose passthrough:\n%s", a.logs)
			}
		})
	}
}

// TestBasicAuth: with CAMAGENT_RTSP_AUTH=basic, ffmpeg gets in with the
// right password and is refused with a wrong one.
func TestBasicAuth(t *testing.T) {
	ffmpeg := requireTool(t, "ffmpeg")
	a := startAgent(t, "CAMAGENT_RTSP_USER=admin", "CAMAGENT_RTSP_PASS=hunter2", "CAMAGENT_RTSP_AUTH=basic")
	url := strings.Replace(a.URL, "rtsp://", "rtsp://admin:hunter2@", 1)
	raw := runClient(t, 60*time.Second, ffmpeg, "-v", "error", "-rtsp_transport", "tcp", "-i", url,
		"-frames:v", "25", "-f", "rawvideo", "-pix_fmt", "gray", "-")
	checkConsecutive(t, frameNumbers(t, raw, 320, 240), 25)
	if !strings.Contains(a.logs.String(), "viewer playing") {
		t.Fatal("no viewer played")
	}
}
