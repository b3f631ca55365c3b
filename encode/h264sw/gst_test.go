package h264sw

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/camagent/camagent/capture"
)

// TestDecodeGStreamer decodes a stream with GStreamer's avdec_h264 and
// checks it is bit-exact too.
func TestDecodeGStreamer(t *testing.T) {
	gst, err := exec.LookPath("gst-launch-1.0")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("gst-launch-1.0 not found")
		}
		t.Skip("gst-launch-1.0 not found")
	}
	// Widths whose chroma rows are multiples of 4, so GStreamer's I420
	// buffers carry no stride padding.
	for _, sz := range [][2]int{{328, 248}, {640, 480}} {
		w, h := sz[0], sz[1]
		enc, err := New(Config{Width: w, Height: h, FPS: 30, GOP: 25})
		if err != nil {
			t.Fatal(err)
		}
		const frames = 40
		var stream, want []byte
		for i := 0; i < frames; i++ {
			img := testImage(w, h, i)
			want = append(want, clampZeros(img)...)
			au, err := enc.Encode(testFrame(img, capture.YU12, w, h, i))
			if err != nil {
				t.Fatal(err)
			}
			stream = appendAnnexB(stream, au.NALUs)
		}
		dir := t.TempDir()
		in, out := filepath.Join(dir, "in.h264"), filepath.Join(dir, "out.yuv")
		if err := os.WriteFile(in, stream, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(gst, "-q", "filesrc", "location="+in,
			"!", "video/x-h264,stream-format=byte-stream,alignment=au",
			"!", "h264parse", "!", "avdec_h264", "!", "video/x-raw,format=I420",
			"!", "filesink", "location="+out)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%dx%d: gst-launch: %v\n%s", w, h, err, msg)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		fs := w*h + 2*(w/2)*(h/2)
		if len(got) != len(want) {
			t.Fatalf("%dx%d: decoded %d frames, want %d", w, h, len(got)/fs, frames)
		}
		for i := 0; i < frames; i++ {
			if !bytes.Equal(got[i*fs:(i+1)*fs], want[i*fs:(i+1)*fs]) {
				t.Fatalf("%dx%d: frame %d differs at byte %d", w, h, i, firstDiff(got[i*fs:(i+1)*fs], want[i*fs:(i+1)*fs]))
			}
		}
	}
}
