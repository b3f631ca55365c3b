package h264sw

import (
	"testing"

	"github.com/camagent/camagent/capture"
)

// changeMBs returns a copy of img with n macroblocks (spread over the
// picture) overwritten by noise.
func changeMBs(img []byte, w, h, n, seed int) []byte {
	out := append([]byte(nil), img...)
	mbW, mbH := w/16, h/16
	s := uint32(seed)
	for k := 0; k < n; k++ {
		mb := (k * 7919) % (mbW * mbH)
		x0, y0 := (mb%mbW)*16, (mb/mbW)*16
		for r := y0; r < y0+16; r++ {
			for c := x0; c < x0+16; c++ {
				s = s*1664525 + 1013904223
				out[r*w+c] = byte(s >> 24)
			}
		}
	}
	return out
}

func benchEncode(b *testing.B, img func(i int) []byte, key bool, w, h int) {
	enc, err := New(Config{Width: w, Height: h, FPS: 30, GOP: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	frames := []*capture.Frame{
		testFrame(img(0), capture.YU12, w, h, 0),
		testFrame(img(1), capture.YU12, w, h, 1),
	}
	if _, err := enc.Encode(frames[0]); err != nil {
		b.Fatal(err)
	}
	var bytes int
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if key {
			enc.ForceKeyframe()
		}
		au, err := enc.Encode(frames[(i+1)%2])
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range au.NALUs {
			bytes += len(n)
		}
	}
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes/frame")
}

func BenchmarkEncode640x480(b *testing.B) {
	const w, h = 640, 480
	pattern := testImage(w, h, 0)
	flat := flatImage(w, h, 0)
	changed := changeMBs(pattern, w, h, 60, 1) // 5% of 1200 macroblocks
	flatChanged := flatImage(w, h, 1)
	b.Run("IDR/pattern", func(b *testing.B) {
		benchEncode(b, func(int) []byte { return pattern }, true, w, h)
	})
	b.Run("IDR/flat", func(b *testing.B) {
		benchEncode(b, func(int) []byte { return flat }, true, w, h)
	})
	b.Run("IDR/noise", func(b *testing.B) {
		noise := changeMBs(pattern, w, h, 1200, 2)
		benchEncode(b, func(int) []byte { return noise }, true, w, h)
	})
	b.Run("P/pattern-5pct-changed", func(b *testing.B) {
		benchEncode(b, func(i int) []byte {
			if i == 0 {
				return pattern
			}
			return changed
		}, false, w, h)
	})
	b.Run("P/flat-moving-square", func(b *testing.B) {
		benchEncode(b, func(i int) []byte {
			if i == 0 {
				return flat
			}
			return flatChanged
		}, false, w, h)
	})
	b.Run("P/static", func(b *testing.B) {
		benchEncode(b, func(int) []byte { return pattern }, false, w, h)
	})
}
