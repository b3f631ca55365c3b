package h264sw

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/capture/testsrc"
)

// BenchmarkEncodePattern encodes the agent's own test pattern (what
// `make run` streams with no camera) at 25 fps, a keyframe every 2 s, at
// the sizes the other encoders are measured at (docs/benchmarks.md).
func BenchmarkEncodePattern(b *testing.B) {
	for _, sz := range []struct{ w, h int }{{640, 480}, {1280, 720}} {
		b.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(b *testing.B) {
			src, err := testsrc.New(testsrc.Config{
				Width: sz.w, Height: sz.h, FPS: 25,
				Now:   func() time.Duration { return 0 },
				Sleep: func(context.Context, time.Duration) error { return nil },
			})
			if err != nil {
				b.Fatal(err)
			}
			defer src.Close()
			var frames []*capture.Frame
			for range 50 {
				f, err := src.Next(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				frames = append(frames, capture.NewFrame(bytes.Clone(f.Data), f.Timestamp, f.Sequence, src.Mode(), nil))
				f.Release()
			}
			enc, err := New(Config{Width: sz.w, Height: sz.h, FPS: 25})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i, n := 0, 0
			for b.Loop() {
				au, err := enc.Encode(frames[i%len(frames)])
				if err != nil {
					b.Fatal(err)
				}
				for _, nal := range au.NALUs {
					n += len(nal)
				}
				i++
			}
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "fps")
			b.ReportMetric(float64(n)/float64(i), "B/frame")
		})
	}
}
