package testsrc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/camagent/camagent/capture"
)

// TestMostlyStatic counts the 16x16 macroblocks whose luma changes from one
// frame to the next: a skip-based encoder codes only those.
func TestMostlyStatic(t *testing.T) {
	// The barcode, digits and box are a fixed number of macroblocks, so a
	// tiny picture changes in a larger part.
	for _, c := range []struct {
		sz      size
		percent int
	}{{size{160, 120}, 25}, {size{640, 480}, 8}, {size{1280, 720}, 4}} {
		sz := c.sz
		s, _ := newFake(t, Config{Width: sz.w, Height: sz.h})
		var prev []byte
		mbs := ((sz.w + 15) / 16) * ((sz.h + 15) / 16)
		worst := 0
		for range 120 {
			f, err := s.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			y, _ := luma(f)
			if prev != nil {
				worst = max(worst, changedMBs(prev, y, sz.w, sz.h))
			}
			prev = bytes.Clone(y)
			f.Release()
		}
		t.Logf("%v: at most %d of %d macroblocks change per frame", sz, worst, mbs)
		if worst*100 > mbs*c.percent {
			t.Fatalf("%v: %d of %d macroblocks changed in one frame", sz, worst, mbs)
		}
	}
}

func changedMBs(a, b []byte, w, h int) int {
	n := 0
	for my := 0; my < h; my += 16 {
		for mx := 0; mx < w; mx += 16 {
		mb:
			for y := my; y < min(my+16, h); y++ {
				if !bytes.Equal(a[y*w+mx:y*w+min(mx+16, w)], b[y*w+mx:y*w+min(mx+16, w)]) {
					n++
					break mb
				}
			}
		}
	}
	return n
}

func lookFFmpeg(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip("ffmpeg not installed")
	}
	return p
}

func run(t *testing.T, in []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(in)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, stderr.String())
	}
	return out.Bytes()
}

// TestFFmpegRoundTrip compresses a run of frames hard with ffmpeg (H.264 at
// CRF 40, MJPEG at its worst quantizer), decodes them again and reads every
// frame number back: they must rise by one with no gaps.
func TestFFmpegRoundTrip(t *testing.T) {
	ffmpeg := lookFFmpeg(t)
	for _, c := range []struct {
		sz    size
		codec []string
	}{
		{size{160, 120}, []string{"-c:v", "libx264", "-preset", "ultrafast", "-crf", "40", "-f", "h264"}},
		{size{640, 480}, []string{"-c:v", "libx264", "-preset", "medium", "-crf", "40", "-f", "h264"}},
		{size{320, 240}, []string{"-c:v", "mjpeg", "-q:v", "31", "-f", "mjpeg"}},
	} {
		t.Run(fmt.Sprint(c.sz, c.codec[1]), func(t *testing.T) {
			const count = 90
			w, h := c.sz.w, c.sz.h
			s, _ := newFake(t, Config{Width: w, Height: h, Format: capture.YU12})
			var raw bytes.Buffer
			for range count {
				f, err := s.Next(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				raw.Write(f.Data)
				f.Release()
			}
			rawArgs := []string{"-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", fmt.Sprintf("%dx%d", w, h), "-r", "30"}
			enc := run(t, raw.Bytes(), ffmpeg, append(append(append([]string{"-v", "error"}, rawArgs...), "-i", "-"), append(c.codec, "-")...)...)
			t.Logf("%d frames compressed to %d bytes (%.1f kbit/s at 30 fps)", count, len(enc), float64(len(enc))*8*30/count/1000)
			dec := run(t, enc, ffmpeg, "-v", "error", "-f", c.codec[len(c.codec)-1], "-i", "-", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
			frameSize := w * h * 3 / 2
			if len(dec) != count*frameSize {
				t.Fatalf("decoded %d bytes, want %d frames of %d", len(dec), count, frameSize)
			}
			for i := range count {
				n, err := ReadFrameNumber(dec[i*frameSize:], w, w, h)
				if err != nil || n != uint32(i) {
					t.Fatalf("decoded frame %d: read %d, %v", i, n, err)
				}
			}
		})
	}
}
