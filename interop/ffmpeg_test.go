package interop

import (
	"strings"
	"testing"
	"time"
)

// TestFFmpeg: ffprobe sees the right stream, and ffmpeg decodes 4 s of it,
// over UDP and TCP, in H.264 and MJPEG: 25 fps × 4 s = 100 frames, numbered
// without gaps.
func TestFFmpeg(t *testing.T) {
	ffmpeg := requireTool(t, "ffmpeg")
	ffprobe := requireTool(t, "ffprobe")
	for _, codec := range []string{"h264", "mjpeg"} {
		for _, transport := range []string{"udp", "tcp"} {
			t.Run(codec+"/"+transport, func(t *testing.T) {
				t.Parallel()
				a := startAgent(t, "CAMAGENT_CODEC="+codec)

				info := string(runClient(t, 30*time.Second, ffprobe, "-v", "error", "-rtsp_transport", transport,
					"-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height", "-of", "default=nw=1", a.URL))
				for _, want := range []string{"codec_name=" + codec, "width=320", "height=240"} {
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
			})
		}
	}
}
