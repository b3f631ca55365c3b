//go:build openh264

package interop

import (
	"strings"
	"testing"
	"time"
)

func init() { agentTags = append(agentTags, "openh264") }

// TestOpenH264Agent: an agent built with OpenH264 (make test-openh264) and
// CAMAGENT_ENCODER=openh264 streams the test pattern as H.264 that ffprobe
// and ffmpeg decode: Constrained Baseline, the right size, 100 frames in
// 4 s, numbered without gaps, over UDP and TCP.
func TestOpenH264Agent(t *testing.T) {
	ffmpeg := requireTool(t, "ffmpeg")
	ffprobe := requireTool(t, "ffprobe")
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			a := startAgent(t, "CAMAGENT_ENCODER=openh264", "CAMAGENT_BITRATE=400000")
			info := string(runClient(t, 30*time.Second, ffprobe, "-v", "error", "-rtsp_transport", transport,
				"-select_streams", "v:0", "-show_entries", "stream=codec_name,profile,width,height", "-of", "default=nw=1", a.URL))
			for _, want := range []string{"codec_name=h264", "profile=Constrained Baseline", "width=320", "height=240"} {
				if !strings.Contains(info, want) {
					t.Fatalf("ffprobe: want %q in\n%s", want, info)
				}
			}
			raw := runClient(t, 60*time.Second, ffmpeg, "-v", "error", "-rtsp_transport", transport, "-i", a.URL,
				"-t", "4", "-f", "rawvideo", "-pix_fmt", "gray", "-")
			nums := frameNumbers(t, raw, 320, 240)
			if len(nums) < 98 || len(nums) > 101 {
				t.Errorf("4 s at 25 fps decoded to %d frames, want 100±2", len(nums))
			}
			checkConsecutive(t, nums, 90)
			if !strings.Contains(a.logs.String(), "encoder=openh264") {
				t.Fatalf("agent did not choose OpenH264:\n%s", a.logs)
			}
		})
	}
}
