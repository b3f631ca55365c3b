package jpegsw

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"

	"github.com/camagent/camagent/capture"
)

var benchSizes = []struct{ w, h int }{{640, 480}, {1280, 720}}

// clip holds a second of pattern frames, copied out of the source's ring.
func clip(b *testing.B, f capture.PixelFormat, w, h int) []*capture.Frame {
	src := frames(b, f, w, h)
	var out []*capture.Frame
	for range 30 {
		fr := next(b, src)
		m := capture.Mode{Format: f, Width: w, Height: h}
		out = append(out, capture.NewFrame(append([]byte(nil), fr.Data...), fr.Timestamp, fr.Sequence, m, nil))
		fr.Release()
	}
	return out
}

// BenchmarkEncode measures one frame at the default quality. The fps
// metric is frames per second on one core.
func BenchmarkEncode(b *testing.B) {
	for _, sz := range benchSizes {
		for _, f := range []capture.PixelFormat{capture.YU12, capture.NV12, capture.YUYV} {
			b.Run(fmt.Sprintf("%dx%d/%s", sz.w, sz.h, f), func(b *testing.B) {
				frs := clip(b, f, sz.w, sz.h)
				enc, err := New(Config{Width: sz.w, Height: sz.h})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				i, bytes := 0, 0
				for b.Loop() {
					au, err := enc.Encode(frs[i%len(frs)])
					if err != nil {
						b.Fatal(err)
					}
					bytes += len(au.JPEG)
					i++
				}
				b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "fps")
				b.ReportMetric(float64(bytes)/float64(i), "B/frame")
			})
		}
	}
}

// BenchmarkFFmpeg encodes the same YU12 frames with ffmpeg's MJPEG encoder
// on one thread (-q:v 5), for comparison. The figure includes piping the
// raw frames and ffmpeg's start-up, amortized over b.N frames.
func BenchmarkFFmpeg(b *testing.B) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatal(err)
		}
		b.Skip("ffmpeg not installed")
	}
	for _, sz := range benchSizes {
		b.Run(fmt.Sprintf("%dx%d/YU12", sz.w, sz.h), func(b *testing.B) {
			frs := clip(b, capture.YU12, sz.w, sz.h)
			b.ResetTimer()
			cmd := exec.Command(ffmpeg, "-v", "error", "-threads", "1",
				"-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", fmt.Sprintf("%dx%d", sz.w, sz.h), "-i", "-",
				"-c:v", "mjpeg", "-q:v", "5", "-threads", "1", "-f", "null", "-")
			stdin, err := cmd.StdinPipe()
			if err != nil {
				b.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			for i := range b.N {
				if _, err := stdin.Write(frs[i%len(frs)].Data); err != nil {
					b.Fatal(err)
				}
			}
			if err := stdin.Close(); err != nil && err != io.ErrClosedPipe {
				b.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fps")
		})
	}
}
