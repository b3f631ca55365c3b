package interop

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// gstDecode pulls frames through GStreamer's rtspsrc and decoder, converts
// them to 8-bit grey and returns the raw frames. It stops after n frames.
func gstDecode(t *testing.T, url, codec, protocol string, n int, extra ...string) []byte {
	t.Helper()
	gst := requireTool(t, "gst-launch-1.0")
	out := filepath.Join(t.TempDir(), "frames.gray")
	depay := []string{"rtph264depay", "!", "h264parse", "!", "avdec_h264"}
	if codec == "mjpeg" {
		depay = []string{"rtpjpegdepay", "!", "jpegdec"}
	}
	args := []string{"-q", "rtspsrc", "location=" + url, "protocols=" + protocol, "latency=1000"}
	args = append(args, extra...)
	args = append(args, "!")
	args = append(args, depay...)
	args = append(args, "!", "videoconvert", "!", "video/x-raw,format=GRAY8",
		"!", "identity", "eos-after="+itoa(n+1) /* identity ends the stream in place of the Nth buffer */, "!", "filesink", "location="+out)
	runClient(t, 60*time.Second, gst, args...)
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func itoa(n int) string {
	const digits = "0123456789"
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{digits[n%10]}, b...)
	}
	return string(b)
}

// TestGStreamer: rtspsrc over UDP and TCP decodes 100 frames of H.264 and of
// MJPEG, at 320x240, numbered without gaps.
func TestGStreamer(t *testing.T) {
	requireTool(t, "gst-launch-1.0")
	for _, codec := range []string{"h264", "mjpeg"} {
		for _, protocol := range []string{"udp", "tcp"} {
			t.Run(codec+"/"+protocol, func(t *testing.T) {
				t.Parallel()
				a := startAgent(t, "CAMAGENT_CODEC="+codec)
				raw := gstDecode(t, a.URL, codec, protocol, 100)
				nums := frameNumbers(t, raw, 320, 240)
				if len(nums) != 100 {
					t.Errorf("GStreamer decoded %d frames, want 100", len(nums))
				}
				checkConsecutive(t, nums, 90)
			})
		}
	}
}
